//! Operating statuses and counters from a service's `detailed-status` and `statistics`.
//!
//! | NSX | Octavia |
//! |---|---|
//! | `UP` | ONLINE |
//! | `PARTIALLY_UP`, `DEGRADED` | DEGRADED |
//! | `DOWN`, `ERROR` | ERROR |
//! | `DISABLED` | OFFLINE |
//! | `GRACEFUL_DISABLED` (a member) | DRAINING |
//! | `UNKNOWN`, `DETACHED`, nothing reported | OFFLINE (members: NO_MONITOR) |
//!
//! An object disabled in Octavia is OFFLINE whatever NSX says, and members of a pool without a
//! health monitor are NO_MONITOR, as Octavia reports them.

use std::collections::HashMap;

use fulcrum_core::driver::{LoadBalancerGraph, Observation};
use fulcrum_core::model::{OperatingStatus, Stats};
use serde_json::Value;

use super::render::{pool_path, virtual_server_path};

fn status_of(nsx: Option<&str>) -> OperatingStatus {
    match nsx {
        Some("UP") => OperatingStatus::Online,
        Some("PARTIALLY_UP" | "DEGRADED") => OperatingStatus::Degraded,
        Some("DOWN" | "ERROR") => OperatingStatus::Error,
        Some("GRACEFUL_DISABLED") => OperatingStatus::Draining,
        _ => OperatingStatus::Offline,
    }
}

/// What NSX reports for one service, as read from its two answers.
#[derive(Debug, Default)]
pub struct ServiceReport {
    /// The service's status (`UP`, `ERROR`, ...).
    pub service_status: Option<String>,
    /// Status by virtual server path.
    pub virtual_servers: HashMap<String, String>,
    /// Status by pool path.
    pub pools: HashMap<String, String>,
    /// Status by (pool path, address, port).
    pub members: HashMap<(String, String, String), String>,
    /// Counters by virtual server path.
    pub stats: HashMap<String, Stats>,
}

impl ServiceReport {
    /// Read `detailed-status` and `statistics` answers.
    pub fn read(status: &Value, statistics: &Value) -> Self {
        let mut report = ServiceReport::default();
        let result = &status["results"][0];
        report.service_status = result["service_status"].as_str().map(str::to_string);
        for vs in result["virtual_servers"].as_array().into_iter().flatten() {
            if let (Some(path), Some(status)) =
                (vs["virtual_server_path"].as_str(), vs["status"].as_str())
            {
                report
                    .virtual_servers
                    .insert(path.to_string(), status.to_string());
            }
        }
        for pool in result["pools"].as_array().into_iter().flatten() {
            let Some(path) = pool["pool_path"].as_str() else {
                continue;
            };
            if let Some(status) = pool["status"].as_str() {
                report.pools.insert(path.to_string(), status.to_string());
            }
            for member in pool["members"].as_array().into_iter().flatten() {
                let key = (
                    path.to_string(),
                    member["ip_address"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    member["port"].as_str().unwrap_or_default().to_string(),
                );
                if let Some(status) = member["status"].as_str() {
                    report.members.insert(key, status.to_string());
                }
            }
        }
        let counters = &statistics["results"][0];
        for vs in counters["virtual_servers"].as_array().into_iter().flatten() {
            let Some(path) = vs["virtual_server_path"].as_str() else {
                continue;
            };
            let s = &vs["statistics"];
            let n = |key: &str| s[key].as_i64().unwrap_or_default();
            report.stats.insert(
                path.to_string(),
                Stats {
                    bytes_in: n("bytes_in"),
                    bytes_out: n("bytes_out"),
                    active_connections: n("current_sessions"),
                    total_connections: n("total_sessions"),
                    request_errors: 0,
                },
            );
        }
        report
    }

    /// The member statuses NSX reports as `DOWN`, as (member id, address:port).
    pub fn members_down(&self, graph: &LoadBalancerGraph) -> Vec<(String, String)> {
        let mut down = Vec::new();
        for pool in graph.live_pools() {
            for member in graph.live_members_of(&pool.id) {
                let key = member_key(&pool.id, &member.address, member.protocol_port);
                if self.members.get(&key).map(String::as_str) == Some("DOWN") {
                    down.push((
                        member.id.clone(),
                        format!("{}:{}", member.address, member.protocol_port),
                    ));
                }
            }
        }
        down
    }

    /// The observation of a tree.
    pub fn observe(&self, graph: &LoadBalancerGraph) -> Observation {
        let mut observation = Observation::default();
        let up = |admin: bool, status: OperatingStatus| {
            if admin {
                status
            } else {
                OperatingStatus::Offline
            }
        };
        let lb = &graph.load_balancer;
        observation.operating_status.insert(
            lb.id.clone(),
            up(lb.admin_state_up, status_of(self.service_status.as_deref())),
        );
        for listener in graph.live_listeners() {
            let path = virtual_server_path(&listener.id);
            let status = status_of(self.virtual_servers.get(&path).map(String::as_str));
            observation
                .operating_status
                .insert(listener.id.clone(), up(listener.admin_state_up, status));
            if let Some(stats) = self.stats.get(&path) {
                observation
                    .listener_stats
                    .insert(listener.id.clone(), *stats);
            }
        }
        for pool in graph.live_pools() {
            let path = pool_path(&pool.id);
            let status = status_of(self.pools.get(&path).map(String::as_str));
            observation
                .operating_status
                .insert(pool.id.clone(), up(pool.admin_state_up, status));
            let monitored = graph
                .live_health_monitor_of(&pool.id)
                .is_some_and(|h| h.admin_state_up);
            for member in graph.live_members_of(&pool.id) {
                let key = member_key(&pool.id, &member.address, member.protocol_port);
                let status = match self.members.get(&key).map(String::as_str) {
                    Some("DISABLED") => OperatingStatus::Offline,
                    Some("GRACEFUL_DISABLED") => OperatingStatus::Draining,
                    _ if !monitored => OperatingStatus::NoMonitor,
                    Some(nsx) => status_of(Some(nsx)),
                    None => OperatingStatus::NoMonitor,
                };
                observation.operating_status.insert(
                    member.id.clone(),
                    up(pool.admin_state_up && member.admin_state_up, status),
                );
            }
        }
        observation.set_configured_statuses(graph);
        observation
    }
}

fn member_key(pool_id: &str, address: &str, port: i64) -> (String, String, String) {
    (pool_path(pool_id), address.to_string(), port.to_string())
}
