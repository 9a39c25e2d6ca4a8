//! The device inventory: the BIG-IPs, NSX Managers and Edges and HAProxy hosts under the load
//! balancers, registered by configuration or through the API or discovered from providers'
//! events; the facts read from them on a schedule; which load balancers each carries; and whether
//! each may take new work (its maintenance state), which placement asks through
//! `core::devices::DeviceAvailability`.
//!
//! Device-level work goes through [`ops::DeviceOps`], one implementation per kind
//! ([`ops_for`]): a BIG-IP over iControl REST, an NSX Manager over its management-plane API, an
//! HAProxy host on this machine. Management never writes load-balancer rows: what it learns of
//! load balancers it keeps in its own tables.

pub mod availability;
pub mod bigip;
pub mod client;
pub mod facts_task;
pub mod from_events;
pub mod haproxy_host;
pub mod model;
pub mod nsx_api;
pub mod nsx_edge;
pub mod nsx_manager;
pub mod ops;
pub mod routes;
pub mod store;

use model::{Device, DeviceKind};
use ops::{DeviceOps, OpsError};

/// The operations on `device`, for the kinds Fulcrum can operate; a device registered without
/// what its kind needs (a discovered one), of a kind not operated yet, or whose password cannot
/// be opened is refused. An NSX Edge is read through its NSX Manager (registered with the
/// manager's address); its upgrades, backups and licenses are the manager's.
pub fn ops_for(device: &Device) -> Result<Box<dyn DeviceOps>, OpsError> {
    if let Some(why) = &device.credentials_error {
        return Err(OpsError::Credentials(why.clone()));
    }
    match device.kind {
        DeviceKind::Bigip => Ok(Box::new(bigip::Bigip::new(device)?)),
        DeviceKind::HaproxyHost => Ok(Box::new(haproxy_host::HaproxyHost::new(device)?)),
        DeviceKind::NsxManager => Ok(Box::new(nsx_manager::NsxManager::new(device)?)),
        // An Edge registered without its manager's address is only listed.
        kind @ DeviceKind::NsxEdge if device.connection.addresses.is_empty() => {
            Err(OpsError::unsupported("device operations", kind))
        }
        DeviceKind::NsxEdge => Ok(Box::new(nsx_edge::NsxEdge::new(device)?)),
    }
}
