//! `/v2/lbaas/listeners`.

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
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::load_balancers::StatsBody;
use super::{
    IdRef, commit_work, fetch_page, id_refs, lock_tree, new_id, page_body, show_body,
    text_or_empty, to_value, unsupported, visible, visible_in,
};
use crate::AppState;
use crate::auth::RequestContext;
use crate::body::{OctaviaBody, Rooted};
use crate::fault::ApiResult;
use crate::listing::Link;

/// Body of `POST /v2/lbaas/listeners`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateListener {
    /// The load balancer.
    pub loadbalancer_id: String,
    /// Protocol.
    pub protocol: ListenerProtocol,
    /// Port on the VIP.
    pub protocol_port: i64,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether it serves (default true).
    #[serde(default)]
    pub admin_state_up: Option<bool>,
    /// Max connections (-1 unlimited).
    #[serde(default)]
    pub connection_limit: Option<i64>,
    /// Certificate for TERMINATED_HTTPS.
    #[serde(default)]
    pub default_tls_container_ref: Option<String>,
    /// SNI certificates.
    #[serde(default)]
    pub sni_container_refs: Option<Vec<String>>,
    /// Default pool.
    #[serde(default)]
    pub default_pool_id: Option<String>,
    /// Headers to insert.
    #[serde(default)]
    pub insert_headers: Option<BTreeMap<String, String>>,
    /// Client inactivity timeout, ms.
    #[serde(default)]
    pub timeout_client_data: Option<i64>,
    /// Member connect timeout, ms.
    #[serde(default)]
    pub timeout_member_connect: Option<i64>,
    /// Member inactivity timeout, ms.
    #[serde(default)]
    pub timeout_member_data: Option<i64>,
    /// Inspection timeout, ms.
    #[serde(default)]
    pub timeout_tcp_inspect: Option<i64>,
    /// Tags.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// Client CA.
    #[serde(default)]
    pub client_ca_tls_container_ref: Option<String>,
    /// Client certificate mode.
    #[serde(default)]
    pub client_authentication: Option<ClientAuthentication>,
    /// Client CRL.
    #[serde(default)]
    pub client_crl_container_ref: Option<String>,
    /// Allowed source CIDRs.
    #[serde(default)]
    pub allowed_cidrs: Option<Vec<String>>,
    /// Cipher string.
    #[serde(default)]
    pub tls_ciphers: Option<String>,
    /// TLS versions.
    #[serde(default)]
    pub tls_versions: Option<Vec<String>>,
    /// ALPN protocols.
    #[serde(default)]
    pub alpn_protocols: Option<Vec<String>>,
    /// HSTS max-age.
    #[serde(default)]
    pub hsts_max_age: Option<i64>,
    /// HSTS includeSubDomains.
    #[serde(default)]
    pub hsts_include_subdomains: Option<bool>,
    /// HSTS preload.
    #[serde(default)]
    pub hsts_preload: Option<bool>,
    /// Ignored: the project is the load balancer's.
    #[serde(default)]
    pub project_id: Option<String>,
    /// Ignored alias of `project_id`.
    #[serde(default)]
    pub tenant_id: Option<String>,
}

impl Rooted for CreateListener {
    const ROOT: &'static str = "listener";
}

/// Body of `PUT /v2/lbaas/listeners/{id}`; `null` resets a field to its default.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct UpdateListener {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub admin_state_up: Patch<bool>,
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub connection_limit: Patch<i64>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub default_tls_container_ref: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub sni_container_refs: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub default_pool_id: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    pub insert_headers: Patch<BTreeMap<String, String>>,
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub timeout_client_data: Patch<i64>,
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub timeout_member_connect: Patch<i64>,
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub timeout_member_data: Patch<i64>,
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub timeout_tcp_inspect: Patch<i64>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub tags: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub client_ca_tls_container_ref: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<ClientAuthentication>)]
    pub client_authentication: Patch<ClientAuthentication>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub client_crl_container_ref: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub allowed_cidrs: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub tls_ciphers: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub tls_versions: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub alpn_protocols: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub hsts_max_age: Patch<i64>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub hsts_include_subdomains: Patch<bool>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub hsts_preload: Patch<bool>,
}

impl Rooted for UpdateListener {
    const ROOT: &'static str = "listener";
}

/// A listener as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[allow(missing_docs)]
pub struct ListenerView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub provisioning_status: ProvisioningStatus,
    pub operating_status: OperatingStatus,
    pub admin_state_up: bool,
    pub protocol: ListenerProtocol,
    pub protocol_port: i64,
    pub connection_limit: i64,
    pub default_tls_container_ref: Option<String>,
    pub sni_container_refs: Vec<String>,
    pub project_id: Option<String>,
    pub tenant_id: Option<String>,
    pub default_pool_id: Option<String>,
    pub l7policies: Vec<IdRef>,
    pub insert_headers: BTreeMap<String, String>,
    pub created_at: String,
    pub updated_at: Option<String>,
    pub loadbalancers: Vec<IdRef>,
    pub timeout_client_data: i64,
    pub timeout_member_connect: i64,
    pub timeout_member_data: i64,
    pub timeout_tcp_inspect: i64,
    pub tags: Vec<String>,
    pub client_ca_tls_container_ref: Option<String>,
    pub client_authentication: ClientAuthentication,
    pub client_crl_container_ref: Option<String>,
    pub allowed_cidrs: Option<Vec<String>>,
    pub tls_ciphers: Option<String>,
    pub tls_versions: Option<Vec<String>>,
    pub alpn_protocols: Option<Vec<String>>,
    pub hsts_max_age: Option<i64>,
    pub hsts_include_subdomains: bool,
    pub hsts_preload: bool,
}

impl ListenerView {
    /// The view of a listener with the ids of its L7 policies.
    pub(crate) fn new(l: Listener, policies: &[String]) -> Self {
        ListenerView {
            name: text_or_empty(&l.name),
            description: text_or_empty(&l.description),
            tenant_id: l.project_id.clone(),
            l7policies: id_refs(policies),
            loadbalancers: vec![IdRef {
                id: l.loadbalancer_id.clone(),
            }],
            allowed_cidrs: (!l.allowed_cidrs.is_empty()).then_some(l.allowed_cidrs),
            id: l.id,
            provisioning_status: l.provisioning_status,
            operating_status: l.operating_status,
            admin_state_up: l.admin_state_up,
            protocol: l.protocol,
            protocol_port: l.protocol_port,
            connection_limit: l.connection_limit,
            default_tls_container_ref: l.default_tls_container_ref,
            sni_container_refs: l.sni_container_refs,
            project_id: l.project_id,
            default_pool_id: l.default_pool_id,
            insert_headers: l.insert_headers,
            created_at: l.created_at,
            updated_at: l.updated_at,
            timeout_client_data: l.timeout_client_data,
            timeout_member_connect: l.timeout_member_connect,
            timeout_member_data: l.timeout_member_data,
            timeout_tcp_inspect: l.timeout_tcp_inspect,
            tags: l.tags,
            client_ca_tls_container_ref: l.client_ca_tls_container_ref,
            client_authentication: l.client_authentication,
            client_crl_container_ref: l.client_crl_container_ref,
            tls_ciphers: l.tls_ciphers,
            tls_versions: l.tls_versions,
            alpn_protocols: l.alpn_protocols,
            hsts_max_age: l.hsts_max_age,
            hsts_include_subdomains: l.hsts_include_subdomains,
            hsts_preload: l.hsts_preload,
        }
    }
}

/// `{"listener": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListenerBody {
    /// The listener.
    pub listener: ListenerView,
}

/// `{"listeners": [...], "listeners_links": [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListenerList {
    /// A page of listeners.
    pub listeners: Vec<ListenerView>,
    /// Paging links.
    pub listeners_links: Vec<Link>,
}

async fn view_of(state: &AppState, l: Listener) -> Result<ListenerView, Error> {
    let policies = state
        .service
        .store
        .related(Kind::L7Policy, "listener_id", "id", &[l.id.as_str()])
        .await?;
    let ids = policies.get(&l.id).cloned().unwrap_or_default();
    Ok(ListenerView::new(l, &ids))
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
    let policies = state
        .service
        .store
        .related(Kind::L7Policy, "listener_id", "id", &ids)
        .await?;
    let rendered = items
        .iter()
        .map(|l| {
            let p = policies.get(&l.id).cloned().unwrap_or_default();
            to_value(&ListenerView::new(l.clone(), &p))
        })
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
            listener: ListenerView::new(listener, &[]),
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
