//! The operator's catalog: flavors and availability zones, which users select for a load
//! balancer, and the provider profiles behind them ([`super::profiles`]). Everyone may read
//! them; the policy gate lets only administrators write them.

use std::future::Future;

use fulcrum_core::patch::Patch;
use fulcrum_core::{Error, timestamp, validate};
use fulcrum_store::{
    AvailabilityZone, AvailabilityZoneProfile, CatalogRecord, Flavor, FlavorProfile, StoreError, Tx,
};

use super::read::{Page, matches_nothing};
use super::{Service, new_id, not_null};
use crate::shapes::Related;
use crate::shapes::flavors::{CreateFlavor, CreateZone, UpdateFlavor, UpdateZone};

/// Octavia's 404 for a key that holds a NUL character: no catalog row has one, so it is not
/// looked up.
pub(crate) fn named<T: CatalogEntry>(key: &str) -> Result<(), Error> {
    if validate::storable(key) {
        Ok(())
    } else {
        Err(Error::not_found(T::DISPLAY, key))
    }
}

/// A kind of catalog row: a flavor, an availability zone, or a profile of either.
pub trait CatalogEntry: CatalogRecord + Clone {
    /// Its name in messages.
    const DISPLAY: &'static str;
    /// How many stored objects name the row `key` (load balancers name flavors and zones,
    /// flavors and zones name profiles). A row in use is not deleted.
    fn users(tx: &mut Tx, key: &str) -> impl Future<Output = Result<i64, StoreError>> + Send;
}

impl CatalogEntry for Flavor {
    const DISPLAY: &'static str = "Flavor";
    async fn users(tx: &mut Tx, key: &str) -> Result<i64, StoreError> {
        tx.load_balancers_with("flavor_id", key).await
    }
}

impl CatalogEntry for AvailabilityZone {
    const DISPLAY: &'static str = "Availability Zone";
    async fn users(tx: &mut Tx, key: &str) -> Result<i64, StoreError> {
        tx.load_balancers_with("availability_zone", key).await
    }
}

impl CatalogEntry for FlavorProfile {
    const DISPLAY: &'static str = "Flavor profile";
    async fn users(tx: &mut Tx, key: &str) -> Result<i64, StoreError> {
        tx.catalog_count::<Flavor>("flavor_profile_id", key).await
    }
}

impl CatalogEntry for AvailabilityZoneProfile {
    const DISPLAY: &'static str = "Availability Zone Profile";
    async fn users(tx: &mut Tx, key: &str) -> Result<i64, StoreError> {
        tx.catalog_count::<AvailabilityZone>("availability_zone_profile_id", key)
            .await
    }
}

/// What flavors and zones share: a unique name, a description and whether they may be selected.
pub trait Selectable: CatalogEntry {
    /// Octavia's `field` of `RecordAlreadyExists`.
    const DUPLICATE: &'static str;
    /// Its name.
    fn name(&self) -> &str;
    /// Its description and `enabled`, to change them.
    fn description_and_enabled(&mut self) -> (&mut Option<String>, &mut bool);
}

impl Selectable for Flavor {
    const DUPLICATE: &'static str = "flavor";
    fn name(&self) -> &str {
        &self.name
    }
    fn description_and_enabled(&mut self) -> (&mut Option<String>, &mut bool) {
        (&mut self.description, &mut self.enabled)
    }
}

impl Selectable for AvailabilityZone {
    const DUPLICATE: &'static str = "availability zone";
    fn name(&self) -> &str {
        &self.name
    }
    fn description_and_enabled(&mut self) -> (&mut Option<String>, &mut bool) {
        (&mut self.description, &mut self.enabled)
    }
}

/// Octavia's 409 for a name another row of the kind has.
fn duplicate<S: Selectable>(row: &S) -> Error {
    Error::Conflict(format!(
        "A {} of {} already exists.",
        S::DUPLICATE,
        row.name()
    ))
}

impl Service {
    /// A page of catalog rows from a list query string (`limit`, `marker`, `sort`, `fields` and
    /// equality filters on the row's fields; no tags).
    pub async fn list_catalog<T: CatalogRecord>(
        &self,
        query: Option<&str>,
    ) -> Result<Page<T>, Error> {
        let is_field = |f: &str| f != "created_at" && T::CATALOG.is_scalar_field(f);
        let mut params =
            crate::listing::parse_with(query, &is_field, self.defaults.pagination_max_limit)?;
        if params.query.tags != fulcrum_store::TagFilter::default() {
            return Err(Error::InvalidInput(
                "One or more arguments are either duplicate or invalid".into(),
            ));
        }
        let items = if matches_nothing(&mut params.query)? {
            Vec::new()
        } else {
            self.store.catalog_list(&params.query).await?
        };
        Ok(Page {
            params,
            items,
            related: Related::default(),
        })
    }

    /// One catalog row, or Octavia's 404.
    pub async fn catalog_entry<T: CatalogEntry>(&self, key: &str) -> Result<T, Error> {
        named::<T>(key)?;
        self.store
            .catalog_get(key)
            .await?
            .ok_or_else(|| Error::not_found(T::DISPLAY, key))
    }

    /// Delete a catalog row nothing uses.
    pub async fn delete_catalog_entry<T: CatalogEntry>(&self, key: &str) -> Result<(), Error> {
        named::<T>(key)?;
        let mut tx = self.store.begin().await?;
        if T::users(&mut tx, key).await? > 0 {
            return Err(in_use::<T>(key));
        }
        if !tx.catalog_delete::<T>(key).await? {
            return Err(Error::not_found(T::DISPLAY, key));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Create a flavor on an existing flavor profile.
    pub async fn create_flavor(&self, req: CreateFlavor) -> Result<Flavor, Error> {
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
        self.insert_selectable::<Flavor, FlavorProfile>(flavor, &profile)
            .await
    }

    /// Create an availability zone on an existing availability zone profile.
    pub async fn create_zone(&self, req: CreateZone) -> Result<AvailabilityZone, Error> {
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
        self.insert_selectable::<AvailabilityZone, AvailabilityZoneProfile>(zone, &profile)
            .await
    }

    /// Change a flavor's name, description or `enabled`.
    pub async fn update_flavor(&self, id: &str, req: UpdateFlavor) -> Result<Flavor, Error> {
        self.update_selectable(id, |f: &mut Flavor| {
            if let Some(name) = not_null(req.name, "name")? {
                validate::max_len("name", Some(&name), 255)?;
                f.name = name;
            }
            apply_common(f, req.description, req.enabled)
        })
        .await
    }

    /// Change an availability zone's description or `enabled`.
    pub async fn update_zone(
        &self,
        name: &str,
        req: UpdateZone,
    ) -> Result<AvailabilityZone, Error> {
        self.update_selectable(name, |z: &mut AvailabilityZone| {
            apply_common(z, req.description, req.enabled)
        })
        .await
    }

    /// Store a new flavor or zone whose profile (of type `P`) exists.
    async fn insert_selectable<S: Selectable, P: CatalogEntry>(
        &self,
        row: S,
        profile_id: &str,
    ) -> Result<S, Error> {
        let mut tx = self.store.begin().await?;
        if tx.catalog_get::<P>(profile_id).await?.is_none() {
            return Err(Error::not_found(P::DISPLAY, profile_id));
        }
        match tx.catalog_insert(&row).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(duplicate(&row)),
            Err(other) => return Err(other.into()),
        }
        tx.commit().await?;
        Ok(row)
    }

    /// Change a flavor or zone: `change` applies the request to the stored row.
    async fn update_selectable<S: Selectable>(
        &self,
        key: &str,
        change: impl FnOnce(&mut S) -> Result<(), Error>,
    ) -> Result<S, Error> {
        named::<S>(key)?;
        let mut tx = self.store.begin().await?;
        let mut row: S = tx
            .catalog_get(key)
            .await?
            .ok_or_else(|| Error::not_found(S::DISPLAY, key))?;
        change(&mut row)?;
        let (description, _) = row.description_and_enabled();
        validate::max_len("description", description.as_deref(), 255)?;
        match tx.catalog_update(&row).await {
            Err(StoreError::Conflict(_)) => return Err(duplicate(&row)),
            other => other?,
        }
        tx.commit().await?;
        Ok(row)
    }
}

/// Octavia's 409 for a row something uses.
pub(crate) fn in_use<T: CatalogEntry>(key: &str) -> Error {
    Error::Conflict(format!(
        "{} {key} is in use and cannot be modified.",
        T::DISPLAY
    ))
}

/// Checks shared by the create of flavors and zones.
fn check_new(
    name: &str,
    description: Option<&str>,
    profile_field: &str,
    profile_id: &str,
) -> Result<(), Error> {
    validate::max_len("name", Some(name), 255)?;
    validate::max_len("description", description, 255)?;
    uuid::Uuid::parse_str(profile_id)
        .map(|_| ())
        .map_err(|_| Error::invalid_field(profile_field, profile_id, "Value should be UUID format"))
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
