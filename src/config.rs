//! Configuration, layered with the `config` crate: the built-in `config/default.toml`, then a file
//! given with `--config`, then `FULCRUM__SECTION__KEY` environment variables.

use std::path::Path;

use fulcrum_api::{ApiDefaults, QuotaDefaults};
use fulcrum_core::network::{Network, Subnet};
use serde::Deserialize;

/// The built-in defaults, compiled in.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// HTTP server.
    pub server: ServerConfig,
    /// Database.
    pub database: DatabaseConfig,
    /// Logging.
    pub log: LogConfig,
    /// Drivers.
    pub providers: ProvidersConfig,
    /// Reconciler.
    pub reconciler: ReconcilerConfig,
    /// The event outbox.
    pub events: EventsConfig,
    /// API defaults.
    pub api: ApiDefaults,
    /// Default per-project quotas.
    pub quotas: QuotaDefaults,
    /// Built-in VIP networks.
    pub network: NetworkConfig,
    /// How callers are authenticated.
    pub auth: AuthConfig,
    /// What callers may do.
    pub policy: PolicyConfig,
}

/// `[auth]`: the authentication strategy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// `noauth` or `keystone`.
    pub strategy: AuthStrategy,
    /// Keystone settings (required by the `keystone` strategy).
    #[serde(default)]
    pub keystone: Option<fulcrum_api::auth::keystone::KeystoneConfig>,
}

/// How callers are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthStrategy {
    /// Octavia's `noauth`: project and roles from request headers.
    Noauth,
    /// Keystone tokens.
    Keystone,
}

/// `[policy]`: Octavia's policy rules and their overrides.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// A policy file (JSON or YAML) overriding rules.
    #[serde(default)]
    pub file: Option<std::path::PathBuf>,
    /// Refuse the deprecated `load-balancer_*` roles.
    pub enforce_new_defaults: bool,
}

/// HTTP server settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Listen address; port 0 picks a free port.
    pub bind: String,
    /// Grace period on shutdown, seconds.
    pub shutdown_grace_seconds: u64,
}

/// Database settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` or `postgres://...`.
    pub url: String,
    /// Read connections.
    pub max_connections: u32,
}

/// Log settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// "text" or "json".
    pub format: LogFormat,
    /// Filter directives.
    pub level: String,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Driver settings: which providers are enabled, and one section per driver
/// (`[providers.<name>]`) that only that driver's factory reads.
#[derive(Debug, Clone, Deserialize)]
pub struct ProvidersConfig {
    /// Enabled provider names.
    pub enabled: Vec<String>,
    /// Default provider.
    pub default: String,
    /// Directory of PEM bundles that certificate references name.
    pub certificates_dir: std::path::PathBuf,
    /// Every other key: a driver's own section, by driver name.
    #[serde(flatten)]
    pub sections: std::collections::BTreeMap<String, serde_json::Value>,
}

impl ProvidersConfig {
    /// The section of one driver, `null` when the configuration has none.
    pub fn section(&self, name: &str) -> &serde_json::Value {
        self.sections.get(name).unwrap_or(&serde_json::Value::Null)
    }
}

/// Reconciler settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconcilerConfig {
    /// Concurrent load balancers.
    pub concurrency: usize,
    /// Lease length, seconds.
    pub lease_seconds: u64,
    /// Poll interval, ms.
    pub poll_interval_ms: u64,
    /// Full sync interval, seconds.
    pub sync_interval_seconds: u64,
    /// Seconds between reads of operating status and counters from drivers with a data plane.
    pub observe_interval_seconds: u64,
    /// Attempts before ERROR.
    pub max_attempts: i64,
    /// First retry delay, ms.
    pub retry_base_ms: i64,
}

/// `[events]`: the outbox of events for management.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsConfig {
    /// Hours an event is kept, read or not.
    pub retention_hours: u64,
    /// Seconds between prunes of events past their retention.
    pub prune_interval_seconds: u64,
}

/// Built-in networks.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// Networks.
    #[serde(default)]
    pub networks: Vec<Network>,
    /// Subnets.
    #[serde(default)]
    pub subnets: Vec<Subnet>,
}

impl Config {
    /// Load the layers; `file` is the optional `--config` file.
    pub fn load(file: Option<&Path>) -> Result<Config, config::ConfigError> {
        let mut builder = config::Config::builder().add_source(config::File::from_str(
            DEFAULT_TOML,
            config::FileFormat::Toml,
        ));
        if let Some(path) = file {
            builder = builder.add_source(config::File::from(path).required(true));
        }
        builder
            .add_source(
                config::Environment::with_prefix("FULCRUM")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true)
                    .list_separator(",")
                    .with_list_parse_key("providers.enabled"),
            )
            .build()?
            .try_deserialize()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse() {
        let c = Config::load(None).unwrap();
        assert_eq!(c.server.bind, "127.0.0.1:9876");
        assert_eq!(c.providers.default, "haproxy");
        assert_eq!(c.network.subnets.len(), 1);
        assert_eq!(c.quotas, QuotaDefaults::default());
    }
}
