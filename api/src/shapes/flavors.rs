//! Shapes of `/v2/lbaas/flavors` and `/v2/lbaas/availabilityzones`.

use fulcrum_core::patch::Patch;
use fulcrum_core::wsme;
use fulcrum_store::{AvailabilityZone, Flavor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{CatalogView, Rooted, to_value};
use crate::listing::Link;

/// Body of `POST /v2/lbaas/flavors`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"name": "two-threads", "description": "HAProxy with two worker threads", "flavor_profile_id": "6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d", "enabled": true}))]
#[serde(deny_unknown_fields)]
pub struct CreateFlavor {
    /// Name (unique).
    #[schema(max_length = 255)]
    pub name: String,
    /// Free text.
    #[schema(max_length = 255)]
    pub description: Option<String>,
    /// Whether load balancers may select it (default true).
    #[serde(default, deserialize_with = "wsme::convert")]
    pub enabled: Option<bool>,
    /// Its flavor profile.
    pub flavor_profile_id: String,
}

impl Rooted for CreateFlavor {
    const ROOT: &'static str = "flavor";
    const ARGUMENT: &'static str = "flavor_";
}

/// Body of `PUT /v2/lbaas/flavors/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateFlavor {
    /// Name.
    #[serde(default)]
    #[schema(max_length = 255, value_type = Option<String>)]
    pub name: Patch<String>,
    /// Free text (`null` clears it).
    #[serde(default)]
    #[schema(max_length = 255, value_type = Option<String>)]
    pub description: Patch<String>,
    /// Whether load balancers may select it.
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(value_type = Option<bool>)]
    pub enabled: Patch<bool>,
}

impl Rooted for UpdateFlavor {
    const ROOT: &'static str = "flavor";
    const ARGUMENT: &'static str = "flavor_";
}

/// A flavor as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlavorView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Whether load balancers may select it.
    pub enabled: bool,
    /// Its flavor profile.
    pub flavor_profile_id: String,
}

/// `{"flavor": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlavorBody {
    /// The flavor.
    pub flavor: FlavorView,
}

/// `{"flavors": [...], "flavors_links": [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlavorList {
    /// A page of flavors.
    pub flavors: Vec<FlavorView>,
    /// Paging links.
    pub flavors_links: Vec<Link>,
}

/// Body of `POST /v2/lbaas/availabilityzones`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"name": "local", "availability_zone_profile_id": "3d2c1b0a-9f8e-4d7c-8b6a-5f4e3d2c1b0a", "enabled": true}))]
#[serde(deny_unknown_fields)]
pub struct CreateZone {
    /// Name (the key).
    #[schema(max_length = 255)]
    pub name: String,
    /// Free text.
    #[schema(max_length = 255)]
    pub description: Option<String>,
    /// Whether load balancers may select it (default true).
    #[serde(default, deserialize_with = "wsme::convert")]
    pub enabled: Option<bool>,
    /// Its availability zone profile.
    pub availability_zone_profile_id: String,
}

impl Rooted for CreateZone {
    const ROOT: &'static str = "availability_zone";
    const ARGUMENT: &'static str = "availability_zone_";
}

/// Body of `PUT /v2/lbaas/availabilityzones/{name}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateZone {
    /// Free text (`null` clears it).
    #[serde(default)]
    #[schema(max_length = 255, value_type = Option<String>)]
    pub description: Patch<String>,
    /// Whether load balancers may select it.
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(value_type = Option<bool>)]
    pub enabled: Patch<bool>,
}

impl Rooted for UpdateZone {
    const ROOT: &'static str = "availability_zone";
    const ARGUMENT: &'static str = "availability_zone_";
}

/// An availability zone as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ZoneView {
    /// Name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Whether load balancers may select it.
    pub enabled: bool,
    /// Its availability zone profile.
    pub availability_zone_profile_id: String,
}

/// `{"availability_zone": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ZoneBody {
    /// The zone.
    pub availability_zone: ZoneView,
}

/// `{"availability_zones": [...], "availability_zones_links": [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ZoneList {
    /// A page of availability zones.
    pub availability_zones: Vec<ZoneView>,
    /// Paging links.
    pub availability_zones_links: Vec<Link>,
}

impl CatalogView for Flavor {
    const ROOT: &'static str = "flavor";
    const PLURAL: (&'static str, &'static str) = ("flavors", "flavors_links");
    fn view(&self) -> Value {
        to_value(&FlavorView {
            id: self.id.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            enabled: self.enabled,
            flavor_profile_id: self.flavor_profile_id.clone(),
        })
    }
}

impl CatalogView for AvailabilityZone {
    const ROOT: &'static str = "availability_zone";
    const PLURAL: (&'static str, &'static str) = ("availability_zones", "availability_zones_links");
    fn view(&self) -> Value {
        to_value(&ZoneView {
            name: self.name.clone(),
            description: self.description.clone(),
            enabled: self.enabled,
            availability_zone_profile_id: self.availability_zone_profile_id.clone(),
        })
    }
}
