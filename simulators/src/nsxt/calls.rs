//! Every NSX API call the simulator answered, counted per method and path and by status, and
//! the most recent ones in order — so a driver test can assert "one H-API call per load
//! balancer" or "no request rejected twice in a row".

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

/// How many calls the ordered log keeps.
const RECENT: usize = 100_000;

/// One call answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// The method.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The status answered.
    pub status: u16,
}

/// The calls to one method and path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathCalls {
    /// How many.
    pub count: u64,
    /// How many got each status.
    pub statuses: BTreeMap<u16, u64>,
}

/// What the simulator has answered since it started or was last reset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallLog {
    /// Every call.
    pub total: u64,
    /// Calls by `"METHOD /path"`.
    pub by_path: BTreeMap<String, PathCalls>,
    /// The latest calls, oldest first (at most 100,000).
    pub recent: VecDeque<Call>,
}

impl CallLog {
    /// Count a call.
    pub fn record(&mut self, method: &str, path: &str, status: u16) {
        self.total += 1;
        let calls = self.by_path.entry(format!("{method} {path}")).or_default();
        calls.count += 1;
        *calls.statuses.entry(status).or_default() += 1;
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(Call {
            method: method.to_owned(),
            path: path.to_owned(),
            status,
        });
    }

    /// How many calls were made to a method and path (`count("PATCH", "/policy/api/v1/infra")`).
    pub fn count(&self, method: &str, path: &str) -> u64 {
        self.by_path
            .get(&format!("{method} {path}"))
            .map_or(0, |calls| calls.count)
    }

    /// How many calls got a status.
    pub fn with_status(&self, status: u16) -> u64 {
        self.by_path
            .values()
            .filter_map(|calls| calls.statuses.get(&status))
            .sum()
    }
}
