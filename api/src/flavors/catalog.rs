//! `/v2/lbaas/flavors` and `/v2/lbaas/availabilityzones`: what users select a load balancer's
//! flavor and zone from. Everyone may read them; administrators write them.

use crate::shapes::flavors::*;
use std::sync::Arc;

use axum::Json;
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use fulcrum_core::patch::Patch;
use fulcrum_core::{Error, timestamp, validate};
use fulcrum_store::{
    AvailabilityZone, AvailabilityZoneProfile, CatalogRecord, Flavor, FlavorProfile, StoreError,
};
use serde_json::Value;

use super::{catalog_body, check_uuid, fetch_catalog_page, not_null};
use crate::AppState;
use crate::auth::RequestContext;
use crate::body::OctaviaBody;
use crate::fault::ApiResult;
use crate::handlers::{rooted, show_body};
use crate::service::new_id;
use crate::shapes::to_value;

/// What flavors and zones share.
trait Selectable: CatalogRecord + Clone {
    const DISPLAY: &'static str;
    const ROOT: &'static str;
    const PLURAL: (&'static str, &'static str);
    /// The load balancer column that names it.
    const LB_COLUMN: &'static str;
    /// Octavia's `field` of `RecordAlreadyExists`.
    const DUPLICATE: &'static str;
    fn view(&self) -> Value;
    fn name(&self) -> &str;
    fn description_and_enabled(&mut self) -> (&mut Option<String>, &mut bool);
}

impl Selectable for Flavor {
    const DISPLAY: &'static str = "Flavor";
    const ROOT: &'static str = "flavor";
    const PLURAL: (&'static str, &'static str) = ("flavors", "flavors_links");
    const LB_COLUMN: &'static str = "flavor_id";
    const DUPLICATE: &'static str = "flavor";
    fn view(&self) -> Value {
        to_value(&FlavorView {
            id: self.id.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            enabled: self.enabled,
            flavor_profile_id: self.flavor_profile_id.clone(),
        })
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn description_and_enabled(&mut self) -> (&mut Option<String>, &mut bool) {
        (&mut self.description, &mut self.enabled)
    }
}

impl Selectable for AvailabilityZone {
    const DISPLAY: &'static str = "Availability Zone";
    const ROOT: &'static str = "availability_zone";
    const PLURAL: (&'static str, &'static str) = ("availability_zones", "availability_zones_links");
    const LB_COLUMN: &'static str = "availability_zone";
    const DUPLICATE: &'static str = "availability zone";
    fn view(&self) -> Value {
        to_value(&ZoneView {
            name: self.name.clone(),
            description: self.description.clone(),
            enabled: self.enabled,
            availability_zone_profile_id: self.availability_zone_profile_id.clone(),
        })
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn description_and_enabled(&mut self) -> (&mut Option<String>, &mut bool) {
        (&mut self.description, &mut self.enabled)
    }
}

/// Store a new flavor or zone whose profile (of type `P`, shown as `profile_display`) exists.
async fn insert<S: Selectable, P: CatalogRecord>(
    state: &AppState,
    row: S,
    profile_id: &str,
    profile_display: &'static str,
) -> Result<S, Error> {
    let mut tx = state.service.store.begin().await?;
    if tx.catalog_get::<P>(profile_id).await?.is_none() {
        return Err(Error::not_found(profile_display, profile_id));
    }
    match tx.catalog_insert(&row).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(Error::Conflict(format!(
                "A {} of {} already exists.",
                S::DUPLICATE,
                row.name()
            )));
        }
        Err(other) => return Err(other.into()),
    }
    tx.commit().await?;
    Ok(row)
}

/// Checks shared by the create of both kinds.
fn check_new(
    name: &str,
    description: Option<&str>,
    profile_field: &str,
    profile_id: &str,
) -> Result<(), Error> {
    validate::max_len("name", Some(name), 255)?;
    validate::max_len("description", description, 255)?;
    check_uuid(profile_field, profile_id)
}

async fn create_flavor_row(state: &AppState, req: CreateFlavor) -> Result<Flavor, Error> {
    let profile = req.flavor_profile_id.clone();
    check_new(
        &req.name,
        req.description.as_deref(),
        "flavor_profile_id",
        &profile,
    )?;
    let flavor = Flavor {
        id: new_id(),
        name: req.name,
        description: req.description,
        enabled: req.enabled.unwrap_or(true),
        flavor_profile_id: req.flavor_profile_id,
        created_at: timestamp::now(),
    };
    insert::<Flavor, FlavorProfile>(state, flavor, &profile, "Flavor profile").await
}

async fn create_zone_row(state: &AppState, req: CreateZone) -> Result<AvailabilityZone, Error> {
    let profile = req.availability_zone_profile_id.clone();
    check_new(
        &req.name,
        req.description.as_deref(),
        "availability_zone_profile_id",
        &profile,
    )?;
    let zone = AvailabilityZone {
        name: req.name,
        description: req.description,
        enabled: req.enabled.unwrap_or(true),
        availability_zone_profile_id: req.availability_zone_profile_id,
        created_at: timestamp::now(),
    };
    let display = "Availability Zone Profile";
    insert::<AvailabilityZone, AvailabilityZoneProfile>(state, zone, &profile, display).await
}

/// Change a flavor or zone: `change` applies the request to the stored row.
async fn update<S: Selectable>(
    state: &AppState,
    key: &str,
    change: impl FnOnce(&mut S) -> Result<(), Error>,
) -> Result<S, Error> {
    let mut tx = state.service.store.begin().await?;
    let mut row: S = tx
        .catalog_get(key)
        .await?
        .ok_or_else(|| Error::not_found(S::DISPLAY, key))?;
    change(&mut row)?;
    let (description, _) = row.description_and_enabled();
    validate::max_len("description", description.as_deref(), 255)?;
    match tx.catalog_update(&row).await {
        Err(StoreError::Conflict(_)) => Err(Error::Conflict(format!(
            "A {} of {} already exists.",
            S::DUPLICATE,
            row.name()
        ))),
        other => other.map_err(Error::from),
    }?;
    tx.commit().await?;
    Ok(row)
}

/// Apply `description` and `enabled` of a PUT.
fn apply_common<S: Selectable>(
    row: &mut S,
    description: Patch<String>,
    enabled: Patch<bool>,
) -> Result<(), Error> {
    let enabled = not_null(enabled, "enabled")?;
    let (slot_description, slot_enabled) = row.description_and_enabled();
    description.apply_opt(slot_description);
    if let Some(e) = enabled {
        *slot_enabled = e;
    }
    Ok(())
}

/// Delete a flavor or zone no load balancer names.
async fn delete<S: Selectable>(state: &AppState, key: &str) -> Result<(), Error> {
    let mut tx = state.service.store.begin().await?;
    if tx.load_balancers_with(S::LB_COLUMN, key).await? > 0 {
        return Err(Error::Conflict(format!(
            "{} {key} is in use and cannot be modified.",
            S::DISPLAY
        )));
    }
    if !tx.catalog_delete::<S>(key).await? {
        return Err(Error::not_found(S::DISPLAY, key));
    }
    tx.commit().await?;
    Ok(())
}

async fn list<S: Selectable>(
    state: &AppState,
    headers: &HeaderMap,
    path: &str,
    raw: Option<&str>,
) -> Result<Value, Error> {
    let (params, items) = fetch_catalog_page::<S>(state, raw).await?;
    let rendered = items.iter().map(Selectable::view).collect();
    Ok(catalog_body(
        &params,
        headers,
        path,
        S::PLURAL,
        &items,
        rendered,
    ))
}

async fn show<S: Selectable>(
    state: &AppState,
    key: &str,
    raw: Option<&str>,
) -> Result<Value, Error> {
    let row: S = state
        .service
        .store
        .catalog_get(key)
        .await?
        .ok_or_else(|| Error::not_found(S::DISPLAY, key))?;
    Ok(show_body(S::ROOT, &row.view(), raw))
}

/// List flavors.
#[utoipa::path(get, path = "/v2/lbaas/flavors", tag = "flavors",
    responses((status = 200, description = "`{\"flavors\": [...], \"flavors_links\": [...]}`")))]
pub async fn list_flavors(
    State(state): State<Arc<AppState>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        list::<Flavor>(&state, &headers, uri.path(), raw.as_deref()).await?,
    ))
}

/// Create a flavor.
#[utoipa::path(post, path = "/v2/lbaas/flavors", tag = "flavors",
    request_body(content = inline(CreateFlavor), description = "`{\"flavor\": {...}}`"),
    responses((status = 201, body = FlavorBody), (status = 400, body = crate::fault::Fault),
              (status = 403, body = crate::fault::Fault), (status = 404, body = crate::fault::Fault),
              (status = 409, body = crate::fault::Fault)))]
pub async fn create_flavor(
    State(state): State<Arc<AppState>>,
    _: RequestContext,
    OctaviaBody(req): OctaviaBody<CreateFlavor>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let flavor = create_flavor_row(&state, req).await?;
    Ok((StatusCode::CREATED, Json(rooted("flavor", flavor.view()))))
}

/// Show a flavor.
#[utoipa::path(get, path = "/v2/lbaas/flavors/{id}", tag = "flavors",
    params(("id" = String, Path, description = "Flavor id")),
    responses((status = 200, body = FlavorBody), (status = 404, body = crate::fault::Fault)))]
pub async fn show_flavor(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    Ok(Json(show::<Flavor>(&state, &id, raw.as_deref()).await?))
}

/// Update a flavor's name, description or `enabled`.
#[utoipa::path(put, path = "/v2/lbaas/flavors/{id}", tag = "flavors",
    params(("id" = String, Path, description = "Flavor id")),
    request_body(content = inline(UpdateFlavor), description = "`{\"flavor\": {...}}`"),
    responses((status = 200, body = FlavorBody), (status = 404, body = crate::fault::Fault)))]
pub async fn update_flavor(
    State(state): State<Arc<AppState>>,
    _: RequestContext,
    Path(id): Path<String>,
    OctaviaBody(req): OctaviaBody<UpdateFlavor>,
) -> ApiResult<Json<Value>> {
    let flavor: Flavor = update(&state, &id, |f: &mut Flavor| {
        if let Some(name) = not_null(req.name, "name")? {
            validate::max_len("name", Some(&name), 255)?;
            f.name = name;
        }
        apply_common(f, req.description, req.enabled)
    })
    .await?;
    Ok(Json(rooted("flavor", flavor.view())))
}

/// Delete a flavor no load balancer uses.
#[utoipa::path(delete, path = "/v2/lbaas/flavors/{id}", tag = "flavors",
    params(("id" = String, Path, description = "Flavor id")),
    responses((status = 204), (status = 404, body = crate::fault::Fault),
              (status = 409, body = crate::fault::Fault)))]
pub async fn delete_flavor(
    State(state): State<Arc<AppState>>,
    _: RequestContext,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    delete::<Flavor>(&state, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List availability zones.
#[utoipa::path(get, path = "/v2/lbaas/availabilityzones", tag = "availabilityzones",
    responses((status = 200, description = "`{\"availability_zones\": [...], \"availability_zones_links\": [...]}`")))]
pub async fn list_zones(
    State(state): State<Arc<AppState>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        list::<AvailabilityZone>(&state, &headers, uri.path(), raw.as_deref()).await?,
    ))
}

/// Create an availability zone.
#[utoipa::path(post, path = "/v2/lbaas/availabilityzones", tag = "availabilityzones",
    request_body(content = inline(CreateZone), description = "`{\"availability_zone\": {...}}`"),
    responses((status = 201, body = ZoneBody), (status = 400, body = crate::fault::Fault),
              (status = 403, body = crate::fault::Fault), (status = 404, body = crate::fault::Fault),
              (status = 409, body = crate::fault::Fault)))]
pub async fn create_zone(
    State(state): State<Arc<AppState>>,
    _: RequestContext,
    OctaviaBody(req): OctaviaBody<CreateZone>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let zone = create_zone_row(&state, req).await?;
    Ok((
        StatusCode::CREATED,
        Json(rooted("availability_zone", zone.view())),
    ))
}

/// Show an availability zone.
#[utoipa::path(get, path = "/v2/lbaas/availabilityzones/{name}", tag = "availabilityzones",
    params(("name" = String, Path, description = "Availability zone name")),
    responses((status = 200, body = ZoneBody), (status = 404, body = crate::fault::Fault)))]
pub async fn show_zone(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        show::<AvailabilityZone>(&state, &name, raw.as_deref()).await?,
    ))
}

/// Update an availability zone's description or `enabled`.
#[utoipa::path(put, path = "/v2/lbaas/availabilityzones/{name}", tag = "availabilityzones",
    params(("name" = String, Path, description = "Availability zone name")),
    request_body(content = inline(UpdateZone), description = "`{\"availability_zone\": {...}}`"),
    responses((status = 200, body = ZoneBody), (status = 404, body = crate::fault::Fault)))]
pub async fn update_zone(
    State(state): State<Arc<AppState>>,
    _: RequestContext,
    Path(name): Path<String>,
    OctaviaBody(req): OctaviaBody<UpdateZone>,
) -> ApiResult<Json<Value>> {
    let zone: AvailabilityZone = update(&state, &name, |z: &mut AvailabilityZone| {
        apply_common(z, req.description, req.enabled)
    })
    .await?;
    Ok(Json(rooted("availability_zone", zone.view())))
}

/// Delete an availability zone no load balancer uses.
#[utoipa::path(delete, path = "/v2/lbaas/availabilityzones/{name}", tag = "availabilityzones",
    params(("name" = String, Path, description = "Availability zone name")),
    responses((status = 204), (status = 404, body = crate::fault::Fault),
              (status = 409, body = crate::fault::Fault)))]
pub async fn delete_zone(
    State(state): State<Arc<AppState>>,
    _: RequestContext,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    delete::<AvailabilityZone>(&state, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
