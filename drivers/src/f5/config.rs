//! `[providers.f5]`: the BIG-IP devices (one pair, or several that new load balancers are
//! placed on), how to log in to them, and how tenants are named.

use std::path::PathBuf;

use fulcrum_core::driver::DriverError;
use fulcrum_core::model::LoadBalancer;
use serde::Deserialize;

/// How the driver logs in to a device.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// HTTP basic authentication on every call.
    #[default]
    Basic,
    /// A token from `POST /mgmt/shared/authn/login`, renewed when the device refuses it.
    Token,
}

/// Which tenant a load balancer's Application goes to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TenantNaming {
    /// One tenant per project: `<prefix>-project-<project id>`.
    #[default]
    Project,
    /// One tenant per VIP network: `<prefix>-network-<network id>`.
    Network,
}

/// The name of the one pair that `devices` (rather than `[[providers.f5.pairs]]`) configures.
pub const DEFAULT_PAIR: &str = "default";

/// One HA pair (or single device) that new load balancers may be placed on.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairConfig {
    /// Its name, stored with each load balancer placed on it: renaming a pair that holds load
    /// balancers leaves them nowhere.
    pub name: String,
    /// The devices' management URLs: one device, or the two of an HA pair. Declarations go to
    /// whichever is active.
    pub devices: Vec<String>,
    /// The devices' host names as they name themselves (what the driver's `device_seen` events
    /// and management's inventory use), in the order of `devices`; by default the host of each
    /// URL.
    #[serde(default)]
    pub hostnames: Vec<String>,
}

impl PairConfig {
    /// The host name of each device: configured, or the host of its URL.
    pub fn device_hostnames(&self) -> Vec<String> {
        if !self.hostnames.is_empty() {
            return self.hostnames.clone();
        }
        self.devices
            .iter()
            .map(|url| {
                reqwest::Url::parse(url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_owned))
                    .unwrap_or_else(|| url.clone())
            })
            .collect()
    }
}

/// The F5 driver's configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct F5Config {
    /// The devices' management URLs (`https://bigip1.example`) of a single pair, named
    /// [`DEFAULT_PAIR`]: one device, or the two of an HA pair. Declarations go to whichever is
    /// active. Give either this or `pairs`.
    #[serde(default)]
    pub devices: Vec<String>,
    /// The host names of `devices` (see [`PairConfig::hostnames`]).
    #[serde(default)]
    pub hostnames: Vec<String>,
    /// Several pairs (`[[providers.f5.pairs]]`): each new load balancer is placed on the least
    /// loaded pair whose devices management lets take new work, and stays there.
    #[serde(default)]
    pub pairs: Vec<PairConfig>,
    /// The user name.
    #[serde(default)]
    pub username: String,
    /// The password.
    #[serde(default)]
    pub password: String,
    /// Basic or token authentication.
    #[serde(default)]
    pub auth: AuthMode,
    /// The CA bundle (PEM) the devices' certificates must chain to; the system's trust store
    /// when absent.
    #[serde(default)]
    pub ca_bundle: Option<PathBuf>,
    /// Skip TLS verification (labs only; off by default).
    #[serde(default)]
    pub insecure: bool,
    /// The prefix of tenant names.
    #[serde(default = "default_tenant_prefix")]
    pub tenant_prefix: String,
    /// A tenant per project (`<prefix>-project-<id>`) or per VIP network
    /// (`<prefix>-network-<id>`).
    #[serde(default)]
    pub tenants: TenantNaming,
    /// How often an async declaration's task is polled, in milliseconds.
    #[serde(default = "default_poll_ms")]
    pub task_poll_ms: u64,
    /// How long a declaration may take before the apply fails transiently, in seconds.
    #[serde(default = "default_task_timeout_s")]
    pub task_timeout_s: u64,
}

fn default_tenant_prefix() -> String {
    "fulcrum".into()
}

fn default_poll_ms() -> u64 {
    500
}

fn default_task_timeout_s() -> u64 {
    300
}

impl Default for F5Config {
    fn default() -> Self {
        Self {
            devices: Vec::new(),
            hostnames: Vec::new(),
            pairs: Vec::new(),
            username: String::new(),
            password: String::new(),
            auth: AuthMode::default(),
            ca_bundle: None,
            insecure: false,
            tenant_prefix: default_tenant_prefix(),
            tenants: TenantNaming::default(),
            task_poll_ms: default_poll_ms(),
            task_timeout_s: default_task_timeout_s(),
        }
    }
}

impl F5Config {
    /// Check what can be checked without calling a device.
    pub fn validate(&self) -> Result<(), DriverError> {
        let invalid = |m: &str| {
            Err(DriverError::invalid_configuration(format!(
                "[providers.f5] {m}"
            )))
        };
        if !self.devices.is_empty() && !self.pairs.is_empty() {
            return invalid("give devices (one pair) or pairs, not both");
        }
        if self.pairs.is_empty() && !(1..=2).contains(&self.devices.len()) {
            return invalid("devices must name one device or the two of an HA pair");
        }
        let pairs = self.pairs();
        for (i, pair) in pairs.iter().enumerate() {
            if pair.name.trim().is_empty() {
                return invalid(&format!("pairs[{i}] needs a name"));
            }
            if pairs[..i].iter().any(|p| p.name == pair.name) {
                return invalid(&format!("pair {:?} is named twice", pair.name));
            }
            if !(1..=2).contains(&pair.devices.len()) {
                return invalid(&format!(
                    "pair {:?}: devices must name one device or the two of an HA pair",
                    pair.name
                ));
            }
            if !pair.hostnames.is_empty() && pair.hostnames.len() != pair.devices.len() {
                return invalid(&format!(
                    "pair {:?}: hostnames must name each of its devices, in their order",
                    pair.name
                ));
            }
        }
        if self.username.is_empty() {
            return invalid("username is required");
        }
        let valid_prefix = self
            .tenant_prefix
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && self
                .tenant_prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        if !valid_prefix {
            return invalid(
                "tenant_prefix must start with a letter and hold only letters, digits, '_', '.' and '-'",
            );
        }
        if self.task_poll_ms == 0 || self.task_timeout_s == 0 {
            return invalid("task_poll_ms and task_timeout_s must be more than 0");
        }
        Ok(())
    }

    /// The pairs, in configuration order: `pairs`, or the one pair of `devices`.
    pub fn pairs(&self) -> Vec<PairConfig> {
        if !self.pairs.is_empty() {
            return self.pairs.clone();
        }
        vec![PairConfig {
            name: DEFAULT_PAIR.to_owned(),
            devices: self.devices.clone(),
            hostnames: self.hostnames.clone(),
        }]
    }

    /// The tenant of a load balancer, by project or by VIP network as configured.
    pub fn tenant_of(&self, load_balancer: &LoadBalancer) -> String {
        let (word, id) = match self.tenants {
            TenantNaming::Project => ("project", load_balancer.project_id.as_deref()),
            TenantNaming::Network => ("network", Some(load_balancer.vip_network_id.as_str())),
        };
        let id: String = id
            .filter(|id| !id.is_empty())
            .unwrap_or("none")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("{}-{word}-{id}", self.tenant_prefix)
    }
}
