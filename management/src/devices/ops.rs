//! [`DeviceOps`]: the device-level work management does, one implementation per kind of device
//! ([`super::bigip`], [`super::nsx_manager`], [`super::nsx_edge`], [`super::haproxy_host`]). An
//! operation a kind cannot do answers [`OpsError::Unsupported`], so callers tell "this device
//! cannot" from "this device failed".

use async_trait::async_trait;

use super::model::{DeviceKind, Facts};
use crate::error::ManagementError;

/// Why a device operation did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpsError {
    /// This kind of device does not do this.
    #[error("{operation} is not supported for {kind} devices.")]
    Unsupported {
        /// The operation asked for.
        operation: &'static str,
        /// The kind of device, as the API names it.
        kind: &'static str,
    },
    /// The request is impossible as made (a backup of another format, a bad volume name).
    #[error("{0}")]
    Invalid(String),
    /// The device could not be reached or refused; the text says what it answered.
    #[error("{0}")]
    Failed(String),
    /// Its stored credentials cannot be opened; the text says with which key file.
    #[error("{0}")]
    Credentials(String),
}

impl OpsError {
    /// The operation `operation` is not supported for devices of `kind`.
    pub fn unsupported(operation: &'static str, kind: DeviceKind) -> Self {
        OpsError::Unsupported {
            operation,
            kind: kind.as_str(),
        }
    }

    /// This error as management answers it for the device named `device`.
    pub fn for_device(self, device: &str) -> ManagementError {
        match self {
            OpsError::Unsupported { .. } | OpsError::Invalid(_) => {
                ManagementError::BadRequest(format!("device {device}: {self}"))
            }
            OpsError::Failed(message) => ManagementError::Device {
                device: device.to_owned(),
                message,
            },
            OpsError::Credentials(message) => {
                ManagementError::Conflict(format!("device {device}: {message}"))
            }
        }
    }
}

/// A backup taken from a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backup {
    /// Its name (a file name), saying what and when.
    pub name: String,
    /// Its content, as [`DeviceOps::restore`] takes it back.
    pub bytes: Vec<u8>,
}

/// Software to install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Software {
    /// A base image (an ISO already on a BIG-IP; an NSX upgrade bundle's URL).
    Image(String),
    /// A hotfix (an ISO already on a BIG-IP; an NSX upgrade bundle's URL).
    Hotfix(String),
}

/// What to do with a device's license.
#[derive(Clone, PartialEq, Eq)]
pub enum LicenseOrder {
    /// Read its state.
    Show,
    /// Install this registration key.
    Install(String),
    /// Give its license up (its registration key may then be installed elsewhere).
    Revoke,
}

impl std::fmt::Debug for LicenseOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LicenseOrder::Show => f.write_str("Show"),
            LicenseOrder::Install(_) => f.write_str("Install(<hidden>)"),
            LicenseOrder::Revoke => f.write_str("Revoke"),
        }
    }
}

/// A device's license as it reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct License {
    /// `valid`, `expired`, or `none`.
    pub state: String,
    /// When it ends (`YYYY-MM-DD`).
    pub expiry: Option<String>,
    /// The registration key it is licensed with, when it says.
    pub registration_key: Option<String>,
}

/// A boot volume and the software on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootVolume {
    /// Its name (`HD1.2`).
    pub name: String,
    /// The version installed there.
    pub version: String,
    /// `complete`, `installing`, or the device's word for a failed install.
    pub status: String,
    /// Whether the device runs from it.
    pub active: bool,
}

/// What a software campaign watches on a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoftwareStatus {
    /// The version it runs.
    pub version: Option<String>,
    /// Its boot volumes.
    pub volumes: Vec<BootVolume>,
    /// Whether it carries its pair's traffic (`None` for a device not in a pair).
    pub active: Option<bool>,
}

/// The device-level operations on one device.
#[async_trait]
pub trait DeviceOps: Send + Sync {
    /// Read what the device is and how it is: version, hotfixes, HA role, health, license.
    async fn facts(&self) -> Result<Facts, OpsError>;

    /// Take a backup of its configuration.
    async fn backup(&self) -> Result<Backup, OpsError>;

    /// Put back a backup taken by [`DeviceOps::backup`].
    async fn restore(&self, backup: &[u8]) -> Result<(), OpsError>;

    /// Install software to a boot volume.
    async fn install(&self, software: &Software, volume: &str) -> Result<(), OpsError>;

    /// Boot into a volume (activating the software installed there).
    async fn activate(&self, volume: &str) -> Result<(), OpsError>;

    /// Hand the device's traffic to its HA peer.
    async fn failover(&self) -> Result<(), OpsError>;

    /// Read, install or revoke the license.
    async fn license(&self, order: &LicenseOrder) -> Result<License, OpsError>;

    /// Read what a software campaign watches: the running version, the boot volumes and the HA
    /// role.
    async fn software(&self) -> Result<SoftwareStatus, OpsError>;

    /// Its HA pair's config-sync status (`In Sync`); `None` for a device not in a pair.
    async fn sync_status(&self) -> Result<Option<String>, OpsError>;

    /// Push its configuration to its HA peer, bringing the pair in sync.
    async fn config_sync(&self) -> Result<(), OpsError>;
}
