//! Steering the simulator from a test: the [`Control`] handle, and the same operations over
//! HTTP under `/sim/` on every device's listener (never counted, faulted or authenticated):
//!
//! | call | what it does |
//! |---|---|
//! | `GET /sim/calls`, `DELETE /sim/calls` | the [`CallLog`] (device, role, method, path, status); reset it |
//! | `GET /sim/faults`, `PUT /sim/faults`, `DELETE /sim/faults` | the [`FaultPlan`] in force and what it injected; set one; clear it |
//! | `GET /sim/bad-objects`, `PUT /sim/bad-objects` `{"addresses", "certificates"}`, `DELETE /sim/bad-objects` | objects the devices refuse (a declaration holding one gets 422 naming it) |
//! | `POST /sim/occupy` `{"device", "ms"}` | keep a device busy, as if applying a declaration (declarations get 503) |
//! | `POST /sim/failover` | swap the roles of the pair |
//! | `GET /sim/devices` | each device's host name, role, version, license end, tenants, whether it reboots, and its sync status |
//! | `PUT /sim/sync` `{"device", "status"}` | force a device's config-sync status (`"Changes Pending"`), or clear it with `null` |
//! | `PUT /sim/stats` `{"path", "values"}`, `DELETE /sim/stats` | set statistics of a virtual server or pool (`/Tenant/App/name`); clear all |
//! | `PUT /sim/license` `{"device", "end_date"?, "registration_key"?}` | set a device's license end (`YYYY/MM/DD`) and the registration key it reports |
//! | `PUT /sim/license-keys` `{"keys"}`, `DELETE /sim/license-keys` | the registration keys a license install accepts (others get 400); any key again |
//! | `POST /sim/clock` `{"advance_ms"}` | move the clock forward (tokens expire, installs finish) |
//! | `PUT /sim/settings` `{"apply_delay_ms"?, "install_delay_ms"?}` | change how long applying and installing take |
//! | `GET /sim/validation` | how long schema validation has taken ([`ValidationTimes`]) |

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::bad_objects::BadObjects;
use super::calls::CallLog;
use super::device::Role;
use super::schema::ValidationTimes;
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

/// What a device is and holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceReport {
    /// Its host name.
    pub hostname: String,
    /// Its role.
    pub role: Role,
    /// The version it runs.
    pub version: String,
    /// Its license end.
    pub license_end: String,
    /// The names of the tenants it holds.
    pub tenants: Vec<String>,
    /// Whether it is rebooting now (out of service).
    pub rebooting: bool,
    /// Its config-sync status.
    pub sync_status: String,
}

impl Control {
    pub(super) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
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

    /// Make the devices refuse these objects.
    pub fn set_bad_objects(&self, bad: BadObjects) {
        *lock(&self.shared.bad_objects) = bad;
    }

    /// The objects the devices refuse.
    pub fn bad_objects(&self) -> BadObjects {
        lock(&self.shared.bad_objects).clone()
    }

    /// Keep a device busy for a while, as if it applied a declaration; false if there is no
    /// such device.
    pub fn occupy(&self, device: usize, duration: Duration) -> bool {
        let until = self.shared.now() + duration;
        let mut cluster = lock(&self.shared.cluster);
        match cluster.devices.get_mut(device) {
            Some(device) => {
                device.occupied_until = Some(until);
                true
            }
            None => false,
        }
    }

    /// Swap the roles of the pair; false for a single device.
    pub fn failover(&self) -> bool {
        let now = self.shared.now();
        lock(&self.shared.cluster).failover(now)
    }

    /// The active device's index.
    pub fn active(&self) -> usize {
        lock(&self.shared.cluster).active()
    }

    /// Each device, by index.
    pub fn devices(&self) -> Vec<DeviceReport> {
        let now = self.shared.now();
        let cluster = lock(&self.shared.cluster);
        cluster
            .devices
            .iter()
            .enumerate()
            .map(|(i, d)| DeviceReport {
                hostname: d.hostname.clone(),
                role: d.role,
                version: d.version.clone(),
                license_end: d.license_end.clone(),
                tenants: d.tenants.keys().cloned().collect(),
                rebooting: d.rebooting(now),
                sync_status: cluster.sync_status(i, now).0,
            })
            .collect()
    }

    /// Force a device's config-sync status (`Changes Pending`), or clear it with `None`; false
    /// if there is no such device.
    pub fn set_sync_status(&self, device: usize, status: Option<String>) -> bool {
        let mut cluster = lock(&self.shared.cluster);
        match cluster.devices.get_mut(device) {
            Some(device) => {
                device.sync_override = status;
                true
            }
            None => false,
        }
    }

    /// The tenants a device holds, by name; empty for an unknown device.
    pub fn tenants(&self, device: usize) -> BTreeMap<String, Value> {
        lock(&self.shared.cluster)
            .devices
            .get(device)
            .map(|d| d.tenants.clone())
            .unwrap_or_default()
    }

    /// Set statistics of a virtual server or pool (`/Tenant/App/name`): numbers are counters,
    /// strings descriptions (`"status.availabilityState": "offline"`).
    pub fn set_stats(&self, path: &str, values: Map<String, Value>) {
        lock(&self.shared.cluster)
            .stats
            .entry(path.to_owned())
            .or_default()
            .extend(values);
    }

    /// Report zero counters again.
    pub fn clear_stats(&self) {
        lock(&self.shared.cluster).stats.clear();
    }

    /// Set a device's license end date; false if there is no such device.
    pub fn set_license_end(&self, device: usize, end_date: &str) -> bool {
        let mut cluster = lock(&self.shared.cluster);
        match cluster.devices.get_mut(device) {
            Some(device) => {
                device.license_end = end_date.to_owned();
                true
            }
            None => false,
        }
    }

    /// Make a device report `key` as its license's registration key (none: unlicensed); false
    /// if there is no such device.
    pub fn set_registration_key(&self, device: usize, key: Option<String>) -> bool {
        let mut cluster = lock(&self.shared.cluster);
        match cluster.devices.get_mut(device) {
            Some(device) => {
                device.registration_key = key;
                true
            }
            None => false,
        }
    }

    /// Accept only these registration keys in a license install (`None`: any key).
    pub fn set_accepted_license_keys(&self, keys: Option<BTreeSet<String>>) {
        lock(&self.shared.cluster).accepted_license_keys = keys;
    }

    /// Move the devices' clock forward.
    pub fn advance_clock(&self, by: Duration) {
        lock(&self.shared.clock).advance(by);
    }

    /// Change how long applying a declaration takes.
    pub fn set_apply_delay(&self, delay: Duration) {
        lock(&self.shared.timings).apply_delay = delay;
    }

    /// Change how long a software install takes.
    pub fn set_install_delay(&self, delay: Duration) {
        lock(&self.shared.timings).install_delay = delay;
    }

    /// How long schema validation has taken.
    pub fn validation_times(&self) -> ValidationTimes {
        lock(&self.shared.validation).clone()
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
            "/sim/bad-objects",
            get(bad_objects)
                .put(set_bad_objects)
                .delete(clear_bad_objects),
        )
        .route("/sim/occupy", post(occupy))
        .route("/sim/failover", post(failover))
        .route("/sim/devices", get(devices))
        .route("/sim/sync", put(set_sync))
        .route("/sim/stats", put(set_stats).delete(clear_stats))
        .route("/sim/license", put(set_license))
        .route(
            "/sim/license-keys",
            put(set_license_keys).delete(accept_any_license_key),
        )
        .route("/sim/clock", post(advance_clock))
        .route("/sim/settings", put(settings))
        .route("/sim/validation", get(validation))
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

async fn bad_objects(State(control): State<Control>) -> Json<BadObjects> {
    Json(control.bad_objects())
}

async fn set_bad_objects(
    State(control): State<Control>,
    Json(bad): Json<BadObjects>,
) -> StatusCode {
    control.set_bad_objects(bad);
    StatusCode::NO_CONTENT
}

async fn clear_bad_objects(State(control): State<Control>) -> StatusCode {
    control.set_bad_objects(BadObjects::default());
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Occupy {
    device: usize,
    ms: u64,
}

async fn occupy(State(control): State<Control>, Json(order): Json<Occupy>) -> Response {
    if control.occupy(order.device, Duration::from_millis(order.ms)) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        refused(StatusCode::NOT_FOUND, format!("no device {}", order.device))
    }
}

async fn failover(State(control): State<Control>) -> Response {
    if control.failover() {
        StatusCode::NO_CONTENT.into_response()
    } else {
        refused(StatusCode::CONFLICT, "a single device has no peer")
    }
}

async fn devices(State(control): State<Control>) -> Json<Vec<DeviceReport>> {
    Json(control.devices())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SyncOrder {
    device: usize,
    status: Option<String>,
}

async fn set_sync(State(control): State<Control>, Json(order): Json<SyncOrder>) -> Response {
    if control.set_sync_status(order.device, order.status) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        refused(StatusCode::NOT_FOUND, format!("no device {}", order.device))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Stats {
    path: String,
    values: Map<String, Value>,
}

async fn set_stats(State(control): State<Control>, Json(stats): Json<Stats>) -> Response {
    if let Some((key, _)) = stats
        .values
        .iter()
        .find(|(_, v)| !(v.is_u64() || v.is_string()))
    {
        return refused(
            StatusCode::BAD_REQUEST,
            format!("{key}: a counter is a whole number 0 or more, a description a string"),
        );
    }
    control.set_stats(&stats.path, stats.values);
    StatusCode::NO_CONTENT.into_response()
}

async fn clear_stats(State(control): State<Control>) -> StatusCode {
    control.clear_stats();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct License {
    device: usize,
    #[serde(default)]
    end_date: Option<String>,
    #[serde(default, deserialize_with = "present")]
    registration_key: Option<Option<String>>,
}

/// A field that is present, even as `null`, is `Some`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

async fn set_license(State(control): State<Control>, Json(license): Json<License>) -> Response {
    let known = control.devices().len() > license.device;
    if !known {
        return refused(
            StatusCode::NOT_FOUND,
            format!("no device {}", license.device),
        );
    }
    if let Some(end_date) = &license.end_date {
        control.set_license_end(license.device, end_date);
    }
    if let Some(key) = license.registration_key {
        control.set_registration_key(license.device, key);
    }
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LicenseKeys {
    keys: BTreeSet<String>,
}

async fn set_license_keys(
    State(control): State<Control>,
    Json(accepted): Json<LicenseKeys>,
) -> StatusCode {
    control.set_accepted_license_keys(Some(accepted.keys));
    StatusCode::NO_CONTENT
}

async fn accept_any_license_key(State(control): State<Control>) -> StatusCode {
    control.set_accepted_license_keys(None);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    advance_ms: u64,
}

async fn advance_clock(State(control): State<Control>, Json(by): Json<Advance>) -> StatusCode {
    control.advance_clock(Duration::from_millis(by.advance_ms));
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    apply_delay_ms: Option<u64>,
    install_delay_ms: Option<u64>,
}

async fn settings(State(control): State<Control>, Json(settings): Json<Settings>) -> StatusCode {
    if let Some(ms) = settings.apply_delay_ms {
        control.set_apply_delay(Duration::from_millis(ms));
    }
    if let Some(ms) = settings.install_delay_ms {
        control.set_install_delay(Duration::from_millis(ms));
    }
    StatusCode::NO_CONTENT
}

async fn validation(State(control): State<Control>) -> Json<ValidationTimes> {
    Json(control.validation_times())
}
