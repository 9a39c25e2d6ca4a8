//! `[providers.nsxt]`: which NSX Managers to call, how to authenticate, where load balancers go.
//!
//! Everything here is checked without a network call, so that `fulcrum check-config` can tell
//! an operator what is wrong before Fulcrum serves: the managers are URLs, the files named
//! exist and parse, the credentials fit the chosen authentication, the Tier-1 is a Policy path.
//!
//! The Tier-1 a load balancer's service attaches to comes from `tier1_from`: `config` (the
//! default) puts every load balancer on `tier1_path`; `router` puts each on the Tier-1 of the
//! router behind its VIP subnet, as vmware-nsx's Policy plugin names it
//! (`/infra/tier-1s/<router id>`), which the network back-end found when the VIP was allocated
//! (`LoadBalancer::vip_router_id`; the `neutron` back-end knows routers). There, `tier1_path` is
//! the fallback for a VIP subnet behind no router; without it such a load balancer is refused
//! when it is created.

use std::path::PathBuf;
use std::time::Duration;

use fulcrum_core::driver::{DriverError, parse_section};
use serde::Deserialize;

use crate::kit::rate_limit::RateLimit;

/// How Fulcrum proves who it is to the managers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// HTTP basic authentication on every call.
    Basic,
    /// A session (`POST /api/session/create`): a `JSESSIONID` cookie and an `X-XSRF-TOKEN`,
    /// made again when the manager says it is gone. Fewer password checks on the manager.
    #[default]
    Session,
    /// A client certificate (an NSX principal identity); no password.
    Certificate,
}

/// Where a load balancer's Tier-1 comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier1Source {
    /// `tier1_path`, for every load balancer.
    #[default]
    Config,
    /// The Tier-1 of the router behind the VIP's subnet (`/infra/tier-1s/<router id>`); for a
    /// subnet behind no router, `tier1_path` if set, else the load balancer is refused.
    Router,
}

/// The Policy path of a Neutron router's Tier-1, as vmware-nsx's Policy plugin creates it.
pub fn router_tier1_path(router_id: &str) -> String {
    format!("{TIER1S}{router_id}")
}

const TIER1S: &str = "/infra/tier-1s/";

/// The NSX-T driver's configuration section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NsxtConfig {
    /// The managers of one cluster (`https://nsx1.example`, ...); calls go to the first that
    /// answers, and move to the next when one cannot be reached.
    #[serde(default)]
    pub managers: Vec<String>,
    /// How to authenticate.
    #[serde(default)]
    pub auth: AuthMode,
    /// The user name (basic and session authentication).
    #[serde(default)]
    pub username: Option<String>,
    /// The password (basic and session authentication).
    #[serde(default)]
    pub password: Option<String>,
    /// The client certificate, PEM (certificate authentication).
    #[serde(default)]
    pub client_certificate: Option<PathBuf>,
    /// The client certificate's key, PEM in PKCS#8 form (certificate authentication).
    #[serde(default)]
    pub client_key: Option<PathBuf>,
    /// Send `X-Allow-Overwrite: true` with every write, so that Fulcrum may change objects a
    /// principal identity other than its own created (NSX protects them otherwise).
    #[serde(default)]
    pub allow_overwrite: bool,
    /// The CA certificates the managers' certificates must chain to; none: the system's.
    #[serde(default)]
    pub ca_bundle: Option<PathBuf>,
    /// Skip TLS verification (labs only).
    #[serde(default)]
    pub insecure: bool,
    /// Where each load balancer's Tier-1 comes from: this section (`config`) or the router of
    /// its VIP subnet (`router`).
    #[serde(default)]
    pub tier1_from: Tier1Source,
    /// The Policy path of the Tier-1 gateway load-balancer services attach to; with
    /// `tier1_from = "router"`, only those whose VIP subnet is behind no router (none: refused).
    #[serde(default)]
    pub tier1_path: String,
    /// The service size when the flavor names none: SMALL, MEDIUM, LARGE or XLARGE.
    #[serde(default = "default_size")]
    pub default_size: String,
    /// Whether the load balancers of the Tier-1 share one load-balancer service
    /// (`fulcrum-lbs-<tier1 id>`, the largest size asked for) instead of one each.
    #[serde(default)]
    pub share_lb_service: bool,
    /// Requests per second and burst, per manager, for the whole process.
    #[serde(default = "default_rate_limit")]
    pub rate_limit: RateLimit,
    /// Seconds a single call may take.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_seconds: u64,
    /// Milliseconds between realization checks after a change; the applies waiting at once
    /// check on the same ticks, with one search.
    #[serde(default = "default_realization_poll")]
    pub realization_poll_ms: u64,
    /// Seconds a change may take to realize before the apply is retried later.
    #[serde(default = "default_realization_timeout")]
    pub realization_timeout_seconds: u64,
}

impl Default for NsxtConfig {
    fn default() -> Self {
        NsxtConfig {
            managers: Vec::new(),
            auth: AuthMode::default(),
            username: None,
            password: None,
            client_certificate: None,
            client_key: None,
            allow_overwrite: false,
            ca_bundle: None,
            insecure: false,
            tier1_from: Tier1Source::Config,
            tier1_path: String::new(),
            default_size: default_size(),
            share_lb_service: false,
            rate_limit: default_rate_limit(),
            request_timeout_seconds: default_request_timeout(),
            realization_poll_ms: default_realization_poll(),
            realization_timeout_seconds: default_realization_timeout(),
        }
    }
}

fn default_size() -> String {
    "SMALL".into()
}

fn default_rate_limit() -> RateLimit {
    RateLimit {
        per_second: 100.0,
        burst: 20,
    }
}

fn default_request_timeout() -> u64 {
    60
}

fn default_realization_poll() -> u64 {
    500
}

fn default_realization_timeout() -> u64 {
    120
}

/// The id of the Tier-1 a Policy path names, if it names one.
fn tier1_id_of(path: &str) -> Option<&str> {
    path.strip_prefix(TIER1S)
        .filter(|id| !id.is_empty() && !id.contains('/'))
}

/// The service sizes NSX offers that a flavor or the configuration may name.
pub const SIZES: &[&str] = &["SMALL", "MEDIUM", "LARGE", "XLARGE"];

impl NsxtConfig {
    /// Parse the section and check what can be checked without the network.
    pub fn parse(section: &serde_json::Value) -> Result<Self, DriverError> {
        let config: NsxtConfig = parse_section("nsxt", section)?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), DriverError> {
        let invalid =
            |m: String| DriverError::invalid_configuration(format!("[providers.nsxt] {m}"));
        if self.managers.is_empty() {
            return Err(invalid(
                "managers: name at least one NSX Manager (https://nsx.example).".into(),
            ));
        }
        match self.auth {
            AuthMode::Basic | AuthMode::Session => {
                if self.username.as_deref().unwrap_or_default().is_empty()
                    || self.password.is_none()
                {
                    return Err(invalid(
                        "username and password are required for basic and session authentication."
                            .into(),
                    ));
                }
            }
            AuthMode::Certificate => {
                if self.client_certificate.is_none() || self.client_key.is_none() {
                    return Err(invalid(
                        "client_certificate and client_key are required for certificate \
                         authentication."
                            .into(),
                    ));
                }
            }
        }
        let fallback_only = self.tier1_from == Tier1Source::Router && self.tier1_path.is_empty();
        if !fallback_only && tier1_id_of(&self.tier1_path).is_none() {
            return Err(invalid(format!(
                "tier1_path: {:?} is not the Policy path of a Tier-1 (/infra/tier-1s/<id>).",
                self.tier1_path
            )));
        }
        if !SIZES.contains(&self.default_size.as_str()) {
            return Err(invalid(format!(
                "default_size: {:?} is not one of {}.",
                self.default_size,
                SIZES.join(", ")
            )));
        }
        self.rate_limit.validate()?;
        if self.request_timeout_seconds == 0 || self.realization_poll_ms == 0 {
            return Err(invalid(
                "request_timeout_seconds and realization_poll_ms must be positive.".into(),
            ));
        }
        Ok(())
    }

    /// The Tier-1 of a load balancer whose VIP subnet is behind `router_id` (`None`: no
    /// router), as [`Self::tier1_from`] says; refused when it needs a router and there is none.
    pub fn tier1_path_for(
        &self,
        subnet_id: &str,
        router_id: Option<&str>,
    ) -> Result<String, DriverError> {
        match (self.tier1_from, router_id) {
            (Tier1Source::Config, _) => Ok(self.tier1_path.clone()),
            (Tier1Source::Router, Some(router)) => {
                let path = router_tier1_path(router);
                match tier1_id_of(&path) {
                    Some(_) => Ok(path),
                    None => Err(DriverError::rejected(format!(
                        "The router {router:?} of subnet {subnet_id} cannot name an NSX Tier-1."
                    ))),
                }
            }
            (Tier1Source::Router, None) if !self.tier1_path.is_empty() => {
                Ok(self.tier1_path.clone())
            }
            (Tier1Source::Router, None) => Err(DriverError::rejected(format!(
                "VIP subnet {subnet_id} is not connected to a router; NSX-T load balancers \
                 attach to the Tier-1 of their VIP subnet's router."
            ))),
        }
    }

    /// How long a single call may take.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_seconds)
    }

    /// How long to wait between realization checks.
    pub fn realization_poll(&self) -> Duration {
        Duration::from_millis(self.realization_poll_ms)
    }

    /// How long a change may take to realize.
    pub fn realization_timeout(&self) -> Duration {
        Duration::from_secs(self.realization_timeout_seconds)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::nsxt::client::NsxClient;

    fn parse(section: serde_json::Value) -> Result<NsxtConfig, String> {
        NsxtConfig::parse(&section).map_err(|e| e.message().to_string())
    }

    fn minimal() -> serde_json::Value {
        json!({
            "managers": ["https://nsx1.example"],
            "username": "admin",
            "password": "secret",
            "tier1_path": "/infra/tier-1s/t1",
        })
    }

    #[test]
    fn a_minimal_section_takes_the_defaults() {
        let config = parse(minimal()).unwrap();
        assert_eq!(config.auth, AuthMode::Session);
        assert_eq!(config.rate_limit.per_second, 100.0);
        assert_eq!(config.default_size, "SMALL");
        assert_eq!(config.tier1_from, Tier1Source::Config);
        assert_eq!(
            config.tier1_path_for("s", Some("r1")).unwrap(),
            "/infra/tier-1s/t1"
        );
        assert!(!config.insecure);
        assert!(!config.share_lb_service);
        assert!(!config.allow_overwrite);
    }

    #[test]
    fn what_is_missing_or_wrong_is_named() {
        let mut no_managers = minimal();
        no_managers["managers"] = json!([]);
        assert!(parse(no_managers).unwrap_err().contains("managers"));
        let mut no_password = minimal();
        no_password.as_object_mut().unwrap().remove("password");
        assert!(parse(no_password).unwrap_err().contains("password"));
        let mut bad_tier1 = minimal();
        bad_tier1["tier1_path"] = json!("t1");
        assert!(parse(bad_tier1).unwrap_err().contains("tier1_path"));
        let mut bad_size = minimal();
        bad_size["default_size"] = json!("HUGE");
        assert!(parse(bad_size).unwrap_err().contains("default_size"));
        let mut unknown = minimal();
        unknown["colour"] = json!("blue");
        assert!(parse(unknown).unwrap_err().contains("colour"));
        let mut certificate = minimal();
        certificate["auth"] = json!("certificate");
        assert!(
            parse(certificate)
                .unwrap_err()
                .contains("client_certificate")
        );
    }

    #[test]
    fn from_the_router_the_tier1_is_the_router_s_else_the_fallback_or_none() {
        let mut section = minimal();
        section["tier1_from"] = json!("router");
        let with_fallback = parse(section.clone()).unwrap();
        assert_eq!(
            with_fallback.tier1_path_for("s", Some("r1")).unwrap(),
            "/infra/tier-1s/r1"
        );
        assert_eq!(
            with_fallback.tier1_path_for("s", None).unwrap(),
            "/infra/tier-1s/t1"
        );
        section.as_object_mut().unwrap().remove("tier1_path");
        let strict = parse(section.clone()).unwrap();
        let e = strict.tier1_path_for("s1", None).unwrap_err();
        assert!(
            e.message().contains("s1 is not connected to a router"),
            "{e}"
        );
        assert!(strict.tier1_path_for("s", Some("a/b")).is_err());
        section["tier1_from"] = json!("neutron");
        assert!(parse(section).unwrap_err().contains("neutron"));
        let mut no_tier1 = minimal();
        no_tier1.as_object_mut().unwrap().remove("tier1_path");
        assert!(parse(no_tier1).unwrap_err().contains("tier1_path"));
    }

    #[test]
    fn files_the_section_names_must_be_readable() {
        let mut certificate = minimal();
        certificate["auth"] = json!("certificate");
        certificate["client_certificate"] = json!("/nonexistent/client.pem");
        certificate["client_key"] = json!("/nonexistent/client.key");
        let config = NsxtConfig::parse(&certificate).unwrap();
        let e = NsxClient::new(&config).unwrap_err();
        assert!(e.message().contains("/nonexistent/client.pem"), "{e}");
        let mut ca = minimal();
        ca["ca_bundle"] = json!("/nonexistent/ca.pem");
        let config = NsxtConfig::parse(&ca).unwrap();
        let e = NsxClient::new(&config).unwrap_err();
        assert!(e.message().contains("/nonexistent/ca.pem"), "{e}");
    }
}
