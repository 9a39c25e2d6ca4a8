//! Every call the simulated devices answered: which device, in which role, method, path and
//! status — so a driver test can assert "no write ever reached the standby" or "one declaration
//! per burst".

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

/// How many calls the ordered log keeps.
const RECENT: usize = 100_000;

/// The path prefix of AS3's declare endpoint.
pub const DECLARE_PREFIX: &str = "/mgmt/shared/appsvcs/declare";

/// One call answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// The index of the device that answered (0, or 1 in an HA pair).
    pub device: usize,
    /// Whether that device was standby when the call arrived.
    pub standby: bool,
    /// The method.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The status answered.
    pub status: u16,
}

impl Call {
    /// Whether the call asked a device to change its AS3 configuration.
    pub fn is_declaration_write(&self) -> bool {
        self.path.starts_with(DECLARE_PREFIX) && matches!(self.method.as_str(), "POST" | "DELETE")
    }
}

/// What the simulator has answered since it started or was last reset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallLog {
    /// Every call.
    pub total: u64,
    /// Calls by `"METHOD /path"`, across devices.
    pub by_path: BTreeMap<String, u64>,
    /// The latest calls, oldest first (at most 100,000).
    pub recent: VecDeque<Call>,
}

impl CallLog {
    /// Count a call.
    pub fn record(&mut self, call: Call) {
        self.total += 1;
        *self
            .by_path
            .entry(format!("{} {}", call.method, call.path))
            .or_default() += 1;
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(call);
    }

    /// How many calls were made to a method and path, across devices.
    pub fn count(&self, method: &str, path: &str) -> u64 {
        self.by_path
            .get(&format!("{method} {path}"))
            .copied()
            .unwrap_or(0)
    }

    /// The declaration writes (POST or DELETE under `/declare`) that reached a standby device.
    pub fn writes_to_standby(&self) -> Vec<&Call> {
        self.recent
            .iter()
            .filter(|call| call.standby && call.is_declaration_write())
            .collect()
    }

    /// The declaration writes each device received, by device index.
    pub fn declaration_writes(&self, device: usize) -> u64 {
        self.recent
            .iter()
            .filter(|call| call.device == device && call.is_declaration_write())
            .count() as u64
    }
}
