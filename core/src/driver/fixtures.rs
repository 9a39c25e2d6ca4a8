//! Sample load balancer trees for tests: one builder per object of the model, each filling every
//! field a test does not name with a sensible default, and [`graph`] to hold them.
//!
//! A test overrides what it cares about with struct update syntax or by assignment:
//!
//! ```
//! use fulcrum_core::driver::fixtures::{self, Object};
//! use fulcrum_core::model::{Listener, ListenerProtocol};
//!
//! let mut g = fixtures::graph(fixtures::load_balancer("lb1"));
//! g.listeners.push(Listener {
//!     default_pool_id: Some("p1".into()),
//!     ..fixtures::listener("l1", "lb1", ListenerProtocol::Http, 80)
//! });
//! g.listeners
//!     .push(fixtures::listener("l2", "lb1", ListenerProtocol::Tcp, 81).pending_delete());
//! assert_eq!(g.live_listeners().len(), 1);
//! ```
//!
//! The defaults: every object is enabled, ACTIVE and ONLINE, without project, name, description,
//! tags or timestamps; everything optional is absent, every list and map empty, and numbers are
//! Octavia's defaults where it has them. Compiled for this crate's tests and, with the
//! `fixtures` feature, for other crates' tests.

use std::collections::BTreeMap;

use super::LoadBalancerGraph;
use crate::model::{
    ClientAuthentication, HealthMonitor, HealthMonitorType, L7CompareType, L7Policy,
    L7PolicyAction, L7Rule, L7RuleType, LbAlgorithm, Listener, ListenerProtocol, LoadBalancer,
    Member, OperatingStatus, Pool, PoolProtocol, ProvisioningStatus,
};

/// `$model { fields }` with the bookkeeping every object of the model has filled in: enabled,
/// ACTIVE and ONLINE, without project, tags or timestamps.
macro_rules! object {
    ($model:ident { $($field:ident $(: $value:expr)?),+ $(,)? }) => {
        $model {
            $($field $(: $value)?,)+
            project_id: None,
            admin_state_up: true,
            provisioning_status: ProvisioningStatus::Active,
            operating_status: OperatingStatus::Online,
            tags: vec![],
            created_at: String::new(),
            updated_at: None,
        }
    };
}

/// A load balancer with a loopback VIP address (`127.0.0.1`, so that a rendered configuration can
/// be bound anywhere) on VIP port `port`, subnet `subnet` and network `net`, realized by the
/// `noop` provider, without flavor or availability zone.
pub fn load_balancer(id: &str) -> LoadBalancer {
    object!(LoadBalancer {
        id: id.into(),
        name: None,
        description: None,
        vip_address: "127.0.0.1".into(),
        vip_port_id: "port".into(),
        vip_subnet_id: "subnet".into(),
        vip_network_id: "net".into(),
        vip_qos_policy_id: None,
        vip_router_id: None,
        placement: None,
        additional_vips: vec![],
        provider: "noop".into(),
        flavor_id: None,
        availability_zone: None,
    })
}

/// The tree of `load_balancer` with nothing below it yet and no flavor or zone metadata.
pub fn graph(load_balancer: LoadBalancer) -> LoadBalancerGraph {
    LoadBalancerGraph {
        load_balancer,
        listeners: vec![],
        pools: vec![],
        members: vec![],
        health_monitors: vec![],
        l7policies: vec![],
        l7rules: vec![],
        flavor_metadata: serde_json::Map::new(),
        availability_zone_metadata: serde_json::Map::new(),
    }
}

/// A listener of load balancer `lb` on `protocol` and `port`, without default pool, TLS, inserted
/// headers or CIDR limits; unlimited connections and Octavia's default timeouts (client and
/// member data 50 s, member connect 5 s, no TCP inspection).
pub fn listener(id: &str, lb: &str, protocol: ListenerProtocol, port: i64) -> Listener {
    object!(Listener {
        id: id.into(),
        loadbalancer_id: lb.into(),
        name: None,
        description: None,
        protocol,
        protocol_port: port,
        connection_limit: -1,
        default_tls_container_ref: None,
        sni_container_refs: vec![],
        default_pool_id: None,
        insert_headers: BTreeMap::new(),
        timeout_client_data: 50000,
        timeout_member_connect: 5000,
        timeout_member_data: 50000,
        timeout_tcp_inspect: 0,
        client_ca_tls_container_ref: None,
        client_authentication: ClientAuthentication::None,
        client_crl_container_ref: None,
        allowed_cidrs: vec![],
        tls_ciphers: None,
        tls_versions: None,
        alpn_protocols: None,
        hsts_max_age: None,
        hsts_include_subdomains: false,
        hsts_preload: false,
    })
}

/// A pool of load balancer `lb` speaking `protocol` to its members and balancing by
/// `lb_algorithm`, without session persistence or TLS towards members.
pub fn pool(id: &str, lb: &str, protocol: PoolProtocol, lb_algorithm: LbAlgorithm) -> Pool {
    object!(Pool {
        id: id.into(),
        loadbalancer_id: lb.into(),
        name: None,
        description: None,
        protocol,
        lb_algorithm,
        session_persistence: None,
        tls_container_ref: None,
        ca_tls_container_ref: None,
        crl_container_ref: None,
        tls_enabled: false,
        tls_ciphers: None,
        tls_versions: None,
        alpn_protocols: None,
    })
}

/// A member of pool `pool_id` (of load balancer `lb`) at `address` and `port`, of weight 1, not a
/// backup, checked at its own address and port.
pub fn member(id: &str, lb: &str, pool_id: &str, address: &str, port: i64) -> Member {
    object!(Member {
        id: id.into(),
        loadbalancer_id: lb.into(),
        pool_id: pool_id.into(),
        name: None,
        address: address.into(),
        protocol_port: port,
        weight: 1,
        backup: false,
        subnet_id: None,
        monitor_address: None,
        monitor_port: None,
    })
}

/// A health monitor of pool `pool_id` (of load balancer `lb`) checking by `kind` every 5 seconds
/// with a 3-second timeout, a member up after 2 successes and down after 3 failures; no HTTP
/// options.
pub fn health_monitor(id: &str, lb: &str, pool_id: &str, kind: HealthMonitorType) -> HealthMonitor {
    object!(HealthMonitor {
        id: id.into(),
        loadbalancer_id: lb.into(),
        pool_id: pool_id.into(),
        name: None,
        kind,
        delay: 5,
        timeout: 3,
        max_retries: 2,
        max_retries_down: 3,
        http_method: None,
        url_path: None,
        expected_codes: None,
        http_version: None,
        domain_name: None,
    })
}

/// An L7 policy of listener `listener_id` (of load balancer `lb`) at `position` doing `action`,
/// without any redirect target (a test that redirects sets the one its action needs).
pub fn l7policy(
    id: &str,
    lb: &str,
    listener_id: &str,
    position: i64,
    action: L7PolicyAction,
) -> L7Policy {
    object!(L7Policy {
        id: id.into(),
        loadbalancer_id: lb.into(),
        listener_id: listener_id.into(),
        name: None,
        description: None,
        action,
        redirect_pool_id: None,
        redirect_url: None,
        redirect_prefix: None,
        redirect_http_code: None,
        position,
    })
}

/// A rule of L7 policy `policy_id` (of load balancer `lb`) comparing what `kind` inspects with
/// `value` by `compare_type`, without key, not inverted.
pub fn l7rule(
    id: &str,
    lb: &str,
    policy_id: &str,
    kind: L7RuleType,
    compare_type: L7CompareType,
    value: &str,
) -> L7Rule {
    object!(L7Rule {
        id: id.into(),
        loadbalancer_id: lb.into(),
        l7policy_id: policy_id.into(),
        kind,
        compare_type,
        key: None,
        value: value.into(),
        invert: false,
    })
}

/// What every object of a tree has: an administrative switch and a provisioning status, so that
/// a test can switch any of them off or move it along its life cycle in one call.
pub trait Object: Sized {
    /// The same object with `admin_state_up` false.
    fn disabled(self) -> Self;

    /// The same object in provisioning status `status`.
    fn in_status(self, status: ProvisioningStatus) -> Self;

    /// The same object marked for deletion (PENDING_DELETE): no longer live.
    fn pending_delete(self) -> Self {
        self.in_status(ProvisioningStatus::PendingDelete)
    }
}

/// `impl Object` for each model type named.
macro_rules! impl_object {
    ($($model:ty),+ $(,)?) => {$(
        impl Object for $model {
            fn disabled(mut self) -> Self {
                self.admin_state_up = false;
                self
            }

            fn in_status(mut self, status: ProvisioningStatus) -> Self {
                self.provisioning_status = status;
                self
            }
        }
    )+};
}

impl_object!(
    LoadBalancer,
    Listener,
    Pool,
    Member,
    HealthMonitor,
    L7Policy,
    L7Rule
);
