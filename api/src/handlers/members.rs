//! `/v2/lbaas/pools/{pool_id}/members`, including the batch update (`PUT` on the collection).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use serde_json::Value;

use super::{ListBody, ListRequest, bool_from_string, show_body};
use crate::auth::RequestContext;
use crate::body::OctaviaBody;
use crate::fault::ApiResult;
use crate::shapes::envelope::Envelope;
use crate::shapes::members::{
    BatchMembers, BatchParams, CreateMember, MemberBody, MemberList, MemberView, UpdateMember,
};
use crate::state::AppState;

/// List the members of a pool.
#[utoipa::path(get, path = "/v2/lbaas/pools/{pool_id}/members", tag = "members",
    params(("pool_id" = String, Path, description = "Pool id")),
    responses((status = 200, body = MemberList)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(pool_id): Path<String>,
    list: ListRequest,
) -> ApiResult<ListBody> {
    let page = state
        .service
        .list_members(&ctx, &pool_id, list.query())
        .await?;
    Ok(list.page_body(page, "members", |m, _| MemberView::new(m))?)
}

/// Show one member of a pool.
#[utoipa::path(get, path = "/v2/lbaas/pools/{pool_id}/members/{member_id}", tag = "members",
    params(("pool_id" = String, Path, description = "Pool id"),
           ("member_id" = String, Path, description = "Member id")),
    responses((status = 200, body = MemberBody)))]
pub async fn show(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path((pool_id, member_id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let m = state.service.member(&ctx, &pool_id, &member_id).await?;
    Ok(Json(show_body(
        "member",
        &MemberView::new(m),
        raw.as_deref(),
    )))
}

/// Add a member to a pool.
#[utoipa::path(post, path = "/v2/lbaas/pools/{pool_id}/members", tag = "members",
    params(("pool_id" = String, Path, description = "Pool id")),
    request_body(content = inline(Envelope<CreateMember>), description = "`{\"member\": {...}}`"),
    responses((status = 201, body = MemberBody)))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(pool_id): Path<String>,
    OctaviaBody(req): OctaviaBody<CreateMember>,
) -> ApiResult<(StatusCode, Json<MemberBody>)> {
    let m = state.service.create_member(&ctx, &pool_id, req).await?;
    Ok((
        StatusCode::CREATED,
        Json(MemberBody {
            member: MemberView::new(m),
        }),
    ))
}

/// Update a member.
#[utoipa::path(put, path = "/v2/lbaas/pools/{pool_id}/members/{member_id}", tag = "members",
    params(("pool_id" = String, Path, description = "Pool id"),
           ("member_id" = String, Path, description = "Member id")),
    request_body(content = inline(Envelope<UpdateMember>), description = "`{\"member\": {...}}`"),
    responses((status = 200, body = MemberBody)))]
pub async fn update(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path((pool_id, member_id)): Path<(String, String)>,
    OctaviaBody(req): OctaviaBody<UpdateMember>,
) -> ApiResult<Json<MemberBody>> {
    let m = state
        .service
        .update_member(&ctx, &pool_id, &member_id, req)
        .await?;
    Ok(Json(MemberBody {
        member: MemberView::new(m),
    }))
}

/// Remove a member from its pool.
#[utoipa::path(delete, path = "/v2/lbaas/pools/{pool_id}/members/{member_id}", tag = "members",
    params(("pool_id" = String, Path, description = "Pool id"),
           ("member_id" = String, Path, description = "Member id")),
    responses((status = 204)))]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path((pool_id, member_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .service
        .delete_member(&ctx, &pool_id, &member_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replace (or, with `additive_only=true`, extend) the member set of a pool in one request.
#[utoipa::path(put, path = "/v2/lbaas/pools/{pool_id}/members", tag = "members",
    params(("pool_id" = String, Path, description = "Pool id"),
           ("additive_only" = Option<bool>, Query, description = "Keep members absent from the body")),
    request_body(content = inline(BatchMembers), description = "`{\"members\": [...]}`"),
    responses((status = 202)))]
pub async fn batch_update(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(pool_id): Path<String>,
    Query(params): Query<BatchParams>,
    OctaviaBody(req): OctaviaBody<BatchMembers>,
) -> ApiResult<StatusCode> {
    let additive_only = params
        .additive_only
        .as_deref()
        .is_some_and(bool_from_string);
    state
        .service
        .batch_update_members(&ctx, &pool_id, req.members, additive_only)
        .await?;
    Ok(StatusCode::ACCEPTED)
}
