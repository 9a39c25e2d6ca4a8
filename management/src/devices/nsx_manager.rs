//! [`DeviceOps`] for an NSX-T Manager over its management-plane API (`/api/v1/...`), with HTTP
//! basic authentication and the TLS settings of the device's registration.
//!
//! How each operation maps to NSX:
//!
//! - **Facts**: `GET /api/v1/node` (product version, host name), `GET /api/v1/cluster/status`
//!   (health: `ok` while the management cluster is `STABLE`), `GET /api/v1/licenses`.
//! - **Backup and restore**: NSX writes its backups to the remote (SFTP) file server of its
//!   backup configuration, never to the caller, and restores only from there. So a backup is
//!   `POST /api/v1/cluster?action=backup_to_remote`, and the bytes Fulcrum stores, checksums
//!   and verifies are a manifest naming that backup (its timestamp, node and address, as
//!   `GET /api/v1/cluster/restore/backuptimestamps` lists it); a restore hands that timestamp to
//!   `POST /api/v1/cluster/restore?action=start`. The archive itself stays on the file server,
//!   as a BIG-IP's UCS stays on the BIG-IP.
//! - **Software**: NSX has no boot volumes; its upgrade coordinator stages a bundle and then
//!   upgrades the cluster. Campaigns see two volumes: [`RUNNING`] (the version the manager runs,
//!   active) and [`UPGRADE_BUNDLE`] (the staged bundle's version, `installing` while it is
//!   fetched). `install` fetches the bundle named by the target (its URL,
//!   `POST /api/v1/upgrade/bundles`); `activate` upgrades the coordinator
//!   (`POST /api/v1/upgrade?action=upgrade_uc`) and starts the plan
//!   (`POST /api/v1/upgrade/plan?action=start`), after which the node reports the new version.
//!   A plan the manager reports `FAILED` fails the activation with its reason. An upgrade
//!   cannot be undone by booting the old volume: rolling back is refused (restore a backup
//!   instead). A fetch under way is followed by the bundle id the manager answered, kept
//!   in memory: NSX lists no bundles, and its upgrade summary names one only once fetched, so a
//!   process restarted during a fetch may issue the install again.
//! - **Failover and config-sync**: an NSX Manager is a three-node cluster that replicates its
//!   configuration itself, with no active/standby pair to hand over: both are refused.
//!   [`DeviceOps::sync_status`] answers from the cluster's status (`In Sync` while `STABLE`), so
//!   the `ha_in_sync` gate of a campaign waits for a stable cluster.
//! - **Licenses**: `GET /api/v1/licenses`, `POST /api/v1/licenses` with the key, and
//!   `POST /api/v1/licenses?action=delete` to give a key up.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::model::{Device, DeviceKind, Facts};
use super::nsx_api::{NsxApi, results};
use super::ops::{
    Backup, BootVolume, DeviceOps, License, LicenseOrder, OpsError, Software, SoftwareStatus,
};

/// The volume campaigns see for the version an NSX Manager runs.
pub const RUNNING: &str = "running";
/// The volume campaigns see for the upgrade bundle an NSX Manager has staged.
pub const UPGRADE_BUNDLE: &str = "upgrade-bundle";

/// The format tag of an NSX Manager backup's bytes.
const BACKUP_FORMAT: &str = "fulcrum-nsx-backup/1";

/// One NSX Manager (the cluster it fronts).
pub struct NsxManager {
    api: NsxApi,
    /// The bundle this process asked the manager to fetch, whose upload it follows.
    bundle: Mutex<Option<String>>,
}

impl std::fmt::Debug for NsxManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NsxManager")
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

/// What an NSX backup's bytes hold: the backup on the manager's remote file server.
#[derive(Debug, Serialize, Deserialize)]
struct RemoteBackup {
    format: String,
    timestamp: i64,
    node_id: Option<String>,
    ip_address: Option<String>,
}

impl NsxManager {
    /// Operations on `device`, reached at its first address.
    pub fn new(device: &Device) -> Result<Self, OpsError> {
        Ok(NsxManager {
            api: NsxApi::new(device)?,
            bundle: Mutex::new(None),
        })
    }

    async fn get(&self, path: &str) -> Result<Value, OpsError> {
        self.api.get(path).await
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, OpsError> {
        self.api.post(path, body).await
    }

    async fn read_license(&self) -> Result<License, OpsError> {
        let licenses = self.get("/api/v1/licenses").await?;
        let results = results(&licenses);
        let valid = results
            .iter()
            .filter(|l| l["is_expired"] != true)
            .max_by_key(|l| l["expiry"].as_i64().unwrap_or(0));
        let newest = valid.or_else(|| {
            results
                .iter()
                .max_by_key(|l| l["expiry"].as_i64().unwrap_or(0))
        });
        let Some(license) = newest else {
            return Ok(License {
                state: "none".to_owned(),
                expiry: None,
                registration_key: None,
            });
        };
        Ok(License {
            state: if valid.is_some() { "valid" } else { "expired" }.to_owned(),
            expiry: license["expiry"].as_i64().and_then(date_of_millis),
            registration_key: license["license_key"].as_str().map(str::to_owned),
        })
    }

    /// The management cluster's status (`STABLE`, `DEGRADED`, ...).
    async fn cluster_status(&self) -> Result<String, OpsError> {
        let status = self.get("/api/v1/cluster/status").await?;
        Ok(status["mgmt_cluster_status"]["status"]
            .as_str()
            .unwrap_or("UNKNOWN")
            .to_owned())
    }

    /// The staged bundle as a volume: its version and state.
    async fn staged_bundle(&self, summary: &Value) -> Result<BootVolume, OpsError> {
        let bundle = self.bundle.lock().await.clone();
        if let Some(id) = bundle
            && summary["upgrade_status"] != "IN_PROGRESS"
        {
            // A bundle the manager no longer knows is followed through the summary alone.
            let upload = self
                .api
                .get_if_found(&format!("/api/v1/upgrade/bundles/{id}/upload-status"))
                .await?
                .unwrap_or_default();
            let status = upload["status"].as_str().unwrap_or("SUCCESS");
            if status != "SUCCESS" {
                let version = upload["bundle_name"]
                    .as_str()
                    .and_then(version_of_bundle)
                    .unwrap_or_default();
                let state = match status {
                    "FAILED" => format!(
                        "bundle upload failed: {}",
                        upload["detailed_status"].as_str().unwrap_or_default()
                    ),
                    _ => "installing".to_owned(),
                };
                return Ok(BootVolume {
                    name: UPGRADE_BUNDLE.to_owned(),
                    version,
                    status: state,
                    active: false,
                });
            }
        }
        Ok(BootVolume {
            name: UPGRADE_BUNDLE.to_owned(),
            version: summary["target_version"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            status: "complete".to_owned(),
            active: false,
        })
    }
}

/// The version in a bundle's file name (`VMware-NSX-upgrade-bundle-<version>.mub`).
fn version_of_bundle(file_name: &str) -> Option<String> {
    file_name
        .rsplit('/')
        .next()?
        .strip_prefix("VMware-NSX-upgrade-bundle-")?
        .strip_suffix(".mub")
        .map(str::to_owned)
}

/// `YYYY-MM-DD` of epoch milliseconds.
fn date_of_millis(millis: i64) -> Option<String> {
    let moment =
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).ok()?;
    Some(fulcrum_core::timestamp::format(moment)[..10].to_owned())
}

fn unsupported(operation: &'static str) -> OpsError {
    OpsError::unsupported(operation, DeviceKind::NsxManager)
}

/// A campaign's rollback: NSX cannot boot the version it ran before.
fn going_back() -> OpsError {
    unsupported("going back to the version it ran (an NSX upgrade is undone by restoring a backup)")
}

#[async_trait]
impl DeviceOps for NsxManager {
    async fn facts(&self) -> Result<Facts, OpsError> {
        let node = self.get("/api/v1/node").await?;
        let cluster = self.cluster_status().await?;
        let license = self.read_license().await?;
        let mut details = std::collections::BTreeMap::new();
        for field in ["hostname", "node_uuid", "kernel_version"] {
            if let Some(value) = node[field].as_str() {
                details.insert(field.to_owned(), value.to_owned());
            }
        }
        details.insert("cluster_status".to_owned(), cluster.clone());
        Ok(Facts {
            version: node["product_version"].as_str().map(str::to_owned),
            build: None,
            hotfixes: Vec::new(),
            ha_role: None,
            ha_peer: None,
            health: if cluster == "STABLE" {
                "ok".to_owned()
            } else {
                format!("management cluster {cluster}")
            },
            license_state: Some(license.state),
            license_expiry: license.expiry,
            capacity: None,
            details,
        })
    }

    async fn backup(&self) -> Result<Backup, OpsError> {
        let before = self.get("/api/v1/cluster/restore/backuptimestamps").await?;
        let known: Vec<i64> = results(&before)
            .iter()
            .filter_map(|b| b["timestamp"].as_i64())
            .collect();
        self.post("/api/v1/cluster?action=backup_to_remote", json!({}))
            .await?;
        let after = self.get("/api/v1/cluster/restore/backuptimestamps").await?;
        let taken = results(&after)
            .iter()
            .filter(|b| b["timestamp"].as_i64().is_some_and(|t| !known.contains(&t)))
            .max_by_key(|b| b["timestamp"].as_i64())
            .ok_or_else(|| {
                OpsError::Failed(
                    "the manager lists no new backup on its remote file server".to_owned(),
                )
            })?;
        let timestamp = taken["timestamp"].as_i64().unwrap_or_default();
        let bytes = serde_json::to_vec(&RemoteBackup {
            format: BACKUP_FORMAT.to_owned(),
            timestamp,
            node_id: taken["node_id"].as_str().map(str::to_owned),
            ip_address: taken["ip_address"].as_str().map(str::to_owned),
        })
        .map_err(|e| OpsError::Failed(e.to_string()))?;
        Ok(Backup {
            name: format!("nsx-backup-{timestamp}.json"),
            bytes,
        })
    }

    async fn restore(&self, backup: &[u8]) -> Result<(), OpsError> {
        let backup: RemoteBackup = serde_json::from_slice(backup)
            .ok()
            .filter(|b: &RemoteBackup| b.format == BACKUP_FORMAT)
            .ok_or_else(|| OpsError::Invalid("this is not an NSX Manager backup".to_owned()))?;
        self.post(
            "/api/v1/cluster/restore?action=start",
            json!({"timestamp": backup.timestamp}),
        )
        .await?;
        let status = self.get("/api/v1/cluster/restore/status").await?;
        match status["status"]["value"].as_str() {
            Some("FAILED") => Err(OpsError::Failed(format!(
                "the restore failed: {}",
                status["status"]["description"]
                    .as_str()
                    .unwrap_or("no reason given")
            ))),
            _ => Ok(()),
        }
    }

    async fn install(&self, software: &Software, volume: &str) -> Result<(), OpsError> {
        if volume == RUNNING {
            return Err(going_back());
        }
        if volume != UPGRADE_BUNDLE {
            return Err(OpsError::Invalid(format!(
                "an NSX Manager stages software as its {UPGRADE_BUNDLE} only, not {volume}"
            )));
        }
        let (Software::Image(url) | Software::Hotfix(url)) = software;
        let fetched = self
            .post("/api/v1/upgrade/bundles", json!({"url": url}))
            .await?;
        let id = fetched["bundle_id"]
            .as_str()
            .ok_or_else(|| OpsError::Failed("the manager answered no bundle_id".to_owned()))?;
        *self.bundle.lock().await = Some(id.to_owned());
        Ok(())
    }

    async fn activate(&self, volume: &str) -> Result<(), OpsError> {
        if volume != UPGRADE_BUNDLE {
            return Err(going_back());
        }
        self.post("/api/v1/upgrade?action=upgrade_uc", json!({}))
            .await?;
        self.post("/api/v1/upgrade/plan?action=start", json!({}))
            .await?;
        Ok(())
    }

    async fn failover(&self) -> Result<(), OpsError> {
        Err(unsupported(
            "failover (an NSX Manager cluster has three active nodes, no standby to hand over to)",
        ))
    }

    async fn license(&self, order: &LicenseOrder) -> Result<License, OpsError> {
        match order {
            LicenseOrder::Show => {}
            LicenseOrder::Install(key) => {
                self.post("/api/v1/licenses", json!({"license_key": key}))
                    .await?;
            }
            LicenseOrder::Revoke => {
                let licenses = self.get("/api/v1/licenses").await?;
                for license in results(&licenses) {
                    if license["is_eval"] == true {
                        continue;
                    }
                    if let Some(key) = license["license_key"].as_str() {
                        self.post(
                            "/api/v1/licenses?action=delete",
                            json!({"license_key": key}),
                        )
                        .await?;
                    }
                }
            }
        }
        self.read_license().await
    }

    async fn software(&self) -> Result<SoftwareStatus, OpsError> {
        let node = self.get("/api/v1/node").await?;
        let summary = self.get("/api/v1/upgrade/summary").await?;
        let version = node["product_version"].as_str().map(str::to_owned);
        let running = BootVolume {
            name: RUNNING.to_owned(),
            version: version.clone().unwrap_or_default(),
            status: "complete".to_owned(),
            active: true,
        };
        let mut staged = self.staged_bundle(&summary).await?;
        if summary["upgrade_status"] == "FAILED" {
            let status = self.get("/api/v1/upgrade/status-summary").await?;
            let details: Vec<&str> = status["component_status"]
                .as_array()
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .filter(|c| c["status"] == "FAILED")
                .filter_map(|c| c["details"].as_str())
                .collect();
            staged.status = format!("upgrade failed: {}", details.join("; "));
        }
        Ok(SoftwareStatus {
            version,
            volumes: vec![running, staged],
            active: None,
        })
    }

    async fn sync_status(&self) -> Result<Option<String>, OpsError> {
        let cluster = self.cluster_status().await?;
        Ok(Some(if cluster == "STABLE" {
            "In Sync".to_owned()
        } else {
            format!("management cluster {cluster}")
        }))
    }

    async fn config_sync(&self) -> Result<(), OpsError> {
        Err(unsupported(
            "config-sync (an NSX Manager cluster replicates its configuration itself)",
        ))
    }
}
