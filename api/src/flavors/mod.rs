//! Octavia's operator catalog: provider capabilities (`/providers/{provider}/..._capabilities`),
//! flavor profiles and flavors, availability zone profiles and availability zones, and how a load
//! balancer create resolves its `flavor_id` and `availability_zone` against them.
//!
//! Profiles and capabilities are for administrators only; flavors and zones may be read by
//! everyone and written by administrators.

pub mod capabilities;
pub mod catalog;
pub mod profiles;

use std::sync::Arc;

use axum::http::HeaderMap;
use fulcrum_core::Error;
use fulcrum_store::CatalogRecord;
use serde_json::{Map, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::handlers::base_url;
use crate::listing::ListParams;

/// The routes of this module.
pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(capabilities::flavor_capabilities))
        .routes(routes!(capabilities::availability_zone_capabilities))
        .routes(routes!(
            profiles::list_flavor_profiles,
            profiles::create_flavor_profile
        ))
        .routes(routes!(
            profiles::show_flavor_profile,
            profiles::update_flavor_profile,
            profiles::delete_flavor_profile
        ))
        .routes(routes!(catalog::list_flavors, catalog::create_flavor))
        .routes(routes!(
            catalog::show_flavor,
            catalog::update_flavor,
            catalog::delete_flavor
        ))
        .routes(routes!(
            profiles::list_az_profiles,
            profiles::create_az_profile
        ))
        .routes(routes!(
            profiles::show_az_profile,
            profiles::update_az_profile,
            profiles::delete_az_profile
        ))
        .routes(routes!(catalog::list_zones, catalog::create_zone))
        .routes(routes!(
            catalog::show_zone,
            catalog::update_zone,
            catalog::delete_zone
        ))
}

/// Octavia's 400 for a malformed UUID field.
pub fn check_uuid(field: &str, value: &str) -> Result<(), Error> {
    uuid::Uuid::parse_str(value)
        .map(|_| ())
        .map_err(|_| Error::invalid_field(field, value, "Value should be UUID format"))
}

/// Octavia's 400 for an explicit `null` where a value is required.
pub fn not_null<T>(value: fulcrum_core::patch::Patch<T>, option: &str) -> Result<Option<T>, Error> {
    use fulcrum_core::patch::Patch;
    match value {
        Patch::Absent => Ok(None),
        Patch::Null => Err(Error::invalid_option("None", option)),
        Patch::Value(v) => Ok(Some(v)),
    }
}

/// Which metadata a profile holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataKind {
    /// `flavor_data`.
    Flavor,
    /// `availability_zone_data`.
    AvailabilityZone,
}

impl MetadataKind {
    /// The field that holds it.
    pub fn field(self) -> &'static str {
        match self {
            MetadataKind::Flavor => "flavor_data",
            MetadataKind::AvailabilityZone => "availability_zone_data",
        }
    }
}

/// Check profile metadata: JSON text (Octavia's `InvalidOption` otherwise) that the named, enabled
/// provider's driver accepts (400 with the driver's reason otherwise).
pub fn validate_metadata(
    state: &AppState,
    kind: MetadataKind,
    provider: &str,
    text: &str,
) -> Result<(), Error> {
    fulcrum_core::validate::max_len(kind.field(), Some(text), 4096)?;
    let metadata: Value =
        serde_json::from_str(text).map_err(|_| Error::invalid_option(text, kind.field()))?;
    let driver = state.service.providers.get(provider)?;
    let verdict = match kind {
        MetadataKind::Flavor => driver.validate_flavor(&metadata),
        MetadataKind::AvailabilityZone => driver.validate_availability_zone(&metadata),
    };
    verdict.map_err(|reason| {
        Error::BadRequest(format!(
            "Provider '{provider}' does not support a requested option: {}",
            reason.message()
        ))
    })
}

/// A page of catalog rows from a list query string (`limit`, `marker`, `sort`, `fields` and
/// equality filters on the row's fields; no tags).
pub async fn fetch_catalog_page<T: CatalogRecord>(
    state: &AppState,
    raw: Option<&str>,
) -> Result<(ListParams, Vec<T>), Error> {
    let is_field = |f: &str| f != "created_at" && T::CATALOG.is_scalar_field(f);
    let params =
        crate::listing::parse_with(raw, &is_field, state.service.defaults.pagination_max_limit)?;
    if params.query.tags != fulcrum_store::TagFilter::default() {
        return Err(Error::InvalidInput(
            "One or more arguments are either duplicate or invalid".into(),
        ));
    }
    let items = state.service.store.catalog_list(&params.query).await?;
    Ok((params, items))
}

/// A list body `{"<plural>": [...], "<links_key>": [...]}` (Octavia names the links of profiles
/// in the singular: `flavorprofile_links`).
pub fn catalog_body<T: CatalogRecord>(
    params: &ListParams,
    headers: &HeaderMap,
    path: &str,
    (plural, links_key): (&str, &str),
    items: &[T],
    rendered: Vec<Value>,
) -> Value {
    let links = params.links(
        &base_url(headers, path),
        items.len(),
        items.first().map(CatalogRecord::key),
        items.last().map(CatalogRecord::key),
    );
    let rendered: Vec<Value> = rendered.into_iter().map(|v| params.project(v)).collect();
    let mut map = Map::new();
    map.insert(plural.into(), Value::Array(rendered));
    map.insert(links_key.into(), crate::handlers::to_value(&links));
    Value::Object(map)
}
