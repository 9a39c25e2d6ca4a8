//! Realization: NSX accepts intent at once and realizes it on the edges later.
//!
//! Each object reads `UNREALIZED` until the configured delay has passed since its last change,
//! then `REALIZED` — or `ERROR`, with the message in its alarms, for a path a test has named.
//! A driver that waits for realization before reporting a load balancer ACTIVE is tested here.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};

use super::store::StoredObject;

/// The realization state NSX reports for an intent path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RealizedState {
    /// Not realized yet.
    Unrealized,
    /// Realized on the edges.
    Realized,
    /// Realization failed with this message.
    Error(String),
}

impl RealizedState {
    /// NSX's name for the state.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Unrealized => "UNREALIZED",
            Self::Realized => "REALIZED",
            Self::Error(_) => "ERROR",
        }
    }
}

/// The realization delay and the errors injected per intent path.
#[derive(Debug)]
pub struct Realization {
    delay: Duration,
    errors: HashMap<String, String>,
}

impl Realization {
    /// Realize each change after `delay`.
    pub fn new(delay: Duration) -> Self {
        Self {
            delay,
            errors: HashMap::new(),
        }
    }

    /// Change the delay.
    pub fn set_delay(&mut self, delay: Duration) {
        self.delay = delay;
    }

    /// Make the object at `path` fail to realize with `message`, until cleared.
    pub fn set_error(&mut self, path: String, message: String) {
        self.errors.insert(path, message);
    }

    /// Clear the injected error of one path, or of every path.
    pub fn clear_errors(&mut self, path: Option<&str>) {
        match path {
            Some(path) => {
                self.errors.remove(path);
            }
            None => self.errors.clear(),
        }
    }

    /// The state of a stored object now.
    pub fn state(&self, path: &str, object: &StoredObject) -> RealizedState {
        if object.changed_at.elapsed() < self.delay {
            RealizedState::Unrealized
        } else if let Some(message) = self.errors.get(path) {
            RealizedState::Error(message.clone())
        } else {
            RealizedState::Realized
        }
    }

    /// The realized entity NSX lists for an intent path (`GenericPolicyRealizedResource`).
    pub fn entity(&self, path: &str, object: &StoredObject) -> Value {
        let state = self.state(path, object);
        let id = object.body["id"].as_str().unwrap_or_default();
        let alarms = match &state {
            RealizedState::Error(message) => json!([{
                "message": message,
                "error_details": {
                    "error_code": 500045,
                    "module_name": "LoadBalancer",
                    "error_message": message,
                },
            }]),
            _ => json!([]),
        };
        json!({
            "resource_type": "GenericPolicyRealizedResource",
            "id": id,
            "display_name": id,
            "path": format!("/infra/realized-state/enforcement-points/default/{}", object.kind.collection),
            "entity_type": format!("Realized{}", object.kind.base_type),
            "intent_paths": [path],
            "intent_reference": [path],
            "enforcement_point_path": "/infra/sites/default/enforcement-points/default",
            "realization_specific_identifier": object.body["unique_id"],
            "state": state.name(),
            "runtime_status": "UNINITIALIZED",
            "alarms": alarms,
            "_revision": object.revision,
            "_last_modified_time": object.body["_last_modified_time"],
        })
    }

    /// The consolidated status NSX answers at `/infra/realized-state/status`.
    pub fn consolidated(&self, path: &str, object: &StoredObject) -> Value {
        let (consolidated, publish) = match self.state(path, object) {
            RealizedState::Unrealized => ("IN_PROGRESS", "IN_PROGRESS"),
            RealizedState::Realized => ("SUCCESS", "REALIZED"),
            RealizedState::Error(_) => ("ERROR", "ERROR"),
        };
        json!({
            "intent_path": path,
            "intent_version": object.revision.to_string(),
            "publish_status": publish,
            "consolidated_status": { "consolidated_status": consolidated },
        })
    }
}
