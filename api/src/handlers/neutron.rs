//! A read-only Neutron view of the network back-end: `GET /v2.0/networks`, `/v2.0/subnets` and
//! `/v2.0/ports`, with `?id=` and `?name=` filters. OpenStack clients resolve `--vip-subnet-id`
//! names through Neutron, so a standalone Fulcrum answers these itself: networks and subnets are
//! those the back-end lists (the built-in ones; none for `noop`), ports are the VIP ports of load
//! balancers.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use serde_json::{Value, json};

use crate::auth::RequestContext;
use crate::fault::ApiResult;
use crate::shapes::neutron::NeutronFilter;
use crate::state::AppState;

/// The Neutron version document at `/v2.0/`, which OpenStack SDKs read before using a network
/// endpoint.
pub async fn version(headers: axum::http::HeaderMap) -> Json<Value> {
    let href = super::base_url(&headers, "/v2.0/");
    Json(json!({
        "version": {"id": "v2.0", "status": "CURRENT", "links": [{"href": href, "rel": "self"}]}
    }))
}

/// Networks, in Neutron's shape.
#[utoipa::path(get, path = "/v2.0/networks", tag = "networking", params(NeutronFilter),
    responses((status = 200, body = Object, description = "`{\"networks\": [...]}`")))]
pub async fn networks(
    State(state): State<Arc<AppState>>,
    Query(filter): Query<NeutronFilter>,
) -> ApiResult<Json<Value>> {
    let items: Vec<Value> = state
        .service
        .networks()
        .await?
        .into_iter()
        .filter(|(n, _)| filter.keeps(&n.id, &n.name, Some(&n.id)))
        .map(|(n, subnets)| {
            let ids: Vec<&str> = subnets.iter().map(|s| s.id.as_str()).collect();
            json!({
                "id": n.id, "name": n.name, "status": "ACTIVE", "admin_state_up": true,
                "shared": true, "subnets": ids, "router:external": false, "tags": [],
            })
        })
        .collect();
    Ok(Json(json!({ "networks": items })))
}

/// Subnets, in Neutron's shape.
#[utoipa::path(get, path = "/v2.0/subnets", tag = "networking", params(NeutronFilter),
    responses((status = 200, body = Object, description = "`{\"subnets\": [...]}`")))]
pub async fn subnets(
    State(state): State<Arc<AppState>>,
    Query(filter): Query<NeutronFilter>,
) -> ApiResult<Json<Value>> {
    let items: Vec<Value> = state
        .service
        .subnets()
        .await?
        .into_iter()
        .filter(|s| filter.keeps(&s.id, &s.name, Some(&s.network_id)))
        .map(|s| {
            json!({
                "id": s.id, "name": s.name, "network_id": s.network_id,
                "cidr": s.cidr.to_string(), "ip_version": s.ip_version(),
                "allocation_pools": [{"start": s.allocation_start, "end": s.allocation_end}],
                "enable_dhcp": false, "gateway_ip": null, "tags": [],
            })
        })
        .collect();
    Ok(Json(json!({ "subnets": items })))
}

/// VIP ports of load balancers, in Neutron's shape.
#[utoipa::path(get, path = "/v2.0/ports", tag = "networking", params(NeutronFilter),
    responses((status = 200, body = Object, description = "`{\"ports\": [...]}`")))]
pub async fn ports(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Query(filter): Query<NeutronFilter>,
) -> ApiResult<Json<Value>> {
    let lbs = state.service.vip_ports(&ctx, filter.id.as_deref()).await?;
    let items: Vec<Value> = lbs
        .into_iter()
        .map(|lb| (format!("octavia-lb-{}", lb.id), lb))
        .filter(|(name, lb)| filter.keeps(&lb.vip_port_id, name, Some(&lb.vip_network_id)))
        .map(|(name, lb)| {
            json!({
                "id": lb.vip_port_id, "name": name, "network_id": lb.vip_network_id,
                "fixed_ips": [{"subnet_id": lb.vip_subnet_id, "ip_address": lb.vip_address}],
                "device_owner": "Octavia", "device_id": format!("lb-{}", lb.id),
                "project_id": lb.project_id, "tenant_id": lb.project_id,
                "status": "ACTIVE", "admin_state_up": lb.admin_state_up,
            })
        })
        .collect();
    Ok(Json(json!({ "ports": items })))
}
