//! Shapes of `/v2/lbaas/flavorprofiles` and `/v2/lbaas/availabilityzoneprofiles`.

use fulcrum_core::patch::Patch;
use fulcrum_store::{AvailabilityZoneProfile, FlavorProfile};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{CatalogView, Rooted, to_value};
use crate::listing::Link;

/// Body of `POST /v2/lbaas/flavorprofiles`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"name": "two-threads", "provider_name": "haproxy", "flavor_data": "{\"nbthread\": 2}"}))]
#[serde(deny_unknown_fields)]
pub struct CreateFlavorProfile {
    /// Name.
    #[schema(max_length = 255)]
    pub name: String,
    /// The provider whose driver takes the metadata.
    #[schema(max_length = 255)]
    pub provider_name: String,
    /// The metadata, as a JSON string.
    #[schema(max_length = 4096)]
    pub flavor_data: String,
}

impl Rooted for CreateFlavorProfile {
    const ROOT: &'static str = "flavorprofile";
    const ARGUMENT: &'static str = "flavor_profile_";
}

/// Body of `PUT /v2/lbaas/flavorprofiles/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateFlavorProfile {
    /// Name.
    #[serde(default)]
    #[schema(max_length = 255, value_type = Option<String>)]
    pub name: Patch<String>,
    /// Provider (not while flavors use the profile).
    #[serde(default)]
    #[schema(max_length = 255, value_type = Option<String>)]
    pub provider_name: Patch<String>,
    /// Metadata (not while flavors use the profile).
    #[serde(default)]
    #[schema(max_length = 4096, value_type = Option<String>)]
    pub flavor_data: Patch<String>,
}

impl Rooted for UpdateFlavorProfile {
    const ROOT: &'static str = "flavorprofile";
    const ARGUMENT: &'static str = "flavor_profile_";
}

/// A flavor profile as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlavorProfileView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Provider.
    pub provider_name: String,
    /// Metadata, a JSON string.
    pub flavor_data: String,
}

/// `{"flavorprofile": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlavorProfileBody {
    /// The profile.
    pub flavorprofile: FlavorProfileView,
}

/// `{"flavorprofiles": [...], "flavorprofile_links": [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlavorProfileList {
    /// A page of flavor profiles.
    pub flavorprofiles: Vec<FlavorProfileView>,
    /// Paging links.
    pub flavorprofile_links: Vec<Link>,
}

/// Body of `POST /v2/lbaas/availabilityzoneprofiles`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"name": "local", "provider_name": "haproxy", "availability_zone_data": "{}"}))]
#[serde(deny_unknown_fields)]
pub struct CreateAzProfile {
    /// Name.
    #[schema(max_length = 255)]
    pub name: String,
    /// The provider whose driver takes the metadata.
    #[schema(max_length = 255)]
    pub provider_name: String,
    /// The metadata, as a JSON string.
    #[schema(max_length = 4096)]
    pub availability_zone_data: String,
}

impl Rooted for CreateAzProfile {
    const ROOT: &'static str = "availability_zone_profile";
    const ARGUMENT: &'static str = "availability_zone_profile_";
}

/// Body of `PUT /v2/lbaas/availabilityzoneprofiles/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAzProfile {
    /// Name.
    #[serde(default)]
    #[schema(max_length = 255, value_type = Option<String>)]
    pub name: Patch<String>,
    /// Provider (not while zones use the profile).
    #[serde(default)]
    #[schema(max_length = 255, value_type = Option<String>)]
    pub provider_name: Patch<String>,
    /// Metadata (not while zones use the profile).
    #[serde(default)]
    #[schema(max_length = 4096, value_type = Option<String>)]
    pub availability_zone_data: Patch<String>,
}

impl Rooted for UpdateAzProfile {
    const ROOT: &'static str = "availability_zone_profile";
    const ARGUMENT: &'static str = "availability_zone_profile_";
}

/// An availability zone profile as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AzProfileView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Provider.
    pub provider_name: String,
    /// Metadata, a JSON string.
    pub availability_zone_data: String,
}

/// `{"availability_zone_profile": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AzProfileBody {
    /// The profile.
    pub availability_zone_profile: AzProfileView,
}

/// `{"availability_zone_profiles": [...], "availability_zone_profile_links": [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AzProfileList {
    /// A page of availability zone profiles.
    pub availability_zone_profiles: Vec<AzProfileView>,
    /// Paging links.
    pub availability_zone_profile_links: Vec<Link>,
}

/// A new profile or a change to one, whatever its metadata kind.
pub struct ProfileInput {
    /// Name.
    pub name: Patch<String>,
    /// The provider whose driver takes the metadata.
    pub provider_name: Patch<String>,
    /// The metadata, as a JSON string (`flavor_data` or `availability_zone_data`).
    pub data: Patch<String>,
}

impl From<CreateFlavorProfile> for ProfileInput {
    fn from(r: CreateFlavorProfile) -> Self {
        ProfileInput {
            name: Patch::Value(r.name),
            provider_name: Patch::Value(r.provider_name),
            data: Patch::Value(r.flavor_data),
        }
    }
}

impl From<UpdateFlavorProfile> for ProfileInput {
    fn from(r: UpdateFlavorProfile) -> Self {
        ProfileInput {
            name: r.name,
            provider_name: r.provider_name,
            data: r.flavor_data,
        }
    }
}

impl From<CreateAzProfile> for ProfileInput {
    fn from(r: CreateAzProfile) -> Self {
        ProfileInput {
            name: Patch::Value(r.name),
            provider_name: Patch::Value(r.provider_name),
            data: Patch::Value(r.availability_zone_data),
        }
    }
}

impl From<UpdateAzProfile> for ProfileInput {
    fn from(r: UpdateAzProfile) -> Self {
        ProfileInput {
            name: r.name,
            provider_name: r.provider_name,
            data: r.availability_zone_data,
        }
    }
}

impl CatalogView for FlavorProfile {
    const ROOT: &'static str = "flavorprofile";
    const PLURAL: (&'static str, &'static str) = ("flavorprofiles", "flavorprofile_links");
    fn view(&self) -> Value {
        to_value(&FlavorProfileView {
            id: self.id.clone(),
            name: self.name.clone(),
            provider_name: self.provider_name.clone(),
            flavor_data: self.flavor_data.clone(),
        })
    }
}

impl CatalogView for AvailabilityZoneProfile {
    const ROOT: &'static str = "availability_zone_profile";
    const PLURAL: (&'static str, &'static str) = (
        "availability_zone_profiles",
        "availability_zone_profile_links",
    );
    fn view(&self) -> Value {
        to_value(&AzProfileView {
            id: self.id.clone(),
            name: self.name.clone(),
            provider_name: self.provider_name.clone(),
            availability_zone_data: self.availability_zone_data.clone(),
        })
    }
}
