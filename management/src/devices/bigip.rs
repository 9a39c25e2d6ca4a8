//! [`DeviceOps`] for an F5 BIG-IP over iControl REST: token login (renewed once when the device
//! refuses it), TLS checked against the configured CA bundle or the system's trust store, and
//! switched off only when the device is registered with `verify_tls = false`.
//!
//! Backups are UCS archives saved on the device; the bytes Fulcrum keeps name the archive (the
//! archive itself stays on the device, where `restore` loads it from).

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::client::{Endpoint, answer, endpoint, unreachable};
use super::model::{Device, Facts};
use super::ops::{
    Backup, BootVolume, DeviceOps, License, LicenseOrder, OpsError, Software, SoftwareStatus,
};

/// The format tag of a BIG-IP backup's bytes.
const BACKUP_FORMAT: &str = "fulcrum-bigip-ucs/1";

/// One BIG-IP.
pub struct Bigip {
    http: reqwest::Client,
    base: String,
    username: String,
    password: String,
    token: Mutex<Option<String>>,
}

impl std::fmt::Debug for Bigip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bigip")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// What a BIG-IP backup's bytes hold: the UCS archive saved on the device.
#[derive(Debug, Serialize, Deserialize)]
struct UcsBackup {
    format: String,
    ucs: String,
}

impl Bigip {
    /// Operations on `device`, reached at its first address.
    pub fn new(device: &Device) -> Result<Self, OpsError> {
        let connection = &device.connection;
        let Endpoint { base, http } = endpoint(device)?;
        Ok(Bigip {
            http,
            base,
            username: connection.username.clone().unwrap_or_default(),
            password: connection.password.clone().unwrap_or_default(),
            token: Mutex::new(None),
        })
    }

    async fn token(&self) -> Result<String, OpsError> {
        let mut token = self.token.lock().await;
        if let Some(token) = token.as_ref() {
            return Ok(token.clone());
        }
        let response = self
            .http
            .post(format!("{}/mgmt/shared/authn/login", self.base))
            .json(&json!({
                "username": self.username,
                "password": self.password,
                "loginProviderName": "tmos",
            }))
            .send()
            .await
            .map_err(unreachable)?;
        let answer = answer(response, "message").await?;
        let fresh = answer["token"]["token"]
            .as_str()
            .ok_or_else(|| OpsError::Failed("the login answer holds no token".to_owned()))?
            .to_owned();
        *token = Some(fresh.clone());
        Ok(fresh)
    }

    /// Call the device with a token; a refused token is renewed once.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, OpsError> {
        let mut renewed = false;
        loop {
            let mut request = self
                .http
                .request(method.clone(), format!("{}{path}", self.base))
                .header("X-F5-Auth-Token", self.token().await?);
            if let Some(body) = &body {
                request = request.json(body);
            }
            let response = request.send().await.map_err(unreachable)?;
            if response.status() == StatusCode::UNAUTHORIZED && !renewed {
                *self.token.lock().await = None;
                renewed = true;
                continue;
            }
            return answer(response, "message").await;
        }
    }

    async fn get(&self, path: &str) -> Result<Value, OpsError> {
        self.call(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, OpsError> {
        self.call(Method::POST, path, Some(body)).await
    }

    async fn read_license(&self) -> Result<License, OpsError> {
        let license = self.get("/mgmt/tm/sys/license").await?;
        let expiry = description(&license, "licenseEndDate").map(|d| d.replace('/', "-"));
        let today = fulcrum_core::timestamp::format(time::OffsetDateTime::now_utc());
        let state = match &expiry {
            Some(end) if end.as_str() >= &today[..10] => "valid",
            Some(_) => "expired",
            None => "none",
        };
        Ok(License {
            state: state.to_owned(),
            expiry,
            registration_key: description(&license, "registrationKey"),
        })
    }
}

/// The description of `field` in an iControl stats body with one entry.
fn description(stats: &Value, field: &str) -> Option<String> {
    stats["entries"]
        .as_object()?
        .values()
        .next()?
        .pointer(&format!("/nestedStats/entries/{field}/description"))?
        .as_str()
        .map(str::to_owned)
}

fn items(collection: &Value) -> &[Value] {
    collection["items"].as_array().map_or(&[], Vec::as_slice)
}

#[async_trait]
impl DeviceOps for Bigip {
    async fn facts(&self) -> Result<Facts, OpsError> {
        let version = self.get("/mgmt/tm/sys/version").await?;
        let cluster = self.get("/mgmt/tm/cm/device").await?;
        let hotfixes = self.get("/mgmt/tm/sys/software/hotfix").await?;
        let volumes = self.get("/mgmt/tm/sys/software/volume").await?;
        let license = self.read_license().await?;
        let devices = items(&cluster);
        let me = devices.iter().find(|d| d["selfDevice"] == "true");
        let peer = devices.iter().find(|d| d["selfDevice"] != "true");
        let mut details = std::collections::BTreeMap::new();
        if let Some(active) = items(&volumes).iter().find(|v| v["active"] == true)
            && let Some(name) = active["name"].as_str()
        {
            details.insert("active_volume".to_owned(), name.to_owned());
        }
        if let Some(product) = description(&version, "Product") {
            details.insert("product".to_owned(), product);
        }
        Ok(Facts {
            version: description(&version, "Version"),
            build: description(&version, "Build"),
            hotfixes: items(&hotfixes)
                .iter()
                .filter_map(|h| h["name"].as_str().map(str::to_owned))
                .collect(),
            ha_role: peer
                .and(me)
                .and_then(|me| me["failoverState"].as_str().map(str::to_owned)),
            ha_peer: peer.and_then(|p| p["hostname"].as_str().map(str::to_owned)),
            health: "ok".to_owned(),
            license_state: Some(license.state),
            license_expiry: license.expiry,
            capacity: None,
            details,
        })
    }

    async fn backup(&self) -> Result<Backup, OpsError> {
        let stamp = fulcrum_core::timestamp::now_millis();
        let ucs = format!("fulcrum-{stamp}");
        self.post("/mgmt/tm/sys/ucs", json!({"command": "save", "name": ucs}))
            .await?;
        let bytes = serde_json::to_vec(&UcsBackup {
            format: BACKUP_FORMAT.to_owned(),
            ucs: ucs.clone(),
        })
        .map_err(|e| OpsError::Failed(e.to_string()))?;
        Ok(Backup {
            name: format!("{ucs}.ucs"),
            bytes,
        })
    }

    async fn restore(&self, backup: &[u8]) -> Result<(), OpsError> {
        let backup: UcsBackup = serde_json::from_slice(backup)
            .ok()
            .filter(|b: &UcsBackup| b.format == BACKUP_FORMAT)
            .ok_or_else(|| OpsError::Invalid("this is not a BIG-IP backup".to_owned()))?;
        self.post(
            "/mgmt/tm/sys/ucs",
            json!({"command": "load", "name": backup.ucs}),
        )
        .await?;
        Ok(())
    }

    async fn install(&self, software: &Software, volume: &str) -> Result<(), OpsError> {
        let (path, name) = match software {
            Software::Image(name) => ("/mgmt/tm/sys/software/image", name),
            Software::Hotfix(name) => ("/mgmt/tm/sys/software/hotfix", name),
        };
        self.post(
            path,
            json!({"command": "install", "name": name, "volume": volume}),
        )
        .await?;
        Ok(())
    }

    async fn activate(&self, volume: &str) -> Result<(), OpsError> {
        self.post(
            "/mgmt/tm/sys",
            json!({"command": "reboot", "volume": volume}),
        )
        .await?;
        Ok(())
    }

    async fn failover(&self) -> Result<(), OpsError> {
        self.post(
            "/mgmt/tm/sys/failover",
            json!({"command": "run", "standby": true}),
        )
        .await?;
        Ok(())
    }

    async fn license(&self, order: &LicenseOrder) -> Result<License, OpsError> {
        match order {
            LicenseOrder::Show => {}
            LicenseOrder::Install(key) => {
                self.post(
                    "/mgmt/tm/sys/license",
                    json!({"command": "install", "registrationKey": key}),
                )
                .await?;
            }
            LicenseOrder::Revoke => {
                self.post("/mgmt/tm/sys/license", json!({"command": "revoke"}))
                    .await?;
            }
        }
        self.read_license().await
    }

    async fn software(&self) -> Result<SoftwareStatus, OpsError> {
        let volumes = self.get("/mgmt/tm/sys/software/volume").await?;
        let cluster = self.get("/mgmt/tm/cm/device").await?;
        let devices = items(&cluster);
        let paired = devices.len() > 1;
        let active = match devices.iter().find(|d| d["selfDevice"] == "true") {
            Some(me) if paired => Some(me["failoverState"] == "active"),
            _ => None,
        };
        let volumes: Vec<BootVolume> = items(&volumes)
            .iter()
            .filter_map(|v| {
                Some(BootVolume {
                    name: v["name"].as_str()?.to_owned(),
                    version: v["version"].as_str().unwrap_or_default().to_owned(),
                    status: v["status"].as_str().unwrap_or("complete").to_owned(),
                    active: v["active"] == true,
                })
            })
            .collect();
        Ok(SoftwareStatus {
            version: volumes.iter().find(|v| v.active).map(|v| v.version.clone()),
            volumes,
            active,
        })
    }

    async fn sync_status(&self) -> Result<Option<String>, OpsError> {
        let cluster = self.get("/mgmt/tm/cm/device").await?;
        if items(&cluster).len() < 2 {
            return Ok(None);
        }
        let status = self.get("/mgmt/tm/cm/sync-status").await?;
        Ok(description(&status, "status"))
    }

    async fn config_sync(&self) -> Result<(), OpsError> {
        let groups = self.get("/mgmt/tm/cm/device-group").await?;
        let group = items(&groups)
            .iter()
            .find(|g| g["type"] == "sync-failover")
            .and_then(|g| g["name"].as_str())
            .ok_or_else(|| {
                OpsError::Invalid("the device is in no sync-failover device group".to_owned())
            })?;
        self.post(
            "/mgmt/tm/cm",
            json!({"command": "run", "utilCmdArgs": format!("config-sync to-group {group}")}),
        )
        .await?;
        Ok(())
    }
}
