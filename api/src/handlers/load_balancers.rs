//! `/v2/lbaas/loadbalancers`: create (with a VIP from the network seam), show, list, update,
//! delete (with `cascade`), the status tree, statistics and failover.

use crate::shapes::load_balancers::*;
use crate::shapes::status::status_tree;
use crate::shapes::{Related, StatsBody};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use fulcrum_core::Error;
use fulcrum_core::events::Event;
use fulcrum_core::model::{Kind, LoadBalancer, OperatingStatus, ProvisioningStatus};
use fulcrum_core::network::Subnet;
use fulcrum_core::{timestamp, validate};
use fulcrum_store::{LockOutcome, StoreError, WorkAction};
use serde_json::Value;

use super::graph::{self, Graph};
use super::{
    commit_work, new_id, owner_for_create, page_body, rooted, show_body, to_value, visible,
};
use crate::AppState;
use crate::auth::RequestContext;
use crate::body::OctaviaBody;
use crate::fault::ApiResult;

/// The rendered view of a load balancer the caller may see, from the view cache when no write
/// happened since it was rendered.
async fn cached_view(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
) -> Result<std::sync::Arc<Value>, Error> {
    let epoch = state.service.store.read_epoch();
    if let Some((project, view)) = epoch.and_then(|e| state.views.get(id, e)) {
        return if ctx.authorize_object(project.as_deref())? {
            Ok(view)
        } else {
            Err(Error::not_found("Load Balancer", id))
        };
    }
    let view = view_by_id(state, ctx, id).await?;
    let project = view.project_id.clone();
    let value = std::sync::Arc::new(to_value(&view));
    if let Some(e) = epoch {
        state.views.put(id, e, project, value.clone());
    }
    Ok(value)
}

/// A load balancer the caller may see, with the ids of its listeners and pools, in one query.
async fn view_by_id(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
) -> Result<LoadBalancerView, Error> {
    let found = state
        .service
        .store
        .get_with_children::<LoadBalancer>(
            id,
            &[
                (Kind::Listener, "loadbalancer_id"),
                (Kind::Pool, "loadbalancer_id"),
            ],
        )
        .await?;
    match found {
        Some((lb, children)) if ctx.authorize_object(lb.project_id.as_deref())? => {
            let [listeners, pools] = <[Vec<String>; 2]>::try_from(children)
                .map_err(|_| Error::Internal("two child lists expected".into()))?;
            let mut related = Related::of(Kind::Listener, &lb.id, listeners);
            related.add(Kind::Pool, [(lb.id.clone(), pools)].into());
            Ok(LoadBalancerView::new(lb, &related))
        }
        _ => Err(Error::not_found("Load Balancer", id)),
    }
}

/// List load balancers.
#[utoipa::path(get, path = "/v2/lbaas/loadbalancers", tag = "loadbalancers",
    responses((status = 200, body = LoadBalancerList)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let page = state
        .service
        .list::<LoadBalancer>(&ctx, raw.as_deref())
        .await?;
    Ok(Json(page_body(
        page,
        &headers,
        uri.path(),
        "loadbalancers",
        LoadBalancerView::new,
    )))
}

/// Show one load balancer.
#[utoipa::path(get, path = "/v2/lbaas/loadbalancers/{id}", tag = "loadbalancers",
    params(("id" = String, Path, description = "Load balancer id")),
    responses((status = 200, body = LoadBalancerBody), (status = 404, body = crate::fault::Fault)))]
pub async fn show(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let view = cached_view(&state, &ctx, &id).await?;
    Ok(Json(show_body(
        "loadbalancer",
        view.as_ref(),
        raw.as_deref(),
    )))
}

/// Create a load balancer, optionally with its whole tree of listeners, pools, members, health
/// monitors, L7 policies and rules in the same call (Octavia's graph create).
#[utoipa::path(post, path = "/v2/lbaas/loadbalancers", tag = "loadbalancers",
    request_body(content = inline(CreateLoadBalancer), description = "`{\"loadbalancer\": {...}}`"),
    responses((status = 201, body = LoadBalancerBody,
               description = "Octavia's full response: `listeners` and `pools` are full objects \
                              (listeners with full `l7policies` and `rules`, pools with full \
                              `members` and `healthmonitor`)"),
              (status = 400, body = crate::fault::Fault), (status = 409, body = crate::fault::Fault),
              (status = 501, body = crate::fault::Fault)))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    OctaviaBody(req): OctaviaBody<CreateLoadBalancer>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (lb, graph) = create_load_balancer(&state, &ctx, req).await?;
    let view = to_value(&LoadBalancerView::new(lb, &Related::default()));
    Ok((
        StatusCode::CREATED,
        Json(rooted("loadbalancer", graph.render(view))),
    ))
}

/// Update a load balancer.
#[utoipa::path(put, path = "/v2/lbaas/loadbalancers/{id}", tag = "loadbalancers",
    params(("id" = String, Path, description = "Load balancer id")),
    request_body(content = inline(UpdateLoadBalancer), description = "`{\"loadbalancer\": {...}}`"),
    responses((status = 200, body = LoadBalancerBody), (status = 409, body = crate::fault::Fault)))]
pub async fn update(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(id): Path<String>,
    OctaviaBody(req): OctaviaBody<UpdateLoadBalancer>,
) -> ApiResult<Json<LoadBalancerBody>> {
    let updated = update_load_balancer(&state, &ctx, &id, req).await?;
    let current = view_by_id(&state, &ctx, &id).await?;
    // The object as this request left it (the reconciler may already have moved on).
    let view = LoadBalancerView {
        listeners: current.listeners,
        pools: current.pools,
        ..LoadBalancerView::new(updated, &Related::default())
    };
    Ok(Json(LoadBalancerBody { loadbalancer: view }))
}

/// Delete a load balancer (`?cascade=true` deletes everything below it).
#[utoipa::path(delete, path = "/v2/lbaas/loadbalancers/{id}", tag = "loadbalancers",
    params(("id" = String, Path, description = "Load balancer id"),
           ("cascade" = Option<bool>, Query, description = "Delete its children too")),
    responses((status = 204), (status = 400, body = crate::fault::Fault), (status = 409, body = crate::fault::Fault)))]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(id): Path<String>,
    axum::extract::Query(params): axum::extract::Query<DeleteParams>,
) -> ApiResult<StatusCode> {
    let cascade = params.cascade.as_deref().is_some_and(|c| {
        matches!(
            c.to_ascii_lowercase().as_str(),
            "true" | "1" | "yes" | "t" | "y" | "on"
        )
    });
    delete_load_balancer(&state, &ctx, &id, cascade).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The status tree of a load balancer.
#[utoipa::path(get, path = "/v2/lbaas/loadbalancers/{id}/status", tag = "loadbalancers",
    params(("id" = String, Path, description = "Load balancer id")),
    responses((status = 200, description = "`{\"statuses\": {\"loadbalancer\": {...}}}`")))]
pub async fn status(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let lb: LoadBalancer = visible(&state, &ctx, &id).await?;
    let tree = state
        .service
        .store
        .tree(&lb.id)
        .await?
        .ok_or_else(|| Error::not_found("Load Balancer", &id))?;
    Ok(Json(
        serde_json::json!({ "statuses": status_tree(&tree.rows) }),
    ))
}

/// Traffic counters of a load balancer.
#[utoipa::path(get, path = "/v2/lbaas/loadbalancers/{id}/stats", tag = "loadbalancers",
    params(("id" = String, Path, description = "Load balancer id")),
    responses((status = 200, body = StatsBody)))]
pub async fn stats(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(id): Path<String>,
) -> ApiResult<Json<StatsBody>> {
    let lb: LoadBalancer = visible(&state, &ctx, &id).await?;
    let stats = state.service.store.load_balancer_stats(&lb.id).await?;
    Ok(Json(StatsBody { stats }))
}

/// Rebuild a load balancer on its backend.
#[utoipa::path(put, path = "/v2/lbaas/loadbalancers/{id}/failover", tag = "loadbalancers",
    params(("id" = String, Path, description = "Load balancer id")),
    responses((status = 202), (status = 409, body = crate::fault::Fault)))]
pub async fn failover(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let _: LoadBalancer = visible(&state, &ctx, &id).await?;
    let mut tx = state.service.store.begin().await?;
    lock_for(&mut tx, &id, ProvisioningStatus::PendingUpdate, DELETABLE).await?;
    commit_work(&state, tx, &id, WorkAction::Apply).await?;
    state.service.events.publish(Event::DayTwoRequest {
        action: "failover".into(),
        load_balancer_id: id,
    });
    Ok(StatusCode::ACCEPTED)
}

const DELETABLE: &[ProvisioningStatus] = &[ProvisioningStatus::Active, ProvisioningStatus::Error];

async fn lock_for(
    tx: &mut fulcrum_store::Tx,
    id: &str,
    to: ProvisioningStatus,
    from: &[ProvisioningStatus],
) -> Result<LoadBalancer, Error> {
    match tx.lock_load_balancer(id, to, from).await? {
        LockOutcome::Locked(lb) => Ok(*lb),
        LockOutcome::NotFound => Err(Error::not_found("Load Balancer", id)),
        LockOutcome::Busy(status) => Err(Error::InvalidState {
            status: status.to_string(),
            id: id.to_string(),
        }),
    }
}

/// Resolve where the VIP comes from: (subnet, requested address).
fn resolve_vip(
    state: &AppState,
    req: &CreateLoadBalancer,
) -> Result<(Subnet, Option<IpAddr>), Error> {
    let address = req
        .vip_address
        .as_deref()
        .map(|a| validate::ip_address("vip_address", a))
        .transpose()?;
    if let Some(port) = &req.vip_port_id {
        return Err(Error::BadRequest(format!("Port {port} not found.")));
    }
    if let Some(subnet_id) = &req.vip_subnet_id {
        let subnet = state
            .service
            .networks
            .subnet(subnet_id)
            .ok_or_else(|| Error::BadRequest(format!("Subnet {subnet_id} not found.")))?;
        if let Some(net) = &req.vip_network_id
            && *net != subnet.network_id
        {
            return Err(Error::validation(format!(
                "Subnet {subnet_id} is not in network {net}."
            )));
        }
        return Ok((subnet, address));
    }
    if let Some(network_id) = &req.vip_network_id {
        if state.service.networks.network(network_id).is_none() {
            return Err(Error::BadRequest(format!(
                "Network {network_id} not found."
            )));
        }
        let mut subnets = state.service.networks.subnets_of(network_id);
        subnets.sort_by_key(|s| s.ip_version());
        let chosen = match address {
            Some(a) => subnets
                .into_iter()
                .find(|s| s.cidr.contains(&a))
                .ok_or_else(|| {
                    Error::validation(
                        "Supplied network does not contain a subnet for VIP address specified.",
                    )
                })?,
            None => subnets.into_iter().next().ok_or_else(|| {
                Error::validation(format!(
                    "Network {network_id} has no subnet to take a VIP from."
                ))
            })?,
        };
        return Ok((chosen, address));
    }
    Err(Error::validation(
        "VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id.",
    ))
}

/// A free address of the subnet's allocation range. Concurrent allocations in this process start
/// their search at different offsets (the cursor is claimed atomically), so they rarely pick the
/// same address; the unique index settles the rest.
async fn free_address(state: &AppState, subnet: &Subnet) -> Result<IpAddr, Error> {
    const WINDOW: u128 = 64;
    let size = subnet.range_size();
    let start = u128::from(state.service.vip_cursor.fetch_add(1, Ordering::Relaxed));
    let mut scanned = 0u128;
    while scanned < size {
        let candidates = subnet.candidates((start + scanned) % size, WINDOW.min(size - scanned));
        let texts: Vec<String> = candidates.iter().map(|a| a.to_string()).collect();
        let used = state
            .service
            .store
            .used_vip_addresses(&subnet.id, &texts)
            .await?;
        if let Some(pos) = texts.iter().position(|t| !used.contains(t)) {
            let next = start + scanned + pos as u128 + 1;
            state
                .service
                .vip_cursor
                .fetch_max(u64::try_from(next).unwrap_or(u64::MAX), Ordering::Relaxed);
            return Ok(candidates[pos]);
        }
        scanned += candidates.len() as u128;
    }
    Err(Error::validation(format!(
        "No free VIP address left in subnet {}.",
        subnet.id
    )))
}

/// A new load balancer from a create request, validated, with its VIP subnet and requested
/// address; the VIP address itself is not chosen yet.
fn new_load_balancer(
    state: &AppState,
    project_id: Option<String>,
    req: CreateLoadBalancer,
    resolved: crate::flavors::Resolved,
) -> Result<(LoadBalancer, Subnet, Option<IpAddr>), Error> {
    validate::max_len("name", req.name.as_deref(), 255)?;
    validate::max_len("description", req.description.as_deref(), 255)?;
    let tags = req.tags.clone().unwrap_or_default();
    validate::strings_max_len("tags", &tags, 255)?;
    let (subnet, requested) = resolve_vip(state, &req)?;
    if let Some(addr) = requested
        && !subnet.cidr.contains(&addr)
    {
        return Err(Error::validation(format!(
            "VIP address {addr} is not in subnet {}.",
            subnet.id
        )));
    }
    let lb = LoadBalancer {
        id: new_id(),
        project_id,
        name: req.name,
        description: req.description,
        admin_state_up: req.admin_state_up.unwrap_or(true),
        provisioning_status: ProvisioningStatus::PendingCreate,
        operating_status: OperatingStatus::Offline,
        vip_address: String::new(),
        vip_port_id: new_id(),
        vip_subnet_id: subnet.id.clone(),
        vip_network_id: subnet.network_id.clone(),
        vip_qos_policy_id: req.vip_qos_policy_id,
        provider: resolved.provider,
        flavor_id: resolved.flavor_id,
        availability_zone: resolved.availability_zone,
        tags,
        created_at: timestamp::now(),
        updated_at: None,
    };
    Ok((lb, subnet, requested))
}

/// The requested VIP address, or a free one of the subnet.
async fn vip_address(
    state: &AppState,
    subnet: &Subnet,
    requested: Option<IpAddr>,
) -> Result<IpAddr, Error> {
    match requested {
        Some(a) => Ok(a),
        None => free_address(state, subnet).await,
    }
}

/// Validate the load balancer and the graph below it, then record all of it in one
/// transaction with one work item.
async fn create_load_balancer(
    state: &AppState,
    ctx: &RequestContext,
    mut req: CreateLoadBalancer,
) -> Result<(LoadBalancer, Graph), Error> {
    let project_id = owner_for_create(ctx, req.project_id.take().or(req.tenant_id.take()))?;
    let listeners = req.listeners.take().unwrap_or_default();
    let pools = req.pools.take().unwrap_or_default();
    let resolved = crate::flavors::resolve_for_load_balancer(
        state,
        req.provider.as_deref(),
        req.flavor_id.as_deref(),
        req.availability_zone.as_deref(),
    )
    .await?;
    let (mut lb, subnet, requested) = new_load_balancer(state, project_id, req, resolved)?;
    lb.vip_address = vip_address(state, &subnet, requested).await?.to_string();
    let graph = graph::plan(state, &lb, listeners, pools)?;
    // Auto-allocation can race another replica for the same address; the unique index decides
    // and the loser tries the next one.
    for _ in 0..5 {
        let mut tx = state.service.store.begin().await?;
        let project = lb.project_id.as_deref();
        state
            .service
            .reserve(&mut tx, project, &graph.quota_counts())
            .await?;
        match tx.insert(&lb).await {
            Ok(()) => {
                graph.insert(&mut tx).await?;
                commit_work(state, tx, &lb.id, WorkAction::Apply).await?;
                return Ok((lb, graph));
            }
            Err(StoreError::Conflict(_)) if requested.is_some() => {
                return Err(Error::Conflict(format!(
                    "The VIP IP address is already in use: {}",
                    lb.vip_address
                )));
            }
            Err(StoreError::Conflict(_)) => {
                lb.vip_address = free_address(state, &subnet).await?.to_string();
            }
            Err(other) => return Err(other.into()),
        }
    }
    Err(Error::Internal("could not allocate a VIP address".into()))
}

async fn update_load_balancer(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
    req: UpdateLoadBalancer,
) -> Result<LoadBalancer, Error> {
    let _: LoadBalancer = visible(state, ctx, id).await?;
    let mut tx = state.service.store.begin().await?;
    let mut lb = lock_for(
        &mut tx,
        id,
        ProvisioningStatus::PendingUpdate,
        &[ProvisioningStatus::Active],
    )
    .await?;
    req.name.apply_opt(&mut lb.name);
    req.description.apply_opt(&mut lb.description);
    req.admin_state_up
        .apply_to(&mut lb.admin_state_up, || false);
    req.vip_qos_policy_id.apply_opt(&mut lb.vip_qos_policy_id);
    req.tags.apply_to(&mut lb.tags, Vec::new);
    validate::max_len("name", lb.name.as_deref(), 255)?;
    validate::max_len("description", lb.description.as_deref(), 255)?;
    validate::strings_max_len("tags", &lb.tags, 255)?;
    lb.updated_at = Some(timestamp::now());
    tx.update(&lb).await?;
    commit_work(state, tx, id, WorkAction::Apply).await?;
    Ok(lb)
}

async fn delete_load_balancer(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
    cascade: bool,
) -> Result<(), Error> {
    let _: LoadBalancer = visible(state, ctx, id).await?;
    let mut tx = state.service.store.begin().await?;
    lock_for(&mut tx, id, ProvisioningStatus::PendingDelete, DELETABLE).await?;
    let tree = tx
        .tree(id)
        .await?
        .ok_or_else(|| Error::not_found("Load Balancer", id))?;
    let g = tree.rows;
    let has_children = !g.listeners.is_empty() || !g.pools.is_empty();
    if has_children && !cascade {
        return Err(Error::validation(format!(
            "Cannot delete Load Balancer {id} - it has children"
        )));
    }
    tx.mark_subtree(Kind::LoadBalancer, id, ProvisioningStatus::PendingDelete)
        .await?;
    commit_work(state, tx, id, WorkAction::Delete).await
}
