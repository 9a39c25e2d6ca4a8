//! `/v2/fulcrum/provider/...`: the API of Octavia's provider driver for Fulcrum. Objects are
//! named by Octavia's ids; every write is an idempotent upsert or delete answered with 202
//! (Fulcrum converges it and reports the outcome on the status feed, `GET .../status`).
//! Administrators and service users only (rule `fulcrum:provider:write` / `fulcrum:provider:get_status`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use fulcrum_core::Error;
use fulcrum_core::model::Kind;

use crate::body::OctaviaBody;
use crate::fault::ApiResult;
use crate::service::profiles::MetadataKind;
use crate::shapes::envelope::Envelope;
use crate::shapes::health_monitors::CreateHealthMonitor;
use crate::shapes::l7policies::CreateL7Policy;
use crate::shapes::l7rules::CreateL7Rule;
use crate::shapes::listeners::CreateListener;
use crate::shapes::members::CreateMember;
use crate::shapes::pools::CreatePool;
use crate::shapes::provider::{
    ProviderAvailabilityZoneMetadata, ProviderFlavorMetadata, ProviderLoadBalancer,
    ProviderMemberList, ProviderStatusEntry, ProviderStatusFeed, ProviderWrite,
};
use crate::state::AppState;

type Accepted = ApiResult<(StatusCode, Json<ProviderWrite>)>;

fn accepted(write: ProviderWrite) -> (StatusCode, Json<ProviderWrite>) {
    (StatusCode::ACCEPTED, Json(write))
}

/// Create or update a load balancer under Octavia's id, with the objects below it that the body
/// gives (created or replaced; objects not given are left as they are).
#[utoipa::path(put, path = "/v2/fulcrum/provider/loadbalancers/{id}", tag = "provider",
    params(("id" = String, Path, description = "Octavia's load balancer id")),
    request_body(content = inline(Envelope<ProviderLoadBalancer>), description = "`{\"loadbalancer\": {...}}`"),
    responses((status = 202, body = ProviderWrite)))]
pub async fn put_load_balancer(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    OctaviaBody(req): OctaviaBody<ProviderLoadBalancer>,
) -> Accepted {
    let write = state.service.provider_put_load_balancer(&id, req).await?;
    Ok(accepted(write))
}

/// Delete a load balancer and everything below it (Octavia's cascade delete).
#[utoipa::path(delete, path = "/v2/fulcrum/provider/loadbalancers/{id}", tag = "provider",
    params(("id" = String, Path, description = "Octavia's load balancer id")),
    responses((status = 202, body = ProviderWrite)))]
pub async fn delete_load_balancer(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Accepted {
    let write = state
        .service
        .provider_delete(Kind::LoadBalancer, &id, None)
        .await?;
    Ok(accepted(write))
}

/// Create or replace a listener.
#[utoipa::path(put, path = "/v2/fulcrum/provider/listeners/{id}", tag = "provider",
    params(("id" = String, Path, description = "Octavia's listener id")),
    request_body(content = inline(Envelope<CreateListener>), description = "`{\"listener\": {...}}`"),
    responses((status = 202, body = ProviderWrite)))]
pub async fn put_listener(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    OctaviaBody(req): OctaviaBody<CreateListener>,
) -> Accepted {
    let write = state.service.provider_put_listener(&id, req).await?;
    Ok(accepted(write))
}

/// Delete a listener with its L7 policies.
#[utoipa::path(delete, path = "/v2/fulcrum/provider/listeners/{id}", tag = "provider",
    params(("id" = String, Path, description = "Octavia's listener id")),
    responses((status = 202, body = ProviderWrite)))]
pub async fn delete_listener(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Accepted {
    let write = state
        .service
        .provider_delete(Kind::Listener, &id, None)
        .await?;
    Ok(accepted(write))
}

/// Create or replace a pool.
#[utoipa::path(put, path = "/v2/fulcrum/provider/pools/{id}", tag = "provider",
    params(("id" = String, Path, description = "Octavia's pool id")),
    request_body(content = inline(Envelope<CreatePool>), description = "`{\"pool\": {...}}`"),
    responses((status = 202, body = ProviderWrite)))]
pub async fn put_pool(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    OctaviaBody(req): OctaviaBody<CreatePool>,
) -> Accepted {
    let write = state.service.provider_put_pool(&id, req).await?;
    Ok(accepted(write))
}

/// Delete a pool with its members and health monitor.
#[utoipa::path(delete, path = "/v2/fulcrum/provider/pools/{id}", tag = "provider",
    params(("id" = String, Path, description = "Octavia's pool id")),
    responses((status = 202, body = ProviderWrite)))]
pub async fn delete_pool(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Accepted {
    let write = state.service.provider_delete(Kind::Pool, &id, None).await?;
    Ok(accepted(write))
}

/// Replace every member of a pool (Octavia's member batch update).
#[utoipa::path(put, path = "/v2/fulcrum/provider/pools/{pool_id}/members", tag = "provider",
    params(("pool_id" = String, Path, description = "Octavia's pool id")),
    request_body(content = inline(ProviderMemberList), description = "`{\"members\": [{\"id\": ..., \"member\": {...}}]}`"),
    responses((status = 202, body = ProviderWrite)))]
pub async fn replace_members(
    State(state): State<Arc<AppState>>,
    Path(pool_id): Path<String>,
    OctaviaBody(req): OctaviaBody<ProviderMemberList>,
) -> Accepted {
    let write = state
        .service
        .provider_replace_members(&pool_id, req.members)
        .await?;
    Ok(accepted(write))
}

/// Create or replace a member of a pool.
#[utoipa::path(put, path = "/v2/fulcrum/provider/pools/{pool_id}/members/{id}", tag = "provider",
    params(("pool_id" = String, Path, description = "Octavia's pool id"),
           ("id" = String, Path, description = "Octavia's member id")),
    request_body(content = inline(Envelope<CreateMember>), description = "`{\"member\": {...}}`"),
    responses((status = 202, body = ProviderWrite)))]
pub async fn put_member(
    State(state): State<Arc<AppState>>,
    Path((pool_id, id)): Path<(String, String)>,
    OctaviaBody(req): OctaviaBody<CreateMember>,
) -> Accepted {
    let write = state
        .service
        .provider_put_member(&pool_id, &id, req)
        .await?;
    Ok(accepted(write))
}

/// Delete a member.
#[utoipa::path(delete, path = "/v2/fulcrum/provider/pools/{pool_id}/members/{id}", tag = "provider",
    params(("pool_id" = String, Path, description = "Octavia's pool id"),
           ("id" = String, Path, description = "Octavia's member id")),
    responses((status = 202, body = ProviderWrite)))]
pub async fn delete_member(
    State(state): State<Arc<AppState>>,
    Path((pool_id, id)): Path<(String, String)>,
) -> Accepted {
    let write = state
        .service
        .provider_delete(Kind::Member, &id, Some(&pool_id))
        .await?;
    Ok(accepted(write))
}

/// Create or replace the health monitor of a pool.
#[utoipa::path(put, path = "/v2/fulcrum/provider/healthmonitors/{id}", tag = "provider",
    params(("id" = String, Path, description = "Octavia's health monitor id")),
    request_body(content = inline(Envelope<CreateHealthMonitor>), description = "`{\"healthmonitor\": {...}}`"),
    responses((status = 202, body = ProviderWrite)))]
pub async fn put_health_monitor(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    OctaviaBody(req): OctaviaBody<CreateHealthMonitor>,
) -> Accepted {
    let write = state.service.provider_put_health_monitor(&id, req).await?;
    Ok(accepted(write))
}

/// Delete a health monitor.
#[utoipa::path(delete, path = "/v2/fulcrum/provider/healthmonitors/{id}", tag = "provider",
    params(("id" = String, Path, description = "Octavia's health monitor id")),
    responses((status = 202, body = ProviderWrite)))]
pub async fn delete_health_monitor(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Accepted {
    let write = state
        .service
        .provider_delete(Kind::HealthMonitor, &id, None)
        .await?;
    Ok(accepted(write))
}

/// Create or replace an L7 policy (without rules: they are put under their own ids).
#[utoipa::path(put, path = "/v2/fulcrum/provider/l7policies/{id}", tag = "provider",
    params(("id" = String, Path, description = "Octavia's L7 policy id")),
    request_body(content = inline(Envelope<CreateL7Policy>), description = "`{\"l7policy\": {...}}`"),
    responses((status = 202, body = ProviderWrite)))]
pub async fn put_l7policy(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    OctaviaBody(req): OctaviaBody<CreateL7Policy>,
) -> Accepted {
    let write = state.service.provider_put_l7policy(&id, req).await?;
    Ok(accepted(write))
}

/// Delete an L7 policy with its rules.
#[utoipa::path(delete, path = "/v2/fulcrum/provider/l7policies/{id}", tag = "provider",
    params(("id" = String, Path, description = "Octavia's L7 policy id")),
    responses((status = 202, body = ProviderWrite)))]
pub async fn delete_l7policy(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Accepted {
    let write = state
        .service
        .provider_delete(Kind::L7Policy, &id, None)
        .await?;
    Ok(accepted(write))
}

/// Create or replace a rule of an L7 policy.
#[utoipa::path(put, path = "/v2/fulcrum/provider/l7policies/{policy_id}/rules/{id}", tag = "provider",
    params(("policy_id" = String, Path, description = "Octavia's L7 policy id"),
           ("id" = String, Path, description = "Octavia's L7 rule id")),
    request_body(content = inline(Envelope<CreateL7Rule>), description = "`{\"rule\": {...}}`"),
    responses((status = 202, body = ProviderWrite)))]
pub async fn put_l7rule(
    State(state): State<Arc<AppState>>,
    Path((policy_id, id)): Path<(String, String)>,
    OctaviaBody(req): OctaviaBody<CreateL7Rule>,
) -> Accepted {
    let write = state
        .service
        .provider_put_l7rule(&policy_id, &id, req)
        .await?;
    Ok(accepted(write))
}

/// Delete a rule of an L7 policy.
#[utoipa::path(delete, path = "/v2/fulcrum/provider/l7policies/{policy_id}/rules/{id}", tag = "provider",
    params(("policy_id" = String, Path, description = "Octavia's L7 policy id"),
           ("id" = String, Path, description = "Octavia's L7 rule id")),
    responses((status = 202, body = ProviderWrite)))]
pub async fn delete_l7rule(
    State(state): State<Arc<AppState>>,
    Path((policy_id, id)): Path<(String, String)>,
) -> Accepted {
    let write = state
        .service
        .provider_delete(Kind::L7Rule, &id, Some(&policy_id))
        .await?;
    Ok(accepted(write))
}

/// Check flavor metadata as a provider's driver would take it (Octavia's `validate_flavor`):
/// 204 when it accepts it, 501 with the driver's reason when not. Nothing is stored.
#[utoipa::path(post, path = "/v2/fulcrum/provider/providers/{provider}/flavor_metadata", tag = "provider",
    params(("provider" = String, Path, description = "Fulcrum's provider (driver) name")),
    request_body(content = inline(Envelope<ProviderFlavorMetadata>), description = "`{\"flavor_metadata\": {...}}`"),
    responses((status = 204, description = "The driver accepts it")))]
pub async fn check_flavor_metadata(
    State(state): State<Arc<AppState>>,
    Path(provider): Path<String>,
    OctaviaBody(body): OctaviaBody<ProviderFlavorMetadata>,
) -> ApiResult<StatusCode> {
    check_metadata(&state, MetadataKind::Flavor, &provider, body.0)
}

/// Check availability zone metadata as a provider's driver would take it (Octavia's
/// `validate_availability_zone`): 204 when it accepts it, 501 with the driver's reason when not.
/// Nothing is stored.
#[utoipa::path(post, path = "/v2/fulcrum/provider/providers/{provider}/availability_zone_metadata", tag = "provider",
    params(("provider" = String, Path, description = "Fulcrum's provider (driver) name")),
    request_body(content = inline(Envelope<ProviderAvailabilityZoneMetadata>), description = "`{\"availability_zone_metadata\": {...}}`"),
    responses((status = 204, description = "The driver accepts it")))]
pub async fn check_availability_zone_metadata(
    State(state): State<Arc<AppState>>,
    Path(provider): Path<String>,
    OctaviaBody(body): OctaviaBody<ProviderAvailabilityZoneMetadata>,
) -> ApiResult<StatusCode> {
    check_metadata(&state, MetadataKind::AvailabilityZone, &provider, body.0)
}

fn check_metadata(
    state: &AppState,
    kind: MetadataKind,
    provider: &str,
    metadata: serde_json::Map<String, serde_json::Value>,
) -> ApiResult<StatusCode> {
    state
        .service
        .check_provider_metadata(kind, provider, &serde_json::Value::Object(metadata))?;
    Ok(StatusCode::NO_CONTENT)
}

/// The status feed: settled statuses and listener counters of the load balancers written
/// through this API, in commit order, after the cursor `after` (0: from the start), at most
/// `limit` (default 100, at most 1000) entries. Entries are durable: a reader that resumes from
/// the last cursor it handled misses none.
#[utoipa::path(get, path = "/v2/fulcrum/provider/status", tag = "provider",
    params(("after" = Option<i64>, Query, description = "The last cursor handled (default 0)"),
           ("limit" = Option<i64>, Query, description = "Most entries to return (default 100, at most 1000)")),
    responses((status = 200, body = ProviderStatusFeed)))]
pub async fn status(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<ProviderStatusFeed>> {
    let mut after = 0;
    let mut limit = 100;
    for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        let slot = match key.as_ref() {
            "after" => &mut after,
            "limit" => &mut limit,
            _ => continue,
        };
        *slot = value
            .parse::<i64>()
            .ok()
            .filter(|v| *v >= 0)
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "Invalid input for field/attribute {key}. Value: '{value}'. Value should be a non-negative integer"
                ))
            })?;
    }
    let entries = state.service.provider_feed(after, limit).await?;
    let cursor = entries.last().map_or(after, |e| e.cursor);
    Ok(Json(ProviderStatusFeed {
        entries: entries
            .into_iter()
            .map(|e| ProviderStatusEntry {
                cursor: e.cursor,
                loadbalancer_id: e.load_balancer_id,
                status: e.status,
                statistics: e.statistics,
                created_at: e.created_at,
            })
            .collect(),
        cursor,
    }))
}
