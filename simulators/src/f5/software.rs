//! Software on a device: uploaded ISOs (base images and hotfixes), boot volumes, an install
//! that takes time, and booting into another volume.
//!
//! Upload is `POST /mgmt/shared/file-transfer/uploads/{name}` (the bytes, in one or more
//! `Content-Range` chunks); an ISO whose name starts with `Hotfix` is a hotfix, any other a base
//! image. `POST /mgmt/tm/sys/software/image|hotfix` `{"command":"install","name","volume"}`
//! installs it to a volume (created if new) which reads `installing` until the install time has
//! passed, then `complete`; `POST /mgmt/tm/sys` `{"command":"reboot","volume"}` boots into a
//! complete volume, and the device then reports that volume's version.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// An uploaded ISO.
#[derive(Debug, Clone)]
struct Iso {
    version: String,
    build: String,
    hotfix: bool,
    bytes: u64,
}

/// A boot volume.
#[derive(Debug, Clone)]
struct Volume {
    version: String,
    build: String,
    complete_at: Instant,
}

/// The software of one device.
#[derive(Debug, Clone)]
pub struct Software {
    isos: BTreeMap<String, Iso>,
    volumes: BTreeMap<String, Volume>,
    active: String,
}

/// The version and build an ISO's name carries (`BIGIP-17.1.1-0.0.4.iso`,
/// `Hotfix-BIGIP-17.1.1.1-0.0.2-ENG.iso`), or `("unknown", "0.0.0")`.
fn version_of(name: &str) -> (String, String) {
    let stem = name.trim_end_matches(".iso");
    let parts: Vec<&str> = stem.split('-').collect();
    let at = parts.iter().position(|p| *p == "BIGIP");
    match at.and_then(|i| Some((parts.get(i + 1)?, parts.get(i + 2)?))) {
        Some((version, build)) => ((*version).to_owned(), (*build).to_owned()),
        None => ("unknown".to_owned(), "0.0.0".to_owned()),
    }
}

impl Software {
    /// A device running `version` (`build`) from volume `HD1.1`.
    pub fn new(version: &str, build: &str, now: Instant) -> Self {
        let mut volumes = BTreeMap::new();
        volumes.insert(
            "HD1.1".to_owned(),
            Volume {
                version: version.to_owned(),
                build: build.to_owned(),
                complete_at: now,
            },
        );
        Self {
            isos: BTreeMap::new(),
            volumes,
            active: "HD1.1".to_owned(),
        }
    }

    /// Take a chunk of an uploaded file; the file's size so far.
    pub fn upload(&mut self, name: &str, bytes: u64) -> u64 {
        let (version, build) = version_of(name);
        let iso = self.isos.entry(name.to_owned()).or_insert(Iso {
            version,
            build,
            hotfix: name.starts_with("Hotfix"),
            bytes: 0,
        });
        iso.bytes += bytes;
        iso.bytes
    }

    /// The uploaded base images (`hotfix` false) or hotfixes, as iControl REST lists them.
    pub fn isos(&self, hotfix: bool) -> Value {
        let kind = if hotfix { "hotfix" } else { "image" };
        let items: Vec<Value> = self
            .isos
            .iter()
            .filter(|(_, iso)| iso.hotfix == hotfix)
            .map(|(name, iso)| {
                json!({
                    "kind": format!("tm:sys:software:{kind}:{kind}state"),
                    "name": name,
                    "fullPath": name,
                    "product": "BIG-IP",
                    "version": iso.version,
                    "build": iso.build,
                    "fileSize": format!("{} MB", iso.bytes / (1024 * 1024)),
                    "verified": "yes",
                })
            })
            .collect();
        json!({ "kind": format!("tm:sys:software:{kind}:{kind}collectionstate"), "items": items })
    }

    /// Install an uploaded ISO to a volume; it is complete `takes` after `now`.
    pub fn install(
        &mut self,
        name: &str,
        volume: &str,
        now: Instant,
        takes: Duration,
    ) -> Result<(), String> {
        let iso = self
            .isos
            .get(name)
            .ok_or_else(|| format!("01070712:3: Software image {name} does not exist"))?;
        if volume == self.active {
            return Err(format!(
                "01070712:3: Cannot install to the active volume {volume}"
            ));
        }
        if !volume.starts_with("HD") {
            return Err(format!("01070712:3: Invalid volume name {volume}"));
        }
        self.volumes.insert(
            volume.to_owned(),
            Volume {
                version: iso.version.clone(),
                build: iso.build.clone(),
                complete_at: now + takes,
            },
        );
        Ok(())
    }

    /// The volumes, as iControl REST lists them.
    pub fn volumes(&self, now: Instant) -> Value {
        let items: Vec<Value> = self
            .volumes
            .iter()
            .map(|(name, volume)| {
                let mut item = json!({
                    "kind": "tm:sys:software:volume:volumestate",
                    "name": name,
                    "fullPath": name,
                    "product": "BIG-IP",
                    "version": volume.version,
                    "build": volume.build,
                    "status": if volume.complete_at <= now { "complete" } else { "installing" },
                });
                if *name == self.active {
                    item["active"] = json!(true);
                }
                item
            })
            .collect();
        json!({ "kind": "tm:sys:software:volume:volumecollectionstate", "items": items })
    }

    /// Boot into a complete volume; the version and build the device now runs.
    pub fn boot(&mut self, volume: &str, now: Instant) -> Result<(String, String), String> {
        let target = self
            .volumes
            .get(volume)
            .ok_or_else(|| format!("01070712:3: Volume {volume} does not exist"))?;
        if target.complete_at > now {
            return Err(format!(
                "01070712:3: Volume {volume} is still being installed"
            ));
        }
        let running = (target.version.clone(), target.build.clone());
        self.active = volume.to_owned();
        Ok(running)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_iso_name_carries_its_version() {
        assert_eq!(
            version_of("Hotfix-BIGIP-17.1.1.1-0.0.2-ENG.iso"),
            ("17.1.1.1".to_owned(), "0.0.2".to_owned())
        );
        assert_eq!(
            version_of("BIGIP-17.1.1-0.0.4.iso"),
            ("17.1.1".to_owned(), "0.0.4".to_owned())
        );
    }

    #[test]
    fn a_volume_boots_only_once_installed() {
        let now = Instant::now();
        let mut software = Software::new("16.1.3", "0.0.12", now);
        software.upload("BIGIP-17.1.1-0.0.4.iso", 10);
        software
            .install(
                "BIGIP-17.1.1-0.0.4.iso",
                "HD1.2",
                now,
                Duration::from_secs(60),
            )
            .unwrap();
        assert!(software.boot("HD1.2", now).is_err());
        let later = now + Duration::from_secs(61);
        assert_eq!(
            software.boot("HD1.2", later).unwrap(),
            ("17.1.1".to_owned(), "0.0.4".to_owned())
        );
        assert!(
            software
                .install("BIGIP-17.1.1-0.0.4.iso", "HD1.2", later, Duration::ZERO)
                .is_err()
        );
    }
}
