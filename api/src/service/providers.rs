//! The enabled providers and what their profiles may hold.

use fulcrum_core::Error;

use super::Service;

impl Service {
    /// The enabled providers: the name a load balancer selects each by, and what it is.
    pub fn providers(&self) -> Vec<(String, String)> {
        self.providers
            .all()
            .map(|d| (d.name().to_owned(), d.description().to_owned()))
            .collect()
    }

    /// The metadata keys an enabled provider's flavor profiles (or, with `zone`, availability
    /// zone profiles) may hold, each with what it does.
    pub fn provider_capabilities(
        &self,
        provider: &str,
        zone: bool,
    ) -> Result<Vec<(String, String)>, Error> {
        let driver = self.providers.get(provider)?;
        Ok(if zone {
            driver.availability_zone_capabilities()
        } else {
            driver.flavor_capabilities()
        })
    }
}
