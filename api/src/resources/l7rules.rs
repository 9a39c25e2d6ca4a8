//! `/v2/lbaas/l7policies/{l7policy_id}/rules`.

use crate::shapes::l7rules::*;
use std::sync::Arc;

use axum::Json;
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use fulcrum_core::Error;
use fulcrum_core::model::{Kind, L7Policy, L7Rule, OperatingStatus, ProvisioningStatus};
use fulcrum_core::patch::Patch;
use fulcrum_core::{timestamp, validate};
use fulcrum_store::{Tx, WorkAction};
use serde_json::Value;

use super::{commit_work, fetch_page, lock_tree, new_id, page_body, show_body, to_value, visible};
use crate::AppState;
use crate::auth::RequestContext;
use crate::body::OctaviaBody;
use crate::fault::ApiResult;

/// The most rules one L7 policy may hold (Octavia's `MAX_L7RULES_PER_L7POLICY`).
pub const MAX_RULES_PER_POLICY: usize = 50;

/// The policy of a rules URL, or Octavia's 404 for it ("L7Policy <id> not found.").
async fn policy_of(state: &AppState, ctx: &RequestContext, id: &str) -> Result<L7Policy, Error> {
    visible::<L7Policy>(state, ctx, id)
        .await
        .map_err(|e| match e {
            Error::NotFound { id, .. } => Error::NotFound {
                resource: "L7Policy",
                id,
            },
            other => other,
        })
}

/// A rule of the policy in the URL; a rule of another policy is not found.
async fn rule_of(
    state: &AppState,
    ctx: &RequestContext,
    policy: &L7Policy,
    rule_id: &str,
) -> Result<L7Rule, Error> {
    let rule: L7Rule = visible(state, ctx, rule_id).await?;
    if rule.l7policy_id != policy.id {
        return Err(Error::not_found("L7 Rule", rule_id));
    }
    Ok(rule)
}

/// List the rules of a policy.
#[utoipa::path(get, path = "/v2/lbaas/l7policies/{l7policy_id}/rules", tag = "l7rules",
    params(("l7policy_id" = String, Path, description = "L7 policy id")),
    responses((status = 200, body = L7RuleList), (status = 404, body = crate::fault::Fault)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(l7policy_id): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let policy = policy_of(&state, &ctx, &l7policy_id).await?;
    let fixed = [("l7policy_id", policy.id.as_str())];
    let (params, items) = fetch_page::<L7Rule>(&state, &ctx, raw.as_deref(), &fixed).await?;
    let rendered = items
        .iter()
        .map(|r| to_value(&L7RuleView::from(r.clone())))
        .collect();
    Ok(Json(page_body(
        &params,
        &headers,
        uri.path(),
        "rules",
        &items,
        rendered,
    )))
}

/// Show one rule of a policy.
#[utoipa::path(get, path = "/v2/lbaas/l7policies/{l7policy_id}/rules/{rule_id}", tag = "l7rules",
    params(("l7policy_id" = String, Path, description = "L7 policy id"),
           ("rule_id" = String, Path, description = "L7 rule id")),
    responses((status = 200, body = L7RuleBody), (status = 404, body = crate::fault::Fault)))]
pub async fn show(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path((l7policy_id, rule_id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let policy = policy_of(&state, &ctx, &l7policy_id).await?;
    let rule = rule_of(&state, &ctx, &policy, &rule_id).await?;
    Ok(Json(show_body(
        "rule",
        &L7RuleView::from(rule),
        raw.as_deref(),
    )))
}

/// Create a rule on a policy.
#[utoipa::path(post, path = "/v2/lbaas/l7policies/{l7policy_id}/rules", tag = "l7rules",
    params(("l7policy_id" = String, Path, description = "L7 policy id")),
    request_body(content = inline(CreateL7Rule), description = "`{\"rule\": {...}}`"),
    responses((status = 201, body = L7RuleBody), (status = 400, body = crate::fault::Fault),
              (status = 404, body = crate::fault::Fault), (status = 409, body = crate::fault::Fault)))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(l7policy_id): Path<String>,
    OctaviaBody(req): OctaviaBody<CreateL7Rule>,
) -> ApiResult<(StatusCode, Json<L7RuleBody>)> {
    let rule = create_rule(&state, &ctx, &l7policy_id, req).await?;
    Ok((StatusCode::CREATED, Json(L7RuleBody { rule: rule.into() })))
}

/// Update a rule of a policy.
#[utoipa::path(put, path = "/v2/lbaas/l7policies/{l7policy_id}/rules/{rule_id}", tag = "l7rules",
    params(("l7policy_id" = String, Path, description = "L7 policy id"),
           ("rule_id" = String, Path, description = "L7 rule id")),
    request_body(content = inline(UpdateL7Rule), description = "`{\"rule\": {...}}`"),
    responses((status = 200, body = L7RuleBody), (status = 400, body = crate::fault::Fault),
              (status = 404, body = crate::fault::Fault), (status = 409, body = crate::fault::Fault)))]
pub async fn update(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path((l7policy_id, rule_id)): Path<(String, String)>,
    OctaviaBody(req): OctaviaBody<UpdateL7Rule>,
) -> ApiResult<Json<L7RuleBody>> {
    let rule = update_rule(&state, &ctx, &l7policy_id, &rule_id, req).await?;
    Ok(Json(L7RuleBody { rule: rule.into() }))
}

/// Delete a rule of a policy.
#[utoipa::path(delete, path = "/v2/lbaas/l7policies/{l7policy_id}/rules/{rule_id}", tag = "l7rules",
    params(("l7policy_id" = String, Path, description = "L7 policy id"),
           ("rule_id" = String, Path, description = "L7 rule id")),
    responses((status = 204), (status = 404, body = crate::fault::Fault),
              (status = 409, body = crate::fault::Fault)))]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path((l7policy_id, rule_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let policy = policy_of(&state, &ctx, &l7policy_id).await?;
    let rule = rule_of(&state, &ctx, &policy, &rule_id).await?;
    if rule.provisioning_status == ProvisioningStatus::Deleted {
        return Ok(StatusCode::NO_CONTENT);
    }
    let mut tx = state.service.store.begin().await?;
    lock_policy(&mut tx, &policy).await?;
    tx.set_status(Kind::L7Rule, &rule.id, ProvisioningStatus::PendingDelete)
        .await?;
    commit_work(&state, tx, &policy.loadbalancer_id, WorkAction::Apply).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new rule of `policy` from a create request, validated.
pub(crate) fn new_rule(policy: &L7Policy, req: CreateL7Rule) -> Result<L7Rule, Error> {
    let rule = L7Rule {
        id: new_id(),
        project_id: policy.project_id.clone(),
        loadbalancer_id: policy.loadbalancer_id.clone(),
        l7policy_id: policy.id.clone(),
        kind: req.kind,
        compare_type: req.compare_type,
        key: req.key,
        value: req.value,
        invert: req.invert.unwrap_or(false),
        admin_state_up: req.admin_state_up.unwrap_or(true),
        provisioning_status: ProvisioningStatus::PendingCreate,
        operating_status: OperatingStatus::Offline,
        tags: req.tags.unwrap_or_default(),
        created_at: timestamp::now(),
        updated_at: None,
    };
    validate::l7rule(&rule)?;
    Ok(rule)
}

/// Whether a rule still counts (is not on its way out).
pub(crate) fn is_live(status: ProvisioningStatus) -> bool {
    !matches!(
        status,
        ProvisioningStatus::PendingDelete | ProvisioningStatus::Deleted
    )
}

/// Octavia's 409 when a policy would hold more than [`MAX_RULES_PER_POLICY`] rules.
pub(crate) fn check_rule_count(policy_id: &str, count: usize) -> Result<(), Error> {
    if count > MAX_RULES_PER_POLICY {
        return Err(Error::Conflict(format!(
            "Too many rules on L7 policy {policy_id}"
        )));
    }
    Ok(())
}

/// A change to a policy's rules: the policy must be ACTIVE, the load balancer gets locked, and
/// the listener and the policy move to PENDING_UPDATE.
async fn lock_policy(tx: &mut Tx, policy: &L7Policy) -> Result<(), Error> {
    let current: Option<L7Policy> = tx.get(&policy.id).await?;
    if current.map(|p| p.provisioning_status) != Some(ProvisioningStatus::Active) {
        return Err(Error::Immutable {
            resource: "L7Policy",
            id: policy.id.clone(),
        });
    }
    lock_tree(tx, &policy.loadbalancer_id).await?;
    tx.set_status(
        Kind::Listener,
        &policy.listener_id,
        ProvisioningStatus::PendingUpdate,
    )
    .await?;
    tx.set_status(
        Kind::L7Policy,
        &policy.id,
        ProvisioningStatus::PendingUpdate,
    )
    .await?;
    Ok(())
}

async fn create_rule(
    state: &AppState,
    ctx: &RequestContext,
    policy_id: &str,
    req: CreateL7Rule,
) -> Result<L7Rule, Error> {
    let policy = policy_of(state, ctx, policy_id).await?;
    let rule = new_rule(&policy, req)?;
    let mut tx = state.service.store.begin().await?;
    let existing = tx
        .children::<L7Rule>("l7policy_id", &policy.id)
        .await?
        .iter()
        .filter(|r| is_live(r.provisioning_status))
        .count();
    check_rule_count(&policy.id, existing + 1)?;
    lock_policy(&mut tx, &policy).await?;
    let project = rule.project_id.as_deref();
    crate::quotas::reserve(state, &mut tx, project, &[(Kind::L7Rule, 1)]).await?;
    tx.insert(&rule).await?;
    commit_work(state, tx, &policy.loadbalancer_id, WorkAction::Apply).await?;
    Ok(rule)
}

fn merge(r: &mut L7Rule, req: UpdateL7Rule) -> Result<(), Error> {
    match req.kind {
        Patch::Absent => {}
        Patch::Null => return Err(Error::invalid_option("None", "type")),
        Patch::Value(k) => r.kind = k,
    }
    match req.compare_type {
        Patch::Absent => {}
        Patch::Null => return Err(Error::invalid_option("None", "compare_type")),
        Patch::Value(c) => r.compare_type = c,
    }
    req.key.apply_opt(&mut r.key);
    req.value.apply_to(&mut r.value, String::new);
    req.invert.apply_to(&mut r.invert, || false);
    req.admin_state_up.apply_to(&mut r.admin_state_up, || false);
    req.tags.apply_to(&mut r.tags, Vec::new);
    Ok(())
}

async fn update_rule(
    state: &AppState,
    ctx: &RequestContext,
    policy_id: &str,
    rule_id: &str,
    req: UpdateL7Rule,
) -> Result<L7Rule, Error> {
    let policy = policy_of(state, ctx, policy_id).await?;
    let mut rule = rule_of(state, ctx, &policy, rule_id).await?;
    merge(&mut rule, req)?;
    validate::l7rule(&rule)?;
    rule.provisioning_status = ProvisioningStatus::PendingUpdate;
    rule.updated_at = Some(timestamp::now());
    let mut tx = state.service.store.begin().await?;
    lock_policy(&mut tx, &policy).await?;
    tx.update(&rule).await?;
    commit_work(state, tx, &policy.loadbalancer_id, WorkAction::Apply).await?;
    Ok(rule)
}
