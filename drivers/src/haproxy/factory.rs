//! How the HAProxy driver is built from `[providers.haproxy]`.

use std::sync::Arc;

use fulcrum_core::driver::{Driver, DriverContext, DriverError, DriverFactory, parse_section};

use super::{HaproxyConfig, HaproxyDriver, check_binary};

/// Builds [`HaproxyDriver`]s.
#[derive(Debug, Default)]
pub struct HaproxyFactory;

impl HaproxyFactory {
    fn config(section: &serde_json::Value) -> Result<HaproxyConfig, DriverError> {
        parse_section("haproxy", section)
    }
}

impl DriverFactory for HaproxyFactory {
    fn name(&self) -> &'static str {
        "haproxy"
    }

    fn description(&self) -> &'static str {
        super::DESCRIPTION
    }

    /// The section parses and the binary runs and is recent enough.
    fn preflight(
        &self,
        _context: &DriverContext,
        section: &serde_json::Value,
    ) -> Result<(), DriverError> {
        let config = Self::config(section)?;
        check_binary(&config.binary)
            .map(|_| ())
            .map_err(DriverError::invalid_configuration)
    }

    fn build(
        &self,
        context: &DriverContext,
        section: &serde_json::Value,
    ) -> Result<Arc<dyn Driver>, DriverError> {
        Ok(Arc::new(HaproxyDriver::new(
            Self::config(section)?,
            context.certificates.clone(),
        )))
    }
}
