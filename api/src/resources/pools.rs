//! `/v2/lbaas/pools`.

use crate::shapes::pools::*;
use std::sync::Arc;

use axum::Json;
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use fulcrum_core::Error;
use fulcrum_core::model::{
    Kind, L7Policy, Listener, LoadBalancer, OperatingStatus, Pool, ProvisioningStatus,
};
use fulcrum_core::patch::Patch;
use fulcrum_core::{timestamp, validate};
use fulcrum_store::WorkAction;
use serde_json::Value;

use super::{
    commit_work, fetch_page, lock_tree, new_id, page_body, show_body, to_value, unsupported,
    visible,
};
use crate::AppState;
use crate::auth::RequestContext;
use crate::body::OctaviaBody;
use crate::fault::ApiResult;

async fn view_of(state: &AppState, p: Pool) -> Result<PoolView, Error> {
    let related = super::related(state, Kind::Pool, &[p.id.as_str()]).await?;
    Ok(PoolView::new(p, &related))
}

/// List pools.
#[utoipa::path(get, path = "/v2/lbaas/pools", tag = "pools",
    responses((status = 200, body = PoolList)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let (params, items) = fetch_page::<Pool>(&state, &ctx, raw.as_deref(), &[]).await?;
    let ids: Vec<&str> = items.iter().map(|p| p.id.as_str()).collect();
    let related = super::related(&state, Kind::Pool, &ids).await?;
    let rendered = items
        .iter()
        .map(|p| to_value(&PoolView::new(p.clone(), &related)))
        .collect();
    Ok(Json(page_body(
        &params,
        &headers,
        uri.path(),
        "pools",
        &items,
        rendered,
    )))
}

/// Show one pool.
#[utoipa::path(get, path = "/v2/lbaas/pools/{id}", tag = "pools",
    params(("id" = String, Path, description = "Pool id")),
    responses((status = 200, body = PoolBody), (status = 404, body = crate::fault::Fault)))]
pub async fn show(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let p: Pool = visible(&state, &ctx, &id).await?;
    Ok(Json(show_body(
        "pool",
        &view_of(&state, p).await?,
        raw.as_deref(),
    )))
}

/// Create a pool.
#[utoipa::path(post, path = "/v2/lbaas/pools", tag = "pools",
    request_body(content = inline(CreatePool), description = "`{\"pool\": {...}}`"),
    responses((status = 201, body = PoolBody), (status = 400, body = crate::fault::Fault),
              (status = 409, body = crate::fault::Fault), (status = 501, body = crate::fault::Fault)))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    OctaviaBody(req): OctaviaBody<CreatePool>,
) -> ApiResult<(StatusCode, Json<PoolBody>)> {
    let pool = create_pool(&state, &ctx, req).await?;
    Ok((
        StatusCode::CREATED,
        Json(PoolBody {
            pool: view_of(&state, pool).await?,
        }),
    ))
}

/// Update a pool.
#[utoipa::path(put, path = "/v2/lbaas/pools/{id}", tag = "pools",
    params(("id" = String, Path, description = "Pool id")),
    request_body(content = inline(UpdatePool), description = "`{\"pool\": {...}}`"),
    responses((status = 200, body = PoolBody), (status = 409, body = crate::fault::Fault)))]
pub async fn update(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(id): Path<String>,
    OctaviaBody(req): OctaviaBody<UpdatePool>,
) -> ApiResult<Json<PoolBody>> {
    let p = update_pool(&state, &ctx, &id, req).await?;
    Ok(Json(PoolBody {
        pool: view_of(&state, p).await?,
    }))
}

/// Delete a pool (with its members and health monitor).
#[utoipa::path(delete, path = "/v2/lbaas/pools/{id}", tag = "pools",
    params(("id" = String, Path, description = "Pool id")),
    responses((status = 204), (status = 409, body = crate::fault::Fault)))]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let p: Pool = visible(&state, &ctx, &id).await?;
    let mut tx = state.service.store.begin().await?;
    if let Some(policy) = tx
        .children::<L7Policy>("redirect_pool_id", &id)
        .await?
        .into_iter()
        .find(|p| p.provisioning_status != ProvisioningStatus::PendingDelete)
    {
        return Err(
            Error::Conflict(format!("Pool {id} is in use by L7 policy {}", policy.id)).into(),
        );
    }
    lock_tree(&mut tx, &p.loadbalancer_id).await?;
    tx.mark_subtree(Kind::Pool, &id, ProvisioningStatus::PendingDelete)
        .await?;
    for mut l in tx.children::<Listener>("default_pool_id", &id).await? {
        l.default_pool_id = None;
        l.provisioning_status = ProvisioningStatus::PendingUpdate;
        tx.update(&l).await?;
    }
    commit_work(&state, tx, &p.loadbalancer_id, WorkAction::Apply).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What the provider and the certificate store must support for a pool.
fn check_capabilities(state: &AppState, lb: &LoadBalancer, p: &Pool) -> Result<(), Error> {
    super::check_certificates(
        state,
        p.tls_container_ref
            .iter()
            .chain(&p.ca_tls_container_ref)
            .chain(&p.crl_container_ref),
    )?;
    let caps = state.service.providers.get(&lb.provider)?.capabilities();
    if !caps.pool_protocols.contains(&p.protocol) {
        return Err(unsupported(
            &lb.provider,
            format!("{} protocol pools are not supported.", p.protocol),
        ));
    }
    if !caps.lb_algorithms.contains(&p.lb_algorithm) {
        return Err(unsupported(
            &lb.provider,
            format!("{} algorithm is not supported.", p.lb_algorithm),
        ));
    }
    Ok(())
}

/// A new pool of `lb` from a create request, with Octavia's defaults, validated (fields, TLS and
/// session persistence rules, provider capabilities). Shared by `POST /pools` and the load
/// balancer graph create; the listener it may serve is the caller's to check.
pub(crate) fn build_pool(
    state: &AppState,
    lb: &LoadBalancer,
    req: CreatePool,
) -> Result<Pool, Error> {
    let tls = req.tls_enabled.unwrap_or(false);
    let pool = Pool {
        id: new_id(),
        project_id: lb.project_id.clone(),
        loadbalancer_id: lb.id.clone(),
        name: req.name,
        description: req.description,
        admin_state_up: req.admin_state_up.unwrap_or(true),
        provisioning_status: ProvisioningStatus::PendingCreate,
        operating_status: OperatingStatus::Offline,
        protocol: req.protocol,
        lb_algorithm: req.lb_algorithm,
        session_persistence: req.session_persistence,
        tls_container_ref: req.tls_container_ref,
        ca_tls_container_ref: req.ca_tls_container_ref,
        crl_container_ref: req.crl_container_ref,
        tls_enabled: tls,
        tls_ciphers: req
            .tls_ciphers
            .or_else(|| tls.then(|| validate::DEFAULT_TLS_CIPHERS.to_string())),
        tls_versions: req
            .tls_versions
            .or_else(|| tls.then(validate::default_tls_versions)),
        alpn_protocols: req
            .alpn_protocols
            .or_else(|| tls.then(validate::default_alpn_protocols)),
        tags: req.tags.unwrap_or_default(),
        created_at: timestamp::now(),
        updated_at: None,
    };
    validate::pool(&pool)?;
    check_capabilities(state, lb, &pool)?;
    Ok(pool)
}

async fn create_pool(
    state: &AppState,
    ctx: &RequestContext,
    req: CreatePool,
) -> Result<Pool, Error> {
    let listener: Option<Listener> = match &req.listener_id {
        Some(id) => Some(visible(state, ctx, id).await?),
        None => None,
    };
    let lb_id = match (&req.loadbalancer_id, &listener) {
        (_, Some(l)) => l.loadbalancer_id.clone(),
        (Some(id), None) => id.clone(),
        (None, None) => {
            return Err(Error::validation(
                "Must provide at least one of: loadbalancer_id, listener_id",
            ));
        }
    };
    let lb: LoadBalancer = visible(state, ctx, &lb_id).await?;
    if let Some(l) = &listener {
        if req
            .loadbalancer_id
            .as_ref()
            .is_some_and(|id| *id != l.loadbalancer_id)
        {
            return Err(Error::validation(
                "Listener and pool must be on the same load balancer.",
            ));
        }
        validate::listener_pool_protocols(l.protocol, req.protocol)?;
        if l.default_pool_id.is_some() {
            return Err(Error::Conflict(
                "This listener already has a default pool".into(),
            ));
        }
    }
    let listener_id = req.listener_id.clone();
    let pool = build_pool(state, &lb, req)?;
    let mut tx = state.service.store.begin().await?;
    lock_tree(&mut tx, &lb.id).await?;
    let project = pool.project_id.as_deref();
    crate::quotas::reserve(state, &mut tx, project, &[(Kind::Pool, 1)]).await?;
    tx.insert(&pool).await?;
    if let Some(listener_id) = &listener_id {
        let mut l: Listener = tx
            .get(listener_id)
            .await?
            .ok_or_else(|| Error::not_found("Listener", listener_id))?;
        if l.default_pool_id.is_some() {
            return Err(Error::Conflict(
                "This listener already has a default pool".into(),
            ));
        }
        l.default_pool_id = Some(pool.id.clone());
        l.provisioning_status = ProvisioningStatus::PendingUpdate;
        tx.update(&l).await?;
    }
    commit_work(state, tx, &lb.id, WorkAction::Apply).await?;
    Ok(pool)
}

async fn update_pool(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
    req: UpdatePool,
) -> Result<Pool, Error> {
    let mut p: Pool = visible(state, ctx, id).await?;
    let lb: LoadBalancer = visible(state, ctx, &p.loadbalancer_id).await?;
    req.name.apply_opt(&mut p.name);
    req.description.apply_opt(&mut p.description);
    req.admin_state_up.apply_to(&mut p.admin_state_up, || false);
    if let Patch::Value(a) = req.lb_algorithm {
        p.lb_algorithm = a;
    } else if req.lb_algorithm == Patch::Null {
        return Err(Error::invalid_option("None", "lb_algorithm"));
    }
    req.session_persistence
        .apply_opt(&mut p.session_persistence);
    req.tags.apply_to(&mut p.tags, Vec::new);
    req.tls_container_ref.apply_opt(&mut p.tls_container_ref);
    req.ca_tls_container_ref
        .apply_opt(&mut p.ca_tls_container_ref);
    req.crl_container_ref.apply_opt(&mut p.crl_container_ref);
    req.tls_enabled.apply_to(&mut p.tls_enabled, || false);
    let tls = p.tls_enabled;
    match req.tls_ciphers {
        Patch::Absent => {}
        Patch::Null => p.tls_ciphers = tls.then(|| validate::DEFAULT_TLS_CIPHERS.to_string()),
        Patch::Value(v) => p.tls_ciphers = Some(v),
    }
    match req.tls_versions {
        Patch::Absent => {}
        Patch::Null => p.tls_versions = tls.then(validate::default_tls_versions),
        Patch::Value(v) => p.tls_versions = Some(v),
    }
    match req.alpn_protocols {
        Patch::Absent => {}
        Patch::Null => p.alpn_protocols = tls.then(validate::default_alpn_protocols),
        Patch::Value(v) => p.alpn_protocols = Some(v),
    }
    validate::pool(&p)?;
    check_capabilities(state, &lb, &p)?;
    p.provisioning_status = ProvisioningStatus::PendingUpdate;
    p.updated_at = Some(timestamp::now());
    let mut tx = state.service.store.begin().await?;
    lock_tree(&mut tx, &lb.id).await?;
    tx.update(&p).await?;
    commit_work(state, tx, &lb.id, WorkAction::Apply).await?;
    Ok(p)
}
