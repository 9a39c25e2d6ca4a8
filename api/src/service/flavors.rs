//! How a load balancer create resolves its `provider`, `flavor_id` and `availability_zone`
//! against the operator's catalog, as Octavia does.

use fulcrum_core::Error;
use fulcrum_store::{AvailabilityZone, AvailabilityZoneProfile, Flavor, FlavorProfile};

use super::Service;

/// What a load balancer create resolved its provider, flavor and zone to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The provider to realize it.
    pub provider: String,
    /// The flavor, if one was selected.
    pub flavor_id: Option<String>,
    /// The availability zone, if one was selected.
    pub availability_zone: Option<String>,
}

impl Service {
    /// Resolve the `provider`, `flavor_id` and `availability_zone` of a load balancer create as
    /// Octavia does: the flavor must exist and be enabled, and its profile's provider is used when no
    /// provider is given or must match the one given; the zone must exist, be enabled and belong to
    /// the same provider. The provider must be enabled.
    pub(crate) async fn resolve_for_load_balancer(
        &self,
        provider: Option<&str>,
        flavor_id: Option<&str>,
        availability_zone: Option<&str>,
    ) -> Result<Resolved, Error> {
        let flavor_provider = match flavor_id {
            Some(id) => Some(self.flavor_provider(id).await?),
            None => None,
        };
        let provider = match (provider, flavor_provider) {
            (Some(given), Some(of_flavor)) if given != of_flavor => {
                return Err(Error::BadRequest(format!(
                    "Flavor '{}' is not compatible with provider '{given}'",
                    flavor_id.unwrap_or_default()
                )));
            }
            (Some(given), _) => given.to_string(),
            (None, Some(of_flavor)) => of_flavor,
            (None, None) => self.providers.default_name().to_string(),
        };
        self.providers.get(&provider)?;
        if let Some(zone) = availability_zone {
            self.check_zone(zone, &provider).await?;
        }
        Ok(Resolved {
            provider,
            flavor_id: flavor_id.map(str::to_owned),
            availability_zone: availability_zone.map(str::to_owned),
        })
    }

    /// The provider of an enabled flavor.
    async fn flavor_provider(&self, id: &str) -> Result<String, Error> {
        let flavor: Flavor = self
            .store
            .catalog_get(id)
            .await?
            .ok_or_else(|| Error::validation("Invalid flavor_id."))?;
        if !flavor.enabled {
            return Err(Error::BadRequest(format!(
                "The selected flavor is not allowed in this deployment: {id}"
            )));
        }
        let profile: FlavorProfile = self
            .store
            .catalog_get(&flavor.flavor_profile_id)
            .await?
            .ok_or_else(|| Error::validation("Invalid flavor_id."))?;
        Ok(profile.provider_name)
    }

    /// An enabled zone whose profile belongs to `provider`.
    async fn check_zone(&self, name: &str, provider: &str) -> Result<(), Error> {
        let zone: AvailabilityZone = self
            .store
            .catalog_get(name)
            .await?
            .ok_or_else(|| Error::validation("Invalid availability zone."))?;
        if !zone.enabled {
            return Err(Error::BadRequest(format!(
                "The selected availability_zone is not allowed in this deployment: {name}"
            )));
        }
        let profile: Option<AvailabilityZoneProfile> = self
            .store
            .catalog_get(&zone.availability_zone_profile_id)
            .await?;
        match profile {
            Some(p) if p.provider_name == provider => Ok(()),
            _ => Err(Error::BadRequest(format!(
                "Availability zone '{name}' is not compatible with provider '{provider}'"
            ))),
        }
    }
}
