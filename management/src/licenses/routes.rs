//! `/v1/management/license-pools` (create with keys or seats, list, show with usage and masked
//! keys, renew, add keys, delete when nothing is assigned, assign to a device) and
//! `/v1/management/licenses` (list by pool, device or state, show, revoke). Registration keys
//! go in and come out masked only.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use fulcrum_core::Fault;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::{AssignTo, Assignment, KeyView, NewKeys, NewPool, PoolChange, PoolView};
use super::store::LicenseQuery;
use crate::Management;
use crate::error::{DEVICE_FAILED, ManagementResult};
use crate::http::{JsonBody, QueryParams, Who};

type PoolAnswer = ManagementResult<Json<LicensePoolBody>>;

/// The license pools' routes.
pub fn routes() -> OpenApiRouter<Arc<Management>> {
    OpenApiRouter::new()
        .routes(routes!(list_pools, create_pool))
        .routes(routes!(show_pool, update_pool, delete_pool))
        .routes(routes!(add_keys))
        .routes(routes!(assign))
        .routes(routes!(list))
        .routes(routes!(show))
        .routes(routes!(revoke))
}

/// The body of an answer about one pool.
#[derive(Debug, Serialize, ToSchema)]
pub struct LicensePoolBody {
    /// The pool with its usage.
    pub license_pool: PoolView,
}

/// A pool with its keys, masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct LicensePoolDetail {
    /// The pool with its usage.
    #[serde(flatten)]
    pub pool: PoolView,
    /// Its keys (none for a `seats` pool).
    pub keys: Vec<KeyView>,
}

/// The body of `GET /v1/management/license-pools/{id}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LicensePoolDetailBody {
    /// The pool with its usage and keys.
    pub license_pool: LicensePoolDetail,
}

/// The body of `GET /v1/management/license-pools`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LicensePoolList {
    /// The pools with their usage.
    pub license_pools: Vec<PoolView>,
}

/// The body of an answer about one license.
#[derive(Debug, Serialize, ToSchema)]
pub struct LicenseBody {
    /// The license.
    pub license: Assignment,
}

/// The body of `GET /v1/management/licenses`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LicenseList {
    /// The licenses given to devices.
    pub licenses: Vec<Assignment>,
}

/// List license pools with their usage.
#[utoipa::path(get, path = "/v1/management/license-pools", tag = "licenses",
    responses((status = 200, body = LicensePoolList)))]
async fn list_pools(
    State(management): State<Arc<Management>>,
) -> ManagementResult<Json<LicensePoolList>> {
    let license_pools = management.licenses.views().await?;
    Ok(Json(LicensePoolList { license_pools }))
}

/// Show a license pool with its usage and its keys, masked.
#[utoipa::path(get, path = "/v1/management/license-pools/{id}", tag = "licenses",
    params(("id" = String, Path, description = "License pool id")),
    responses((status = 200, body = LicensePoolDetailBody)))]
async fn show_pool(
    State(management): State<Arc<Management>>,
    Path(id): Path<String>,
) -> ManagementResult<Json<LicensePoolDetailBody>> {
    let licenses = &management.licenses;
    let pool = licenses.store.pool(&id).await?;
    Ok(Json(LicensePoolDetailBody {
        license_pool: LicensePoolDetail {
            pool: licenses.view(&pool).await?,
            keys: licenses.store.keys(&id).await?,
        },
    }))
}

/// Create a license pool of registration keys or of seats.
#[utoipa::path(post, path = "/v1/management/license-pools", tag = "licenses",
    request_body(content = NewPool),
    responses((status = 201, body = LicensePoolBody)))]
async fn create_pool(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    JsonBody(new): JsonBody<NewPool>,
) -> ManagementResult<(StatusCode, Json<LicensePoolBody>)> {
    let license_pool = management.licenses.create_pool(Some(&caller), &new).await?;
    Ok((StatusCode::CREATED, Json(LicensePoolBody { license_pool })))
}

/// Renew a license pool or change its settings.
#[utoipa::path(patch, path = "/v1/management/license-pools/{id}", tag = "licenses",
    params(("id" = String, Path, description = "License pool id")),
    request_body(content = PoolChange),
    responses((status = 200, body = LicensePoolBody)))]
async fn update_pool(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    Path(id): Path<String>,
    JsonBody(change): JsonBody<PoolChange>,
) -> PoolAnswer {
    let license_pool = management
        .licenses
        .update_pool(Some(&caller), &id, &change)
        .await?;
    Ok(Json(LicensePoolBody { license_pool }))
}

/// Add registration keys to a `keys` pool.
#[utoipa::path(post, path = "/v1/management/license-pools/{id}/keys", tag = "licenses",
    params(("id" = String, Path, description = "License pool id")),
    request_body(content = NewKeys),
    responses((status = 200, body = LicensePoolBody)))]
async fn add_keys(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    Path(id): Path<String>,
    JsonBody(new): JsonBody<NewKeys>,
) -> PoolAnswer {
    let license_pool = management
        .licenses
        .add_keys(Some(&caller), &id, &new)
        .await?;
    Ok(Json(LicensePoolBody { license_pool }))
}

/// Delete a license pool none of whose licenses is held.
#[utoipa::path(delete, path = "/v1/management/license-pools/{id}", tag = "licenses",
    params(("id" = String, Path, description = "License pool id")),
    responses((status = 204, description = "Deleted")))]
async fn delete_pool(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    Path(id): Path<String>,
) -> ManagementResult<StatusCode> {
    management.licenses.delete_pool(Some(&caller), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// License a device from a pool: a key is installed on it, or a seat counted.
#[utoipa::path(post, path = "/v1/management/license-pools/{id}/assign", tag = "licenses",
    params(("id" = String, Path, description = "License pool id")),
    request_body(content = AssignTo),
    responses((status = 201, body = LicenseBody),
        (status = 502, body = Fault, description = DEVICE_FAILED)))]
async fn assign(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    Path(id): Path<String>,
    JsonBody(to): JsonBody<AssignTo>,
) -> ManagementResult<(StatusCode, Json<LicenseBody>)> {
    let licenses = &management.licenses;
    let pool = licenses.store.pool(&id).await?;
    let device = licenses.devices().get(&to.device_id).await?;
    let license = licenses.assign(Some(&caller), &pool, &device).await?;
    Ok((StatusCode::CREATED, Json(LicenseBody { license })))
}

/// List the licenses given to devices.
#[utoipa::path(get, path = "/v1/management/licenses", tag = "licenses", params(LicenseQuery),
    responses((status = 200, body = LicenseList)))]
async fn list(
    State(management): State<Arc<Management>>,
    QueryParams(query): QueryParams<LicenseQuery>,
) -> ManagementResult<Json<LicenseList>> {
    let licenses = management.licenses.store.list(&query).await?;
    Ok(Json(LicenseList { licenses }))
}

/// Show a license given to a device.
#[utoipa::path(get, path = "/v1/management/licenses/{id}", tag = "licenses",
    params(("id" = String, Path, description = "License id")),
    responses((status = 200, body = LicenseBody)))]
async fn show(
    State(management): State<Arc<Management>>,
    Path(id): Path<String>,
) -> ManagementResult<Json<LicenseBody>> {
    let license = management.licenses.store.assignment(&id).await?;
    Ok(Json(LicenseBody { license }))
}

/// Revoke a license: the device gives it up and its key or seat returns to the pool.
#[utoipa::path(post, path = "/v1/management/licenses/{id}/revoke", tag = "licenses",
    params(("id" = String, Path, description = "License id")),
    responses((status = 200, body = LicenseBody),
        (status = 502, body = Fault, description = DEVICE_FAILED)))]
async fn revoke(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    Path(id): Path<String>,
) -> ManagementResult<Json<LicenseBody>> {
    let license = management.licenses.revoke(Some(&caller), &id).await?;
    Ok(Json(LicenseBody { license }))
}
