//! `[management]`: how the management module runs, and `[management.devices]`: the inventory's
//! schedule and the devices registered by configuration.

use serde::Deserialize;

use crate::devices::model::Registration;

/// The `[management]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ManagementConfig {
    /// Serve the management API and run its jobs (on by default).
    pub enabled: bool,
    /// How often orchestration's events are read when nothing wakes the reader sooner.
    pub events_interval_seconds: u64,
    /// The device inventory.
    pub devices: DevicesConfig,
}

impl Default for ManagementConfig {
    fn default() -> Self {
        ManagementConfig {
            enabled: true,
            events_interval_seconds: 2,
            devices: DevicesConfig::default(),
        }
    }
}

/// `[management.devices]`, with its `[[management.devices.static]]` entries.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DevicesConfig {
    /// How often every device's facts are read.
    pub facts_interval_seconds: u64,
    /// Fact readings failed in a row after which a device is `unreachable`.
    pub unreachable_after: i64,
    /// Devices registered by configuration (name, kind, addresses, credentials, CA bundle or
    /// `verify_tls`, HA peer, provider; `config_dir` for HAProxy hosts). They are added or
    /// brought up to date when the module opens, and cannot be deleted through the API.
    #[serde(rename = "static")]
    pub registered: Vec<Registration>,
}

impl Default for DevicesConfig {
    fn default() -> Self {
        DevicesConfig {
            facts_interval_seconds: 300,
            unreachable_after: 3,
            registered: Vec::new(),
        }
    }
}
