//! `GET /v2/lbaas/providers/{provider}/flavor_capabilities` and
//! `.../availability_zone_capabilities`: the metadata keys a provider's profiles may hold.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use serde_json::Value;

use crate::auth::RequestContext;
use crate::fault::ApiResult;
use crate::shapes::capabilities::{AvailabilityZoneCapabilities, Capability, FlavorCapabilities};
use crate::shapes::to_value;
use crate::state::AppState;

/// Capabilities filtered by the `name` and `description` query parameters and projected with
/// `fields`, as Octavia does.
fn filtered(pairs: Vec<(String, String)>, raw: Option<&str>) -> Vec<Value> {
    let query: Vec<(String, String)> = form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let wanted = |key: &str| query.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let (name, description) = (wanted("name"), wanted("description"));
    let fields = crate::listing::fields_of(raw);
    pairs
        .into_iter()
        .filter(|(n, _)| name.as_ref().is_none_or(|want| want == n))
        .filter(|(_, d)| description.as_ref().is_none_or(|want| want == d))
        .map(|(name, description)| Capability { name, description })
        .map(|c| crate::listing::project(to_value(&c), &fields))
        .collect()
}

/// The flavor metadata keys a provider supports.
#[utoipa::path(get, path = "/v2/lbaas/providers/{provider}/flavor_capabilities", tag = "providers",
    params(("provider" = String, Path, description = "Provider name")),
    responses((status = 200, body = FlavorCapabilities)))]
pub async fn flavor_capabilities(
    State(state): State<Arc<AppState>>,
    _: RequestContext,
    Path(provider): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let pairs = state.service.provider_capabilities(&provider, false)?;
    Ok(Json(
        serde_json::json!({ "flavor_capabilities": filtered(pairs, raw.as_deref()) }),
    ))
}

/// The availability zone metadata keys a provider supports.
#[utoipa::path(get, path = "/v2/lbaas/providers/{provider}/availability_zone_capabilities",
    tag = "providers",
    params(("provider" = String, Path, description = "Provider name")),
    responses((status = 200, body = AvailabilityZoneCapabilities)))]
pub async fn availability_zone_capabilities(
    State(state): State<Arc<AppState>>,
    _: RequestContext,
    Path(provider): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let pairs = state.service.provider_capabilities(&provider, true)?;
    Ok(Json(serde_json::json!({
        "availability_zone_capabilities": filtered(pairs, raw.as_deref())
    })))
}
