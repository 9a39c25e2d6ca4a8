//! `/v2/lbaas/providers`: the enabled drivers, by the names clients select them with.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;

use crate::shapes::providers::{Provider, ProviderList};
use crate::state::AppState;

/// List the enabled providers.
#[utoipa::path(get, path = "/v2/lbaas/providers", tag = "providers",
    responses((status = 200, body = ProviderList)))]
pub async fn list(State(state): State<Arc<AppState>>) -> Json<ProviderList> {
    let providers = state
        .service
        .providers()
        .into_iter()
        .map(|(name, description)| Provider { name, description })
        .collect();
    Json(ProviderList { providers })
}
