//! `/v2/lbaas/listeners`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use fulcrum_core::model::Listener;
use serde_json::Value;

use super::{ListBody, ListRequest, show_body};
use crate::auth::RequestContext;
use crate::body::OctaviaBody;
use crate::fault::ApiResult;
use crate::shapes::envelope::Envelope;
use crate::shapes::listeners::{
    CreateListener, ListenerBody, ListenerList, ListenerView, UpdateListener,
};
use crate::shapes::{Related, StatsBody};
use crate::state::AppState;

/// List listeners.
#[utoipa::path(get, path = "/v2/lbaas/listeners", tag = "listeners",
    responses((status = 200, body = ListenerList)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    list: ListRequest,
) -> ApiResult<ListBody> {
    let page = state.service.list::<Listener>(&ctx, list.query()).await?;
    Ok(list.page_body(page, "listeners", ListenerView::new)?)
}

/// Show one listener.
#[utoipa::path(get, path = "/v2/lbaas/listeners/{id}", tag = "listeners",
    params(("id" = String, Path, description = "Listener id")),
    responses((status = 200, body = ListenerBody)))]
pub async fn show(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let found = state.service.show::<Listener>(&ctx, &id).await?;
    Ok(Json(show_body(
        "listener",
        &ListenerView::new(found.object, &found.related),
        raw.as_deref(),
    )))
}

/// Create a listener.
#[utoipa::path(post, path = "/v2/lbaas/listeners", tag = "listeners",
    request_body(content = inline(Envelope<CreateListener>), description = "`{\"listener\": {...}}`"),
    responses((status = 201, body = ListenerBody)))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    OctaviaBody(req): OctaviaBody<CreateListener>,
) -> ApiResult<(StatusCode, Json<ListenerBody>)> {
    let listener = state.service.create_listener(&ctx, req).await?;
    Ok((
        StatusCode::CREATED,
        Json(ListenerBody {
            listener: ListenerView::new(listener, &Related::default()),
        }),
    ))
}

/// Update a listener.
#[utoipa::path(put, path = "/v2/lbaas/listeners/{id}", tag = "listeners",
    params(("id" = String, Path, description = "Listener id")),
    request_body(content = inline(Envelope<UpdateListener>), description = "`{\"listener\": {...}}`"),
    responses((status = 200, body = ListenerBody)))]
pub async fn update(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(id): Path<String>,
    OctaviaBody(req): OctaviaBody<UpdateListener>,
) -> ApiResult<Json<ListenerBody>> {
    let updated = state.service.update_listener(&ctx, &id, req).await?;
    Ok(Json(ListenerBody {
        listener: ListenerView::new(updated.object, &updated.related),
    }))
}

/// Delete a listener (and its L7 policies).
#[utoipa::path(delete, path = "/v2/lbaas/listeners/{id}", tag = "listeners",
    params(("id" = String, Path, description = "Listener id")),
    responses((status = 204)))]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.service.delete_listener(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Traffic counters of a listener.
#[utoipa::path(get, path = "/v2/lbaas/listeners/{id}/stats", tag = "listeners",
    params(("id" = String, Path, description = "Listener id")),
    responses((status = 200, body = StatsBody)))]
pub async fn stats(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(id): Path<String>,
) -> ApiResult<Json<StatsBody>> {
    let stats = state.service.listener_stats(&ctx, &id).await?;
    Ok(Json(StatsBody { stats }))
}
