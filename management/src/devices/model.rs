//! What the inventory knows of a device: its kind, how to reach it, its maintenance state and
//! the facts last read from it. Credentials live on [`Device`] for the device operations and are
//! left out of [`DeviceView`], the only form the API returns.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ManagementError, ManagementResult};

/// The kinds of device management knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// An F5 BIG-IP appliance.
    Bigip,
    /// A VMware NSX Manager.
    NsxManager,
    /// A VMware NSX Edge node.
    NsxEdge,
    /// A host running HAProxy.
    HaproxyHost,
}

impl DeviceKind {
    /// The stored and serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Bigip => "bigip",
            DeviceKind::NsxManager => "nsx_manager",
            DeviceKind::NsxEdge => "nsx_edge",
            DeviceKind::HaproxyHost => "haproxy_host",
        }
    }

    /// The kind from its name.
    pub fn parse(text: &str) -> ManagementResult<Self> {
        match text {
            "bigip" => Ok(DeviceKind::Bigip),
            "nsx_manager" => Ok(DeviceKind::NsxManager),
            "nsx_edge" => Ok(DeviceKind::NsxEdge),
            "haproxy_host" => Ok(DeviceKind::HaproxyHost),
            other => Err(ManagementError::BadRequest(format!(
                "kind must be one of bigip, nsx_manager, nsx_edge, haproxy_host, not {other:?}."
            ))),
        }
    }

    /// The kind of device a provider's driver runs on, for devices discovered from its events.
    pub fn of_provider(provider: &str) -> Option<Self> {
        match provider {
            "f5" => Some(DeviceKind::Bigip),
            "nsxt" => Some(DeviceKind::NsxEdge),
            "haproxy" => Some(DeviceKind::HaproxyHost),
            _ => None,
        }
    }
}

/// Whether a device may take work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MaintenanceState {
    /// In service: new load balancers may be placed on it.
    Ready,
    /// Taken out of service by an operator (patching, replacing); gets no new work.
    Maintenance,
    /// Keeps what it carries but gets no new work, on its way to maintenance.
    Draining,
    /// Did not answer several fact readings in a row; returns to its previous state when it
    /// answers again.
    Unreachable,
}

impl MaintenanceState {
    /// The stored and serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            MaintenanceState::Ready => "ready",
            MaintenanceState::Maintenance => "maintenance",
            MaintenanceState::Draining => "draining",
            MaintenanceState::Unreachable => "unreachable",
        }
    }

    /// The state from its name.
    pub fn parse(text: &str) -> ManagementResult<Self> {
        match text {
            "ready" => Ok(MaintenanceState::Ready),
            "maintenance" => Ok(MaintenanceState::Maintenance),
            "draining" => Ok(MaintenanceState::Draining),
            "unreachable" => Ok(MaintenanceState::Unreachable),
            other => Err(ManagementError::BadRequest(format!(
                "state must be one of ready, maintenance, draining, unreachable, not {other:?}."
            ))),
        }
    }

    /// Check that an operator may move a device from `self` to `to`. `unreachable` is Fulcrum's
    /// finding, never an operator's choice; a device in maintenance goes back to `ready` before
    /// it drains; an unreachable device may be taken into maintenance, and becomes ready again
    /// by answering.
    pub fn operator_may_move_to(self, to: MaintenanceState) -> ManagementResult<()> {
        use MaintenanceState::*;
        if to == Unreachable {
            return Err(ManagementError::BadRequest(
                "state unreachable is set by Fulcrum when a device stops answering; choose \
                 ready, maintenance or draining."
                    .to_owned(),
            ));
        }
        match (self, to) {
            (from, to) if from == to => Ok(()),
            (Ready, Maintenance | Draining) | (Draining, Ready | Maintenance) => Ok(()),
            (Maintenance, Ready) | (Unreachable, Maintenance) => Ok(()),
            (from, to) => Err(ManagementError::Conflict(format!(
                "A device cannot go from {} to {}{}",
                from.as_str(),
                to.as_str(),
                match from {
                    Unreachable => ": it returns to its previous state when it answers again.",
                    _ => ".",
                }
            ))),
        }
    }
}

/// How a device came into the inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeviceSource {
    /// Listed in `[[management.devices.static]]`; changed there, not through the API.
    Config,
    /// Registered through `POST /v1/management/devices`.
    Api,
    /// Seen by a provider serving load balancers, never registered: no address or credentials.
    Discovered,
}

impl DeviceSource {
    /// The stored and serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceSource::Config => "config",
            DeviceSource::Api => "api",
            DeviceSource::Discovered => "discovered",
        }
    }

    /// The source from its stored name.
    pub fn parse(text: &str) -> ManagementResult<Self> {
        match text {
            "config" => Ok(DeviceSource::Config),
            "api" => Ok(DeviceSource::Api),
            "discovered" => Ok(DeviceSource::Discovered),
            other => Err(ManagementError::BadRequest(format!(
                "unknown device source {other:?}"
            ))),
        }
    }
}

/// What was last read from a device.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Facts {
    /// The software version it runs.
    pub version: Option<String>,
    /// Its build.
    pub build: Option<String>,
    /// Hotfixes it holds.
    pub hotfixes: Vec<String>,
    /// Its role in an HA pair (`active`, `standby`), when it is in one.
    pub ha_role: Option<String>,
    /// The host name of its HA peer.
    pub ha_peer: Option<String>,
    /// `ok`, or what is wrong.
    pub health: String,
    /// `valid`, `expired`, or `none` for a device that needs no license.
    pub license_state: Option<String>,
    /// When the license ends (`YYYY-MM-DD`).
    pub license_expiry: Option<String>,
    /// What the device can carry (connections, throughput), as far as it says.
    pub capacity: Option<String>,
    /// Kind-specific details (build options, features, the active boot volume).
    pub details: BTreeMap<String, String>,
}

/// How to reach a device and log in.
#[derive(Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    /// Management URLs (`https://10.0.0.5`); a BIG-IP is reached at the first.
    #[serde(default)]
    pub addresses: Vec<String>,
    /// The user to log in as.
    #[serde(default)]
    pub username: Option<String>,
    /// Its password (stored sealed, never shown).
    #[serde(default)]
    #[schema(write_only)]
    pub password: Option<String>,
    /// A PEM CA bundle the device's certificate must chain to; the system's trust store when
    /// absent.
    #[serde(default)]
    pub ca_bundle: Option<String>,
    /// Check the device's TLS certificate (on by default; off for labs only).
    #[serde(default = "verify_by_default")]
    #[schema(default = true)]
    pub verify_tls: bool,
    /// The HAProxy host's configuration and state directory, what its backups hold.
    #[serde(default)]
    pub config_dir: Option<String>,
    /// The HAProxy binary of the host (`/usr/sbin/haproxy` when absent).
    #[serde(default)]
    pub haproxy_binary: Option<String>,
}

fn verify_by_default() -> bool {
    true
}

impl Default for Connection {
    fn default() -> Self {
        Connection {
            addresses: Vec::new(),
            username: None,
            password: None,
            ca_bundle: None,
            verify_tls: verify_by_default(),
            config_dir: None,
            haproxy_binary: None,
        }
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("addresses", &self.addresses)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("ca_bundle", &self.ca_bundle)
            .field("verify_tls", &self.verify_tls)
            .field("config_dir", &self.config_dir)
            .field("haproxy_binary", &self.haproxy_binary)
            .finish()
    }
}

/// A device of the inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Its id.
    pub id: String,
    /// Its name, unique in the inventory; the name its provider gives it.
    pub name: String,
    /// What it is.
    pub kind: DeviceKind,
    /// How it came into the inventory.
    pub source: DeviceSource,
    /// The provider whose load balancers it carries, if known.
    pub provider: Option<String>,
    /// The name of its HA peer in the inventory.
    pub ha_peer: Option<String>,
    /// How to reach it.
    pub connection: Connection,
    /// Whether it may take work.
    pub state: MaintenanceState,
    /// While unreachable: the state it returns to when it answers.
    pub resume_state: Option<MaintenanceState>,
    /// Fact readings failed in a row.
    pub failures: i64,
    /// The last failure to read facts.
    pub last_error: Option<String>,
    /// The facts last read.
    pub facts: Option<Facts>,
    /// When facts were last read (ms since the Unix epoch).
    pub last_seen_ms: Option<i64>,
    /// When it entered the inventory (ms since the Unix epoch).
    pub created_ms: i64,
    /// Why its stored password could not be opened (sealed under another key): its operations
    /// are refused while this is set.
    pub credentials_error: Option<String>,
}

/// A device as the API shows it: everything but the credentials.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DeviceView {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// What it is.
    pub kind: DeviceKind,
    /// How it came into the inventory.
    pub source: DeviceSource,
    /// The provider whose load balancers it carries.
    pub provider: Option<String>,
    /// The name of its HA peer.
    pub ha_peer: Option<String>,
    /// Its management URLs.
    pub addresses: Vec<String>,
    /// The user Fulcrum logs in as.
    pub username: Option<String>,
    /// Whether a password is set (the password itself is never returned).
    pub has_password: bool,
    /// Why the stored password cannot be opened, when it cannot.
    pub credentials_error: Option<String>,
    /// The CA bundle its certificate is checked against.
    pub ca_bundle: Option<String>,
    /// Whether its TLS certificate is checked.
    pub verify_tls: bool,
    /// An HAProxy host's configuration directory.
    pub config_dir: Option<String>,
    /// Whether it may take work.
    pub state: MaintenanceState,
    /// While unreachable: the state it returns to.
    pub resume_state: Option<MaintenanceState>,
    /// Fact readings failed in a row.
    pub consecutive_failures: i64,
    /// The last failure to read facts.
    pub last_error: Option<String>,
    /// The facts last read.
    pub facts: Option<Facts>,
    /// When facts were last read (UTC).
    pub last_seen: Option<String>,
    /// When it entered the inventory (UTC).
    pub created_at: String,
}

impl From<&Device> for DeviceView {
    fn from(device: &Device) -> Self {
        DeviceView {
            id: device.id.clone(),
            name: device.name.clone(),
            kind: device.kind,
            source: device.source,
            provider: device.provider.clone(),
            ha_peer: device.ha_peer.clone(),
            addresses: device.connection.addresses.clone(),
            username: device.connection.username.clone(),
            has_password: device.connection.password.is_some()
                || device.credentials_error.is_some(),
            credentials_error: device.credentials_error.clone(),
            ca_bundle: device.connection.ca_bundle.clone(),
            verify_tls: device.connection.verify_tls,
            config_dir: device.connection.config_dir.clone(),
            state: device.state,
            resume_state: device.resume_state,
            consecutive_failures: device.failures,
            last_error: device.last_error.clone(),
            facts: device.facts.clone(),
            last_seen: device
                .last_seen_ms
                .map(fulcrum_core::timestamp::format_millis),
            created_at: fulcrum_core::timestamp::format_millis(device.created_ms),
        }
    }
}

/// What registering a device names: through the API or in the configuration.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(example = json!({"name": "bigip-1", "kind": "bigip", "provider": "f5",
    "addresses": ["https://192.0.2.5"], "username": "admin", "password": "secret"}))]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// Its name, unique in the inventory.
    #[schema(min_length = 1, max_length = 255, pattern = "\\S")]
    pub name: String,
    /// What it is.
    pub kind: DeviceKind,
    /// The provider whose load balancers it carries.
    #[serde(default)]
    pub provider: Option<String>,
    /// The name of its HA peer.
    #[serde(default)]
    pub ha_peer: Option<String>,
    /// How to reach it.
    #[serde(flatten)]
    pub connection: Connection,
}

impl Registration {
    /// Check what can be checked without calling the device.
    pub fn validate(&self) -> ManagementResult<()> {
        let bad = |m: String| Err(ManagementError::BadRequest(m));
        if self.name.trim().is_empty() || self.name.len() > 255 {
            return bad("name must hold 1 to 255 characters.".to_owned());
        }
        if self.ha_peer.as_deref() == Some(self.name.as_str()) {
            return bad("ha_peer must name another device, not the device itself.".to_owned());
        }
        for address in &self.connection.addresses {
            if !(address.starts_with("https://") || address.starts_with("http://")) {
                return bad(format!(
                    "addresses must be http:// or https:// URLs, not {address:?}."
                ));
            }
        }
        match self.kind {
            DeviceKind::Bigip => {
                if self.connection.addresses.is_empty() {
                    return bad("a bigip device needs at least one address.".to_owned());
                }
                if self.connection.username.is_none() || self.connection.password.is_none() {
                    return bad("a bigip device needs a username and a password.".to_owned());
                }
            }
            DeviceKind::HaproxyHost => {
                if self.connection.config_dir.is_none() {
                    return bad("a haproxy_host device needs config_dir.".to_owned());
                }
            }
            DeviceKind::NsxManager => {
                if self.connection.addresses.is_empty() {
                    return bad("a nsx_manager device needs at least one address.".to_owned());
                }
                if self.connection.username.is_none() || self.connection.password.is_none() {
                    return bad("a nsx_manager device needs a username and a password.".to_owned());
                }
            }
            DeviceKind::NsxEdge => {
                if !self.connection.addresses.is_empty()
                    && (self.connection.username.is_none() || self.connection.password.is_none())
                {
                    return bad(
                        "a nsx_edge device registered with its manager's address needs the \
                         manager's username and password."
                            .to_owned(),
                    );
                }
            }
        }
        if self.kind != DeviceKind::HaproxyHost
            && (self.connection.config_dir.is_some() || self.connection.haproxy_binary.is_some())
        {
            return bad(
                "config_dir and haproxy_binary apply to haproxy_host devices only.".to_owned(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_move_devices_only_along_possible_transitions() {
        use MaintenanceState::*;
        assert!(Ready.operator_may_move_to(Maintenance).is_ok());
        assert!(Ready.operator_may_move_to(Draining).is_ok());
        assert!(Draining.operator_may_move_to(Maintenance).is_ok());
        assert!(Maintenance.operator_may_move_to(Ready).is_ok());
        assert!(Unreachable.operator_may_move_to(Maintenance).is_ok());
        assert!(matches!(
            Maintenance.operator_may_move_to(Draining),
            Err(ManagementError::Conflict(_))
        ));
        assert!(matches!(
            Unreachable.operator_may_move_to(Ready),
            Err(ManagementError::Conflict(_))
        ));
        assert!(matches!(
            Ready.operator_may_move_to(Unreachable),
            Err(ManagementError::BadRequest(_))
        ));
    }

    #[test]
    fn the_password_never_shows_in_debug_output() {
        let connection = Connection {
            password: Some("s3cret".into()),
            ..Connection::default()
        };
        assert!(!format!("{connection:?}").contains("s3cret"));
    }
}
