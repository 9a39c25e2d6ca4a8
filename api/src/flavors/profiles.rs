//! `/v2/lbaas/flavorprofiles` and `/v2/lbaas/availabilityzoneprofiles`: provider metadata,
//! validated by the provider's driver, that flavors and availability zones point at. For
//! administrators only.

use crate::shapes::profiles::*;
use std::sync::Arc;

use axum::Json;
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use fulcrum_core::{Error, timestamp, validate};
use fulcrum_store::{
    AvailabilityZone, AvailabilityZoneProfile, CatalogRecord, Flavor, FlavorProfile,
};
use serde_json::Value;

use super::{MetadataKind, catalog_body, fetch_catalog_page, not_null, validate_metadata};
use crate::AppState;
use crate::auth::RequestContext;
use crate::body::OctaviaBody;
use crate::fault::ApiResult;
use crate::handlers::show_body;
use crate::service::new_id;
use crate::shapes::to_value;

/// What the two profile kinds share.
trait Profile: CatalogRecord + Clone {
    const KIND: MetadataKind;
    const DISPLAY: &'static str;
    const ROOT: &'static str;
    const PLURAL: (&'static str, &'static str);
    fn build(id: String, name: String, provider: String, data: String) -> Self;
    fn fields(&mut self) -> (&mut String, &mut String, &mut String);
    fn view(&self) -> Value;
}

impl Profile for FlavorProfile {
    const KIND: MetadataKind = MetadataKind::Flavor;
    const DISPLAY: &'static str = "Flavor profile";
    const ROOT: &'static str = "flavorprofile";
    const PLURAL: (&'static str, &'static str) = ("flavorprofiles", "flavorprofile_links");
    fn build(id: String, name: String, provider_name: String, flavor_data: String) -> Self {
        FlavorProfile {
            id,
            name,
            provider_name,
            flavor_data,
            created_at: timestamp::now(),
        }
    }
    fn fields(&mut self) -> (&mut String, &mut String, &mut String) {
        (
            &mut self.name,
            &mut self.provider_name,
            &mut self.flavor_data,
        )
    }
    fn view(&self) -> Value {
        to_value(&FlavorProfileView {
            id: self.id.clone(),
            name: self.name.clone(),
            provider_name: self.provider_name.clone(),
            flavor_data: self.flavor_data.clone(),
        })
    }
}

impl Profile for AvailabilityZoneProfile {
    const KIND: MetadataKind = MetadataKind::AvailabilityZone;
    const DISPLAY: &'static str = "Availability Zone Profile";
    const ROOT: &'static str = "availability_zone_profile";
    const PLURAL: (&'static str, &'static str) = (
        "availability_zone_profiles",
        "availability_zone_profile_links",
    );
    fn build(id: String, name: String, provider_name: String, data: String) -> Self {
        AvailabilityZoneProfile {
            id,
            name,
            provider_name,
            availability_zone_data: data,
            created_at: timestamp::now(),
        }
    }
    fn fields(&mut self) -> (&mut String, &mut String, &mut String) {
        (
            &mut self.name,
            &mut self.provider_name,
            &mut self.availability_zone_data,
        )
    }
    fn view(&self) -> Value {
        to_value(&AzProfileView {
            id: self.id.clone(),
            name: self.name.clone(),
            provider_name: self.provider_name.clone(),
            availability_zone_data: self.availability_zone_data.clone(),
        })
    }
}

/// How many flavors or zones point at a profile.
async fn users<P: Profile>(tx: &mut fulcrum_store::Tx, id: &str) -> Result<i64, Error> {
    Ok(match P::KIND {
        MetadataKind::Flavor => tx.catalog_count::<Flavor>("flavor_profile_id", id).await?,
        MetadataKind::AvailabilityZone => {
            tx.catalog_count::<AvailabilityZone>("availability_zone_profile_id", id)
                .await?
        }
    })
}

fn in_use(display: &str, id: &str) -> Error {
    Error::Conflict(format!("{display} {id} is in use and cannot be modified."))
}

/// A stored profile, or Octavia's 404.
async fn load<P: Profile>(state: &AppState, id: &str) -> Result<P, Error> {
    state
        .service
        .store
        .catalog_get(id)
        .await?
        .ok_or_else(|| Error::not_found(P::DISPLAY, id))
}

/// Validate and store a new profile.
async fn create<P: Profile>(state: &AppState, input: ProfileInput) -> Result<P, Error> {
    let name = not_null(input.name, "name")?.unwrap_or_default();
    let provider = not_null(input.provider_name, "provider_name")?.unwrap_or_default();
    let data = not_null(input.data, P::KIND.field())?.unwrap_or_default();
    validate::max_len("name", Some(&name), 255)?;
    validate::max_len("provider_name", Some(&provider), 255)?;
    validate_metadata(state, P::KIND, &provider, &data)?;
    let profile = P::build(new_id(), name, provider, data);
    let mut tx = state.service.store.begin().await?;
    tx.catalog_insert(&profile)
        .await
        .map_err(|_| Error::Conflict("Already an entity with that specified id.".into()))?;
    tx.commit().await?;
    Ok(profile)
}

/// Change a profile; its provider and metadata only while nothing uses it.
async fn update<P: Profile>(state: &AppState, id: &str, input: ProfileInput) -> Result<P, Error> {
    let name = not_null(input.name, "name")?;
    let provider = not_null(input.provider_name, "provider_name")?;
    let data = not_null(input.data, P::KIND.field())?;
    let mut tx = state.service.store.begin().await?;
    let mut profile: P = tx
        .catalog_get(id)
        .await?
        .ok_or_else(|| Error::not_found(P::DISPLAY, id))?;
    if (provider.is_some() || data.is_some()) && users::<P>(&mut tx, id).await? > 0 {
        return Err(in_use(P::DISPLAY, id));
    }
    let (slot_name, slot_provider, slot_data) = profile.fields();
    let metadata_changes = provider.is_some() || data.is_some();
    [
        (slot_name, name),
        (slot_provider, provider),
        (slot_data, data),
    ]
    .into_iter()
    .for_each(|(slot, value)| {
        if let Some(v) = value {
            *slot = v;
        }
    });
    let (name, provider, data) = profile.fields();
    validate::max_len("name", Some(name), 255)?;
    validate::max_len("provider_name", Some(provider), 255)?;
    if metadata_changes {
        validate_metadata(state, P::KIND, provider, data)?;
    }
    tx.catalog_update(&profile).await?;
    tx.commit().await?;
    Ok(profile)
}

/// Delete a profile nothing uses.
async fn delete<P: Profile>(state: &AppState, id: &str) -> Result<(), Error> {
    let mut tx = state.service.store.begin().await?;
    if users::<P>(&mut tx, id).await? > 0 {
        return Err(in_use(P::DISPLAY, id));
    }
    if !tx.catalog_delete::<P>(id).await? {
        return Err(Error::not_found(P::DISPLAY, id));
    }
    tx.commit().await?;
    Ok(())
}

/// A list response of profiles.
async fn list<P: Profile>(
    state: &AppState,
    headers: &HeaderMap,
    path: &str,
    raw: Option<&str>,
) -> Result<Value, Error> {
    let (params, items) = fetch_catalog_page::<P>(state, raw).await?;
    let rendered = items.iter().map(Profile::view).collect();
    Ok(catalog_body(
        &params,
        headers,
        path,
        P::PLURAL,
        &items,
        rendered,
    ))
}

/// A show response of a profile.
async fn show<P: Profile>(state: &AppState, id: &str, raw: Option<&str>) -> Result<Value, Error> {
    let profile: P = load(state, id).await?;
    Ok(show_body(P::ROOT, &profile.view(), raw))
}

fn created<P: Profile>(profile: &P) -> (StatusCode, Json<Value>) {
    (
        StatusCode::CREATED,
        Json(crate::handlers::rooted(P::ROOT, profile.view())),
    )
}

fn updated<P: Profile>(profile: &P) -> Json<Value> {
    Json(crate::handlers::rooted(P::ROOT, profile.view()))
}

/// List flavor profiles.
#[utoipa::path(get, path = "/v2/lbaas/flavorprofiles", tag = "flavors",
    responses((status = 200, description = "`{\"flavorprofiles\": [...], \"flavorprofile_links\": [...]}`"),
              (status = 403, body = crate::fault::Fault)))]
pub async fn list_flavor_profiles(
    State(state): State<Arc<AppState>>,
    _: RequestContext,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let body = list::<FlavorProfile>(&state, &headers, uri.path(), raw.as_deref()).await?;
    Ok(Json(body))
}

/// Create a flavor profile; its `flavor_data` must be accepted by the provider's driver.
#[utoipa::path(post, path = "/v2/lbaas/flavorprofiles", tag = "flavors",
    request_body(content = inline(CreateFlavorProfile), description = "`{\"flavorprofile\": {...}}`"),
    responses((status = 201, body = FlavorProfileBody), (status = 400, body = crate::fault::Fault),
              (status = 403, body = crate::fault::Fault)))]
pub async fn create_flavor_profile(
    State(state): State<Arc<AppState>>,
    _: RequestContext,
    OctaviaBody(req): OctaviaBody<CreateFlavorProfile>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let profile: FlavorProfile = create(&state, req.into()).await?;
    Ok(created(&profile))
}

/// Show a flavor profile.
#[utoipa::path(get, path = "/v2/lbaas/flavorprofiles/{id}", tag = "flavors",
    params(("id" = String, Path, description = "Flavor profile id")),
    responses((status = 200, body = FlavorProfileBody), (status = 404, body = crate::fault::Fault)))]
pub async fn show_flavor_profile(
    State(state): State<Arc<AppState>>,
    _: RequestContext,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        show::<FlavorProfile>(&state, &id, raw.as_deref()).await?,
    ))
}

/// Update a flavor profile.
#[utoipa::path(put, path = "/v2/lbaas/flavorprofiles/{id}", tag = "flavors",
    params(("id" = String, Path, description = "Flavor profile id")),
    request_body(content = inline(UpdateFlavorProfile), description = "`{\"flavorprofile\": {...}}`"),
    responses((status = 200, body = FlavorProfileBody), (status = 409, body = crate::fault::Fault)))]
pub async fn update_flavor_profile(
    State(state): State<Arc<AppState>>,
    _: RequestContext,
    Path(id): Path<String>,
    OctaviaBody(req): OctaviaBody<UpdateFlavorProfile>,
) -> ApiResult<Json<Value>> {
    let profile: FlavorProfile = update(&state, &id, req.into()).await?;
    Ok(updated(&profile))
}

/// Delete a flavor profile no flavor uses.
#[utoipa::path(delete, path = "/v2/lbaas/flavorprofiles/{id}", tag = "flavors",
    params(("id" = String, Path, description = "Flavor profile id")),
    responses((status = 204), (status = 404, body = crate::fault::Fault),
              (status = 409, body = crate::fault::Fault)))]
pub async fn delete_flavor_profile(
    State(state): State<Arc<AppState>>,
    _: RequestContext,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    delete::<FlavorProfile>(&state, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List availability zone profiles.
#[utoipa::path(get, path = "/v2/lbaas/availabilityzoneprofiles", tag = "availabilityzones",
    responses((status = 200, description = "`{\"availability_zone_profiles\": [...], \"availability_zone_profile_links\": [...]}`"),
              (status = 403, body = crate::fault::Fault)))]
pub async fn list_az_profiles(
    State(state): State<Arc<AppState>>,
    _: RequestContext,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let body =
        list::<AvailabilityZoneProfile>(&state, &headers, uri.path(), raw.as_deref()).await?;
    Ok(Json(body))
}

/// Create an availability zone profile; its `availability_zone_data` must be accepted by the
/// provider's driver.
#[utoipa::path(post, path = "/v2/lbaas/availabilityzoneprofiles", tag = "availabilityzones",
    request_body(content = inline(CreateAzProfile), description = "`{\"availability_zone_profile\": {...}}`"),
    responses((status = 201, body = AzProfileBody), (status = 400, body = crate::fault::Fault),
              (status = 403, body = crate::fault::Fault)))]
pub async fn create_az_profile(
    State(state): State<Arc<AppState>>,
    _: RequestContext,
    OctaviaBody(req): OctaviaBody<CreateAzProfile>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let profile: AvailabilityZoneProfile = create(&state, req.into()).await?;
    Ok(created(&profile))
}

/// Show an availability zone profile.
#[utoipa::path(get, path = "/v2/lbaas/availabilityzoneprofiles/{id}", tag = "availabilityzones",
    params(("id" = String, Path, description = "Availability zone profile id")),
    responses((status = 200, body = AzProfileBody), (status = 404, body = crate::fault::Fault)))]
pub async fn show_az_profile(
    State(state): State<Arc<AppState>>,
    _: RequestContext,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        show::<AvailabilityZoneProfile>(&state, &id, raw.as_deref()).await?,
    ))
}

/// Update an availability zone profile.
#[utoipa::path(put, path = "/v2/lbaas/availabilityzoneprofiles/{id}", tag = "availabilityzones",
    params(("id" = String, Path, description = "Availability zone profile id")),
    request_body(content = inline(UpdateAzProfile), description = "`{\"availability_zone_profile\": {...}}`"),
    responses((status = 200, body = AzProfileBody), (status = 409, body = crate::fault::Fault)))]
pub async fn update_az_profile(
    State(state): State<Arc<AppState>>,
    _: RequestContext,
    Path(id): Path<String>,
    OctaviaBody(req): OctaviaBody<UpdateAzProfile>,
) -> ApiResult<Json<Value>> {
    let profile: AvailabilityZoneProfile = update(&state, &id, req.into()).await?;
    Ok(updated(&profile))
}

/// Delete an availability zone profile no zone uses.
#[utoipa::path(delete, path = "/v2/lbaas/availabilityzoneprofiles/{id}", tag = "availabilityzones",
    params(("id" = String, Path, description = "Availability zone profile id")),
    responses((status = 204), (status = 404, body = crate::fault::Fault),
              (status = 409, body = crate::fault::Fault)))]
pub async fn delete_az_profile(
    State(state): State<Arc<AppState>>,
    _: RequestContext,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    delete::<AvailabilityZoneProfile>(&state, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
