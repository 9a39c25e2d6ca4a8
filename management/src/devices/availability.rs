//! Management's answer to `core::devices::DeviceAvailability`: a device may take new load
//! balancers when the inventory has it `ready`, or does not know it.

use async_trait::async_trait;
use fulcrum_core::devices::DeviceAvailability;

use super::model::MaintenanceState;
use super::store::DeviceStore;

/// Availability from the inventory's maintenance states.
#[derive(Debug, Clone)]
pub struct InventoryAvailability {
    store: DeviceStore,
}

impl InventoryAvailability {
    /// Answers from `store`.
    pub fn new(store: DeviceStore) -> Self {
        InventoryAvailability { store }
    }
}

#[async_trait]
impl DeviceAvailability for InventoryAvailability {
    async fn may_place(&self, provider: &str, device: &str) -> bool {
        match self.store.by_name(device).await {
            Ok(Some(known)) if known.provider.as_deref().is_none_or(|p| p == provider) => {
                known.state == MaintenanceState::Ready
            }
            Ok(_) => true,
            Err(error) => {
                tracing::warn!(%error, device, "device availability unknown; placing as usual");
                true
            }
        }
    }
}
