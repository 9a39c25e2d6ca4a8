//! `/v2/lbaas/l7policies`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use fulcrum_core::model::L7Policy;
use serde_json::Value;

use super::{ListBody, ListRequest, show_body};
use crate::auth::RequestContext;
use crate::body::OctaviaBody;
use crate::fault::ApiResult;
use crate::shapes::envelope::Envelope;
use crate::shapes::l7policies::{
    CreateL7Policy, L7PolicyBody, L7PolicyList, L7PolicyView, UpdateL7Policy,
};
use crate::state::AppState;

/// List L7 policies.
#[utoipa::path(get, path = "/v2/lbaas/l7policies", tag = "l7policies",
    responses((status = 200, body = L7PolicyList)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    list: ListRequest,
) -> ApiResult<ListBody> {
    let page = state.service.list::<L7Policy>(&ctx, list.query()).await?;
    Ok(list.page_body(page, "l7policies", L7PolicyView::new)?)
}

/// Show one L7 policy.
#[utoipa::path(get, path = "/v2/lbaas/l7policies/{id}", tag = "l7policies",
    params(("id" = String, Path, description = "L7 policy id")),
    responses((status = 200, body = L7PolicyBody)))]
pub async fn show(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let found = state.service.show::<L7Policy>(&ctx, &id).await?;
    Ok(Json(show_body(
        "l7policy",
        &L7PolicyView::new(found.object, &found.related),
        raw.as_deref(),
    )))
}

/// Create an L7 policy (optionally with its rules).
#[utoipa::path(post, path = "/v2/lbaas/l7policies", tag = "l7policies",
    request_body(content = inline(Envelope<CreateL7Policy>), description = "`{\"l7policy\": {...}}`"),
    responses((status = 201, body = L7PolicyBody)))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    OctaviaBody(req): OctaviaBody<CreateL7Policy>,
) -> ApiResult<(StatusCode, Json<L7PolicyBody>)> {
    let created = state.service.create_policy(&ctx, req).await?;
    Ok((
        StatusCode::CREATED,
        Json(L7PolicyBody {
            l7policy: L7PolicyView::new(created.object, &created.related),
        }),
    ))
}

/// Update an L7 policy.
#[utoipa::path(put, path = "/v2/lbaas/l7policies/{id}", tag = "l7policies",
    params(("id" = String, Path, description = "L7 policy id")),
    request_body(content = inline(Envelope<UpdateL7Policy>), description = "`{\"l7policy\": {...}}`"),
    responses((status = 200, body = L7PolicyBody)))]
pub async fn update(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(id): Path<String>,
    OctaviaBody(req): OctaviaBody<UpdateL7Policy>,
) -> ApiResult<Json<L7PolicyBody>> {
    let updated = state.service.update_policy(&ctx, &id, req).await?;
    Ok(Json(L7PolicyBody {
        l7policy: L7PolicyView::new(updated.object, &updated.related),
    }))
}

/// Delete an L7 policy (and its rules).
#[utoipa::path(delete, path = "/v2/lbaas/l7policies/{id}", tag = "l7policies",
    params(("id" = String, Path, description = "L7 policy id")),
    responses((status = 204)))]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.service.delete_policy(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
