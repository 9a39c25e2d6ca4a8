//! Shapes of `/v2/lbaas/providers/{provider}/flavor_capabilities` and
//! `.../availability_zone_capabilities`.

use serde::Serialize;
use utoipa::ToSchema;

/// One metadata key a provider understands.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Capability {
    /// The key.
    pub name: String,
    /// What it does.
    pub description: String,
}

/// `{"flavor_capabilities": [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlavorCapabilities {
    /// The flavor metadata keys.
    pub flavor_capabilities: Vec<Capability>,
}

/// `{"availability_zone_capabilities": [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AvailabilityZoneCapabilities {
    /// The availability zone metadata keys.
    pub availability_zone_capabilities: Vec<Capability>,
}
