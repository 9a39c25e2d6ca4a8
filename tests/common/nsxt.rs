//! The simulated NSX Manager as the integration tests run it: in this process, realizing after
//! 20 ms, validating bodies against the vendor definitions when they are present.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use simulators::nsxt::{self, Running};

/// The vendor definitions, or `None` with a message saying bodies go unvalidated.
pub fn vendor_schema() -> Option<PathBuf> {
    let path = nsxt::schema::default_path();
    if path.exists() {
        Some(path)
    } else {
        eprintln!(
            "the NSX schema is not at {} (set {}); bodies are not validated",
            path.display(),
            nsxt::schema::SCHEMA_ENV
        );
        None
    }
}

/// A simulated manager holding the Tier-1s `tier1s`.
pub async fn start_manager(tier1s: Vec<String>) -> Running {
    nsxt::start(nsxt::Config {
        realization_delay: Duration::from_millis(20),
        schema: vendor_schema(),
        tier1s,
        ..nsxt::Config::default()
    })
    .await
    .expect("the simulator starts")
}

/// The Policy paths the manager holds, the Tier-1s aside.
pub fn held(manager: &Running) -> BTreeSet<String> {
    manager
        .control()
        .objects("/infra/")
        .into_iter()
        .filter(|o| o["resource_type"] != "Tier1")
        .map(|o| o["path"].as_str().unwrap().to_string())
        .collect()
}
