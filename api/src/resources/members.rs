//! `/v2/lbaas/pools/{pool_id}/members`, including the batch update (`PUT` on the collection).

use crate::shapes::members::*;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::Json;
use axum::extract::{OriginalUri, Path, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use fulcrum_core::Error;
use fulcrum_core::model::{HealthMonitor, Kind, Member, OperatingStatus, Pool, ProvisioningStatus};
use fulcrum_core::{timestamp, validate};
use fulcrum_store::{Tx, WorkAction};
use serde_json::Value;

use super::{commit_work, fetch_page, lock_tree, new_id, page_body, show_body, to_value, visible};
use crate::AppState;
use crate::auth::RequestContext;
use crate::body::OctaviaBody;
use crate::fault::ApiResult;

/// List the members of a pool.
#[utoipa::path(get, path = "/v2/lbaas/pools/{pool_id}/members", tag = "members",
    params(("pool_id" = String, Path, description = "Pool id")),
    responses((status = 200, body = MemberList), (status = 404, body = crate::fault::Fault)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Path(pool_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let _pool: Pool = visible(&state, &ctx, &pool_id).await?;
    let fixed = [("pool_id", pool_id.as_str())];
    let (params, items) = fetch_page::<Member>(&state, &ctx, raw.as_deref(), &fixed).await?;
    let rendered = items
        .iter()
        .map(|m| to_value(&MemberView::new(m.clone())))
        .collect();
    Ok(Json(page_body(
        &params,
        &headers,
        uri.path(),
        "members",
        &items,
        rendered,
    )))
}

/// Show one member of a pool.
#[utoipa::path(get, path = "/v2/lbaas/pools/{pool_id}/members/{member_id}", tag = "members",
    params(("pool_id" = String, Path, description = "Pool id"),
           ("member_id" = String, Path, description = "Member id")),
    responses((status = 200, body = MemberBody), (status = 404, body = crate::fault::Fault)))]
pub async fn show(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path((pool_id, member_id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let (_, m) = member_of(&state, &ctx, &pool_id, &member_id).await?;
    Ok(Json(show_body(
        "member",
        &MemberView::new(m),
        raw.as_deref(),
    )))
}

/// Add a member to a pool.
#[utoipa::path(post, path = "/v2/lbaas/pools/{pool_id}/members", tag = "members",
    params(("pool_id" = String, Path, description = "Pool id")),
    request_body(content = inline(CreateMember), description = "`{\"member\": {...}}`"),
    responses((status = 201, body = MemberBody), (status = 400, body = crate::fault::Fault),
              (status = 404, body = crate::fault::Fault), (status = 409, body = crate::fault::Fault)))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(pool_id): Path<String>,
    OctaviaBody(req): OctaviaBody<CreateMember>,
) -> ApiResult<(StatusCode, Json<MemberBody>)> {
    let m = create_member(&state, &ctx, &pool_id, req).await?;
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
    request_body(content = inline(UpdateMember), description = "`{\"member\": {...}}`"),
    responses((status = 200, body = MemberBody), (status = 400, body = crate::fault::Fault),
              (status = 404, body = crate::fault::Fault), (status = 409, body = crate::fault::Fault)))]
pub async fn update(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path((pool_id, member_id)): Path<(String, String)>,
    OctaviaBody(req): OctaviaBody<UpdateMember>,
) -> ApiResult<Json<MemberBody>> {
    let m = update_member(&state, &ctx, &pool_id, &member_id, req).await?;
    Ok(Json(MemberBody {
        member: MemberView::new(m),
    }))
}

/// Remove a member from its pool.
#[utoipa::path(delete, path = "/v2/lbaas/pools/{pool_id}/members/{member_id}", tag = "members",
    params(("pool_id" = String, Path, description = "Pool id"),
           ("member_id" = String, Path, description = "Member id")),
    responses((status = 204), (status = 404, body = crate::fault::Fault),
              (status = 409, body = crate::fault::Fault)))]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path((pool_id, member_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let (pool, m) = member_of(&state, &ctx, &pool_id, &member_id).await?;
    let mut tx = state.service.store.begin().await?;
    lock_pool(&mut tx, &pool).await?;
    tx.set_status(Kind::Member, &m.id, ProvisioningStatus::PendingDelete)
        .await?;
    commit_work(&state, tx, &pool.loadbalancer_id, WorkAction::Apply).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replace (or, with `additive_only=true`, extend) the member set of a pool in one request.
#[utoipa::path(put, path = "/v2/lbaas/pools/{pool_id}/members", tag = "members",
    params(("pool_id" = String, Path, description = "Pool id"),
           ("additive_only" = Option<bool>, Query, description = "Keep members absent from the body")),
    request_body(content = inline(BatchMembers), description = "`{\"members\": [...]}`"),
    responses((status = 202), (status = 400, body = crate::fault::Fault),
              (status = 404, body = crate::fault::Fault), (status = 409, body = crate::fault::Fault)))]
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
    batch_update_members(&state, &ctx, &pool_id, req.members, additive_only).await?;
    Ok(StatusCode::ACCEPTED)
}

/// oslo's `bool_from_string`: anything but a true-ish word is false.
fn bool_from_string(s: &str) -> bool {
    matches!(
        s.to_ascii_lowercase().as_str(),
        "true" | "1" | "yes" | "t" | "y" | "on"
    )
}

/// A pool the caller may see and one of its members, or Octavia's 404 for the missing one.
async fn member_of(
    state: &AppState,
    ctx: &RequestContext,
    pool_id: &str,
    member_id: &str,
) -> Result<(Pool, Member), Error> {
    let pool: Pool = visible(state, ctx, pool_id).await?;
    let m: Member = visible(state, ctx, member_id).await?;
    if m.pool_id != pool.id {
        return Err(Error::not_found("Member", member_id));
    }
    Ok((pool, m))
}

/// Take the locks a change below a pool needs: the pool must be ACTIVE (else Octavia's 409
/// "Pool <id> is immutable..."), the load balancer is locked, and the pool moves to
/// PENDING_UPDATE. Shared with the health monitor resource.
pub(crate) async fn lock_pool(tx: &mut Tx, pool: &Pool) -> Result<(), Error> {
    match tx.get::<Pool>(&pool.id).await? {
        Some(p) if p.provisioning_status == ProvisioningStatus::Active => {}
        Some(_) => {
            return Err(Error::Immutable {
                resource: "Pool",
                id: pool.id.clone(),
            });
        }
        None => return Err(Error::not_found("Pool", &pool.id)),
    }
    lock_tree(tx, &pool.loadbalancer_id).await?;
    tx.set_status(Kind::Pool, &pool.id, ProvisioningStatus::PendingUpdate)
        .await?;
    Ok(())
}

/// A subnet a member names must exist (400, not 404, as in Octavia).
fn check_subnet(state: &AppState, subnet_id: Option<&str>) -> Result<(), Error> {
    match subnet_id {
        Some(id) if state.service.networks.subnet(id).is_none() => {
            Err(Error::BadRequest(format!("Subnet {id} not found.")))
        }
        _ => Ok(()),
    }
}

/// Whether a pool has a health monitor, which decides a new member's operating status.
async fn pool_has_monitor(tx: &mut Tx, pool_id: &str) -> Result<bool, Error> {
    Ok(!tx
        .children::<HealthMonitor>("pool_id", pool_id)
        .await?
        .is_empty())
}

/// A new member of `pool` from a create request, with Octavia's defaults.
fn new_member(pool: &Pool, req: CreateMember, has_monitor: bool) -> Member {
    Member {
        id: new_id(),
        project_id: pool.project_id.clone(),
        loadbalancer_id: pool.loadbalancer_id.clone(),
        pool_id: pool.id.clone(),
        name: req.name,
        admin_state_up: req.admin_state_up.unwrap_or(true),
        provisioning_status: ProvisioningStatus::PendingCreate,
        operating_status: if has_monitor {
            OperatingStatus::Offline
        } else {
            OperatingStatus::NoMonitor
        },
        address: req.address,
        protocol_port: req.protocol_port,
        weight: req.weight.unwrap_or(1),
        backup: req.backup.unwrap_or(false),
        subnet_id: req.subnet_id,
        monitor_address: req.monitor_address,
        monitor_port: req.monitor_port,
        tags: req.tags.unwrap_or_default(),
        created_at: timestamp::now(),
        updated_at: None,
    }
}

fn same_endpoint(a: &Member, b: &Member) -> bool {
    a.address == b.address && a.protocol_port == b.protocol_port
}

/// A new member of `pool` from a create request, with Octavia's defaults, validated (fields,
/// reserved addresses, SR-IOV, subnet). Shared by `POST .../members` and the load balancer graph
/// create; duplicates among the pool's members are the caller's to check.
pub(crate) fn build_member(
    state: &AppState,
    pool: &Pool,
    req: CreateMember,
    has_monitor: bool,
) -> Result<Member, Error> {
    if req.request_sriov == Some(true) {
        return Err(Error::BadRequest(
            "The load balancer flavor does not allow SR-IOV member ports.".into(),
        ));
    }
    let m = new_member(pool, req, has_monitor);
    validate::member(&m)?;
    check_subnet(state, m.subnet_id.as_deref())?;
    Ok(m)
}

/// Octavia's 409 when another member of the pool already uses the address and port.
pub(crate) fn check_endpoint_free(existing: &[Member], m: &Member) -> Result<(), Error> {
    if existing.iter().any(|e| e.id != m.id && same_endpoint(e, m)) {
        return Err(Error::Conflict(format!(
            "Another member on this pool is already using ip {} on protocol_port {}",
            m.address, m.protocol_port
        )));
    }
    Ok(())
}

async fn create_member(
    state: &AppState,
    ctx: &RequestContext,
    pool_id: &str,
    req: CreateMember,
) -> Result<Member, Error> {
    let pool: Pool = visible(state, ctx, pool_id).await?;
    let mut m = build_member(state, &pool, req, false)?;
    let mut tx = state.service.store.begin().await?;
    let existing: Vec<Member> = tx.children("pool_id", &pool.id).await?;
    check_endpoint_free(&existing, &m)?;
    if pool_has_monitor(&mut tx, &pool.id).await? {
        m.operating_status = OperatingStatus::Offline;
    }
    lock_pool(&mut tx, &pool).await?;
    let project = m.project_id.as_deref();
    crate::quotas::reserve(state, &mut tx, project, &[(Kind::Member, 1)]).await?;
    tx.insert(&m).await?;
    commit_work(state, tx, &pool.loadbalancer_id, WorkAction::Apply).await?;
    Ok(m)
}

async fn update_member(
    state: &AppState,
    ctx: &RequestContext,
    pool_id: &str,
    member_id: &str,
    req: UpdateMember,
) -> Result<Member, Error> {
    let (pool, mut m) = member_of(state, ctx, pool_id, member_id).await?;
    req.name.apply_opt(&mut m.name);
    req.admin_state_up.apply_to(&mut m.admin_state_up, || false);
    req.weight.apply_to(&mut m.weight, || 1);
    req.backup.apply_to(&mut m.backup, || false);
    req.monitor_port.apply_opt(&mut m.monitor_port);
    req.monitor_address.apply_opt(&mut m.monitor_address);
    req.tags.apply_to(&mut m.tags, Vec::new);
    validate::member(&m)?;
    m.provisioning_status = ProvisioningStatus::PendingUpdate;
    m.updated_at = Some(timestamp::now());
    let mut tx = state.service.store.begin().await?;
    lock_pool(&mut tx, &pool).await?;
    tx.update(&m).await?;
    commit_work(state, tx, &pool.loadbalancer_id, WorkAction::Apply).await?;
    Ok(m)
}

/// What a batch update does to a pool's members.
#[derive(Debug, Default)]
struct BatchPlan {
    create: Vec<Member>,
    update: Vec<Member>,
    delete: Vec<Member>,
}

impl BatchPlan {
    fn is_empty(&self) -> bool {
        self.create.is_empty() && self.update.is_empty() && self.delete.is_empty()
    }
}

/// Each (address, protocol_port) may appear only once in a batch.
fn check_batch_keys(items: &[CreateMember]) -> Result<(), Error> {
    let mut seen = HashSet::new();
    for item in items {
        if !seen.insert((item.address.as_str(), item.protocol_port)) {
            return Err(Error::validation(
                "Member must be updated only once in the same request.",
            ));
        }
    }
    Ok(())
}

/// Overwrite a matched member with a batch item: the defaulted fields always, name and tags
/// only when given.
fn merge_member(mut m: Member, item: CreateMember) -> Member {
    m.admin_state_up = item.admin_state_up.unwrap_or(true);
    m.weight = item.weight.unwrap_or(1);
    m.backup = item.backup.unwrap_or(false);
    m.monitor_address = item.monitor_address;
    m.monitor_port = item.monitor_port;
    if item.name.is_some() {
        m.name = item.name;
    }
    if let Some(tags) = item.tags {
        m.tags = tags;
    }
    m.provisioning_status = ProvisioningStatus::PendingUpdate;
    m.updated_at = Some(timestamp::now());
    m
}

/// Match a batch against the pool's members and validate the outcome.
fn plan_batch(
    pool: &Pool,
    existing: Vec<Member>,
    items: Vec<CreateMember>,
    additive_only: bool,
    has_monitor: bool,
) -> Result<BatchPlan, Error> {
    let mut old: HashMap<(String, i64), Member> = existing
        .into_iter()
        .map(|m| ((m.address.clone(), m.protocol_port), m))
        .collect();
    let mut plan = BatchPlan::default();
    for item in items {
        let key = (item.address.clone(), item.protocol_port);
        let m = match old.remove(&key) {
            Some(current) => {
                let m = merge_member(current, item);
                validate::member(&m)?;
                plan.update.push(m);
                continue;
            }
            None => new_member(pool, item, has_monitor),
        };
        validate::member(&m)?;
        plan.create.push(m);
    }
    if !additive_only {
        plan.delete = old.into_values().collect();
    }
    Ok(plan)
}

async fn batch_update_members(
    state: &AppState,
    ctx: &RequestContext,
    pool_id: &str,
    items: Vec<CreateMember>,
    additive_only: bool,
) -> Result<(), Error> {
    let pool: Pool = visible(state, ctx, pool_id).await?;
    // A batch creates and deletes members too: Octavia checks those rules as well.
    let project = pool.project_id.as_deref();
    ctx.require("os_load-balancer_api:member:post", project)?;
    if !additive_only {
        ctx.require("os_load-balancer_api:member:delete", project)?;
    }
    check_batch_keys(&items)?;
    let mut tx = state.service.store.begin().await?;
    let existing: Vec<Member> = tx.children("pool_id", &pool.id).await?;
    let has_monitor = pool_has_monitor(&mut tx, &pool.id).await?;
    let plan = plan_batch(&pool, existing, items, additive_only, has_monitor)?;
    if plan.is_empty() {
        return Ok(());
    }
    for m in &plan.create {
        check_subnet(state, m.subnet_id.as_deref())?;
    }
    lock_pool(&mut tx, &pool).await?;
    let new_members = [(Kind::Member, plan.create.len())];
    crate::quotas::reserve(state, &mut tx, pool.project_id.as_deref(), &new_members).await?;
    for m in &plan.create {
        tx.insert(m).await?;
    }
    for m in &plan.update {
        tx.update(m).await?;
    }
    for m in &plan.delete {
        tx.set_status(Kind::Member, &m.id, ProvisioningStatus::PendingDelete)
            .await?;
    }
    commit_work(state, tx, &pool.loadbalancer_id, WorkAction::Apply).await?;
    Ok(())
}
