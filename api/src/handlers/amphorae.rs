//! `/v2/octavia/amphorae`: answered as Octavia answers it when no amphora provider is enabled.
//! Fulcrum's drivers run no amphorae, so the list is empty and every amphora is unknown.

use axum::Json;
use axum::extract::Path;
use fulcrum_core::Error;

use crate::fault::ApiResult;
use crate::shapes::amphorae::AmphoraList;

/// List amphorae (none).
#[utoipa::path(get, path = "/v2/octavia/amphorae", tag = "amphorae",
    responses((status = 200, body = AmphoraList)))]
pub async fn list() -> Json<AmphoraList> {
    Json(AmphoraList {
        amphorae: vec![],
        amphorae_links: vec![],
    })
}

/// Show an amphora (never found).
#[utoipa::path(get, path = "/v2/octavia/amphorae/{id}", tag = "amphorae",
    params(("id" = String, Path, description = "Amphora id")),
    responses((status = 404, body = crate::fault::Fault)))]
pub async fn show(Path(id): Path<String>) -> ApiResult<Json<AmphoraList>> {
    Err(Error::not_found("Amphora", id).into())
}

/// Fail an amphora over (never found).
#[utoipa::path(put, path = "/v2/octavia/amphorae/{id}/failover", tag = "amphorae",
    params(("id" = String, Path, description = "Amphora id")),
    responses((status = 404, body = crate::fault::Fault)))]
pub async fn failover(Path(id): Path<String>) -> ApiResult<Json<AmphoraList>> {
    Err(Error::not_found("Amphora", id).into())
}
