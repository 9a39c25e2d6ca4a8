//! The NSX Manager's management-plane API (`/api/v1/...`) as day-2 operations use it: the node
//! and its cluster's status, licenses, backups and restores, and the upgrade coordinator.
//!
//! It behaves as NSX does where a client must cope:
//!
//! - **Licenses** are checked: a key is five groups of five letters or digits, must be one the
//!   manager knows (keys are issued to the simulator through [`super::Control::issue_license`],
//!   as a vendor issues them), and is refused once expired; an installed key reports
//!   `is_expired` from its expiry (epoch milliseconds), which the control can move.
//! - **Backups** go to the manager's remote file server (`POST /api/v1/cluster?action=
//!   backup_to_remote`), which the simulator keeps in memory: each backup holds the Policy
//!   objects and the licenses, is listed by its timestamp
//!   (`GET /api/v1/cluster/restore/backuptimestamps`) and put back by
//!   `POST /api/v1/cluster/restore?action=start` with that timestamp.
//! - **Upgrades** go through the upgrade coordinator's steps, each taking time
//!   ([`super::Config::upgrade_step`]): a bundle is fetched from a URL (`UPLOADING`, then
//!   `SUCCESS`), the coordinator is upgraded from it (`POST /api/v1/upgrade?action=upgrade_uc`),
//!   then the plan runs (`POST /api/v1/upgrade/plan?action=start`: `IN_PROGRESS`, then
//!   `SUCCESS` with the node reporting the bundle's version, or `FAILED` when the control says
//!   so). A step out of order is a 400.
//!
//! - **Edge nodes** are the manager's transport nodes (`GET /api/v1/transport-nodes`), each with
//!   its state and maintenance mode (`.../state`, changed by
//!   `POST /api/v1/transport-nodes/<id>?action=enter_maintenance_mode` or
//!   `exit_maintenance_mode`) and its status and software version (`.../status`).
//!
//! Failures answer NSX's error body ([`NsxError`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::error::{self, NsxError};
use super::store::Store;
use super::{Shared, list, lock};

mod backups;
mod edges;
mod licenses;
mod upgrade;

use backups::{backup_timestamps, cluster_action, restore_action, restore_status};
use edges::{transport_node_action, transport_node_state, transport_node_status, transport_nodes};
use licenses::{license_action, licenses};
use upgrade::{
    bundle_upload_status, fetch_bundle, plan_action, upgrade_action, upgrade_status_summary,
    upgrade_summary,
};

type Answer = Result<Response, NsxError>;

/// NSX's code for a license key that is malformed, unknown or expired (the simulator's choice).
pub const INVALID_LICENSE: i64 = 20204;
/// NSX's code for an upgrade step asked for out of order (the simulator's choice).
pub const UPGRADE_STEP: i64 = 7000;

/// A backup on the remote file server.
#[derive(Debug, Clone)]
struct RemoteBackup {
    store: Store,
    licenses: Vec<String>,
}

/// An upgrade bundle fetched from a URL.
#[derive(Debug, Clone)]
struct Bundle {
    url: String,
    file_name: String,
    version: String,
    fetched_at: Instant,
}

/// An Edge transport node.
#[derive(Debug, Clone)]
struct Edge {
    id: String,
    name: String,
    status: String,
    maintenance: bool,
}

/// The state of the manager's management plane.
#[derive(Debug)]
pub struct Manager {
    edges: Vec<Edge>,
    /// The version the node runs.
    pub version: String,
    hostname: String,
    node_uuid: String,
    cluster_status: String,
    step: Duration,
    issued_licenses: BTreeMap<String, i64>,
    installed_licenses: Vec<String>,
    backups: BTreeMap<i64, RemoteBackup>,
    restore: Option<(i64, &'static str)>,
    bundles: BTreeMap<String, Bundle>,
    coordinator: Option<String>,
    upgrade: Option<(String, Instant)>,
    fail_upgrade: bool,
    last_upgrade: Option<&'static str>,
}

impl Manager {
    /// A manager running `version`, each upgrade step taking `step`, with Edge transport nodes
    /// of these display names.
    pub fn new(version: &str, step: Duration, edges: &[String]) -> Self {
        Manager {
            edges: edges
                .iter()
                .map(|name| Edge {
                    id: uuid::Uuid::new_v4().to_string(),
                    name: name.clone(),
                    status: "UP".to_owned(),
                    maintenance: false,
                })
                .collect(),
            version: version.to_owned(),
            hostname: "nsx-manager-1.fulcrum.test".to_owned(),
            node_uuid: uuid::Uuid::new_v4().to_string(),
            cluster_status: "STABLE".to_owned(),
            step,
            issued_licenses: BTreeMap::new(),
            installed_licenses: Vec::new(),
            backups: BTreeMap::new(),
            restore: None,
            bundles: BTreeMap::new(),
            coordinator: None,
            upgrade: None,
            fail_upgrade: false,
            last_upgrade: None,
        }
    }

    /// Make `key` a license the manager accepts until `expiry_ms` (epoch milliseconds).
    pub fn issue_license(&mut self, key: &str, expiry_ms: i64) {
        self.issued_licenses.insert(key.to_owned(), expiry_ms);
    }

    /// Set the management cluster's status (`STABLE`, `DEGRADED`, `UNSTABLE`).
    pub fn set_cluster_status(&mut self, status: &str) {
        self.cluster_status = status.to_owned();
    }

    /// Set the status (`UP`, `DOWN`, `DEGRADED`) of the Edge named `name`; whether there is one.
    pub fn set_edge_status(&mut self, name: &str, status: &str) -> bool {
        let edge = self.edges.iter_mut().find(|e| e.name == name);
        edge.map(|e| e.status = status.to_owned()).is_some()
    }

    /// Make the next upgrade plan run end `FAILED` (or succeed again).
    pub fn fail_upgrade(&mut self, fail: bool) {
        self.fail_upgrade = fail;
    }

    /// Move the upgrade on as time passed: a plan run past its step ends.
    fn tick(&mut self) {
        if let Some((target, started)) = &self.upgrade
            && started.elapsed() >= self.step
        {
            if self.fail_upgrade {
                self.last_upgrade = Some("FAILED");
            } else {
                self.version = target.clone();
                self.last_upgrade = Some("SUCCESS");
                self.coordinator = None;
            }
            self.upgrade = None;
        }
    }

    fn bundle_status(&self, bundle: &Bundle) -> &'static str {
        if bundle.fetched_at.elapsed() >= self.step {
            "SUCCESS"
        } else {
            "UPLOADING"
        }
    }

    /// The newest bundle fetched completely.
    fn ready_bundle(&self) -> Option<&Bundle> {
        self.bundles
            .values()
            .filter(|b| self.bundle_status(b) == "SUCCESS")
            .max_by_key(|b| b.fetched_at)
    }

    fn license_body(&self, key: &str) -> Value {
        let expiry = self.issued_licenses.get(key).copied().unwrap_or(0);
        json!({
            "license_key": key,
            "description": "NSX Data Center Advanced",
            "product_name": "NSX Data Center",
            "product_version": "3.x",
            "capacity_type": "CPU",
            "quantity": 0,
            "is_eval": false,
            "expiry": expiry,
            "is_expired": expiry <= now_ms(),
        })
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The management-plane routes (gated with the Policy API's).
pub(super) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/v1/node", get(node))
        .route("/api/v1/cluster/status", get(cluster_status))
        .route("/api/v1/licenses", get(licenses).post(license_action))
        .route("/api/v1/cluster", post(cluster_action))
        .route(
            "/api/v1/cluster/restore/backuptimestamps",
            get(backup_timestamps),
        )
        .route("/api/v1/cluster/restore", post(restore_action))
        .route("/api/v1/cluster/restore/status", get(restore_status))
        .route("/api/v1/upgrade/bundles", post(fetch_bundle))
        .route(
            "/api/v1/upgrade/bundles/{id}/upload-status",
            get(bundle_upload_status),
        )
        .route("/api/v1/upgrade", post(upgrade_action))
        .route("/api/v1/upgrade/summary", get(upgrade_summary))
        .route("/api/v1/upgrade/plan", post(plan_action))
        .route(
            "/api/v1/upgrade/status-summary",
            get(upgrade_status_summary),
        )
        .route("/api/v1/transport-nodes", get(transport_nodes))
        .route("/api/v1/transport-nodes/{id}", post(transport_node_action))
        .route(
            "/api/v1/transport-nodes/{id}/state",
            get(transport_node_state),
        )
        .route(
            "/api/v1/transport-nodes/{id}/status",
            get(transport_node_status),
        )
}

fn action(query: Option<&str>, path: &str, known: &[&str]) -> Result<String, NsxError> {
    let params = list::params(query)?;
    match params.get("action") {
        Some(action) if known.contains(&action.as_str()) => Ok(action.clone()),
        Some(action) => Err(NsxError::bad_request(
            error::INVALID_REQUEST,
            format!("The action {action:?} is not valid for {path}."),
        )),
        None => Err(NsxError::bad_request(
            error::INVALID_REQUEST,
            format!("{path} needs an action."),
        )),
    }
}

/// The JSON object in `body`, or NSX's 400.
fn object(body: &Bytes, path: &str) -> Result<Value, NsxError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        NsxError::bad_request(
            error::INVALID_REQUEST,
            format!("The body for {path} is not valid JSON: {e}"),
        )
    })?;
    if !value.is_object() {
        return Err(NsxError::bad_request(
            error::INVALID_REQUEST,
            format!("The body for {path} must be a JSON object."),
        ));
    }
    Ok(value)
}

fn required_str<'a>(body: &'a Value, field: &str, path: &str) -> Result<&'a str, NsxError> {
    body[field]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            NsxError::validation(path, vec![format!("Field {field} is required (a string).")])
        })
}

async fn node(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let mut manager = lock(&shared.manager);
    manager.tick();
    Json(json!({
        "hostname": manager.hostname,
        "fully_qualified_domain_name": manager.hostname,
        "node_uuid": manager.node_uuid,
        "product_version": manager.version,
        "node_version": manager.version,
        "kernel_version": "4.15.0-145-generic",
        "timezone": "UTC",
        "system_time": now_ms(),
    }))
}

async fn cluster_status(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let manager = lock(&shared.manager);
    Json(json!({
        "cluster_id": "8f0b6e6e-0000-4000-8000-00000000c1a5",
        "mgmt_cluster_status": {"status": manager.cluster_status},
        "control_cluster_status": {"status": "STABLE"},
    }))
}
