//! [`DeviceOps`] for an NSX Edge node, which is operated through its NSX Manager: registered with
//! the manager's address and credentials, it is found among the manager's transport nodes by its
//! display name (the device's name), and its facts are read there
//! (`GET /api/v1/transport-nodes/<id>/state` for its configuration state and maintenance mode,
//! `GET /api/v1/transport-nodes/<id>/status` for its health and software version).
//!
//! Everything else is refused with the reason: an Edge's configuration is backed up and
//! restored with its manager's, its software is upgraded by the manager's upgrade plan, its
//! licenses are the manager's, and an Edge cluster's failover is NSX's own (the Tier-1's HA
//! mode), not an operator's action on one node.

use async_trait::async_trait;
use serde_json::Value;

use super::model::{Device, DeviceKind, Facts};
use super::nsx_api::{NsxApi, results};
use super::ops::{Backup, DeviceOps, License, LicenseOrder, OpsError, Software, SoftwareStatus};

/// One NSX Edge node, reached through its manager.
#[derive(Debug)]
pub struct NsxEdge {
    api: NsxApi,
    name: String,
}

fn unsupported(operation: &'static str) -> OpsError {
    OpsError::unsupported(operation, DeviceKind::NsxEdge)
}

impl NsxEdge {
    /// Operations on `device`, through the manager at its first address.
    pub fn new(device: &Device) -> Result<Self, OpsError> {
        Ok(NsxEdge {
            api: NsxApi::new(device)?,
            name: device.name.clone(),
        })
    }

    /// The transport node whose display name is the device's name.
    async fn transport_node(&self) -> Result<Value, OpsError> {
        let nodes = self
            .api
            .get("/api/v1/transport-nodes?node_types=EdgeNode")
            .await?;
        results(&nodes)
            .iter()
            .find(|n| n["display_name"] == self.name.as_str())
            .cloned()
            .ok_or_else(|| {
                OpsError::Failed(format!(
                    "the manager has no Edge transport node named {:?}",
                    self.name
                ))
            })
    }
}

#[async_trait]
impl DeviceOps for NsxEdge {
    async fn facts(&self) -> Result<Facts, OpsError> {
        let node = self.transport_node().await?;
        let id = node["id"].as_str().unwrap_or_default();
        let state = self
            .api
            .get(&format!("/api/v1/transport-nodes/{id}/state"))
            .await?;
        let status = self
            .api
            .get(&format!("/api/v1/transport-nodes/{id}/status"))
            .await?;
        let configuration = state["state"].as_str().unwrap_or("unknown");
        let up = status["status"].as_str().unwrap_or("UNKNOWN");
        let mut details = std::collections::BTreeMap::new();
        details.insert("transport_node_id".to_owned(), id.to_owned());
        details.insert("configuration_state".to_owned(), configuration.to_owned());
        if let Some(mode) = state["maintenance_mode_state"].as_str() {
            details.insert("maintenance_mode_state".to_owned(), mode.to_owned());
        }
        Ok(Facts {
            version: status["node_status"]["software_version"]
                .as_str()
                .map(str::to_owned),
            build: None,
            hotfixes: Vec::new(),
            ha_role: None,
            ha_peer: None,
            health: if up == "UP" && configuration == "success" {
                "ok".to_owned()
            } else {
                format!("transport node {up}, configuration {configuration}")
            },
            license_state: None,
            license_expiry: None,
            capacity: None,
            details,
        })
    }

    async fn backup(&self) -> Result<Backup, OpsError> {
        Err(unsupported(
            "backup (an NSX Edge's configuration is backed up with its NSX Manager's)",
        ))
    }

    async fn restore(&self, _backup: &[u8]) -> Result<(), OpsError> {
        Err(unsupported(
            "restore (an NSX Edge's configuration is restored with its NSX Manager's)",
        ))
    }

    async fn install(&self, _software: &Software, _volume: &str) -> Result<(), OpsError> {
        Err(unsupported(
            "software install (an NSX Edge is upgraded by its NSX Manager's upgrade plan)",
        ))
    }

    async fn activate(&self, _volume: &str) -> Result<(), OpsError> {
        Err(unsupported(
            "activation (an NSX Edge is upgraded by its NSX Manager's upgrade plan)",
        ))
    }

    async fn failover(&self) -> Result<(), OpsError> {
        Err(unsupported(
            "failover (an NSX Edge cluster fails over by itself, as its gateways' HA mode says)",
        ))
    }

    async fn license(&self, _order: &LicenseOrder) -> Result<License, OpsError> {
        Err(unsupported(
            "license (NSX licenses are installed on the NSX Manager)",
        ))
    }

    async fn software(&self) -> Result<SoftwareStatus, OpsError> {
        Err(unsupported(
            "software campaigns (an NSX Edge is upgraded by its NSX Manager's upgrade plan)",
        ))
    }

    async fn sync_status(&self) -> Result<Option<String>, OpsError> {
        Ok(None)
    }

    async fn config_sync(&self) -> Result<(), OpsError> {
        Err(unsupported(
            "config-sync (an NSX Edge takes its configuration from its NSX Manager)",
        ))
    }
}
