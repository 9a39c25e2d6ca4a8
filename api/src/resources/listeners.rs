//! `/v2/lbaas/listeners`.

use crate::shapes::listeners::*;
use crate::shapes::{Related, StatsBody};
use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use fulcrum_core::Error;
use fulcrum_core::model::{
    ClientAuthentication, Kind, Listener, ListenerProtocol, LoadBalancer, OperatingStatus, Pool,
    ProvisioningStatus,
};
use fulcrum_core::patch::Patch;
use fulcrum_core::{timestamp, validate};
use fulcrum_store::{Tx, WorkAction};
use serde_json::Value;

use super::{
    commit_work, fetch_page, lock_tree, new_id, page_body, show_body, to_value, unsupported,
    visible, visible_in,
};
use crate::AppState;
use crate::auth::RequestContext;
use crate::body::OctaviaBody;
use crate::fault::ApiResult;

async fn view_of(state: &AppState, l: Listener) -> Result<ListenerView, Error> {
    let related = super::related(state, Kind::Listener, &[l.id.as_str()]).await?;
    Ok(ListenerView::new(l, &related))
}

/// List listeners.
#[utoipa::path(get, path = "/v2/lbaas/listeners", tag = "listeners",
    responses((status = 200, body = ListenerList)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let (params, items) = fetch_page::<Listener>(&state, &ctx, raw.as_deref(), &[]).await?;
    let ids: Vec<&str> = items.iter().map(|l| l.id.as_str()).collect();
    let related = super::related(&state, Kind::Listener, &ids).await?;
    let rendered = items
        .iter()
        .map(|l| to_value(&ListenerView::new(l.clone(), &related)))
        .collect();
    Ok(Json(page_body(
        &params,
        &headers,
        uri.path(),
        "listeners",
        &items,
        rendered,
    )))
}

/// Show one listener.
#[utoipa::path(get, path = "/v2/lbaas/listeners/{id}", tag = "listeners",
    params(("id" = String, Path, description = "Listener id")),
    responses((status = 200, body = ListenerBody), (status = 404, body = crate::fault::Fault)))]
pub async fn show(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let l: Listener = visible(&state, &ctx, &id).await?;
    Ok(Json(show_body(
        "listener",
        &view_of(&state, l).await?,
        raw.as_deref(),
    )))
}

/// Create a listener.
#[utoipa::path(post, path = "/v2/lbaas/listeners", tag = "listeners",
    request_body(content = inline(CreateListener), description = "`{\"listener\": {...}}`"),
    responses((status = 201, body = ListenerBody), (status = 400, body = crate::fault::Fault),
              (status = 409, body = crate::fault::Fault), (status = 501, body = crate::fault::Fault)))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    OctaviaBody(req): OctaviaBody<CreateListener>,
) -> ApiResult<(StatusCode, Json<ListenerBody>)> {
    let listener = create_listener(&state, &ctx, req).await?;
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
    request_body(content = inline(UpdateListener), description = "`{\"listener\": {...}}`"),
    responses((status = 200, body = ListenerBody), (status = 409, body = crate::fault::Fault)))]
pub async fn update(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(id): Path<String>,
    OctaviaBody(req): OctaviaBody<UpdateListener>,
) -> ApiResult<Json<ListenerBody>> {
    let l = update_listener(&state, &ctx, &id, req).await?;
    Ok(Json(ListenerBody {
        listener: view_of(&state, l).await?,
    }))
}

/// Delete a listener (and its L7 policies).
#[utoipa::path(delete, path = "/v2/lbaas/listeners/{id}", tag = "listeners",
    params(("id" = String, Path, description = "Listener id")),
    responses((status = 204), (status = 409, body = crate::fault::Fault)))]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let l: Listener = visible(&state, &ctx, &id).await?;
    let mut tx = state.service.store.begin().await?;
    lock_tree(&mut tx, &l.loadbalancer_id).await?;
    tx.mark_subtree(Kind::Listener, &id, ProvisioningStatus::PendingDelete)
        .await?;
    commit_work(&state, tx, &l.loadbalancer_id, WorkAction::Apply).await?;
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
    let l: Listener = visible(&state, &ctx, &id).await?;
    Ok(Json(StatsBody {
        stats: state.service.store.listener_stats(&l.id).await?,
    }))
}

fn check_capabilities(state: &AppState, lb: &LoadBalancer, l: &Listener) -> Result<(), Error> {
    let driver = state.service.providers.get(&lb.provider)?;
    if !driver
        .capabilities()
        .listener_protocols
        .contains(&l.protocol)
    {
        return Err(unsupported(
            &lb.provider,
            format!("{} protocol listeners are not supported.", l.protocol),
        ));
    }
    Ok(())
}

/// The default pool of a listener must be on its load balancer and speak a compatible protocol.
async fn check_default_pool(tx: &mut Tx, ctx: &RequestContext, l: &Listener) -> Result<(), Error> {
    let Some(pool_id) = &l.default_pool_id else {
        return Ok(());
    };
    let pool: Pool = visible_in(tx, ctx, pool_id).await?;
    if pool.loadbalancer_id != l.loadbalancer_id {
        return Err(Error::not_found("Pool", pool_id));
    }
    validate::listener_pool_protocols(l.protocol, pool.protocol)
}

async fn create_listener(
    state: &AppState,
    ctx: &RequestContext,
    req: CreateListener,
) -> Result<Listener, Error> {
    let lb: LoadBalancer = visible(state, ctx, &req.loadbalancer_id).await?;
    let listener = build_listener(state, &lb, req)?;
    store(state, ctx, &lb, listener, true).await
}

/// A new listener of `lb` from a create request, with Octavia's defaults, validated (fields,
/// TLS and header rules, provider capabilities). Shared by `POST /listeners` and the load
/// balancer graph create; the checks against stored siblings are the caller's.
pub(crate) fn build_listener(
    state: &AppState,
    lb: &LoadBalancer,
    req: CreateListener,
) -> Result<Listener, Error> {
    let d = &state.service.defaults;
    let tls = req.protocol == ListenerProtocol::TerminatedHttps;
    let listener = Listener {
        id: new_id(),
        project_id: lb.project_id.clone(),
        loadbalancer_id: lb.id.clone(),
        name: req.name,
        description: req.description,
        admin_state_up: req.admin_state_up.unwrap_or(true),
        provisioning_status: ProvisioningStatus::PendingCreate,
        operating_status: OperatingStatus::Offline,
        protocol: req.protocol,
        protocol_port: req.protocol_port,
        connection_limit: req.connection_limit.unwrap_or(-1),
        default_tls_container_ref: req.default_tls_container_ref,
        sni_container_refs: req.sni_container_refs.unwrap_or_default(),
        default_pool_id: req.default_pool_id,
        insert_headers: req.insert_headers.unwrap_or_default(),
        timeout_client_data: req.timeout_client_data.unwrap_or(d.timeout_client_data),
        timeout_member_connect: req
            .timeout_member_connect
            .unwrap_or(d.timeout_member_connect),
        timeout_member_data: req.timeout_member_data.unwrap_or(d.timeout_member_data),
        timeout_tcp_inspect: req.timeout_tcp_inspect.unwrap_or(d.timeout_tcp_inspect),
        tags: req.tags.unwrap_or_default(),
        client_ca_tls_container_ref: req.client_ca_tls_container_ref,
        client_authentication: req
            .client_authentication
            .unwrap_or(ClientAuthentication::None),
        client_crl_container_ref: req.client_crl_container_ref,
        allowed_cidrs: normalize_cidrs(req.allowed_cidrs.unwrap_or_default())?,
        tls_ciphers: req
            .tls_ciphers
            .or_else(|| tls.then(|| validate::DEFAULT_TLS_CIPHERS.to_string())),
        tls_versions: req
            .tls_versions
            .or_else(|| tls.then(validate::default_tls_versions)),
        alpn_protocols: req
            .alpn_protocols
            .or_else(|| tls.then(validate::default_alpn_protocols)),
        hsts_max_age: req.hsts_max_age,
        hsts_include_subdomains: req.hsts_include_subdomains.unwrap_or(false),
        hsts_preload: req.hsts_preload.unwrap_or(false),
        created_at: timestamp::now(),
        updated_at: None,
    };
    check_listener(state, lb, &listener)?;
    Ok(listener)
}

/// Validate a listener as it would be stored, against its load balancer's VIP and provider.
fn check_listener(state: &AppState, lb: &LoadBalancer, listener: &Listener) -> Result<(), Error> {
    let vip = validate::ip_address("vip_address", &lb.vip_address)?;
    validate::listener(listener, vip)?;
    check_capabilities(state, lb, listener)?;
    super::check_certificates(
        state,
        listener
            .default_tls_container_ref
            .iter()
            .chain(&listener.sni_container_refs)
            .chain(&listener.client_ca_tls_container_ref)
            .chain(&listener.client_crl_container_ref),
    )
}

/// Octavia's 409 when another listener of the load balancer already uses the port on the same
/// transport protocol.
pub(crate) fn check_port_free<'a>(
    siblings: impl IntoIterator<Item = &'a Listener>,
    listener: &Listener,
) -> Result<(), Error> {
    match siblings.into_iter().find(|o| {
        o.id != listener.id
            && o.protocol_port == listener.protocol_port
            && o.protocol.transport() == listener.protocol.transport()
    }) {
        Some(other) => Err(Error::Conflict(format!(
            "Another Listener on this Load Balancer is already using protocol {} and protocol_port {}",
            other.protocol, other.protocol_port
        ))),
        None => Ok(()),
    }
}

fn normalize_cidrs(cidrs: Vec<String>) -> Result<Vec<String>, Error> {
    let mut out: Vec<String> = Vec::new();
    for c in cidrs {
        let net = validate::cidr("allowed_cidrs", &c)?.to_string();
        if !out.contains(&net) {
            out.push(net);
        }
    }
    Ok(out)
}

/// Record a validated listener (new or changed) in one transaction.
async fn store(
    state: &AppState,
    ctx: &RequestContext,
    lb: &LoadBalancer,
    listener: Listener,
    is_new: bool,
) -> Result<Listener, Error> {
    let mut tx = state.service.store.begin().await?;
    check_default_pool(&mut tx, ctx, &listener).await?;
    lock_tree(&mut tx, &lb.id).await?;
    if is_new {
        let siblings = tx.children::<Listener>("loadbalancer_id", &lb.id).await?;
        check_port_free(&siblings, &listener)?;
        let project = listener.project_id.as_deref();
        crate::quotas::reserve(state, &mut tx, project, &[(Kind::Listener, 1)]).await?;
        tx.insert(&listener).await?;
    } else {
        tx.update(&listener).await?;
    }
    commit_work(state, tx, &lb.id, WorkAction::Apply).await?;
    Ok(listener)
}

async fn update_listener(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
    req: UpdateListener,
) -> Result<Listener, Error> {
    let mut l: Listener = visible(state, ctx, id).await?;
    let lb: LoadBalancer = visible(state, ctx, &l.loadbalancer_id).await?;
    let d = &state.service.defaults;
    let tls = l.protocol == ListenerProtocol::TerminatedHttps;
    req.name.apply_opt(&mut l.name);
    req.description.apply_opt(&mut l.description);
    req.admin_state_up.apply_to(&mut l.admin_state_up, || false);
    req.connection_limit
        .apply_to(&mut l.connection_limit, || -1);
    req.default_tls_container_ref
        .apply_opt(&mut l.default_tls_container_ref);
    req.sni_container_refs
        .apply_to(&mut l.sni_container_refs, Vec::new);
    req.default_pool_id.apply_opt(&mut l.default_pool_id);
    req.insert_headers
        .apply_to(&mut l.insert_headers, BTreeMap::new);
    req.timeout_client_data
        .apply_to(&mut l.timeout_client_data, || d.timeout_client_data);
    req.timeout_member_connect
        .apply_to(&mut l.timeout_member_connect, || d.timeout_member_connect);
    req.timeout_member_data
        .apply_to(&mut l.timeout_member_data, || d.timeout_member_data);
    req.timeout_tcp_inspect
        .apply_to(&mut l.timeout_tcp_inspect, || d.timeout_tcp_inspect);
    req.tags.apply_to(&mut l.tags, Vec::new);
    req.client_ca_tls_container_ref
        .apply_opt(&mut l.client_ca_tls_container_ref);
    req.client_authentication
        .apply_to(&mut l.client_authentication, || ClientAuthentication::None);
    req.client_crl_container_ref
        .apply_opt(&mut l.client_crl_container_ref);
    if let Patch::Value(cidrs) = req.allowed_cidrs {
        l.allowed_cidrs = normalize_cidrs(cidrs)?;
    } else if req.allowed_cidrs == Patch::Null {
        l.allowed_cidrs.clear();
    }
    let reset_ciphers = || tls.then(|| validate::DEFAULT_TLS_CIPHERS.to_string());
    match req.tls_ciphers {
        Patch::Absent => {}
        Patch::Null => l.tls_ciphers = reset_ciphers(),
        Patch::Value(v) => l.tls_ciphers = Some(v),
    }
    match req.tls_versions {
        Patch::Absent => {}
        Patch::Null => l.tls_versions = tls.then(validate::default_tls_versions),
        Patch::Value(v) => l.tls_versions = Some(v),
    }
    match req.alpn_protocols {
        Patch::Absent => {}
        Patch::Null => l.alpn_protocols = tls.then(validate::default_alpn_protocols),
        Patch::Value(v) => l.alpn_protocols = Some(v),
    }
    req.hsts_max_age.apply_opt(&mut l.hsts_max_age);
    req.hsts_include_subdomains
        .apply_to(&mut l.hsts_include_subdomains, || false);
    req.hsts_preload.apply_to(&mut l.hsts_preload, || false);
    l.provisioning_status = ProvisioningStatus::PendingUpdate;
    l.updated_at = Some(timestamp::now());
    check_listener(state, &lb, &l)?;
    store(state, ctx, &lb, l, false).await
}
