//! `/v2/lbaas/l7policies/{l7policy_id}/rules`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use serde_json::Value;

use super::{ListBody, ListRequest, show_body};
use crate::auth::RequestContext;
use crate::body::OctaviaBody;
use crate::fault::ApiResult;
use crate::shapes::envelope::Envelope;
use crate::shapes::l7rules::{CreateL7Rule, L7RuleBody, L7RuleList, L7RuleView, UpdateL7Rule};
use crate::state::AppState;

/// List the rules of a policy.
#[utoipa::path(get, path = "/v2/lbaas/l7policies/{l7policy_id}/rules", tag = "l7rules",
    params(("l7policy_id" = String, Path, description = "L7 policy id")),
    responses((status = 200, body = L7RuleList)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(l7policy_id): Path<String>,
    list: ListRequest,
) -> ApiResult<ListBody> {
    let page = state
        .service
        .list_rules(&ctx, &l7policy_id, list.query())
        .await?;
    Ok(list.page_body(page, "rules", |r, _| L7RuleView::from(r))?)
}

/// Show one rule of a policy.
#[utoipa::path(get, path = "/v2/lbaas/l7policies/{l7policy_id}/rules/{rule_id}", tag = "l7rules",
    params(("l7policy_id" = String, Path, description = "L7 policy id"),
           ("rule_id" = String, Path, description = "L7 rule id")),
    responses((status = 200, body = L7RuleBody)))]
pub async fn show(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path((l7policy_id, rule_id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let rule = state.service.rule(&ctx, &l7policy_id, &rule_id).await?;
    Ok(Json(show_body(
        "rule",
        &L7RuleView::from(rule),
        raw.as_deref(),
    )))
}

/// Create a rule on a policy.
#[utoipa::path(post, path = "/v2/lbaas/l7policies/{l7policy_id}/rules", tag = "l7rules",
    params(("l7policy_id" = String, Path, description = "L7 policy id")),
    request_body(content = inline(Envelope<CreateL7Rule>), description = "`{\"rule\": {...}}`"),
    responses((status = 201, body = L7RuleBody)))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(l7policy_id): Path<String>,
    OctaviaBody(req): OctaviaBody<CreateL7Rule>,
) -> ApiResult<(StatusCode, Json<L7RuleBody>)> {
    let rule = state.service.create_rule(&ctx, &l7policy_id, req).await?;
    Ok((StatusCode::CREATED, Json(L7RuleBody { rule: rule.into() })))
}

/// Update a rule of a policy.
#[utoipa::path(put, path = "/v2/lbaas/l7policies/{l7policy_id}/rules/{rule_id}", tag = "l7rules",
    params(("l7policy_id" = String, Path, description = "L7 policy id"),
           ("rule_id" = String, Path, description = "L7 rule id")),
    request_body(content = inline(Envelope<UpdateL7Rule>), description = "`{\"rule\": {...}}`"),
    responses((status = 200, body = L7RuleBody)))]
pub async fn update(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path((l7policy_id, rule_id)): Path<(String, String)>,
    OctaviaBody(req): OctaviaBody<UpdateL7Rule>,
) -> ApiResult<Json<L7RuleBody>> {
    let rule = state
        .service
        .update_rule(&ctx, &l7policy_id, &rule_id, req)
        .await?;
    Ok(Json(L7RuleBody { rule: rule.into() }))
}

/// Delete a rule of a policy.
#[utoipa::path(delete, path = "/v2/lbaas/l7policies/{l7policy_id}/rules/{rule_id}", tag = "l7rules",
    params(("l7policy_id" = String, Path, description = "L7 policy id"),
           ("rule_id" = String, Path, description = "L7 rule id")),
    responses((status = 204)))]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path((l7policy_id, rule_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state
        .service
        .delete_rule(&ctx, &l7policy_id, &rule_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
