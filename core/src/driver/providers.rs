//! [`Providers`]: the enabled drivers by name, and the default one. Built once at start-up from
//! the driver factories; shared by the API (capabilities, flavor validation) and the reconciler.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Driver;
use crate::Error;

/// The enabled providers (drivers) by name, and the default one.
#[derive(Clone)]
pub struct Providers {
    drivers: BTreeMap<String, Arc<dyn Driver>>,
    default: String,
}

impl Providers {
    /// Providers from drivers; `default` must be one of them.
    pub fn new(drivers: Vec<Arc<dyn Driver>>, default: &str) -> Result<Self, String> {
        let drivers: BTreeMap<String, Arc<dyn Driver>> = drivers
            .into_iter()
            .map(|d| (d.name().to_owned(), d))
            .collect();
        if !drivers.contains_key(default) {
            return Err(format!("default provider {default:?} is not enabled"));
        }
        Ok(Providers {
            drivers,
            default: default.to_owned(),
        })
    }

    /// The driver of a provider name, if it is enabled.
    pub fn find(&self, name: &str) -> Option<&Arc<dyn Driver>> {
        self.drivers.get(name)
    }

    /// The driver of a provider name, or Octavia's "not enabled" error.
    pub fn get(&self, name: &str) -> Result<&Arc<dyn Driver>, Error> {
        self.find(name)
            .ok_or_else(|| Error::BadRequest(format!("Provider '{name}' is not enabled.")))
    }

    /// The default provider's name.
    pub fn default_name(&self) -> &str {
        &self.default
    }

    /// Every enabled driver.
    pub fn all(&self) -> impl Iterator<Item = &Arc<dyn Driver>> {
        self.drivers.values()
    }
}
