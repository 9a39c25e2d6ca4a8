//! How the NSX-T driver is built from `[providers.nsxt]`.

use std::sync::Arc;

use fulcrum_core::driver::{Driver, DriverContext, DriverError, DriverFactory};

use super::client::NsxClient;
use super::config::NsxtConfig;
use super::{DESCRIPTION, NsxtDriver};

/// Builds [`NsxtDriver`]s.
#[derive(Debug, Default)]
pub struct NsxtFactory;

impl DriverFactory for NsxtFactory {
    fn name(&self) -> &'static str {
        "nsxt"
    }

    fn description(&self) -> &'static str {
        DESCRIPTION
    }

    /// The section parses, its values make sense, and the CA bundle and client certificate it
    /// names can be read; no manager is called.
    fn preflight(
        &self,
        _context: &DriverContext,
        section: &serde_json::Value,
    ) -> Result<(), DriverError> {
        let config = NsxtConfig::parse(section)?;
        NsxClient::new(&config).map(|_| ())
    }

    fn build(
        &self,
        context: &DriverContext,
        section: &serde_json::Value,
    ) -> Result<Arc<dyn Driver>, DriverError> {
        let config = NsxtConfig::parse(section)?;
        Ok(Arc::new(NsxtDriver::new(
            config,
            context.certificates.clone(),
        )?))
    }
}
