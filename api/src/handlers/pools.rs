//! `/v2/lbaas/pools`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use fulcrum_core::model::Pool;
use serde_json::Value;

use super::{ListBody, ListRequest, show_body};
use crate::auth::RequestContext;
use crate::body::OctaviaBody;
use crate::fault::ApiResult;
use crate::shapes::envelope::Envelope;
use crate::shapes::pools::{CreatePool, PoolBody, PoolList, PoolView, UpdatePool};
use crate::state::AppState;

/// List pools.
#[utoipa::path(get, path = "/v2/lbaas/pools", tag = "pools",
    responses((status = 200, body = PoolList)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    list: ListRequest,
) -> ApiResult<ListBody> {
    let page = state.service.list::<Pool>(&ctx, list.query()).await?;
    Ok(list.page_body(page, "pools", PoolView::new)?)
}

/// Show one pool.
#[utoipa::path(get, path = "/v2/lbaas/pools/{id}", tag = "pools",
    params(("id" = String, Path, description = "Pool id")),
    responses((status = 200, body = PoolBody)))]
pub async fn show(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let found = state.service.show::<Pool>(&ctx, &id).await?;
    Ok(Json(show_body(
        "pool",
        &PoolView::new(found.object, &found.related),
        raw.as_deref(),
    )))
}

/// Create a pool.
#[utoipa::path(post, path = "/v2/lbaas/pools", tag = "pools",
    request_body(content = inline(Envelope<CreatePool>), description = "`{\"pool\": {...}}`"),
    responses((status = 201, body = PoolBody)))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    OctaviaBody(req): OctaviaBody<CreatePool>,
) -> ApiResult<(StatusCode, Json<PoolBody>)> {
    let created = state.service.create_pool(&ctx, req).await?;
    Ok((
        StatusCode::CREATED,
        Json(PoolBody {
            pool: PoolView::new(created.object, &created.related),
        }),
    ))
}

/// Update a pool.
#[utoipa::path(put, path = "/v2/lbaas/pools/{id}", tag = "pools",
    params(("id" = String, Path, description = "Pool id")),
    request_body(content = inline(Envelope<UpdatePool>), description = "`{\"pool\": {...}}`"),
    responses((status = 200, body = PoolBody)))]
pub async fn update(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(id): Path<String>,
    OctaviaBody(req): OctaviaBody<UpdatePool>,
) -> ApiResult<Json<PoolBody>> {
    let updated = state.service.update_pool(&ctx, &id, req).await?;
    Ok(Json(PoolBody {
        pool: PoolView::new(updated.object, &updated.related),
    }))
}

/// Delete a pool (with its members and health monitor).
#[utoipa::path(delete, path = "/v2/lbaas/pools/{id}", tag = "pools",
    params(("id" = String, Path, description = "Pool id")),
    responses((status = 204)))]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.service.delete_pool(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
