//! `[network.neutron]`: where Neutron is and how Fulcrum talks to it.

use std::path::PathBuf;

use serde::Deserialize;

/// `[network.neutron]`: the settings of the `neutron` network back-end.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NeutronConfig {
    /// Neutron's URL (e.g. `http://neutron:9696`); without it, the `network` endpoint of the
    /// Keystone catalog, found with the service credentials of `[auth.keystone]`.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Which catalog endpoint to use: `internal` (the default), `public` or `admin`.
    #[serde(default = "default_interface")]
    pub interface: String,
    /// The catalog region to use; any when unset.
    #[serde(default)]
    pub region: Option<String>,
    /// A PEM bundle of the CA certificates to trust for Neutron's TLS, besides the system's.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Timeout of each call to Neutron.
    #[serde(default = "default_timeout_seconds")]
    pub timeout_seconds: u64,
    /// How old a VIP port Fulcrum created must be before the full sync may remove it for want of
    /// its load balancer (a create in flight stores its load balancer after creating the port).
    #[serde(default = "default_leaked_port_grace_seconds")]
    pub leaked_port_grace_seconds: u64,
}

fn default_interface() -> String {
    "internal".into()
}

fn default_timeout_seconds() -> u64 {
    10
}

fn default_leaked_port_grace_seconds() -> u64 {
    600
}

impl Default for NeutronConfig {
    fn default() -> Self {
        NeutronConfig {
            endpoint: None,
            interface: default_interface(),
            region: None,
            ca_file: None,
            timeout_seconds: default_timeout_seconds(),
            leaked_port_grace_seconds: default_leaked_port_grace_seconds(),
        }
    }
}
