//! Simulated BIG-IPs as the integration tests run them: an HA pair in this process, validating
//! declarations against F5's AS3 schema when it is there, applying in 10 ms.

use std::time::Duration;

use serde_json::Value;
use simulators::f5::{self as sim, Running};

/// The AS3 schema, or `None` with a message saying only references are checked.
fn as3_schema() -> Option<std::path::PathBuf> {
    let schema = sim::schema::default_path();
    if schema.exists() {
        Some(schema)
    } else {
        eprintln!(
            "the AS3 schema is not at {} (set {}); only references are checked",
            schema.display(),
            sim::schema::SCHEMA_ENV
        );
        None
    }
}

/// An HA pair whose devices name themselves `hostnames` (none: the simulator's default names).
pub async fn start_pair(hostnames: &[&str]) -> Running {
    sim::start(sim::Config {
        schema: as3_schema(),
        apply_delay: Duration::from_millis(10),
        hostnames: hostnames.iter().map(|h| h.to_string()).collect(),
        ..sim::Config::ha_pair()
    })
    .await
    .expect("the simulator starts")
}

/// The Application of a load balancer on a device, and the tenant holding it.
pub fn application(devices: &Running, device: usize, lb_id: &str) -> Option<(String, Value)> {
    let name = format!("fulcrum-lb-{lb_id}");
    devices
        .control()
        .tenants(device)
        .into_iter()
        .find_map(|(tenant, body)| body.get(&name).cloned().map(|app| (tenant, app)))
}
