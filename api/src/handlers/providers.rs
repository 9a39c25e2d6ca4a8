//! `/v2/lbaas/providers`: the enabled drivers, by the names clients select them with.

use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use serde_json::Value;

use crate::listing::{fields_of, project};
use crate::shapes::providers::{Provider, ProviderList};
use crate::shapes::to_value;
use crate::state::AppState;

/// List the enabled providers.
#[utoipa::path(get, path = "/v2/lbaas/providers", tag = "providers",
    responses((status = 200, body = ProviderList)))]
pub async fn list(State(state): State<Arc<AppState>>, RawQuery(raw): RawQuery) -> Json<Value> {
    // `fields=` limits each entry to the named attributes, as in Octavia.
    let fields = fields_of(raw.as_deref());
    let providers: Vec<Value> = state
        .service
        .providers()
        .into_iter()
        .map(|(name, description)| project(to_value(&Provider { name, description }), &fields))
        .collect();
    Json(serde_json::json!({ "providers": providers }))
}
