//! `/v2/lbaas/flavorprofiles` and `/v2/lbaas/availabilityzoneprofiles`: provider metadata,
//! validated by the provider's driver, that flavors and availability zones point at. For
//! administrators only.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use fulcrum_store::{AvailabilityZoneProfile, FlavorProfile};
use serde_json::Value;

use super::{ListBody, ListRequest, catalog_list, catalog_show, created, rooted};
use crate::auth::RequestContext;
use crate::body::OctaviaBody;
use crate::fault::ApiResult;
use crate::shapes::CatalogView;
use crate::shapes::envelope::Envelope;
use crate::shapes::profiles::{
    AzProfileBody, AzProfileList, CreateAzProfile, CreateFlavorProfile, FlavorProfileBody,
    FlavorProfileList, UpdateAzProfile, UpdateFlavorProfile,
};
use crate::state::AppState;

/// List flavor profiles.
#[utoipa::path(get, path = "/v2/lbaas/flavorprofiles", tag = "flavors",
    responses((status = 200, body = FlavorProfileList)))]
pub async fn list_flavor_profiles(
    State(state): State<Arc<AppState>>,
    _: RequestContext,
    list: ListRequest,
) -> ApiResult<ListBody> {
    Ok(catalog_list::<FlavorProfile>(&state, &list).await?)
}

/// Create a flavor profile; its `flavor_data` must be accepted by the provider's driver.
#[utoipa::path(post, path = "/v2/lbaas/flavorprofiles", tag = "flavors",
    request_body(content = inline(Envelope<CreateFlavorProfile>), description = "`{\"flavorprofile\": {...}}`"),
    responses((status = 201, body = FlavorProfileBody)))]
pub async fn create_flavor_profile(
    State(state): State<Arc<AppState>>,
    _: RequestContext,
    OctaviaBody(req): OctaviaBody<CreateFlavorProfile>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let profile: FlavorProfile = state.service.create_profile(req.into()).await?;
    Ok(created(&profile))
}

/// Show a flavor profile.
#[utoipa::path(get, path = "/v2/lbaas/flavorprofiles/{id}", tag = "flavors",
    params(("id" = String, Path, description = "Flavor profile id")),
    responses((status = 200, body = FlavorProfileBody)))]
pub async fn show_flavor_profile(
    State(state): State<Arc<AppState>>,
    _: RequestContext,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        catalog_show::<FlavorProfile>(&state, &id, raw.as_deref()).await?,
    ))
}

/// Update a flavor profile.
#[utoipa::path(put, path = "/v2/lbaas/flavorprofiles/{id}", tag = "flavors",
    params(("id" = String, Path, description = "Flavor profile id")),
    request_body(content = inline(Envelope<UpdateFlavorProfile>), description = "`{\"flavorprofile\": {...}}`"),
    responses((status = 200, body = FlavorProfileBody)))]
pub async fn update_flavor_profile(
    State(state): State<Arc<AppState>>,
    _: RequestContext,
    Path(id): Path<String>,
    OctaviaBody(req): OctaviaBody<UpdateFlavorProfile>,
) -> ApiResult<Json<Value>> {
    let profile: FlavorProfile = state.service.update_profile(&id, req.into()).await?;
    Ok(Json(rooted(FlavorProfile::ROOT, profile.view())))
}

/// Delete a flavor profile no flavor uses.
#[utoipa::path(delete, path = "/v2/lbaas/flavorprofiles/{id}", tag = "flavors",
    params(("id" = String, Path, description = "Flavor profile id")),
    responses((status = 204)))]
pub async fn delete_flavor_profile(
    State(state): State<Arc<AppState>>,
    _: RequestContext,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state
        .service
        .delete_catalog_entry::<FlavorProfile>(&id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List availability zone profiles.
#[utoipa::path(get, path = "/v2/lbaas/availabilityzoneprofiles", tag = "availabilityzones",
    responses((status = 200, body = AzProfileList)))]
pub async fn list_az_profiles(
    State(state): State<Arc<AppState>>,
    _: RequestContext,
    list: ListRequest,
) -> ApiResult<ListBody> {
    Ok(catalog_list::<AvailabilityZoneProfile>(&state, &list).await?)
}

/// Create an availability zone profile; its `availability_zone_data` must be accepted by the
/// provider's driver.
#[utoipa::path(post, path = "/v2/lbaas/availabilityzoneprofiles", tag = "availabilityzones",
    request_body(content = inline(Envelope<CreateAzProfile>), description = "`{\"availability_zone_profile\": {...}}`"),
    responses((status = 201, body = AzProfileBody)))]
pub async fn create_az_profile(
    State(state): State<Arc<AppState>>,
    _: RequestContext,
    OctaviaBody(req): OctaviaBody<CreateAzProfile>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let profile: AvailabilityZoneProfile = state.service.create_profile(req.into()).await?;
    Ok(created(&profile))
}

/// Show an availability zone profile.
#[utoipa::path(get, path = "/v2/lbaas/availabilityzoneprofiles/{id}", tag = "availabilityzones",
    params(("id" = String, Path, description = "Availability zone profile id")),
    responses((status = 200, body = AzProfileBody)))]
pub async fn show_az_profile(
    State(state): State<Arc<AppState>>,
    _: RequestContext,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        catalog_show::<AvailabilityZoneProfile>(&state, &id, raw.as_deref()).await?,
    ))
}

/// Update an availability zone profile.
#[utoipa::path(put, path = "/v2/lbaas/availabilityzoneprofiles/{id}", tag = "availabilityzones",
    params(("id" = String, Path, description = "Availability zone profile id")),
    request_body(content = inline(Envelope<UpdateAzProfile>), description = "`{\"availability_zone_profile\": {...}}`"),
    responses((status = 200, body = AzProfileBody)))]
pub async fn update_az_profile(
    State(state): State<Arc<AppState>>,
    _: RequestContext,
    Path(id): Path<String>,
    OctaviaBody(req): OctaviaBody<UpdateAzProfile>,
) -> ApiResult<Json<Value>> {
    let profile: AvailabilityZoneProfile = state.service.update_profile(&id, req.into()).await?;
    Ok(Json(rooted(AvailabilityZoneProfile::ROOT, profile.view())))
}

/// Delete an availability zone profile no zone uses.
#[utoipa::path(delete, path = "/v2/lbaas/availabilityzoneprofiles/{id}", tag = "availabilityzones",
    params(("id" = String, Path, description = "Availability zone profile id")),
    responses((status = 204)))]
pub async fn delete_az_profile(
    State(state): State<Arc<AppState>>,
    _: RequestContext,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state
        .service
        .delete_catalog_entry::<AvailabilityZoneProfile>(&id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
