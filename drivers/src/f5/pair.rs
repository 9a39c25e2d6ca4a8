//! One HA pair (or single device) as the driver uses it: its devices, which of them is active,
//! and the changes waiting for their turn at it. A device applies one declaration at a time, so
//! the driver declares on a pair one at a time, and the changes that wait meanwhile are
//! coalesced per pair and tenant ([`Batches`]).

use fulcrum_core::driver::DriverError;

use super::batch::Batches;
use super::config::{F5Config, PairConfig};
use super::device::Device;
use crate::kit::HttpClientBuilder;

/// A pair.
#[derive(Debug)]
pub struct Pair {
    /// Its configured name, stored with the load balancers placed on it.
    pub name: String,
    /// Its devices, in configuration order.
    pub devices: Vec<Device>,
    /// The changes waiting for a declaration, by tenant.
    pub batches: Batches,
    /// The driver's turn at the pair.
    pub turn: tokio::sync::Mutex<()>,
}

impl Pair {
    /// The pair `pair` configures, its devices reached as `config` says.
    pub fn new(pair: &PairConfig, config: &F5Config) -> Result<Self, DriverError> {
        let devices = pair
            .devices
            .iter()
            .zip(pair.device_hostnames())
            .map(|(url, hostname)| {
                let mut builder = HttpClientBuilder::new(url.clone()).insecure(config.insecure);
                if let Some(bundle) = &config.ca_bundle {
                    builder = builder.ca_bundle(bundle);
                }
                Ok(Device::new(url, &hostname, builder.build()?, config))
            })
            .collect::<Result<Vec<_>, DriverError>>()?;
        Ok(Self {
            name: pair.name.clone(),
            devices,
            batches: Batches::default(),
            turn: tokio::sync::Mutex::new(()),
        })
    }

    /// The device that is active now.
    pub async fn active(&self) -> Result<&Device, DriverError> {
        let mut last = None;
        for device in &self.devices {
            match device.is_active().await {
                Ok(true) => return Ok(device),
                Ok(false) => {}
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            DriverError::transient(format!(
                "No BIG-IP device of pair {:?} is active; a failover may be under way.",
                self.name
            ))
        }))
    }

    /// Every name management may know its devices by.
    pub fn device_names(&self) -> Vec<String> {
        self.devices.iter().flat_map(Device::names).collect()
    }
}
