//! `/v2/lbaas/providers`: the enabled drivers, by the names clients select them with.

use crate::shapes::providers::*;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;

use crate::AppState;

/// List the enabled providers.
#[utoipa::path(get, path = "/v2/lbaas/providers", tag = "providers",
    responses((status = 200, body = ProviderList)))]
pub async fn list(State(state): State<Arc<AppState>>) -> Json<ProviderList> {
    let providers = state
        .service
        .providers
        .all()
        .map(|d| Provider {
            name: d.name().to_owned(),
            description: d.description().to_owned(),
        })
        .collect();
    Json(ProviderList { providers })
}
