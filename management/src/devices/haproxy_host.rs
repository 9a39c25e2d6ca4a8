//! [`DeviceOps`] for a host running HAProxy, on this machine: facts from the real binary's
//! `haproxy -vv` (healthy means it runs and says what it is), and backups of the host's
//! configuration and state directory.
//!
//! A backup is JSON: a format tag and each regular file of the directory, by its path relative to
//! the directory, with its content in base64. No archive tool is needed to read one, and restoring
//! it makes the directory hold exactly those files again. Software, failover and licenses belong
//! to the host's own tooling: those operations refuse.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use super::model::{Device, DeviceKind, Facts};
use super::ops::{Backup, DeviceOps, License, LicenseOrder, OpsError, Software, SoftwareStatus};

/// The binary run when the device names none.
pub const DEFAULT_BINARY: &str = "/usr/sbin/haproxy";

/// The format tag of a backup.
const BACKUP_FORMAT: &str = "fulcrum-haproxy-host/1";

/// A host running HAProxy.
#[derive(Debug)]
pub struct HaproxyHost {
    binary: PathBuf,
    config_dir: PathBuf,
}

#[derive(Debug, Serialize, Deserialize)]
struct DirectoryBackup {
    format: String,
    files: BTreeMap<String, String>,
}

impl HaproxyHost {
    /// Operations on `device`.
    pub fn new(device: &Device) -> Result<Self, OpsError> {
        let config_dir = device
            .connection
            .config_dir
            .as_deref()
            .ok_or_else(|| OpsError::Invalid("the host has no config_dir".to_owned()))?;
        Ok(HaproxyHost {
            binary: PathBuf::from(
                device
                    .connection
                    .haproxy_binary
                    .as_deref()
                    .unwrap_or(DEFAULT_BINARY),
            ),
            config_dir: PathBuf::from(config_dir),
        })
    }

    fn unsupported(operation: &'static str) -> OpsError {
        OpsError::unsupported(operation, DeviceKind::HaproxyHost)
    }
}

/// Facts from the output of `haproxy -vv`.
fn parse_version_output(output: &str) -> Facts {
    let mut facts = Facts {
        health: "ok".to_owned(),
        license_state: Some("none".to_owned()),
        ..Facts::default()
    };
    let mut in_build_options = false;
    for line in output.lines() {
        if let Some(rest) = line.strip_prefix("HAProxy version ") {
            let mut words = rest.split_whitespace();
            facts.version = words.next().map(str::to_owned);
            facts.build = words.next().map(str::to_owned);
        } else if line.starts_with("Build options") {
            in_build_options = true;
        } else if in_build_options && line.starts_with("  ") {
            if let Some((key, value)) = line.trim().split_once('=') {
                let key = key.trim().to_lowercase();
                if matches!(key.as_str(), "target" | "options" | "cpu") {
                    facts
                        .details
                        .insert(format!("build_{key}"), value.trim().to_owned());
                }
            }
        } else {
            in_build_options = false;
            if let Some(features) = line.strip_prefix("Feature list : ") {
                facts
                    .details
                    .insert("features".to_owned(), features.trim().to_owned());
            } else if line.starts_with("Built with multi-threading support") {
                facts.capacity = Some(line.trim_start_matches("Built with ").to_owned());
            }
        }
    }
    facts
}

/// A path of the backup, checked to stay inside the directory.
fn relative(name: &str) -> Result<PathBuf, OpsError> {
    let path = Path::new(name);
    if name.is_empty() || !path.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(OpsError::Invalid(format!(
            "the backup names a file outside the directory: {name:?}"
        )));
    }
    Ok(path.to_owned())
}

/// Every regular file under `dir`, by its path relative to `dir`.
fn files_under(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut found = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(sub) = pending.pop() {
        for entry in std::fs::read_dir(dir.join(&sub))? {
            let entry = entry?;
            let kind = entry.file_type()?;
            let path = sub.join(entry.file_name());
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() {
                found.push(path.to_string_lossy().into_owned());
            }
        }
    }
    found.sort();
    Ok(found)
}

fn read_directory(dir: &Path) -> Result<DirectoryBackup, OpsError> {
    let failed = |e: std::io::Error| OpsError::Failed(format!("reading {}: {e}", dir.display()));
    let mut files = BTreeMap::new();
    for name in files_under(dir).map_err(failed)? {
        let bytes = std::fs::read(dir.join(&name)).map_err(failed)?;
        files.insert(name, STANDARD.encode(bytes));
    }
    Ok(DirectoryBackup {
        format: BACKUP_FORMAT.to_owned(),
        files,
    })
}

fn write_directory(dir: &Path, backup: &DirectoryBackup) -> Result<(), OpsError> {
    let mut contents = Vec::with_capacity(backup.files.len());
    for (name, content) in &backup.files {
        let bytes = STANDARD
            .decode(content)
            .map_err(|e| OpsError::Invalid(format!("the backup's {name} is not base64: {e}")))?;
        contents.push((relative(name)?, bytes));
    }
    let failed = |e: std::io::Error| OpsError::Failed(format!("writing {}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(failed)?;
    for name in files_under(dir).map_err(failed)? {
        if !backup.files.contains_key(&name) {
            std::fs::remove_file(dir.join(name)).map_err(failed)?;
        }
    }
    for (path, bytes) in contents {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(failed)?;
        }
        std::fs::write(target, bytes).map_err(failed)?;
    }
    Ok(())
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, OpsError> + Send + 'static,
) -> Result<T, OpsError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| OpsError::Failed(format!("the file work stopped: {e}")))?
}

#[async_trait]
impl DeviceOps for HaproxyHost {
    async fn facts(&self) -> Result<Facts, OpsError> {
        let output = tokio::process::Command::new(&self.binary)
            .arg("-vv")
            .output()
            .await
            .map_err(|e| {
                OpsError::Failed(format!("{} does not run: {e}", self.binary.display()))
            })?;
        if !output.status.success() {
            return Err(OpsError::Failed(format!(
                "{} -vv failed ({}): {}",
                self.binary.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        let facts = parse_version_output(&String::from_utf8_lossy(&output.stdout));
        if facts.version.is_none() {
            return Err(OpsError::Failed(format!(
                "{} -vv does not say which HAProxy it is",
                self.binary.display()
            )));
        }
        Ok(facts)
    }

    async fn backup(&self) -> Result<Backup, OpsError> {
        let dir = self.config_dir.clone();
        let backup = blocking(move || read_directory(&dir)).await?;
        let bytes = serde_json::to_vec(&backup).map_err(|e| OpsError::Failed(e.to_string()))?;
        Ok(Backup {
            name: format!(
                "haproxy-host-{}.json",
                fulcrum_core::timestamp::now_millis()
            ),
            bytes,
        })
    }

    async fn restore(&self, backup: &[u8]) -> Result<(), OpsError> {
        let backup: DirectoryBackup = serde_json::from_slice(backup)
            .ok()
            .filter(|b: &DirectoryBackup| b.format == BACKUP_FORMAT)
            .ok_or_else(|| OpsError::Invalid("this is not an HAProxy host backup".to_owned()))?;
        let dir = self.config_dir.clone();
        blocking(move || write_directory(&dir, &backup)).await
    }

    async fn install(&self, _: &Software, _: &str) -> Result<(), OpsError> {
        Err(Self::unsupported("install"))
    }

    async fn activate(&self, _: &str) -> Result<(), OpsError> {
        Err(Self::unsupported("activate"))
    }

    async fn failover(&self) -> Result<(), OpsError> {
        Err(Self::unsupported("failover"))
    }

    /// An HAProxy host needs no license: it reports none, and takes none.
    async fn license(&self, order: &LicenseOrder) -> Result<License, OpsError> {
        match order {
            LicenseOrder::Show => Ok(License {
                state: "none".to_owned(),
                expiry: None,
                registration_key: None,
            }),
            LicenseOrder::Install(_) | LicenseOrder::Revoke => Err(Self::unsupported(
                "licensing (an HAProxy host needs no license)",
            )),
        }
    }

    async fn software(&self) -> Result<SoftwareStatus, OpsError> {
        Err(Self::unsupported("software campaigns"))
    }

    async fn sync_status(&self) -> Result<Option<String>, OpsError> {
        Ok(None)
    }

    async fn config_sync(&self) -> Result<(), OpsError> {
        Err(Self::unsupported("config-sync"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_leaving_the_directory_are_refused() {
        assert!(relative("haproxy.cfg").is_ok());
        assert!(relative("certs/a.pem").is_ok());
        for bad in ["../etc/passwd", "/etc/passwd", "a/../../b", ""] {
            assert!(relative(bad).is_err(), "{bad}");
        }
    }
}
