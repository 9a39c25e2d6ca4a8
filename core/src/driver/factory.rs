//! [`DriverFactory`]: how a backend registers itself. The binary builds every provider that
//! `[providers] enabled` names from a list of factories, with no per-driver code of its own; a
//! driver's configuration is its own section, `[providers.<name>]`, handed to it as JSON.

use std::sync::Arc;

use super::{Driver, DriverError};
use crate::devices::DeviceAvailability;
use crate::secrets::CertificateStore;

/// What every driver may use, whatever its backend.
#[derive(Clone)]
pub struct DriverContext {
    /// Where TLS material named by certificate references comes from.
    pub certificates: Arc<dyn CertificateStore>,
    /// Whether a device may take new load balancers (management's inventory, or
    /// [`EveryDevice`](crate::devices::EveryDevice) without it), for drivers that place them.
    pub availability: Arc<dyn DeviceAvailability>,
}

/// Builds one kind of driver from its configuration section.
///
/// Flavor and availability-zone capabilities and validation are asked of the built
/// [`Driver`]: what a backend accepts can depend on how it is configured.
pub trait DriverFactory: Send + Sync {
    /// The provider name clients select it by, and the name of its configuration section.
    fn name(&self) -> &'static str;

    /// A one-line description.
    fn description(&self) -> &'static str;

    /// Check what can be checked without serving (`fulcrum check-config`, and start-up): the
    /// section parses, binaries and files it names exist, endpoints are well formed. Network
    /// calls to a backend do not belong here. By default, building the driver is the check.
    fn preflight(
        &self,
        context: &DriverContext,
        section: &serde_json::Value,
    ) -> Result<(), DriverError> {
        self.build(context, section).map(|_| ())
    }

    /// Build the driver from its section (`null` when the configuration has none).
    fn build(
        &self,
        context: &DriverContext,
        section: &serde_json::Value,
    ) -> Result<Arc<dyn Driver>, DriverError>;
}

/// Parse a driver's configuration section into its typed configuration; a missing section
/// (`null`) is the type's default. Errors name the section and the offending key.
pub fn parse_section<T>(name: &str, section: &serde_json::Value) -> Result<T, DriverError>
where
    T: serde::de::DeserializeOwned + Default,
{
    if section.is_null() {
        return Ok(T::default());
    }
    serde_path_to_error::deserialize(section).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." {
            String::new()
        } else {
            format!(" at {path}")
        };
        DriverError::invalid_configuration(format!("[providers.{name}]{at}: {}", e.inner()))
    })
}
