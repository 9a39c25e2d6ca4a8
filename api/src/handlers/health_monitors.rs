//! `/v2/lbaas/healthmonitors`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use fulcrum_core::model::HealthMonitor;
use serde_json::Value;

use super::{ListBody, ListRequest, show_body};
use crate::auth::RequestContext;
use crate::body::OctaviaBody;
use crate::fault::ApiResult;
use crate::shapes::envelope::Envelope;
use crate::shapes::health_monitors::{
    CreateHealthMonitor, HealthMonitorBody, HealthMonitorList, HealthMonitorView,
    UpdateHealthMonitor,
};
use crate::state::AppState;

/// List health monitors.
#[utoipa::path(get, path = "/v2/lbaas/healthmonitors", tag = "healthmonitors",
    responses((status = 200, body = HealthMonitorList)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    list: ListRequest,
) -> ApiResult<ListBody> {
    let page = state
        .service
        .list::<HealthMonitor>(&ctx, list.query())
        .await?;
    Ok(list.page_body(page, "healthmonitors", |h, _| HealthMonitorView::new(h))?)
}

/// Show one health monitor.
#[utoipa::path(get, path = "/v2/lbaas/healthmonitors/{id}", tag = "healthmonitors",
    params(("id" = String, Path, description = "Health monitor id")),
    responses((status = 200, body = HealthMonitorBody)))]
pub async fn show(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let found = state.service.show::<HealthMonitor>(&ctx, &id).await?;
    Ok(Json(show_body(
        "healthmonitor",
        &HealthMonitorView::new(found.object),
        raw.as_deref(),
    )))
}

/// Create the health monitor of a pool.
#[utoipa::path(post, path = "/v2/lbaas/healthmonitors", tag = "healthmonitors",
    request_body(content = inline(Envelope<CreateHealthMonitor>), description = "`{\"healthmonitor\": {...}}`"),
    responses((status = 201, body = HealthMonitorBody)))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    OctaviaBody(req): OctaviaBody<CreateHealthMonitor>,
) -> ApiResult<(StatusCode, Json<HealthMonitorBody>)> {
    let h = state.service.create_monitor(&ctx, req).await?;
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
    request_body(content = inline(Envelope<UpdateHealthMonitor>), description = "`{\"healthmonitor\": {...}}`"),
    responses((status = 200, body = HealthMonitorBody)))]
pub async fn update(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(id): Path<String>,
    OctaviaBody(req): OctaviaBody<UpdateHealthMonitor>,
) -> ApiResult<Json<HealthMonitorBody>> {
    let h = state.service.update_monitor(&ctx, &id, req).await?;
    Ok(Json(HealthMonitorBody {
        healthmonitor: HealthMonitorView::new(h),
    }))
}

/// Delete a health monitor.
#[utoipa::path(delete, path = "/v2/lbaas/healthmonitors/{id}", tag = "healthmonitors",
    params(("id" = String, Path, description = "Health monitor id")),
    responses((status = 204)))]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.service.delete_monitor(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
