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
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::error::{self, NsxError};
use super::store::Store;
use super::{Shared, list, lock};

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

fn edge<'a>(manager: &'a Manager, id: &str) -> Result<&'a Edge, NsxError> {
    manager
        .edges
        .iter()
        .find(|e| e.id == id)
        .ok_or_else(|| NsxError::not_found(&format!("/api/v1/transport-nodes/{id}")))
}

async fn transport_nodes(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let manager = lock(&shared.manager);
    let results: Vec<Value> = manager
        .edges
        .iter()
        .map(|e| {
            json!({
                "id": e.id,
                "node_id": e.id,
                "display_name": e.name,
                "resource_type": "TransportNode",
                "node_deployment_info": {"resource_type": "EdgeNode", "display_name": e.name},
            })
        })
        .collect();
    Json(json!({"result_count": results.len(), "results": results}))
}

async fn transport_node_state(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    let manager = lock(&shared.manager);
    let edge = edge(&manager, &id)?;
    Ok(Json(json!({
        "transport_node_id": edge.id,
        "state": "success",
        "maintenance_mode_state": if edge.maintenance { "ENABLED" } else { "DISABLED" },
        "node_deployment_state": {"state": "NODE_READY"},
    }))
    .into_response())
}

async fn transport_node_status(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Answer {
    let mut manager = lock(&shared.manager);
    manager.tick();
    let edge = edge(&manager, &id)?;
    Ok(Json(json!({
        "status": edge.status,
        "node_status": {"software_version": manager.version},
    }))
    .into_response())
}

/// `POST /api/v1/transport-nodes/<id>?action=enter_maintenance_mode|exit_maintenance_mode`.
async fn transport_node_action(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Answer {
    let path = format!("/api/v1/transport-nodes/{id}");
    let action = action(
        query.as_deref(),
        &path,
        &["enter_maintenance_mode", "exit_maintenance_mode"],
    )?;
    let mut manager = lock(&shared.manager);
    edge(&manager, &id)?;
    if let Some(edge) = manager.edges.iter_mut().find(|e| e.id == id) {
        edge.maintenance = action == "enter_maintenance_mode";
    }
    Ok(StatusCode::OK.into_response())
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

async fn licenses(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let manager = lock(&shared.manager);
    let results: Vec<Value> = manager
        .installed_licenses
        .iter()
        .map(|key| manager.license_body(key))
        .collect();
    Json(json!({"result_count": results.len(), "results": results}))
}

fn well_formed_key(key: &str) -> bool {
    let groups: Vec<&str> = key.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .all(|g| g.len() == 5 && g.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// `POST /api/v1/licenses` adds a key; `?action=delete` removes one.
async fn license_action(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Answer {
    const PATH: &str = "/api/v1/licenses";
    let delete = match query.as_deref() {
        None => false,
        Some(_) => action(query.as_deref(), PATH, &["delete"])? == "delete",
    };
    let body = object(&body, PATH)?;
    let key = required_str(&body, "license_key", PATH)?.to_owned();
    let mut manager = lock(&shared.manager);
    if delete {
        let before = manager.installed_licenses.len();
        manager.installed_licenses.retain(|k| *k != key);
        if manager.installed_licenses.len() == before {
            return Err(NsxError::not_found(&format!("license {}", mask(&key))));
        }
        return Ok(StatusCode::OK.into_response());
    }
    let refused = |why: &str| {
        Err(NsxError::bad_request(
            INVALID_LICENSE,
            format!("License key {} is {why}.", mask(&key)),
        ))
    };
    if !well_formed_key(&key) {
        return refused("not a valid license key");
    }
    let Some(expiry) = manager.issued_licenses.get(&key).copied() else {
        return refused("not a valid license key");
    };
    if expiry <= now_ms() {
        return refused("expired");
    }
    if !manager.installed_licenses.contains(&key) {
        manager.installed_licenses.push(key.clone());
    }
    Ok(Json(manager.license_body(&key)).into_response())
}

/// A key as NSX shows it in messages: its last group only.
fn mask(key: &str) -> String {
    let tail: String = key
        .chars()
        .rev()
        .take(5)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("*****-{tail}")
}

/// `POST /api/v1/cluster?action=backup_to_remote`: a backup of the configuration to the remote
/// file server, listed afterwards by its timestamp.
async fn cluster_action(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Answer {
    action(query.as_deref(), "/api/v1/cluster", &["backup_to_remote"])?;
    let store = lock(&shared.store).clone();
    let mut manager = lock(&shared.manager);
    let last = manager.backups.keys().next_back().copied().unwrap_or(0);
    let timestamp = now_ms().max(last + 1);
    let licenses = manager.installed_licenses.clone();
    manager
        .backups
        .insert(timestamp, RemoteBackup { store, licenses });
    Ok(StatusCode::OK.into_response())
}

async fn backup_timestamps(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let manager = lock(&shared.manager);
    let results: Vec<Value> = manager
        .backups
        .keys()
        .map(|timestamp| {
            json!({
                "timestamp": timestamp,
                "node_id": manager.node_uuid,
                "ip_address": manager.hostname,
            })
        })
        .collect();
    Json(json!({"result_count": results.len(), "results": results}))
}

/// `POST /api/v1/cluster/restore?action=start` with `{"timestamp"}`: the backup of that
/// timestamp put back (the Policy objects and the licenses).
async fn restore_action(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Answer {
    const PATH: &str = "/api/v1/cluster/restore";
    action(query.as_deref(), PATH, &["start"])?;
    let body = object(&body, PATH)?;
    let Some(timestamp) = body["timestamp"].as_i64() else {
        return Err(NsxError::validation(
            PATH,
            vec!["Field timestamp is required (epoch milliseconds of a backup).".to_owned()],
        ));
    };
    let mut manager = lock(&shared.manager);
    let Some(backup) = manager.backups.get(&timestamp).cloned() else {
        return Err(NsxError::bad_request(
            error::INVALID_REQUEST,
            format!("No backup with timestamp {timestamp} is on the remote file server."),
        ));
    };
    *lock(&shared.store) = backup.store;
    manager.installed_licenses = backup.licenses;
    manager.restore = Some((timestamp, "SUCCESS"));
    Ok(Json(restore_status_body(manager.restore)).into_response())
}

fn restore_status_body(restore: Option<(i64, &'static str)>) -> Value {
    match restore {
        Some((timestamp, status)) => json!({
            "backup_timestamp": timestamp,
            "status": {"value": status},
        }),
        None => json!({"status": {"value": "NOT_STARTED"}}),
    }
}

async fn restore_status(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(restore_status_body(lock(&shared.manager).restore))
}

/// `POST /api/v1/upgrade/bundles` with `{"url"}`: fetch a bundle
/// (`VMware-NSX-upgrade-bundle-<version>.mub`); answers its id at once, the fetch takes a step.
async fn fetch_bundle(State(shared): State<Arc<Shared>>, body: Bytes) -> Answer {
    const PATH: &str = "/api/v1/upgrade/bundles";
    let body = object(&body, PATH)?;
    let url = required_str(&body, "url", PATH)?;
    let file_name = url.rsplit('/').next().unwrap_or_default();
    let Some(version) = file_name
        .strip_prefix("VMware-NSX-upgrade-bundle-")
        .and_then(|rest| rest.strip_suffix(".mub"))
        .filter(|v| !v.is_empty())
    else {
        return Err(NsxError::bad_request(
            error::INVALID_REQUEST,
            format!(
                "{url} is not an NSX upgrade bundle (VMware-NSX-upgrade-bundle-<version>.mub)."
            ),
        ));
    };
    let mut manager = lock(&shared.manager);
    manager.tick();
    if manager.upgrade.is_some() {
        return Err(NsxError::bad_request(
            UPGRADE_STEP,
            "An upgrade is in progress; a bundle cannot be fetched now.",
        ));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let bundle = Bundle {
        url: url.to_owned(),
        file_name: file_name.to_owned(),
        version: version.to_owned(),
        fetched_at: Instant::now(),
    };
    manager.bundles.insert(id.clone(), bundle);
    Ok(Json(json!({"bundle_id": id})).into_response())
}

async fn bundle_upload_status(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    let manager = lock(&shared.manager);
    let bundle = manager
        .bundles
        .get(&id)
        .ok_or_else(|| NsxError::not_found(&format!("/api/v1/upgrade/bundles/{id}")))?;
    let status = manager.bundle_status(bundle);
    Ok(Json(json!({
        "bundle_name": bundle.file_name,
        "url": bundle.url,
        "status": status,
        "percent": if status == "SUCCESS" { 100 } else { 40 },
        "detailed_status": if status == "SUCCESS" { "Upload completed" } else { "Uploading bundle" },
    }))
    .into_response())
}

/// `POST /api/v1/upgrade?action=upgrade_uc`: the coordinator takes the newest fetched bundle.
async fn upgrade_action(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Answer {
    action(query.as_deref(), "/api/v1/upgrade", &["upgrade_uc"])?;
    let mut manager = lock(&shared.manager);
    manager.tick();
    let Some(bundle) = manager.ready_bundle().cloned() else {
        return Err(NsxError::bad_request(
            UPGRADE_STEP,
            "No upgrade bundle has been uploaded; upload one before upgrading the upgrade \
             coordinator.",
        ));
    };
    manager.coordinator = Some(bundle.version);
    Ok(StatusCode::OK.into_response())
}

async fn upgrade_summary(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let mut manager = lock(&shared.manager);
    manager.tick();
    let bundle = manager.ready_bundle().cloned();
    Json(json!({
        "system_version": manager.version,
        "target_version": bundle.as_ref().map(|b| b.version.clone()),
        "upgrade_bundle_file_name": bundle.as_ref().map(|b| b.file_name.clone()),
        "upgrade_coordinator_updated": manager.coordinator.is_some(),
        "upgrade_status": overall_status(&manager),
    }))
}

fn overall_status(manager: &Manager) -> &'static str {
    if manager.upgrade.is_some() {
        "IN_PROGRESS"
    } else {
        manager.last_upgrade.unwrap_or("NOT_STARTED")
    }
}

/// `POST /api/v1/upgrade/plan?action=start`: upgrade to the coordinator's version, which takes a
/// step.
async fn plan_action(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Answer {
    action(query.as_deref(), "/api/v1/upgrade/plan", &["start"])?;
    let mut manager = lock(&shared.manager);
    manager.tick();
    if manager.upgrade.is_some() {
        return Err(NsxError::bad_request(
            UPGRADE_STEP,
            "The upgrade is already in progress.",
        ));
    }
    let Some(target) = manager.coordinator.clone() else {
        return Err(NsxError::bad_request(
            UPGRADE_STEP,
            "The upgrade coordinator has not been upgraded; upgrade it before starting the plan.",
        ));
    };
    manager.last_upgrade = None;
    manager.upgrade = Some((target, Instant::now()));
    Ok(StatusCode::OK.into_response())
}

async fn upgrade_status_summary(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let mut manager = lock(&shared.manager);
    manager.tick();
    let status = overall_status(&manager);
    let target = manager
        .upgrade
        .as_ref()
        .map(|(t, _)| t.clone())
        .or_else(|| manager.coordinator.clone());
    Json(json!({
        "overall_upgrade_status": status,
        "target_version": target,
        "component_status": [{
            "component_type": "MP",
            "status": status,
            "percent_complete": if status == "SUCCESS" { 100 } else { 0 },
            "details": if status == "FAILED" {
                "The management plane upgrade failed on nsx-manager-1."
            } else {
                ""
            },
        }],
    }))
}
