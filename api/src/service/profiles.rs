//! Flavor profiles and availability zone profiles: provider metadata, validated by the provider's
//! driver, that flavors and availability zones point at. For administrators only.

use fulcrum_core::{Error, timestamp, validate};
use fulcrum_store::{AvailabilityZoneProfile, FlavorProfile};
use serde_json::Value;

use super::catalog::{CatalogEntry, in_use, named};
use super::{Service, new_id, not_null};
use crate::shapes::profiles::ProfileInput;

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

/// What the two profile kinds share: a name, a provider and its metadata.
pub trait Profile: CatalogEntry {
    /// Which metadata it holds.
    const KIND: MetadataKind;
    /// A new profile.
    fn build(id: String, name: String, provider: String, data: String) -> Self;
    /// Its name, provider and metadata, to change them.
    fn fields(&mut self) -> (&mut String, &mut String, &mut String);
}

impl Profile for FlavorProfile {
    const KIND: MetadataKind = MetadataKind::Flavor;
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
}

impl Profile for AvailabilityZoneProfile {
    const KIND: MetadataKind = MetadataKind::AvailabilityZone;
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
}

impl Service {
    /// Validate and store a new profile; its metadata must be accepted by its provider's driver.
    pub async fn create_profile<P: Profile>(&self, input: ProfileInput) -> Result<P, Error> {
        let name = not_null(input.name, "name")?.unwrap_or_default();
        let provider = not_null(input.provider_name, "provider_name")?.unwrap_or_default();
        let data = not_null(input.data, P::KIND.field())?.unwrap_or_default();
        validate::max_len("name", Some(&name), 255)?;
        validate::max_len("provider_name", Some(&provider), 255)?;
        self.validate_metadata(P::KIND, &provider, &data)?;
        let profile = P::build(new_id(), name, provider, data);
        let mut tx = self.store.begin().await?;
        tx.catalog_insert(&profile)
            .await
            .map_err(|_| Error::Conflict("Already an entity with that specified id.".into()))?;
        tx.commit().await?;
        Ok(profile)
    }

    /// Change a profile; its provider and metadata only while nothing uses it.
    pub async fn update_profile<P: Profile>(
        &self,
        id: &str,
        input: ProfileInput,
    ) -> Result<P, Error> {
        let name = not_null(input.name, "name")?;
        let provider = not_null(input.provider_name, "provider_name")?;
        let data = not_null(input.data, P::KIND.field())?;
        named::<P>(id)?;
        let mut tx = self.store.begin().await?;
        let mut profile: P = tx
            .catalog_get(id)
            .await?
            .ok_or_else(|| Error::not_found(P::DISPLAY, id))?;
        if (provider.is_some() || data.is_some()) && P::users(&mut tx, id).await? > 0 {
            return Err(in_use::<P>(id));
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
            self.validate_metadata(P::KIND, provider, data)?;
        }
        tx.catalog_update(&profile).await?;
        tx.commit().await?;
        Ok(profile)
    }

    /// Check profile metadata: JSON text (Octavia's `InvalidOption` otherwise) that the named,
    /// enabled provider's driver accepts (Octavia's 501 with the driver's reason otherwise).
    fn validate_metadata(
        &self,
        kind: MetadataKind,
        provider: &str,
        text: &str,
    ) -> Result<(), Error> {
        validate::max_len(kind.field(), Some(text), 4096)?;
        let metadata: Value =
            serde_json::from_str(text).map_err(|_| Error::invalid_option(text, kind.field()))?;
        self.check_provider_metadata(kind, provider, &metadata)
    }

    /// Whether the named, enabled provider's driver accepts `metadata` as flavor or availability
    /// zone metadata (Octavia's `validate_flavor` / `validate_availability_zone` of a provider
    /// driver), for a caller that stores nothing: 501 with the driver's reason when it does not.
    pub fn check_provider_metadata(
        &self,
        kind: MetadataKind,
        provider: &str,
        metadata: &Value,
    ) -> Result<(), Error> {
        self.driver_verdict(kind, provider, metadata)?
            .map_err(|option| Error::ProviderUnsupported {
                provider: provider.to_owned(),
                option,
            })
    }

    /// The driver's verdict on `metadata`: its reason when it refuses it; an error when there is
    /// no such enabled provider.
    fn driver_verdict(
        &self,
        kind: MetadataKind,
        provider: &str,
        metadata: &Value,
    ) -> Result<Result<(), String>, Error> {
        let driver = self.providers.get(provider)?;
        let verdict = match kind {
            MetadataKind::Flavor => driver.validate_flavor(metadata),
            MetadataKind::AvailabilityZone => driver.validate_availability_zone(metadata),
        };
        Ok(verdict.map_err(|reason| reason.message().to_owned()))
    }
}
