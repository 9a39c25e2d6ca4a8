//! `/v1/management/license-pools` (create with keys or seats, list, show with usage and masked
//! keys, renew, add keys, delete when nothing is assigned, assign to a device) and
//! `/v1/management/licenses` (list by pool, device or state, show, revoke). Registration keys
//! go in and come out masked only.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::model::{AssignTo, NewKeys, NewPool, PoolChange};
use super::store::LicenseQuery;
use crate::Management;
use crate::error::ManagementResult;
use crate::http::{JsonBody, QueryParams, Who};

type Answer = ManagementResult<Json<Value>>;

/// The license pools' routes.
pub fn routes() -> Router<Arc<Management>> {
    Router::new()
        .route(
            "/v1/management/license-pools",
            get(list_pools).post(create_pool),
        )
        .route(
            "/v1/management/license-pools/{id}",
            get(show_pool).patch(update_pool).delete(delete_pool),
        )
        .route("/v1/management/license-pools/{id}/keys", post(add_keys))
        .route("/v1/management/license-pools/{id}/assign", post(assign))
        .route("/v1/management/licenses", get(list))
        .route("/v1/management/licenses/{id}", get(show))
        .route("/v1/management/licenses/{id}/revoke", post(revoke))
}

async fn list_pools(State(management): State<Arc<Management>>) -> Answer {
    let views = management.licenses.views().await?;
    Ok(Json(json!({ "license_pools": views })))
}

async fn show_pool(State(management): State<Arc<Management>>, Path(id): Path<String>) -> Answer {
    let licenses = &management.licenses;
    let pool = licenses.store.pool(&id).await?;
    let mut view = serde_json::to_value(licenses.view(&pool).await?).unwrap_or_default();
    view["keys"] = json!(licenses.store.keys(&id).await?);
    Ok(Json(json!({ "license_pool": view })))
}

async fn create_pool(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    JsonBody(new): JsonBody<NewPool>,
) -> ManagementResult<(StatusCode, Json<Value>)> {
    let view = management.licenses.create_pool(Some(&caller), &new).await?;
    Ok((StatusCode::CREATED, Json(json!({ "license_pool": view }))))
}

async fn update_pool(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    Path(id): Path<String>,
    JsonBody(change): JsonBody<PoolChange>,
) -> Answer {
    let view = management
        .licenses
        .update_pool(Some(&caller), &id, &change)
        .await?;
    Ok(Json(json!({ "license_pool": view })))
}

async fn add_keys(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    Path(id): Path<String>,
    JsonBody(new): JsonBody<NewKeys>,
) -> Answer {
    let view = management
        .licenses
        .add_keys(Some(&caller), &id, &new)
        .await?;
    Ok(Json(json!({ "license_pool": view })))
}

async fn delete_pool(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    Path(id): Path<String>,
) -> ManagementResult<StatusCode> {
    management.licenses.delete_pool(Some(&caller), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn assign(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    Path(id): Path<String>,
    JsonBody(to): JsonBody<AssignTo>,
) -> ManagementResult<(StatusCode, Json<Value>)> {
    let licenses = &management.licenses;
    let pool = licenses.store.pool(&id).await?;
    let device = licenses.devices().get(&to.device_id).await?;
    let license = licenses.assign(Some(&caller), &pool, &device).await?;
    Ok((StatusCode::CREATED, Json(json!({ "license": license }))))
}

async fn list(
    State(management): State<Arc<Management>>,
    QueryParams(query): QueryParams<LicenseQuery>,
) -> Answer {
    let licenses = management.licenses.store.list(&query).await?;
    Ok(Json(json!({ "licenses": licenses })))
}

async fn show(State(management): State<Arc<Management>>, Path(id): Path<String>) -> Answer {
    let license = management.licenses.store.assignment(&id).await?;
    Ok(Json(json!({ "license": license })))
}

async fn revoke(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    Path(id): Path<String>,
) -> Answer {
    let license = management.licenses.revoke(Some(&caller), &id).await?;
    Ok(Json(json!({ "license": license })))
}
