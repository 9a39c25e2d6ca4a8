//! `/v2/lbaas/providers`: the enabled drivers, by the names clients select them with.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;

/// One provider.
#[derive(Debug, Serialize, ToSchema)]
pub struct Provider {
    /// The name a load balancer's `provider` takes.
    pub name: String,
    /// What it is.
    pub description: String,
}

/// `{"providers": [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderList {
    /// The enabled providers.
    pub providers: Vec<Provider>,
}

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
