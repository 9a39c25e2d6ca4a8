//! `/v2/lbaas/flavors` and `/v2/lbaas/availabilityzones`: what users select a load balancer's
//! flavor and zone from. Everyone may read them; administrators write them.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use fulcrum_store::{AvailabilityZone, Flavor};
use serde_json::Value;

use super::{ListBody, ListRequest, catalog_list, catalog_show, created, rooted};
use crate::auth::RequestContext;
use crate::body::OctaviaBody;
use crate::fault::ApiResult;
use crate::shapes::CatalogView;
use crate::shapes::envelope::Envelope;
use crate::shapes::flavors::{
    CreateFlavor, CreateZone, FlavorBody, FlavorList, UpdateFlavor, UpdateZone, ZoneBody, ZoneList,
};
use crate::state::AppState;

/// List flavors.
#[utoipa::path(get, path = "/v2/lbaas/flavors", tag = "flavors",
    responses((status = 200, body = FlavorList)))]
pub async fn list_flavors(
    State(state): State<Arc<AppState>>,
    list: ListRequest,
) -> ApiResult<ListBody> {
    Ok(catalog_list::<Flavor>(&state, &list).await?)
}

/// Create a flavor.
#[utoipa::path(post, path = "/v2/lbaas/flavors", tag = "flavors",
    request_body(content = inline(Envelope<CreateFlavor>), description = "`{\"flavor\": {...}}`"),
    responses((status = 201, body = FlavorBody)))]
pub async fn create_flavor(
    State(state): State<Arc<AppState>>,
    _: RequestContext,
    OctaviaBody(req): OctaviaBody<CreateFlavor>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let flavor = state.service.create_flavor(req).await?;
    Ok(created(&flavor))
}

/// Show a flavor.
#[utoipa::path(get, path = "/v2/lbaas/flavors/{id}", tag = "flavors",
    params(("id" = String, Path, description = "Flavor id")),
    responses((status = 200, body = FlavorBody)))]
pub async fn show_flavor(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        catalog_show::<Flavor>(&state, &id, raw.as_deref()).await?,
    ))
}

/// Update a flavor's name, description or `enabled`.
#[utoipa::path(put, path = "/v2/lbaas/flavors/{id}", tag = "flavors",
    params(("id" = String, Path, description = "Flavor id")),
    request_body(content = inline(Envelope<UpdateFlavor>), description = "`{\"flavor\": {...}}`"),
    responses((status = 200, body = FlavorBody)))]
pub async fn update_flavor(
    State(state): State<Arc<AppState>>,
    _: RequestContext,
    Path(id): Path<String>,
    OctaviaBody(req): OctaviaBody<UpdateFlavor>,
) -> ApiResult<Json<Value>> {
    let flavor = state.service.update_flavor(&id, req).await?;
    Ok(Json(rooted(Flavor::ROOT, flavor.view())))
}

/// Delete a flavor no load balancer uses.
#[utoipa::path(delete, path = "/v2/lbaas/flavors/{id}", tag = "flavors",
    params(("id" = String, Path, description = "Flavor id")),
    responses((status = 204)))]
pub async fn delete_flavor(
    State(state): State<Arc<AppState>>,
    _: RequestContext,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.service.delete_catalog_entry::<Flavor>(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List availability zones.
#[utoipa::path(get, path = "/v2/lbaas/availabilityzones", tag = "availabilityzones",
    responses((status = 200, body = ZoneList)))]
pub async fn list_zones(
    State(state): State<Arc<AppState>>,
    list: ListRequest,
) -> ApiResult<ListBody> {
    Ok(catalog_list::<AvailabilityZone>(&state, &list).await?)
}

/// Create an availability zone.
#[utoipa::path(post, path = "/v2/lbaas/availabilityzones", tag = "availabilityzones",
    request_body(content = inline(Envelope<CreateZone>), description = "`{\"availability_zone\": {...}}`"),
    responses((status = 201, body = ZoneBody)))]
pub async fn create_zone(
    State(state): State<Arc<AppState>>,
    _: RequestContext,
    OctaviaBody(req): OctaviaBody<CreateZone>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let zone = state.service.create_zone(req).await?;
    Ok(created(&zone))
}

/// Show an availability zone.
#[utoipa::path(get, path = "/v2/lbaas/availabilityzones/{name}", tag = "availabilityzones",
    params(("name" = String, Path, description = "Availability zone name")),
    responses((status = 200, body = ZoneBody)))]
pub async fn show_zone(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        catalog_show::<AvailabilityZone>(&state, &name, raw.as_deref()).await?,
    ))
}

/// Update an availability zone's description or `enabled`.
#[utoipa::path(put, path = "/v2/lbaas/availabilityzones/{name}", tag = "availabilityzones",
    params(("name" = String, Path, description = "Availability zone name")),
    request_body(content = inline(Envelope<UpdateZone>), description = "`{\"availability_zone\": {...}}`"),
    responses((status = 200, body = ZoneBody)))]
pub async fn update_zone(
    State(state): State<Arc<AppState>>,
    _: RequestContext,
    Path(name): Path<String>,
    OctaviaBody(req): OctaviaBody<UpdateZone>,
) -> ApiResult<Json<Value>> {
    let zone = state.service.update_zone(&name, req).await?;
    Ok(Json(rooted(AvailabilityZone::ROOT, zone.view())))
}

/// Delete an availability zone no load balancer uses.
#[utoipa::path(delete, path = "/v2/lbaas/availabilityzones/{name}", tag = "availabilityzones",
    params(("name" = String, Path, description = "Availability zone name")),
    responses((status = 204)))]
pub async fn delete_zone(
    State(state): State<Arc<AppState>>,
    _: RequestContext,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    state
        .service
        .delete_catalog_entry::<AvailabilityZone>(&name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
