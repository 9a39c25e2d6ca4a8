//! `/v2/lbaas/healthmonitors`.

use crate::shapes::health_monitors::*;
use std::sync::Arc;

use axum::Json;
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use fulcrum_core::Error;
use fulcrum_core::model::{
    HealthMonitor, HealthMonitorType, HttpMethod, Kind, LoadBalancer, OperatingStatus, Pool,
    ProvisioningStatus,
};
use fulcrum_core::patch::Patch;
use fulcrum_core::{timestamp, validate};
use fulcrum_store::WorkAction;
use serde_json::Value;

use super::members::lock_pool;
use super::{
    commit_work, fetch_page, new_id, page_body, show_body, to_value, unsupported, visible,
};
use crate::AppState;
use crate::auth::RequestContext;
use crate::body::OctaviaBody;
use crate::fault::ApiResult;

/// List health monitors.
#[utoipa::path(get, path = "/v2/lbaas/healthmonitors", tag = "healthmonitors",
    responses((status = 200, body = HealthMonitorList)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let (params, items) = fetch_page::<HealthMonitor>(&state, &ctx, raw.as_deref(), &[]).await?;
    let rendered = items
        .iter()
        .map(|h| to_value(&HealthMonitorView::new(h.clone())))
        .collect();
    Ok(Json(page_body(
        &params,
        &headers,
        uri.path(),
        "healthmonitors",
        &items,
        rendered,
    )))
}

/// Show one health monitor.
#[utoipa::path(get, path = "/v2/lbaas/healthmonitors/{id}", tag = "healthmonitors",
    params(("id" = String, Path, description = "Health monitor id")),
    responses((status = 200, body = HealthMonitorBody), (status = 404, body = crate::fault::Fault)))]
pub async fn show(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let h: HealthMonitor = visible(&state, &ctx, &id).await?;
    Ok(Json(show_body(
        "healthmonitor",
        &HealthMonitorView::new(h),
        raw.as_deref(),
    )))
}

/// Create the health monitor of a pool.
#[utoipa::path(post, path = "/v2/lbaas/healthmonitors", tag = "healthmonitors",
    request_body(content = inline(CreateHealthMonitor), description = "`{\"healthmonitor\": {...}}`"),
    responses((status = 201, body = HealthMonitorBody), (status = 400, body = crate::fault::Fault),
              (status = 404, body = crate::fault::Fault), (status = 409, body = crate::fault::Fault),
              (status = 501, body = crate::fault::Fault)))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    OctaviaBody(req): OctaviaBody<CreateHealthMonitor>,
) -> ApiResult<(StatusCode, Json<HealthMonitorBody>)> {
    let h = create_monitor(&state, &ctx, req).await?;
    Ok((
        StatusCode::CREATED,
        Json(HealthMonitorBody {
            healthmonitor: HealthMonitorView::new(h),
        }),
    ))
}

/// Update a health monitor.
#[utoipa::path(put, path = "/v2/lbaas/healthmonitors/{id}", tag = "healthmonitors",
    params(("id" = String, Path, description = "Health monitor id")),
    request_body(content = inline(UpdateHealthMonitor), description = "`{\"healthmonitor\": {...}}`"),
    responses((status = 200, body = HealthMonitorBody), (status = 400, body = crate::fault::Fault),
              (status = 404, body = crate::fault::Fault), (status = 409, body = crate::fault::Fault)))]
pub async fn update(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(id): Path<String>,
    OctaviaBody(req): OctaviaBody<UpdateHealthMonitor>,
) -> ApiResult<Json<HealthMonitorBody>> {
    let h = update_monitor(&state, &ctx, &id, req).await?;
    Ok(Json(HealthMonitorBody {
        healthmonitor: HealthMonitorView::new(h),
    }))
}

/// Delete a health monitor.
#[utoipa::path(delete, path = "/v2/lbaas/healthmonitors/{id}", tag = "healthmonitors",
    params(("id" = String, Path, description = "Health monitor id")),
    responses((status = 204), (status = 404, body = crate::fault::Fault),
              (status = 409, body = crate::fault::Fault)))]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let h: HealthMonitor = visible(&state, &ctx, &id).await?;
    let pool: Pool = visible(&state, &ctx, &h.pool_id).await?;
    let mut tx = state.service.store.begin().await?;
    lock_pool(&mut tx, &pool).await?;
    tx.set_status(
        Kind::HealthMonitor,
        &h.id,
        ProvisioningStatus::PendingDelete,
    )
    .await?;
    commit_work(&state, tx, &pool.loadbalancer_id, WorkAction::Apply).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn check_capabilities(
    state: &AppState,
    lb: &LoadBalancer,
    kind: HealthMonitorType,
) -> Result<(), Error> {
    let caps = state.service.providers.get(&lb.provider)?.capabilities();
    if !caps.health_monitor_types.contains(&kind) {
        return Err(unsupported(
            &lb.provider,
            format!("{kind} health monitors are not supported."),
        ));
    }
    Ok(())
}

/// A new health monitor of `pool` from a create request, with Octavia's defaults.
fn new_monitor(pool: &Pool, lb: &LoadBalancer, req: CreateHealthMonitor) -> HealthMonitor {
    let http = req.kind.is_http();
    HealthMonitor {
        id: new_id(),
        project_id: lb.project_id.clone(),
        loadbalancer_id: lb.id.clone(),
        pool_id: pool.id.clone(),
        name: req.name,
        kind: req.kind,
        delay: req.delay,
        timeout: req.timeout,
        max_retries: req.max_retries,
        max_retries_down: req.max_retries_down.unwrap_or(3),
        http_method: req.http_method.or(http.then_some(HttpMethod::Get)),
        url_path: req.url_path.or_else(|| http.then(|| "/".to_string())),
        expected_codes: req
            .expected_codes
            .or_else(|| http.then(|| "200".to_string())),
        http_version: req.http_version,
        domain_name: req.domain_name,
        admin_state_up: req.admin_state_up.unwrap_or(true),
        provisioning_status: ProvisioningStatus::PendingCreate,
        operating_status: OperatingStatus::Offline,
        tags: req.tags.unwrap_or_default(),
        created_at: timestamp::now(),
        updated_at: None,
    }
}

/// A new health monitor of `pool` from a create request, with Octavia's defaults, validated
/// (fields, pool protocol, provider capabilities). Shared by `POST /healthmonitors` and the load
/// balancer graph create; "one monitor per pool" is the caller's to check.
pub(crate) fn build_monitor(
    state: &AppState,
    pool: &Pool,
    lb: &LoadBalancer,
    req: CreateHealthMonitor,
) -> Result<HealthMonitor, Error> {
    let h = new_monitor(pool, lb, req);
    validate::health_monitor(&h, pool.protocol)?;
    check_capabilities(state, lb, h.kind)?;
    Ok(h)
}

async fn create_monitor(
    state: &AppState,
    ctx: &RequestContext,
    req: CreateHealthMonitor,
) -> Result<HealthMonitor, Error> {
    let pool: Pool = visible(state, ctx, &req.pool_id).await?;
    let lb: LoadBalancer = visible(state, ctx, &pool.loadbalancer_id).await?;
    let h = build_monitor(state, &pool, &lb, req)?;
    let mut tx = state.service.store.begin().await?;
    if !tx
        .children::<HealthMonitor>("pool_id", &pool.id)
        .await?
        .is_empty()
    {
        return Err(Error::Conflict(
            "This pool already has a health monitor".into(),
        ));
    }
    lock_pool(&mut tx, &pool).await?;
    let project = h.project_id.as_deref();
    crate::quotas::reserve(state, &mut tx, project, &[(Kind::HealthMonitor, 1)]).await?;
    tx.insert(&h).await?;
    commit_work(state, tx, &lb.id, WorkAction::Apply).await?;
    Ok(h)
}

/// A field that may be changed but not cleared: `null` is Octavia's "None is not a valid option".
fn apply_required(patch: Patch<i64>, field: &str, slot: &mut i64) -> Result<(), Error> {
    match patch {
        Patch::Absent => Ok(()),
        Patch::Null => Err(Error::invalid_option("None", field)),
        Patch::Value(v) => {
            *slot = v;
            Ok(())
        }
    }
}

/// An optional field whose `null` resets it to a default.
fn apply_default<T>(patch: Patch<T>, slot: &mut Option<T>, default: impl FnOnce() -> T) {
    match patch {
        Patch::Absent => {}
        Patch::Null => *slot = Some(default()),
        Patch::Value(v) => *slot = Some(v),
    }
}

/// `http_method`, `url_path` and `expected_codes`: only HTTP/HTTPS monitors take them, and a PUT
/// naming any of them (even as `null`) for another type is refused.
fn apply_http_fields(h: &mut HealthMonitor, req: &mut UpdateHealthMonitor) -> Result<(), Error> {
    let http_method = std::mem::take(&mut req.http_method);
    let url_path = std::mem::take(&mut req.url_path);
    let expected_codes = std::mem::take(&mut req.expected_codes);
    if !h.kind.is_http() {
        for (field, present) in [
            ("http_method", http_method.is_present()),
            ("url_path", url_path.is_present()),
            ("expected_codes", expected_codes.is_present()),
        ] {
            if present {
                return Err(Error::invalid_option(
                    field,
                    &format!("health monitors of type {}", h.kind),
                ));
            }
        }
        return Ok(());
    }
    apply_default(http_method, &mut h.http_method, || HttpMethod::Get);
    apply_default(url_path, &mut h.url_path, || "/".to_string());
    apply_default(expected_codes, &mut h.expected_codes, || "200".to_string());
    Ok(())
}

/// Apply a PUT body to a stored monitor.
fn apply_update(h: &mut HealthMonitor, mut req: UpdateHealthMonitor) -> Result<(), Error> {
    apply_http_fields(h, &mut req)?;
    apply_required(req.delay, "delay", &mut h.delay)?;
    apply_required(req.timeout, "timeout", &mut h.timeout)?;
    apply_required(req.max_retries, "max_retries", &mut h.max_retries)?;
    req.max_retries_down.apply_to(&mut h.max_retries_down, || 3);
    req.name.apply_opt(&mut h.name);
    req.admin_state_up.apply_to(&mut h.admin_state_up, || false);
    req.tags.apply_to(&mut h.tags, Vec::new);
    req.http_version.apply_opt(&mut h.http_version);
    req.domain_name.apply_opt(&mut h.domain_name);
    Ok(())
}

async fn update_monitor(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
    req: UpdateHealthMonitor,
) -> Result<HealthMonitor, Error> {
    let mut h: HealthMonitor = visible(state, ctx, id).await?;
    let pool: Pool = visible(state, ctx, &h.pool_id).await?;
    apply_update(&mut h, req)?;
    validate::health_monitor(&h, pool.protocol)?;
    h.provisioning_status = ProvisioningStatus::PendingUpdate;
    h.updated_at = Some(timestamp::now());
    let mut tx = state.service.store.begin().await?;
    lock_pool(&mut tx, &pool).await?;
    tx.update(&h).await?;
    commit_work(state, tx, &pool.loadbalancer_id, WorkAction::Apply).await?;
    Ok(h)
}
