//! Configuration, layered with the `config` crate: the built-in `config/default.toml`, then a file
//! given with `--config`, then `FULCRUM__SECTION__KEY` environment variables.

use std::path::Path;

use fulcrum_api::neutron_networks::NeutronConfig;
use fulcrum_api::{ApiDefaults, QuotaDefaults};
use fulcrum_core::network::{Network, NoopNetworkConfig, Subnet};
use fulcrum_store::Backend;
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
    /// Where VIPs come from.
    pub network: NetworkConfig,
    /// Where TLS material named by certificate references comes from.
    pub certificates: CertificatesConfig,
    /// How callers are authenticated.
    pub auth: AuthConfig,
    /// What callers may do.
    pub policy: PolicyConfig,
    /// Where and to whom metrics are served.
    pub metrics: MetricsConfig,
    /// The management module.
    #[serde(default)]
    pub management: fulcrum_management::ManagementConfig,
}

/// `[metrics]`: where `/metrics` is served, and to whom.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// An address of its own for `/metrics` (served to anyone who can reach it); on the API's
    /// address when absent.
    #[serde(default)]
    pub listen: Option<String>,
    /// On the API's address: serve `/metrics` to anyone, not only to administrators.
    #[serde(default)]
    pub public: bool,
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
    /// Seconds between the shutdown signal and closing the listener, while the health checks
    /// already answer 503 so that load balancers and orchestrators stop sending requests.
    pub shutdown_delay_seconds: u64,
    /// Seconds a client has to send a request's head, from connecting (or, on a kept-alive
    /// connection, from the request's first byte); a slower connection is closed.
    pub header_read_timeout_seconds: u64,
    /// Seconds a kept-alive connection may stay idle between requests before it is closed.
    pub idle_timeout_seconds: u64,
    /// Seconds a client has to send a request's body once its head arrived; a slower request is
    /// answered 408 and its connection closed.
    pub body_read_timeout_seconds: u64,
    /// Connections served at once; further clients wait in the listen backlog until one closes.
    pub max_connections: usize,
}

impl ServerConfig {
    /// The connection limits, each timeout checked to be at least a second.
    pub fn limits(&self) -> Result<fulcrum_api::wire::Limits, String> {
        let seconds = |name: &str, value: u64| {
            if value == 0 {
                Err(format!("server.{name} must be at least 1"))
            } else {
                Ok(std::time::Duration::from_secs(value))
            }
        };
        if self.max_connections == 0 {
            return Err("server.max_connections must be at least 1".into());
        }
        Ok(fulcrum_api::wire::Limits {
            max_connections: self.max_connections,
            timeouts: fulcrum_api::wire::Timeouts {
                header_read: seconds(
                    "header_read_timeout_seconds",
                    self.header_read_timeout_seconds,
                )?,
                idle: seconds("idle_timeout_seconds", self.idle_timeout_seconds)?,
                body_read: seconds("body_read_timeout_seconds", self.body_read_timeout_seconds)?,
            },
        })
    }
}

/// Database settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` or `postgres://...`.
    pub url: String,
    /// Connections of the pool (reads, and on PostgreSQL writes too); unset:
    /// [`DatabaseConfig::connections`] picks by database.
    #[serde(default)]
    pub max_connections: Option<u32>,
}

impl DatabaseConfig {
    /// The pool's size: as configured, else the database's default
    /// ([`Backend::default_connections`]).
    pub fn connections(&self) -> u32 {
        // A URL naming neither database fails when the store connects.
        self.max_connections.unwrap_or_else(|| {
            Backend::of_url(&self.url)
                .unwrap_or(Backend::Sqlite)
                .default_connections()
        })
    }
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
    /// The name this process claims work as; empty: the host name and the API's port (see
    /// [`ReconcilerConfig::replica_name`]). Unique among the processes sharing a database: a
    /// process starting under a name takes the work of the name's earlier runs at once.
    pub replica: String,
    /// Milliseconds between heartbeats of this process's work holder.
    pub heartbeat_interval_ms: u64,
    /// Milliseconds without a heartbeat after which a holder counts as gone and others take
    /// its work over.
    pub holder_timeout_ms: u64,
}

impl ReconcilerConfig {
    /// The replica name work is claimed as: `replica`, or else the host name followed by the
    /// API's port when `api_bind` fixes one (`host:9876`), so that processes sharing a host and a
    /// database get names of their own that stay the same across their restarts; the host name
    /// alone for a port chosen at start (`:0`).
    pub fn replica_name(&self, api_bind: &str) -> String {
        if !self.replica.trim().is_empty() {
            return self.replica.trim().to_string();
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|name| name.trim().to_string())
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| "fulcrum".to_string());
        match api_bind.parse::<std::net::SocketAddr>() {
            Ok(addr) if addr.port() != 0 => format!("{host}:{}", addr.port()),
            _ => host,
        }
    }
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

/// `[network]`: the network back-end VIPs come from, and its settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// Which back-end: `builtin`, `noop` or `neutron`.
    #[serde(default)]
    pub driver: NetworkDriver,
    /// Networks of the `builtin` back-end.
    #[serde(default)]
    pub networks: Vec<Network>,
    /// Subnets of the `builtin` back-end.
    #[serde(default)]
    pub subnets: Vec<Subnet>,
    /// `[network.noop]`: the settings of the `noop` back-end.
    #[serde(default)]
    pub noop: NoopNetworkConfig,
    /// `[network.neutron]`: the settings of the `neutron` back-end.
    #[serde(default)]
    pub neutron: NeutronConfig,
}

/// A network back-end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum NetworkDriver {
    /// Networks and subnets declared in configuration; Fulcrum manages their addresses.
    #[default]
    Builtin,
    /// Any network, subnet and port, as Octavia's noop network driver; addresses may be shared.
    Noop,
    /// Networks, subnets and ports of Neutron; each VIP is a Neutron port.
    Neutron,
}

/// `[certificates]`: the store certificate references are resolved in, and how certificates
/// about to expire are reported.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificatesConfig {
    /// Which store: `directory` or `noop`.
    #[serde(default)]
    pub backend: CertificateBackend,
    /// Days before a certificate's end from which management is warned (30).
    #[serde(default = "default_expiry_warning_days")]
    pub expiry_warning_days: u64,
    /// Seconds between two readings of every load balancer's certificates (3600).
    #[serde(default = "default_expiry_check_interval_seconds")]
    pub expiry_check_interval_seconds: u64,
}

impl Default for CertificatesConfig {
    fn default() -> Self {
        CertificatesConfig {
            backend: CertificateBackend::default(),
            expiry_warning_days: default_expiry_warning_days(),
            expiry_check_interval_seconds: default_expiry_check_interval_seconds(),
        }
    }
}

fn default_expiry_warning_days() -> u64 {
    30
}

fn default_expiry_check_interval_seconds() -> u64 {
    3600
}

/// A certificate store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum CertificateBackend {
    /// PEM bundles in `providers.certificates_dir`.
    #[default]
    Directory,
    /// Accepts every reference and holds no material, as Octavia's noop certificate manager.
    Noop,
}

impl TryFrom<String> for NetworkDriver {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        match name.as_str() {
            "builtin" => Ok(NetworkDriver::Builtin),
            "noop" => Ok(NetworkDriver::Noop),
            "neutron" => Ok(NetworkDriver::Neutron),
            _ => Err(format!(
                "unknown network driver {name:?} (known: builtin, noop, neutron)"
            )),
        }
    }
}

impl TryFrom<String> for CertificateBackend {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        match name.as_str() {
            "directory" => Ok(CertificateBackend::Directory),
            "noop" => Ok(CertificateBackend::Noop),
            _ => Err(format!(
                "unknown certificate backend {name:?} (known: directory, noop)"
            )),
        }
    }
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
    fn the_pool_size_defaults_by_database() {
        let db = |url: &str, max_connections| DatabaseConfig {
            url: url.into(),
            max_connections,
        };
        assert_eq!(db("sqlite://fulcrum.db", None).connections(), 4);
        assert_eq!(db("postgres://db/fulcrum", None).connections(), 16);
        assert_eq!(db("postgresql://db/fulcrum", Some(2)).connections(), 2);
    }

    #[test]
    fn defaults_parse() {
        let c = Config::load(None).unwrap();
        assert_eq!(c.server.bind, "127.0.0.1:9876");
        assert_eq!(c.providers.default, "haproxy");
        assert_eq!(c.network.subnets.len(), 1);
        assert_eq!(c.network.driver, NetworkDriver::Builtin);
        assert_eq!(c.network.noop, NoopNetworkConfig::default());
        assert_eq!(c.certificates.backend, CertificateBackend::Directory);
        assert_eq!(c.quotas, QuotaDefaults::default());
        assert_eq!(c.metrics.listen, None);
        assert!(!c.metrics.public);
        assert_eq!(c.server.shutdown_delay_seconds, 0);
        let limits = c.server.limits().unwrap();
        assert_eq!(limits.max_connections, 4096);
        assert_eq!(limits.timeouts.header_read.as_secs(), 15);
        assert_eq!(limits.timeouts.idle.as_secs(), 60);
        assert_eq!(limits.timeouts.body_read.as_secs(), 30);
    }

    #[test]
    fn connection_limits_must_be_positive() {
        for key in [
            "header_read_timeout_seconds",
            "idle_timeout_seconds",
            "body_read_timeout_seconds",
            "max_connections",
        ] {
            let c = load_with(&format!("[server]\n{key} = 0\n")).unwrap();
            let e = c.server.limits().unwrap_err();
            assert_eq!(e, format!("server.{key} must be at least 1"));
        }
    }

    fn load_with(toml: &str) -> Result<Config, config::ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fulcrum.toml");
        std::fs::write(&path, toml).unwrap();
        Config::load(Some(&path))
    }

    #[test]
    fn back_ends_are_chosen_by_name() {
        let c = load_with(
            "[network]\ndriver = \"noop\"\n[network.noop]\ncidr = \"203.0.113.0/24\"\n\
             allocation_start = \"203.0.113.10\"\n[certificates]\nbackend = \"noop\"\n",
        )
        .unwrap();
        assert_eq!(c.network.driver, NetworkDriver::Noop);
        assert_eq!(c.network.noop.cidr.to_string(), "203.0.113.0/24");
        assert_eq!(c.certificates.backend, CertificateBackend::Noop);
        let e = load_with("[network]\ndriver = \"nova\"\n").unwrap_err();
        assert!(
            e.to_string()
                .contains("unknown network driver \"nova\" (known: builtin, noop, neutron)"),
            "{e}"
        );
        let e = load_with("[certificates]\nbackend = \"barbican\"\n").unwrap_err();
        assert!(
            e.to_string()
                .contains("unknown certificate backend \"barbican\" (known: directory, noop)"),
            "{e}"
        );
        let e = load_with("[network.noop]\nrange = \"x\"\n").unwrap_err();
        assert!(e.to_string().contains("unknown field `range`"), "{e}");
    }

    #[test]
    fn replica_names_default_to_the_host_and_the_api_port() {
        let mut reconciler = Config::load(None).unwrap().reconciler;
        reconciler.replica = String::new();
        let on_port = reconciler.replica_name("0.0.0.0:9876");
        assert!(on_port.ends_with(":9876"), "{on_port}");
        let host = reconciler.replica_name("127.0.0.1:0");
        assert_eq!(format!("{host}:9876"), on_port);
        reconciler.replica = " east-1 ".into();
        assert_eq!(reconciler.replica_name("0.0.0.0:9876"), "east-1");
    }
}
