//! Steering the simulator from a test: the [`Control`] handle, and the same operations over
//! HTTP under `/sim/` (never counted, rate limited, faulted or authenticated):
//!
//! | call | what it does |
//! |---|---|
//! | `GET /sim/calls`, `DELETE /sim/calls` | the [`CallLog`]; reset it |
//! | `GET /sim/faults`, `PUT /sim/faults`, `DELETE /sim/faults` | the [`FaultPlan`] in force and what it injected; set one; clear it |
//! | `PUT /sim/realization-errors` `{"path", "message"}`, `DELETE /sim/realization-errors[?path=]` | make a path fail to realize; clear one or all |
//! | `PUT /sim/settings` `{"rate_per_second"?, "realization_delay_ms"?}` | change the rate limit or the realization delay |
//! | `GET /sim/objects[?prefix=]` | every stored object (with system fields), in path order |
//! | `PATCH /sim/objects?path=` (fields), `DELETE /sim/objects?path=` | change or delete an object behind the driver's back |
//! | `POST /sim/sessions/expire` | end every session (the next call gets 403, error_code 98) |
//! | `PUT /sim/member-status` `{"pool_path", "ip_address", "port"?, "status"}`, `DELETE /sim/member-status` | force a member's status in detailed-status; clear |
//! | `PUT /sim/licenses` `{"license_key", "expiry_ms"}` | issue a license key the manager accepts until then |
//! | `PUT /sim/manager` `{"cluster_status"?, "fail_upgrades"?}` | set the management cluster's status; make upgrade plans fail (or succeed again) |

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::calls::CallLog;
use super::rate_limit::TokenBucket;
use super::{Shared, lock};
use crate::faults::{FaultPlan, FaultReport, Faults};

/// A handle on a running simulator's state.
#[derive(Clone)]
pub struct Control {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control").finish_non_exhaustive()
    }
}

impl Control {
    pub(super) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Make `key` a license the manager accepts until `expiry_ms` (epoch milliseconds; an
    /// installed key reports `is_expired` once that has passed).
    pub fn issue_license(&self, key: &str, expiry_ms: i64) {
        lock(&self.shared.manager).issue_license(key, expiry_ms);
    }

    /// Set the management cluster's status (`STABLE`, `DEGRADED`, `UNSTABLE`).
    pub fn set_cluster_status(&self, status: &str) {
        lock(&self.shared.manager).set_cluster_status(status);
    }

    /// Set the status (`UP`, `DOWN`, `DEGRADED`) of the Edge transport node named `name`;
    /// whether there is one.
    pub fn set_edge_status(&self, name: &str, status: &str) -> bool {
        lock(&self.shared.manager).set_edge_status(name, status)
    }

    /// Make the upgrade plans started from now on end `FAILED` (`false`: succeed again).
    pub fn fail_upgrades(&self, fail: bool) {
        lock(&self.shared.manager).fail_upgrade(fail);
    }

    /// The version the manager runs now.
    pub fn version(&self) -> String {
        lock(&self.shared.manager).version.clone()
    }

    /// The calls answered so far.
    pub fn calls(&self) -> CallLog {
        lock(&self.shared.calls).clone()
    }

    /// Forget the calls answered so far.
    pub fn reset_calls(&self) {
        *lock(&self.shared.calls) = CallLog::default();
    }

    /// Put a fault plan in force.
    pub fn set_faults(&self, plan: FaultPlan) -> Result<(), String> {
        plan.validate()?;
        *lock(&self.shared.faults) = Faults::new(plan);
        Ok(())
    }

    /// Inject no more faults.
    pub fn clear_faults(&self) {
        *lock(&self.shared.faults) = Faults::default();
    }

    /// The plan in force and its counts.
    pub fn faults(&self) -> FaultReport {
        lock(&self.shared.faults).report()
    }

    /// Make the object at `path` report a realization error with `message`.
    pub fn set_realization_error(&self, path: &str, message: &str) {
        lock(&self.shared.realization).set_error(path.to_owned(), message.to_owned());
    }

    /// Clear the realization error of one path, or of all.
    pub fn clear_realization_errors(&self, path: Option<&str>) {
        lock(&self.shared.realization).clear_errors(path);
    }

    /// Change how long realization takes.
    pub fn set_realization_delay(&self, delay: Duration) {
        lock(&self.shared.realization).set_delay(delay);
    }

    /// Change the rate limit (0: unlimited); the bucket starts full.
    pub fn set_rate(&self, per_second: f64) {
        *lock(&self.shared.bucket) = TokenBucket::new(per_second);
    }

    /// Every stored object whose path starts with `prefix`, in path order.
    pub fn objects(&self, prefix: &str) -> Vec<Value> {
        lock(&self.shared.store)
            .iter()
            .filter(|(path, _)| path.starts_with(prefix))
            .map(|(_, object)| object.body.clone())
            .collect()
    }

    /// The stored object at a path.
    pub fn object(&self, path: &str) -> Option<Value> {
        lock(&self.shared.store).get(path).map(|o| o.body.clone())
    }

    /// Delete an object behind the driver's back, references or not; false if there was none.
    pub fn delete_behind(&self, path: &str) -> bool {
        let mut store = lock(&self.shared.store);
        if store.get(path).is_none() {
            return false;
        }
        let mut tx = store.begin(None, "nsx-admin").allowing_overwrite(true);
        if tx.delete(path).is_err() {
            return false;
        }
        let changes = tx.commit_unchecked();
        store.apply(changes);
        true
    }

    /// Change an object's fields behind the driver's back (its `_revision` grows); false if
    /// there is no such object.
    pub fn patch_behind(&self, path: &str, fields: &Map<String, Value>) -> bool {
        let mut store = lock(&self.shared.store);
        let mut tx = store.begin(None, "nsx-admin");
        if !tx.write_unchecked(path, fields) {
            return false;
        }
        let changes = tx.commit_unchecked();
        store.apply(changes);
        true
    }

    /// End every session.
    pub fn expire_sessions(&self) {
        lock(&self.shared.auth).expire_all();
    }

    /// Force the status detailed-status reports for a pool member (`port` as stored, or "").
    pub fn set_member_status(&self, pool_path: &str, ip_address: &str, port: &str, status: &str) {
        lock(&self.shared.members).insert(
            (pool_path.to_owned(), ip_address.to_owned(), port.to_owned()),
            status.to_owned(),
        );
    }

    /// Report every member's own status again.
    pub fn clear_member_statuses(&self) {
        lock(&self.shared.members).clear();
    }
}

/// The `/sim/` routes.
pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/sim/calls", get(calls).delete(reset_calls))
        .route(
            "/sim/faults",
            get(faults).put(set_faults).delete(clear_faults),
        )
        .route(
            "/sim/realization-errors",
            put(set_realization_error).delete(clear_realization_errors),
        )
        .route("/sim/settings", put(settings))
        .route(
            "/sim/objects",
            get(objects).patch(patch_behind).delete(delete_behind),
        )
        .route("/sim/sessions/expire", post(expire_sessions))
        .route(
            "/sim/member-status",
            put(set_member_status).delete(clear_member_statuses),
        )
        .route("/sim/licenses", put(issue_license))
        .route("/sim/manager", put(set_manager))
        .with_state(Control::new(shared))
}

fn refused(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

async fn calls(State(control): State<Control>) -> Json<CallLog> {
    Json(control.calls())
}

async fn reset_calls(State(control): State<Control>) -> StatusCode {
    control.reset_calls();
    StatusCode::NO_CONTENT
}

async fn faults(State(control): State<Control>) -> Json<FaultReport> {
    Json(control.faults())
}

async fn set_faults(State(control): State<Control>, Json(plan): Json<FaultPlan>) -> Response {
    match control.set_faults(plan) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(why) => refused(StatusCode::BAD_REQUEST, why),
    }
}

async fn clear_faults(State(control): State<Control>) -> StatusCode {
    control.clear_faults();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RealizationError {
    path: String,
    message: String,
}

async fn set_realization_error(
    State(control): State<Control>,
    Json(error): Json<RealizationError>,
) -> StatusCode {
    control.set_realization_error(&error.path, &error.message);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct OptionalPath {
    path: Option<String>,
}

async fn clear_realization_errors(
    State(control): State<Control>,
    Query(query): Query<OptionalPath>,
) -> StatusCode {
    control.clear_realization_errors(query.path.as_deref());
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    rate_per_second: Option<f64>,
    realization_delay_ms: Option<u64>,
}

async fn settings(State(control): State<Control>, Json(settings): Json<Settings>) -> Response {
    if let Some(rate) = settings.rate_per_second {
        if !(rate.is_finite() && rate >= 0.0) {
            return refused(StatusCode::BAD_REQUEST, "rate_per_second must be 0 or more");
        }
        control.set_rate(rate);
    }
    if let Some(delay) = settings.realization_delay_ms {
        control.set_realization_delay(Duration::from_millis(delay));
    }
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssuedLicense {
    license_key: String,
    expiry_ms: i64,
}

async fn issue_license(
    State(control): State<Control>,
    Json(license): Json<IssuedLicense>,
) -> StatusCode {
    control.issue_license(&license.license_key, license.expiry_ms);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManagerSettings {
    cluster_status: Option<String>,
    fail_upgrades: Option<bool>,
}

async fn set_manager(
    State(control): State<Control>,
    Json(settings): Json<ManagerSettings>,
) -> StatusCode {
    if let Some(status) = &settings.cluster_status {
        control.set_cluster_status(status);
    }
    if let Some(fail) = settings.fail_upgrades {
        control.fail_upgrades(fail);
    }
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct Prefix {
    prefix: Option<String>,
}

async fn objects(State(control): State<Control>, Query(query): Query<Prefix>) -> Json<Value> {
    let objects = control.objects(query.prefix.as_deref().unwrap_or("/"));
    Json(json!({ "result_count": objects.len(), "results": objects }))
}

#[derive(Deserialize)]
struct ObjectPath {
    path: String,
}

async fn patch_behind(
    State(control): State<Control>,
    Query(query): Query<ObjectPath>,
    Json(fields): Json<Map<String, Value>>,
) -> Response {
    if control.patch_behind(&query.path, &fields) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        refused(
            StatusCode::NOT_FOUND,
            format!("no object at {}", query.path),
        )
    }
}

async fn delete_behind(
    State(control): State<Control>,
    Query(query): Query<ObjectPath>,
) -> Response {
    if control.delete_behind(&query.path) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        refused(
            StatusCode::NOT_FOUND,
            format!("no object at {}", query.path),
        )
    }
}

async fn expire_sessions(State(control): State<Control>) -> StatusCode {
    control.expire_sessions();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberStatus {
    pool_path: String,
    ip_address: String,
    #[serde(default)]
    port: String,
    status: String,
}

async fn set_member_status(
    State(control): State<Control>,
    Json(member): Json<MemberStatus>,
) -> StatusCode {
    control.set_member_status(
        &member.pool_path,
        &member.ip_address,
        &member.port,
        &member.status,
    );
    StatusCode::NO_CONTENT
}

async fn clear_member_statuses(State(control): State<Control>) -> StatusCode {
    control.clear_member_statuses();
    StatusCode::NO_CONTENT
}
