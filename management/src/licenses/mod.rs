//! License pools: registration keys (each installed on at most one device) or seats (a count),
//! for the devices of one kind, given to a device when it is registered (pools marked
//! `assign_on_registration`) or on demand, and given back when revoked.
//!
//! [`model`] says what a pool and a license are and checks what the API is given; [`store`]
//! keeps them, keys sealed at rest and never shown whole, with unique indexes that hold a key
//! or a seat to one device however many replicas assign at once; [`service`] does the work on
//! the devices (installing a key through their [`DeviceOps`](crate::devices::ops), revoking
//! it) and audits it; [`routes`] serve `/v1/management/license-pools` and
//! `/v1/management/licenses`; the `management-licenses` job ([`task`]) raises
//! `LicenseExpiring` ahead of a pool's end and `LicenseMismatch` when a device reports another
//! license than the one it was given.
//!
//! A license is reserved (`installing`) before the device is asked to install its key, so two
//! requests never install the same key; a device that refuses the key leaves it free again,
//! marked with the device's answer, and keys not refused are offered first.

pub mod model;
pub mod routes;
pub mod service;
pub mod store;
pub mod task;

pub use service::Licenses;

/// The key of the alert raised when the license pool named `pool` nears its end.
pub fn pool_expiring_key(pool: &str) -> String {
    format!("license-pool-expiring:{pool}")
}

/// The key of the alert raised when a device named `device` holds a license nearing its end.
pub fn device_expiring_key(device: &str) -> String {
    format!("license-expiring:{device}")
}

/// The key of the alert raised when the device named `device` reports another license than
/// the one it was given.
pub fn mismatch_key(device: &str) -> String {
    format!("license-mismatch:{device}")
}

/// The key of the alert raised when the pool named `pool` had no license left for a device
/// being registered.
pub fn exhausted_key(pool: &str) -> String {
    format!("license-pool-exhausted:{pool}")
}
