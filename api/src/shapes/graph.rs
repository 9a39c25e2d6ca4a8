//! Shapes of Octavia's single-call "graph" create: `POST /v2/lbaas/loadbalancers` with nested
//! `listeners` (default pool, L7 policies and rules) and `pools` (members, health monitor).
//!
//! These are Octavia's `*SingleCreate` types. Each converts into the standalone create request of
//! its resource, so that a graph is validated by the same code as the standalone endpoints.

use std::collections::BTreeMap;

use fulcrum_core::Error;
use fulcrum_core::model::{
    ClientAuthentication, HealthMonitorType, HttpMethod, L7PolicyAction, LbAlgorithm,
    ListenerProtocol, PoolProtocol, SessionPersistence,
};
use fulcrum_core::wsme;
use serde::Deserialize;
use utoipa::ToSchema;

use super::health_monitors::CreateHealthMonitor;
use super::l7policies::CreateL7Policy;
use super::l7rules::CreateL7Rule;
use super::listeners::CreateListener;
use super::members::CreateMember;
use super::pools::CreatePool;

/// A pool in a graph create (Octavia's `PoolSingleCreate`): a full definition, or — as a
/// listener's `default_pool` or a policy's `redirect_pool` — just the `name` of a pool defined
/// elsewhere in the same request.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct PoolSingleCreate {
    #[schema(max_length = 255)]
    pub name: Option<String>,
    #[schema(max_length = 255)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "wsme::convert")]
    pub admin_state_up: Option<bool>,
    pub protocol: Option<PoolProtocol>,
    pub lb_algorithm: Option<LbAlgorithm>,
    pub session_persistence: Option<SessionPersistence>,
    pub tags: Option<Vec<String>>,
    pub tls_container_ref: Option<String>,
    pub ca_tls_container_ref: Option<String>,
    pub crl_container_ref: Option<String>,
    #[serde(default, deserialize_with = "wsme::convert")]
    pub tls_enabled: Option<bool>,
    #[schema(max_length = 2048)]
    pub tls_ciphers: Option<String>,
    pub tls_versions: Option<Vec<String>>,
    pub alpn_protocols: Option<Vec<String>>,
    /// Its health monitor.
    pub healthmonitor: Option<HealthMonitorSingleCreate>,
    /// Its members.
    pub members: Option<Vec<CreateMember>>,
}

/// A health monitor in a graph create (Octavia's `HealthMonitorSingleCreate`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct HealthMonitorSingleCreate {
    #[serde(rename = "type")]
    pub kind: HealthMonitorType,
    #[serde(deserialize_with = "wsme::convert")]
    #[schema(minimum = 0, maximum = 2147483647)]
    pub delay: i64,
    #[serde(deserialize_with = "wsme::convert")]
    #[schema(minimum = 0, maximum = 2147483647)]
    pub timeout: i64,
    #[serde(deserialize_with = "wsme::convert")]
    #[schema(minimum = 1, maximum = 10)]
    pub max_retries: i64,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = 1, maximum = 10)]
    pub max_retries_down: Option<i64>,
    #[schema(max_length = 255)]
    pub name: Option<String>,
    pub http_method: Option<HttpMethod>,
    pub url_path: Option<String>,
    pub expected_codes: Option<String>,
    #[serde(default, deserialize_with = "wsme::convert")]
    pub http_version: Option<f64>,
    pub domain_name: Option<String>,
    #[serde(default, deserialize_with = "wsme::convert")]
    pub admin_state_up: Option<bool>,
    pub tags: Option<Vec<String>>,
}

/// A listener in a graph create (Octavia's `ListenerSingleCreate`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct ListenerSingleCreate {
    pub protocol: ListenerProtocol,
    #[serde(deserialize_with = "wsme::convert")]
    #[schema(minimum = 1, maximum = 65535)]
    pub protocol_port: i64,
    #[schema(max_length = 255)]
    pub name: Option<String>,
    #[schema(max_length = 255)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "wsme::convert")]
    pub admin_state_up: Option<bool>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = -1, maximum = 2147483647)]
    pub connection_limit: Option<i64>,
    pub default_tls_container_ref: Option<String>,
    pub sni_container_refs: Option<Vec<String>>,
    /// An existing pool: none can exist on a load balancer being created (404).
    pub default_pool_id: Option<String>,
    /// Its default pool: a full definition or the name of one in `pools`.
    pub default_pool: Option<PoolSingleCreate>,
    /// Its L7 policies.
    pub l7policies: Option<Vec<L7PolicySingleCreate>>,
    pub insert_headers: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = 0, maximum = 2073600000)]
    pub timeout_client_data: Option<i64>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = 0, maximum = 2073600000)]
    pub timeout_member_connect: Option<i64>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = 0, maximum = 2073600000)]
    pub timeout_member_data: Option<i64>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = 0, maximum = 2073600000)]
    pub timeout_tcp_inspect: Option<i64>,
    pub tags: Option<Vec<String>>,
    pub client_ca_tls_container_ref: Option<String>,
    pub client_authentication: Option<ClientAuthentication>,
    pub client_crl_container_ref: Option<String>,
    pub allowed_cidrs: Option<Vec<String>>,
    #[schema(max_length = 2048)]
    pub tls_ciphers: Option<String>,
    pub tls_versions: Option<Vec<String>>,
    pub alpn_protocols: Option<Vec<String>>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = 0)]
    pub hsts_max_age: Option<i64>,
    #[serde(default, deserialize_with = "wsme::convert")]
    pub hsts_include_subdomains: Option<bool>,
    #[serde(default, deserialize_with = "wsme::convert")]
    pub hsts_preload: Option<bool>,
}

/// An L7 policy in a graph create (Octavia's `L7PolicySingleCreate`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct L7PolicySingleCreate {
    pub action: L7PolicyAction,
    #[schema(max_length = 255)]
    pub name: Option<String>,
    #[schema(max_length = 255)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "wsme::convert")]
    pub admin_state_up: Option<bool>,
    /// The pool to redirect to: a full definition or the name of one in the request.
    pub redirect_pool: Option<PoolSingleCreate>,
    #[schema(max_length = 255)]
    pub redirect_url: Option<String>,
    #[schema(max_length = 255)]
    pub redirect_prefix: Option<String>,
    #[serde(default, deserialize_with = "wsme::convert")]
    pub redirect_http_code: Option<i64>,
    #[serde(default, deserialize_with = "wsme::convert")]
    #[schema(minimum = 1, maximum = 2147483647)]
    pub position: Option<i64>,
    /// Its rules.
    pub rules: Option<Vec<CreateL7Rule>>,
    pub tags: Option<Vec<String>>,
}

impl PoolSingleCreate {
    /// A reference to the pool named `name`.
    pub fn reference(name: String) -> Self {
        PoolSingleCreate {
            name: Some(name),
            ..PoolSingleCreate::default()
        }
    }

    /// Whether it only names a pool (Octavia: nothing given but the name).
    pub fn is_reference(&self) -> bool {
        self.description.is_none()
            && self.admin_state_up.is_none()
            && self.protocol.is_none()
            && self.lb_algorithm.is_none()
            && self.session_persistence.is_none()
            && self.tags.is_none()
            && self.tls_container_ref.is_none()
            && self.ca_tls_container_ref.is_none()
            && self.crl_container_ref.is_none()
            && self.tls_enabled.is_none()
            && self.tls_ciphers.is_none()
            && self.tls_versions.is_none()
            && self.alpn_protocols.is_none()
            && self.healthmonitor.is_none()
            && self.members.is_none()
    }

    /// The standalone create request for it, its monitor and its members; protocol and
    /// algorithm, optional in the type, are required here.
    pub fn into_create(
        self,
    ) -> Result<
        (
            CreatePool,
            Option<HealthMonitorSingleCreate>,
            Vec<CreateMember>,
        ),
        Error,
    > {
        let missing = |attr: &str| {
            Error::validation(format!(
                "Pool definition for '{}' missing required attribute: {attr}",
                self.name.as_deref().unwrap_or("None")
            ))
        };
        let protocol = self.protocol.ok_or_else(|| missing("protocol"))?;
        let lb_algorithm = self.lb_algorithm.ok_or_else(|| missing("lb_algorithm"))?;
        let create = CreatePool {
            protocol,
            lb_algorithm,
            loadbalancer_id: None,
            listener_id: None,
            name: self.name,
            description: self.description,
            admin_state_up: self.admin_state_up,
            session_persistence: self.session_persistence,
            tags: self.tags,
            tls_container_ref: self.tls_container_ref,
            ca_tls_container_ref: self.ca_tls_container_ref,
            crl_container_ref: self.crl_container_ref,
            tls_enabled: self.tls_enabled,
            tls_ciphers: self.tls_ciphers,
            tls_versions: self.tls_versions,
            alpn_protocols: self.alpn_protocols,
            project_id: None,
            tenant_id: None,
        };
        Ok((create, self.healthmonitor, self.members.unwrap_or_default()))
    }
}

impl HealthMonitorSingleCreate {
    /// The standalone create request for a monitor of `pool_id`.
    pub fn into_create(self, pool_id: &str) -> CreateHealthMonitor {
        CreateHealthMonitor {
            pool_id: pool_id.to_string(),
            kind: self.kind,
            delay: self.delay,
            timeout: self.timeout,
            max_retries: self.max_retries,
            max_retries_down: self.max_retries_down,
            name: self.name,
            http_method: self.http_method,
            url_path: self.url_path,
            expected_codes: self.expected_codes,
            http_version: self.http_version,
            domain_name: self.domain_name,
            admin_state_up: self.admin_state_up,
            tags: self.tags,
            project_id: None,
            tenant_id: None,
        }
    }
}

impl ListenerSingleCreate {
    /// The standalone create request for it on `lb_id` (after `default_pool` and `l7policies`
    /// were taken out).
    pub fn into_create(self, lb_id: &str, default_pool_id: Option<String>) -> CreateListener {
        CreateListener {
            loadbalancer_id: lb_id.to_string(),
            protocol: self.protocol,
            protocol_port: self.protocol_port,
            name: self.name,
            description: self.description,
            admin_state_up: self.admin_state_up,
            connection_limit: self.connection_limit,
            default_tls_container_ref: self.default_tls_container_ref,
            sni_container_refs: self.sni_container_refs,
            default_pool_id,
            insert_headers: self.insert_headers,
            timeout_client_data: self.timeout_client_data,
            timeout_member_connect: self.timeout_member_connect,
            timeout_member_data: self.timeout_member_data,
            timeout_tcp_inspect: self.timeout_tcp_inspect,
            tags: self.tags,
            client_ca_tls_container_ref: self.client_ca_tls_container_ref,
            client_authentication: self.client_authentication,
            client_crl_container_ref: self.client_crl_container_ref,
            allowed_cidrs: self.allowed_cidrs,
            tls_ciphers: self.tls_ciphers,
            tls_versions: self.tls_versions,
            alpn_protocols: self.alpn_protocols,
            hsts_max_age: self.hsts_max_age,
            hsts_include_subdomains: self.hsts_include_subdomains,
            hsts_preload: self.hsts_preload,
            project_id: None,
            tenant_id: None,
        }
    }
}

impl L7PolicySingleCreate {
    /// The standalone create request for it on `listener_id` (after `redirect_pool` was taken
    /// out and resolved).
    pub fn into_create(
        self,
        listener_id: &str,
        redirect_pool_id: Option<String>,
    ) -> CreateL7Policy {
        CreateL7Policy {
            listener_id: listener_id.to_string(),
            action: self.action,
            name: self.name,
            description: self.description,
            admin_state_up: self.admin_state_up,
            redirect_pool_id,
            redirect_url: self.redirect_url,
            redirect_prefix: self.redirect_prefix,
            redirect_http_code: self.redirect_http_code,
            position: self.position,
            rules: self.rules,
            tags: self.tags,
            project_id: None,
            tenant_id: None,
        }
    }
}
