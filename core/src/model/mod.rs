//! The stored form of Octavia's objects. Field names are Octavia's; every object carries its
//! `loadbalancer_id` so that the whole tree of one load balancer is found with one indexed column.
//! Response shapes (ids of children, `tenant_id`, ...) are built from these by the API.

mod enums;
mod kind;

pub use enums::*;
pub use kind::Kind;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A load balancer: one VIP and the listeners, pools and policies behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadBalancer {
    /// Its id.
    pub id: String,
    /// Owning project.
    pub project_id: Option<String>,
    /// Human-readable name.
    pub name: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Whether it should serve.
    pub admin_state_up: bool,
    /// Life-cycle state.
    pub provisioning_status: ProvisioningStatus,
    /// Data-plane state.
    pub operating_status: OperatingStatus,
    /// The VIP address.
    pub vip_address: String,
    /// The VIP's port (a built-in network port or a Neutron port).
    pub vip_port_id: String,
    /// The VIP's subnet.
    pub vip_subnet_id: String,
    /// The VIP's network.
    pub vip_network_id: String,
    /// QoS policy of the VIP port.
    pub vip_qos_policy_id: Option<String>,
    /// Further addresses it answers on, each on another subnet of the VIP's network (dual-stack
    /// VIPs, Octavia API 2.26); empty for most.
    #[serde(default)]
    pub additional_vips: Vec<AdditionalVip>,
    /// The router behind the VIP's subnet, as the network back-end found it when the VIP was
    /// allocated (Neutron: the router with an interface on the subnet); `None` where it knows
    /// of none. Not an Octavia field: drivers that place a load balancer by its router read it.
    #[serde(default)]
    pub vip_router_id: Option<String>,
    /// Where its driver placed it when it was created (the F5 driver: the name of a BIG-IP
    /// pair), kept for its whole life; `None` for drivers that do not place and for rows stored
    /// before placement. Not an Octavia field: the driver reads it from the tree it is handed.
    #[serde(default)]
    pub placement: Option<String>,
    /// The provider (driver) that realizes it.
    pub provider: String,
    /// Flavor it was created with.
    pub flavor_id: Option<String>,
    /// Availability zone it was created in.
    pub availability_zone: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: Option<String>,
}

/// A further address of a load balancer: every listener answers on it as on the VIP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdditionalVip {
    /// Its subnet (of the VIP's network, not the VIP's own).
    pub subnet_id: String,
    /// Its address.
    pub ip_address: String,
}

/// A listener: a protocol and port on the load balancer's VIP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listener {
    /// Its id.
    pub id: String,
    /// Owning project.
    pub project_id: Option<String>,
    /// The load balancer it belongs to.
    pub loadbalancer_id: String,
    /// Name.
    pub name: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Whether it should serve.
    pub admin_state_up: bool,
    /// Life-cycle state.
    pub provisioning_status: ProvisioningStatus,
    /// Data-plane state.
    pub operating_status: OperatingStatus,
    /// Protocol.
    pub protocol: ListenerProtocol,
    /// Port on the VIP.
    pub protocol_port: i64,
    /// Maximum concurrent connections, -1 for unlimited.
    pub connection_limit: i64,
    /// Certificate container for TERMINATED_HTTPS.
    pub default_tls_container_ref: Option<String>,
    /// Extra certificates chosen by SNI.
    pub sni_container_refs: Vec<String>,
    /// Pool that gets requests no L7 policy takes.
    pub default_pool_id: Option<String>,
    /// Headers inserted into requests to members.
    pub insert_headers: BTreeMap<String, String>,
    /// Client inactivity timeout, ms.
    pub timeout_client_data: i64,
    /// Member connect timeout, ms.
    pub timeout_member_connect: i64,
    /// Member inactivity timeout, ms.
    pub timeout_member_data: i64,
    /// Time to wait for content inspection, ms.
    pub timeout_tcp_inspect: i64,
    /// Tags.
    pub tags: Vec<String>,
    /// CA for client certificates.
    pub client_ca_tls_container_ref: Option<String>,
    /// Client certificate mode.
    pub client_authentication: ClientAuthentication,
    /// CRL for client certificates.
    pub client_crl_container_ref: Option<String>,
    /// Source CIDRs allowed to connect (empty: all).
    pub allowed_cidrs: Vec<String>,
    /// OpenSSL cipher string for TLS listeners.
    pub tls_ciphers: Option<String>,
    /// Allowed TLS versions for TLS listeners.
    pub tls_versions: Option<Vec<String>>,
    /// ALPN protocols offered by TLS listeners.
    pub alpn_protocols: Option<Vec<String>>,
    /// HSTS max-age, seconds.
    pub hsts_max_age: Option<i64>,
    /// HSTS includeSubDomains.
    pub hsts_include_subdomains: bool,
    /// HSTS preload.
    pub hsts_preload: bool,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: Option<String>,
}

/// Session persistence of a pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionPersistence {
    /// How clients are recognized.
    #[serde(rename = "type")]
    pub kind: SessionPersistenceType,
    /// Cookie name for APP_COOKIE.
    #[serde(default)]
    pub cookie_name: Option<String>,
    /// Timeout for UDP/SCTP persistence, seconds.
    #[serde(default, deserialize_with = "crate::wsme::convert")]
    pub persistence_timeout: Option<i64>,
    /// Netmask for UDP/SCTP persistence.
    #[serde(default)]
    pub persistence_granularity: Option<String>,
}

/// A pool of members that listeners and L7 policies send traffic to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pool {
    /// Its id.
    pub id: String,
    /// Owning project.
    pub project_id: Option<String>,
    /// The load balancer it belongs to.
    pub loadbalancer_id: String,
    /// Name.
    pub name: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Whether it should serve.
    pub admin_state_up: bool,
    /// Life-cycle state.
    pub provisioning_status: ProvisioningStatus,
    /// Data-plane state.
    pub operating_status: OperatingStatus,
    /// Protocol towards members.
    pub protocol: PoolProtocol,
    /// Balancing algorithm.
    pub lb_algorithm: LbAlgorithm,
    /// Session persistence, if any.
    pub session_persistence: Option<SessionPersistence>,
    /// Client certificate presented to members.
    pub tls_container_ref: Option<String>,
    /// CA to verify members.
    pub ca_tls_container_ref: Option<String>,
    /// CRL to verify members.
    pub crl_container_ref: Option<String>,
    /// Whether to speak TLS to members.
    pub tls_enabled: bool,
    /// Cipher string towards members.
    pub tls_ciphers: Option<String>,
    /// TLS versions towards members.
    pub tls_versions: Option<Vec<String>>,
    /// ALPN protocols towards members.
    pub alpn_protocols: Option<Vec<String>>,
    /// Tags.
    pub tags: Vec<String>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: Option<String>,
}

/// A backend server in a pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// Its id.
    pub id: String,
    /// Owning project.
    pub project_id: Option<String>,
    /// The load balancer it belongs to.
    pub loadbalancer_id: String,
    /// Its pool.
    pub pool_id: String,
    /// Name.
    pub name: Option<String>,
    /// Whether it should get traffic.
    pub admin_state_up: bool,
    /// Life-cycle state.
    pub provisioning_status: ProvisioningStatus,
    /// Data-plane state.
    pub operating_status: OperatingStatus,
    /// Its IP address.
    pub address: String,
    /// Its port.
    pub protocol_port: i64,
    /// Relative share of traffic; 0 drains it.
    pub weight: i64,
    /// Only used when every non-backup member is down.
    pub backup: bool,
    /// Subnet the address is on.
    pub subnet_id: Option<String>,
    /// Address health checks go to instead.
    pub monitor_address: Option<String>,
    /// Port health checks go to instead.
    pub monitor_port: Option<i64>,
    /// Tags.
    pub tags: Vec<String>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: Option<String>,
}

/// The health monitor of a pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthMonitor {
    /// Its id.
    pub id: String,
    /// Owning project.
    pub project_id: Option<String>,
    /// The load balancer it belongs to.
    pub loadbalancer_id: String,
    /// The pool it watches.
    pub pool_id: String,
    /// Name.
    pub name: Option<String>,
    /// Check type.
    #[serde(rename = "type")]
    pub kind: HealthMonitorType,
    /// Seconds between checks.
    pub delay: i64,
    /// Seconds a check may take.
    pub timeout: i64,
    /// Successes before a member is up.
    pub max_retries: i64,
    /// Failures before a member is down.
    pub max_retries_down: i64,
    /// HTTP method (HTTP/HTTPS monitors).
    pub http_method: Option<HttpMethod>,
    /// Request path (HTTP/HTTPS monitors).
    pub url_path: Option<String>,
    /// Status codes that count as healthy (HTTP/HTTPS monitors).
    pub expected_codes: Option<String>,
    /// HTTP version of the check request.
    pub http_version: Option<f64>,
    /// Host header of the check request.
    pub domain_name: Option<String>,
    /// Whether it runs.
    pub admin_state_up: bool,
    /// Life-cycle state.
    pub provisioning_status: ProvisioningStatus,
    /// Data-plane state.
    pub operating_status: OperatingStatus,
    /// Tags.
    pub tags: Vec<String>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: Option<String>,
}

/// An L7 policy of a listener.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct L7Policy {
    /// Its id.
    pub id: String,
    /// Owning project.
    pub project_id: Option<String>,
    /// The load balancer it belongs to.
    pub loadbalancer_id: String,
    /// Its listener.
    pub listener_id: String,
    /// Name.
    pub name: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Whether it applies.
    pub admin_state_up: bool,
    /// Life-cycle state.
    pub provisioning_status: ProvisioningStatus,
    /// Data-plane state.
    pub operating_status: OperatingStatus,
    /// What it does.
    pub action: L7PolicyAction,
    /// Target pool of REDIRECT_TO_POOL.
    pub redirect_pool_id: Option<String>,
    /// Target of REDIRECT_TO_URL.
    pub redirect_url: Option<String>,
    /// Target of REDIRECT_PREFIX.
    pub redirect_prefix: Option<String>,
    /// Status code of redirects.
    pub redirect_http_code: Option<i64>,
    /// 1-based order among the listener's policies.
    pub position: i64,
    /// Tags.
    pub tags: Vec<String>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: Option<String>,
}

/// A rule of an L7 policy; a policy matches when all its rules do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct L7Rule {
    /// Its id.
    pub id: String,
    /// Owning project.
    pub project_id: Option<String>,
    /// The load balancer it belongs to.
    pub loadbalancer_id: String,
    /// Its policy.
    pub l7policy_id: String,
    /// What it inspects.
    #[serde(rename = "type")]
    pub kind: L7RuleType,
    /// How it compares.
    pub compare_type: L7CompareType,
    /// Header, cookie or DN field name.
    pub key: Option<String>,
    /// Value to compare with.
    pub value: String,
    /// Negate the match.
    pub invert: bool,
    /// Whether it applies.
    pub admin_state_up: bool,
    /// Life-cycle state.
    pub provisioning_status: ProvisioningStatus,
    /// Data-plane state.
    pub operating_status: OperatingStatus,
    /// Tags.
    pub tags: Vec<String>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: Option<String>,
}

/// Traffic counters of a listener (or, summed, of a load balancer).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Stats {
    /// Bytes received from clients.
    pub bytes_in: i64,
    /// Bytes sent to clients.
    pub bytes_out: i64,
    /// Connections open now.
    pub active_connections: i64,
    /// Connections since the start.
    pub total_connections: i64,
    /// Requests that failed.
    pub request_errors: i64,
}

impl std::ops::Add for Stats {
    type Output = Stats;
    fn add(self, o: Stats) -> Stats {
        Stats {
            bytes_in: self.bytes_in + o.bytes_in,
            bytes_out: self.bytes_out + o.bytes_out,
            active_connections: self.active_connections + o.active_connections,
            total_connections: self.total_connections + o.total_connections,
            request_errors: self.request_errors + o.request_errors,
        }
    }
}
