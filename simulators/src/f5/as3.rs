//! AS3: `info`, `declare` and `task`.
//!
//! A declaration goes through what AS3 does, in order: the device must be active and not
//! busy (503 otherwise), the body must be an `AS3` or `ADC` object that validates against the
//! schema and whose references resolve (422 "declaration is invalid", nothing changed), then
//! each tenant is applied (which takes the apply delay, the device busy meanwhile); a tenant
//! holding an object the device refuses fails alone with 422 "declaration failed". The answer
//! holds one result per tenant (200 "success" or "no change", 422), with status 200, 422 or —
//! when they differ — 207 — and the declared tenants as the device now holds them. Applied
//! tenants are config-synced to the standby.
//!
//! `POST /declare/{tenant}` applies that tenant of the declaration; `POST /declare` applies
//! every tenant it holds and, with `updateMode: complete`, removes the others; a tenant with no
//! Application is removed. With `?async=true` the answer is 202 and a task id, and
//! `GET /task/{id}` reads "in progress" until the declaration is applied, then its results.

use std::collections::BTreeMap;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::declaration::{self, ShapeError};
use super::error::F5Error;
use super::{Endpoint, Shared, lock};

/// The AS3 version the simulator reports.
pub const AS3_VERSION: &str = "3.56.0";

/// An async declaration: its device and, once applied, its answer.
#[derive(Debug, Clone)]
pub struct Task {
    device: usize,
    answer: Option<(StatusCode, Value)>,
}

/// What a declare call asks for.
enum Order {
    /// Apply a declaration (to one tenant, or every tenant it holds).
    Declare { tenant: Option<String>, body: Bytes },
    /// Remove one tenant, or all.
    Remove { tenant: Option<String> },
}

/// The device's "applying" flag, cleared when the declaration is done, however it ends.
struct Applying {
    endpoint: Endpoint,
}

impl Applying {
    /// Claim the device for a declaration: it must be active and not busy.
    fn claim(endpoint: &Endpoint) -> Result<Self, F5Error> {
        let now = endpoint.shared.now();
        let mut cluster = lock(&endpoint.shared.cluster);
        let device = &mut cluster.devices[endpoint.device];
        if device.role == super::Role::Standby {
            return Err(F5Error::standby(&device.hostname));
        }
        if device.busy(now) {
            return Err(F5Error::in_progress());
        }
        device.applying = true;
        Ok(Self {
            endpoint: endpoint.clone(),
        })
    }
}

impl Drop for Applying {
    fn drop(&mut self) {
        lock(&self.endpoint.shared.cluster).devices[self.endpoint.device].applying = false;
    }
}

fn is_async(query: Option<&str>) -> bool {
    query.is_some_and(|q| {
        form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k == "async" && v == "true")
    })
}

/// `GET /mgmt/shared/appsvcs/info`.
pub(super) async fn info() -> Json<Value> {
    Json(json!({
        "version": AS3_VERSION,
        "release": "10",
        "schemaCurrent": AS3_VERSION,
        "schemaMinimum": "3.0.0",
    }))
}

/// The device's current declaration, of the tenants `wanted` picks; `None` when it holds none
/// of them.
fn current(shared: &Shared, device: usize, wanted: impl Fn(&str) -> bool) -> Option<Value> {
    let cluster = lock(&shared.cluster);
    let tenants = &cluster.devices[device].tenants;
    let mut adc = Map::new();
    adc.insert("class".into(), json!("ADC"));
    adc.insert("schemaVersion".into(), json!(AS3_VERSION));
    adc.insert("id".into(), json!("fulcrum-sim"));
    adc.insert("updateMode".into(), json!("selective"));
    let mut any = false;
    for (name, body) in tenants {
        if wanted(name) {
            adc.insert(name.clone(), body.clone());
            any = true;
        }
    }
    any.then_some(Value::Object(adc))
}

fn current_answer(shared: &Shared, device: usize, tenant: Option<&str>) -> Response {
    match current(shared, device, |name| tenant.is_none_or(|t| t == name)) {
        Some(declaration) => Json(declaration).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

/// `GET /mgmt/shared/appsvcs/declare`: the whole declaration (204 when there is none).
pub(super) async fn get_all(State(endpoint): State<Endpoint>) -> Response {
    current_answer(&endpoint.shared, endpoint.device, None)
}

/// `GET /mgmt/shared/appsvcs/declare/{tenant}`: one tenant (204 when there is none).
pub(super) async fn get_tenant(
    State(endpoint): State<Endpoint>,
    Path(tenant): Path<String>,
) -> Response {
    current_answer(&endpoint.shared, endpoint.device, Some(&tenant))
}

/// `POST /mgmt/shared/appsvcs/declare`.
pub(super) async fn post_all(
    State(endpoint): State<Endpoint>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    order(endpoint, query, Order::Declare { tenant: None, body }).await
}

/// `POST /mgmt/shared/appsvcs/declare/{tenant}`.
pub(super) async fn post_tenant(
    State(endpoint): State<Endpoint>,
    Path(tenant): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let tenant = Some(tenant);
    order(endpoint, query, Order::Declare { tenant, body }).await
}

/// `DELETE /mgmt/shared/appsvcs/declare`.
pub(super) async fn delete_all(
    State(endpoint): State<Endpoint>,
    RawQuery(query): RawQuery,
) -> Response {
    order(endpoint, query, Order::Remove { tenant: None }).await
}

/// `DELETE /mgmt/shared/appsvcs/declare/{tenant}`.
pub(super) async fn delete_tenant(
    State(endpoint): State<Endpoint>,
    Path(tenant): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    order(
        endpoint,
        query,
        Order::Remove {
            tenant: Some(tenant),
        },
    )
    .await
}

async fn order(endpoint: Endpoint, query: Option<String>, order: Order) -> Response {
    let applying = match Applying::claim(&endpoint) {
        Ok(applying) => applying,
        Err(refused) => return refused.into_response(),
    };
    if !is_async(query.as_deref()) {
        let (status, body) = run(&endpoint, order).await;
        drop(applying);
        return (status, Json(body)).into_response();
    }
    let id = uuid::Uuid::new_v4().to_string();
    lock(&endpoint.shared.tasks).insert(
        id.clone(),
        Task {
            device: endpoint.device,
            answer: None,
        },
    );
    let task_id = id.clone();
    tokio::spawn(async move {
        let answer = run(&endpoint, order).await;
        drop(applying);
        if let Some(task) = lock(&endpoint.shared.tasks).get_mut(&task_id) {
            task.answer = Some(answer);
        }
    });
    (
        StatusCode::ACCEPTED,
        Json(json!({
            "id": id,
            "results": [{ "message": "Declaration successfully submitted", "code": 0,
                          "tenant": "", "host": "", "runTime": 0 }],
            "declaration": {},
            "selfLink": format!("https://localhost/mgmt/shared/appsvcs/task/{id}"),
        })),
    )
        .into_response()
}

/// Validate the declaration and decide each tenant's fate: the tenants to set (`Some`) or
/// remove (`None`), or why the declaration is invalid.
fn plan(
    shared: &Shared,
    device: usize,
    tenant: Option<&str>,
    body: &Bytes,
) -> Result<BTreeMap<String, Option<Value>>, F5Error> {
    let body: Value = serde_json::from_slice(body)
        .map_err(|e| F5Error::invalid(vec![format!("/: the body is not JSON: {e}")]))?;
    let request = declaration::request(&body)
        .map_err(|ShapeError::Unsupported(why)| F5Error::invalid(vec![format!("/: {why}")]))?;
    if let Some(schema) = &shared.schema {
        let started = Instant::now();
        let valid = schema.validate(&body);
        lock(&shared.validation).record(started.elapsed());
        if let Err(violations) = valid {
            let located = declaration::object_violations(schema, &request.adc);
            return Err(F5Error::invalid(if located.is_empty() {
                violations
            } else {
                located
            }));
        }
    }
    let declared = declaration::tenants(&request.adc);
    let mut changes = BTreeMap::new();
    match tenant {
        Some(name) => {
            let tenant = declared.get(name).ok_or_else(|| {
                F5Error::invalid(vec![format!(
                    "/{name}: the declaration holds no tenant {name}, which the path names"
                )])
            })?;
            changes.insert(name.to_owned(), Some(tenant.clone()));
        }
        None => {
            if request.complete {
                for name in lock(&shared.cluster).devices[device].tenants.keys() {
                    changes.insert(name.clone(), None);
                }
            }
            for (name, tenant) in &declared {
                changes.insert(name.clone(), Some(tenant.clone()));
            }
        }
    }
    let mut errors = Vec::new();
    for (name, tenant) in &mut changes {
        if let Some(body) = tenant {
            errors.extend(declaration::unresolved_references(name, body));
            if declaration::is_empty(body) {
                *tenant = None;
            }
        }
    }
    if errors.is_empty() {
        Ok(changes)
    } else {
        Err(F5Error::invalid(errors))
    }
}

/// Apply an order; the answer AS3 gives for it.
async fn run(endpoint: &Endpoint, order: Order) -> (StatusCode, Value) {
    let shared = &endpoint.shared;
    let started = Instant::now();
    let changes = match order {
        Order::Declare { tenant, body } => {
            match plan(shared, endpoint.device, tenant.as_deref(), &body) {
                Ok(changes) => changes,
                Err(invalid) => return (invalid.status, invalid.body),
            }
        }
        Order::Remove { tenant } => {
            let cluster = lock(&shared.cluster);
            let held = &cluster.devices[endpoint.device].tenants;
            match tenant {
                Some(name) => BTreeMap::from([(name, None)]),
                None => held.keys().map(|name| (name.clone(), None)).collect(),
            }
        }
    };
    let delay = lock(&shared.timings).apply_delay;
    tokio::time::sleep(delay).await;
    let bad = lock(&shared.bad_objects).clone();
    let mut results = Vec::new();
    let mut applied = BTreeMap::new();
    let run_time = || started.elapsed().as_millis() as u64;
    {
        let mut cluster = lock(&shared.cluster);
        let held = &cluster.devices[endpoint.device].tenants;
        for (name, tenant) in changes {
            let refusals = tenant
                .as_ref()
                .map(|body| declaration::refused_objects(&name, body, &bad))
                .unwrap_or_default();
            if !refusals.is_empty() {
                results.push(json!({ "code": 422, "message": "declaration failed",
                    "response": refusals.join("; "), "host": "localhost",
                    "tenant": name, "runTime": run_time() }));
                continue;
            }
            let unchanged = held.get(&name) == tenant.as_ref();
            let line_count = tenant.as_ref().map_or(0, declaration::object_count);
            results.push(json!({ "code": 200,
                "message": if unchanged { "no change" } else { "success" },
                "lineCount": line_count, "host": "localhost", "tenant": name,
                "runTime": run_time() }));
            if !unchanged {
                applied.insert(name, tenant);
            }
        }
        cluster.commit(endpoint.device, &applied);
    }
    let failed = results.iter().filter(|r| r["code"] == 422).count();
    let status = match failed {
        0 => StatusCode::OK,
        n if n == results.len() => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::MULTI_STATUS,
    };
    let declared: Vec<&str> = results
        .iter()
        .filter_map(|r| r["tenant"].as_str())
        .collect();
    let declaration = current(shared, endpoint.device, |name| declared.contains(&name))
        .unwrap_or_else(|| json!({}));
    (
        status,
        json!({ "results": results, "declaration": declaration }),
    )
}

/// `GET /mgmt/shared/appsvcs/task/{id}`.
pub(super) async fn task(State(endpoint): State<Endpoint>, Path(id): Path<String>) -> Response {
    let tasks = lock(&endpoint.shared.tasks);
    match tasks.get(&id).filter(|t| t.device == endpoint.device) {
        Some(task) => Json(task_body(&id, task)).into_response(),
        None => F5Error::icontrol(StatusCode::NOT_FOUND, format!("task ID {id} not found"))
            .into_response(),
    }
}

/// `GET /mgmt/shared/appsvcs/task`: every task of this device.
pub(super) async fn tasks(State(endpoint): State<Endpoint>) -> Json<Value> {
    let tasks = lock(&endpoint.shared.tasks);
    let items: Vec<Value> = tasks
        .iter()
        .filter(|(_, t)| t.device == endpoint.device)
        .map(|(id, task)| task_body(id, task))
        .collect();
    Json(json!({ "items": items }))
}

fn task_body(id: &str, task: &Task) -> Value {
    match &task.answer {
        None => json!({ "id": id, "results": [{ "message": "in progress", "code": 0 }],
                        "declaration": {} }),
        Some((_, body)) if body.get("results").is_some() => {
            let mut body = body.clone();
            body["id"] = json!(id);
            body
        }
        Some((_, body)) => json!({ "id": id, "results": [body], "declaration": {} }),
    }
}
