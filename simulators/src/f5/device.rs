//! The simulated devices: one, or an HA pair with one active and one standby.
//!
//! Each device holds its own AS3 tenants. A declaration applied on the active device is
//! config-synced to its peer at once; the standby refuses declarations (and the call is still
//! logged, so a test can assert none reached it). A failover swaps the roles. A device applies
//! one declaration at a time: while one is applied, another gets AS3's 503.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::software::Software;

/// A device's role in its pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Handles traffic and takes configuration.
    Active,
    /// Waits to take over; config-synced from the active device.
    Standby,
}

impl Role {
    /// The `failoverState` iControl REST reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Standby => "standby",
        }
    }
}

/// A saved configuration archive.
#[derive(Debug, Clone)]
pub struct Ucs {
    /// The tenants it holds.
    pub tenants: BTreeMap<String, Value>,
    /// When it was saved (seconds since the Unix epoch).
    pub saved_at: u64,
    /// The version that saved it.
    pub version: String,
}

/// One simulated BIG-IP.
#[derive(Debug)]
pub struct Device {
    /// Its host name (`bigip1.fulcrum.test`).
    pub hostname: String,
    /// The address its REST API listens on (its management address).
    pub address: String,
    /// Its role.
    pub role: Role,
    /// Since when it holds that role.
    pub role_since: Instant,
    /// Its AS3 tenants, by name.
    pub tenants: BTreeMap<String, Value>,
    /// Whether a declaration is being applied.
    pub applying: bool,
    /// Busy (as if applying) until then, by the control API's order.
    pub occupied_until: Option<Instant>,
    /// Rebooting until then: every call gets 503.
    pub rebooting_until: Option<Instant>,
    /// The version it runs.
    pub version: String,
    /// Its build.
    pub build: String,
    /// Its ISOs and volumes.
    pub software: Software,
    /// Its UCS archives, by name.
    pub ucs: BTreeMap<String, Ucs>,
    /// The date its license ends (`YYYY/MM/DD`).
    pub license_end: String,
    /// The registration key of its license; none once revoked.
    pub registration_key: Option<String>,
    /// The config-sync status the control API forces on it (`Changes Pending`), if any.
    pub sync_override: Option<String>,
}

impl Device {
    /// Whether the device is rebooting.
    pub fn rebooting(&self, now: Instant) -> bool {
        self.rebooting_until.is_some_and(|until| until > now)
    }

    /// Whether a declaration is being applied (or the device is held busy).
    pub fn busy(&self, now: Instant) -> bool {
        self.applying || self.occupied_until.is_some_and(|until| until > now)
    }
}

/// The devices, and the statistics the control API sets.
#[derive(Debug)]
pub struct Cluster {
    /// The devices, by index (0, or 0 and 1).
    pub devices: Vec<Device>,
    /// Statistics by object path (`/Tenant/App/name`) and name: a number is a counter, a
    /// string a description (`status.availabilityState`).
    pub stats: BTreeMap<String, Map<String, Value>>,
    /// The registration keys a license install accepts; any key when `None`.
    pub accepted_license_keys: Option<BTreeSet<String>>,
}

impl Cluster {
    /// `count` devices (1 or 2) running `version`; the first is active.
    pub fn new(count: usize, version: &str, build: &str, now: Instant) -> Self {
        let devices = (0..count)
            .map(|i| Device {
                hostname: format!("bigip{}.fulcrum.test", i + 1),
                address: String::new(),
                role: if i == 0 { Role::Active } else { Role::Standby },
                role_since: now,
                tenants: BTreeMap::new(),
                applying: false,
                occupied_until: None,
                rebooting_until: None,
                version: version.to_owned(),
                build: build.to_owned(),
                software: Software::new(version, build, now),
                ucs: BTreeMap::new(),
                license_end: "2030/01/01".to_owned(),
                registration_key: Some(format!("FULCR-SIMUL-ATEDB-IGIP{}-DEVICE", i + 1)),
                sync_override: None,
            })
            .collect();
        Self {
            devices,
            stats: BTreeMap::new(),
            accepted_license_keys: None,
        }
    }

    /// The active device's index.
    pub fn active(&self) -> usize {
        self.devices
            .iter()
            .position(|d| d.role == Role::Active)
            .unwrap_or(0)
    }

    /// The config-sync status `device` reports, and its color: `Standalone` for a single
    /// device, `Disconnected` while its peer reboots, the forced status if any, else `In Sync`.
    pub fn sync_status(&self, device: usize, now: Instant) -> (String, &'static str) {
        if self.devices.len() < 2 {
            return ("Standalone".to_owned(), "green");
        }
        let peer_rebooting = self
            .devices
            .iter()
            .enumerate()
            .any(|(i, d)| i != device && d.rebooting(now));
        if peer_rebooting {
            return ("Disconnected".to_owned(), "red");
        }
        match &self.devices[device].sync_override {
            Some(status) => (status.clone(), "yellow"),
            None => ("In Sync".to_owned(), "green"),
        }
    }

    /// Swap the roles of a pair; false for a single device.
    pub fn failover(&mut self, now: Instant) -> bool {
        if self.devices.len() < 2 {
            return false;
        }
        for device in &mut self.devices {
            device.role = match device.role {
                Role::Active => Role::Standby,
                Role::Standby => Role::Active,
            };
            device.role_since = now;
        }
        true
    }

    /// Set tenants on a device and config-sync them to its peer: `None` removes a tenant.
    pub fn commit(&mut self, device: usize, changes: &BTreeMap<String, Option<Value>>) {
        for target in 0..self.devices.len() {
            if target != device && self.devices[device].role != Role::Active {
                continue;
            }
            let tenants = &mut self.devices[target].tenants;
            for (name, tenant) in changes {
                match tenant {
                    Some(tenant) => tenants.insert(name.clone(), tenant.clone()),
                    None => tenants.remove(name),
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_change_on_the_active_device_reaches_the_standby() {
        let now = Instant::now();
        let mut cluster = Cluster::new(2, "17.1.1", "0.0.4", now);
        let changes = BTreeMap::from([("t".to_owned(), Some(json!({ "class": "Tenant" })))]);
        cluster.commit(0, &changes);
        assert!(cluster.devices[1].tenants.contains_key("t"));
        assert!(cluster.failover(now));
        assert_eq!(cluster.active(), 1);
        cluster.commit(1, &BTreeMap::from([("t".to_owned(), None)]));
        assert!(cluster.devices[0].tenants.is_empty());
    }
}
