//! The driver seam: what every backend (HAProxy, NSX-T, F5, noop) implements.
//!
//! Drivers are level-triggered. [`Driver::apply`] is handed the *whole* desired load balancer and
//! makes the backend match it; applying the same graph twice changes nothing. Deltas are an
//! optimization a driver may make internally, never part of this interface.

use std::collections::HashMap;

use async_trait::async_trait;

use crate::model::{
    HealthMonitor, HealthMonitorType, L7Policy, L7Rule, LbAlgorithm, Listener, ListenerProtocol,
    LoadBalancer, Member, OperatingStatus, Pool, PoolProtocol, Stats,
};

/// The desired state of one load balancer: the object and everything below it, with the provider
/// metadata of its flavor and availability zone (what Octavia hands a provider driver on create).
///
/// Objects marked for deletion are not part of it: a driver removes from the backend whatever the
/// graph no longer contains.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadBalancerGraph {
    /// The load balancer.
    pub load_balancer: LoadBalancer,
    /// Its listeners.
    pub listeners: Vec<Listener>,
    /// Its pools.
    pub pools: Vec<Pool>,
    /// The members of all its pools.
    pub members: Vec<Member>,
    /// The health monitors of all its pools.
    pub health_monitors: Vec<HealthMonitor>,
    /// The L7 policies of all its listeners.
    pub l7policies: Vec<L7Policy>,
    /// The rules of all those policies.
    pub l7rules: Vec<L7Rule>,
    /// The `flavor_data` of the profile behind the load balancer's `flavor_id`, as this provider's
    /// [`Driver::validate_flavor`] accepted it when the profile was stored; empty when the load
    /// balancer has no flavor (or its flavor can no longer be resolved).
    pub flavor_metadata: serde_json::Map<String, serde_json::Value>,
    /// The `availability_zone_data` of the profile behind its `availability_zone`, as
    /// [`Driver::validate_availability_zone`] accepted it; empty when it has no zone (or its zone
    /// can no longer be resolved).
    pub availability_zone_metadata: serde_json::Map<String, serde_json::Value>,
}

impl LoadBalancerGraph {
    /// The members of one pool.
    pub fn members_of<'a>(&'a self, pool_id: &'a str) -> impl Iterator<Item = &'a Member> + 'a {
        self.members.iter().filter(move |m| m.pool_id == pool_id)
    }

    /// The health monitor of one pool, if it has one.
    pub fn health_monitor_of(&self, pool_id: &str) -> Option<&HealthMonitor> {
        self.health_monitors.iter().find(|h| h.pool_id == pool_id)
    }

    /// The L7 policies of one listener, in position order.
    pub fn policies_of(&self, listener_id: &str) -> Vec<&L7Policy> {
        let mut policies: Vec<&L7Policy> = self
            .l7policies
            .iter()
            .filter(|p| p.listener_id == listener_id)
            .collect();
        policies.sort_by_key(|p| p.position);
        policies
    }

    /// The rules of one L7 policy.
    pub fn rules_of<'a>(&'a self, policy_id: &'a str) -> impl Iterator<Item = &'a L7Rule> + 'a {
        self.l7rules
            .iter()
            .filter(move |r| r.l7policy_id == policy_id)
    }

    /// A pool by id.
    pub fn pool(&self, id: &str) -> Option<&Pool> {
        self.pools.iter().find(|p| p.id == id)
    }
}

/// What a backend can realize. The API refuses anything outside it before storing a thing.
#[derive(Debug, Clone, PartialEq)]
pub struct Capabilities {
    /// Listener protocols it serves.
    pub listener_protocols: Vec<ListenerProtocol>,
    /// Pool protocols it speaks to members.
    pub pool_protocols: Vec<PoolProtocol>,
    /// Balancing algorithms.
    pub lb_algorithms: Vec<LbAlgorithm>,
    /// Health monitor types.
    pub health_monitor_types: Vec<HealthMonitorType>,
    /// Listener protocols on which L7 policies work.
    pub l7_listener_protocols: Vec<ListenerProtocol>,
}

impl Capabilities {
    /// Everything Octavia's API can express.
    pub fn everything() -> Self {
        Capabilities {
            listener_protocols: ListenerProtocol::ALL.to_vec(),
            pool_protocols: PoolProtocol::ALL.to_vec(),
            lb_algorithms: LbAlgorithm::ALL.to_vec(),
            health_monitor_types: HealthMonitorType::ALL.to_vec(),
            l7_listener_protocols: ListenerProtocol::ALL.to_vec(),
        }
    }
}

/// How a driver call failed, which decides what the reconciler does next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DriverError {
    /// Worth retrying (backend busy, timeout, connection refused).
    #[error("transient backend error: {0}")]
    Transient(String),
    /// Retrying will not help (the backend refused the configuration).
    #[error("backend error: {0}")]
    Permanent(String),
}

/// What the data plane says about a load balancer tree right now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    /// Operating status per object id (load balancer, listeners, pools, members, monitors, L7).
    pub operating_status: HashMap<String, OperatingStatus>,
    /// Counters per listener id.
    pub listener_stats: HashMap<String, Stats>,
}

/// A backend that realizes load balancers.
#[async_trait]
pub trait Driver: Send + Sync {
    /// The provider name clients select it by (`provider` of a load balancer).
    fn name(&self) -> &str;

    /// A one-line description for the providers list.
    fn description(&self) -> &str;

    /// What it can realize.
    fn capabilities(&self) -> Capabilities;

    /// Whether [`Driver::observe`] reads a live data plane, so that statuses are worth polling
    /// between changes. A driver that realizes nothing says no.
    fn observes_data_plane(&self) -> bool {
        false
    }

    /// Make the backend hold exactly this load balancer. Idempotent.
    async fn apply(&self, graph: &LoadBalancerGraph) -> Result<(), DriverError>;

    /// Remove the load balancer and everything the driver created for it. Idempotent: removing
    /// something that is not there succeeds.
    async fn remove(&self, load_balancer_id: &str) -> Result<(), DriverError>;

    /// Read operating status and counters of a realized load balancer.
    async fn observe(&self, graph: &LoadBalancerGraph) -> Result<Observation, DriverError>;

    /// Ids of every load balancer the backend holds that this driver created, so that a full sync
    /// can remove orphans.
    async fn realized_load_balancers(&self) -> Result<Vec<String>, DriverError>;

    /// The flavor metadata keys it understands, as (name, description) pairs (Octavia's
    /// `get_supported_flavor_metadata`). None by default.
    fn flavor_capabilities(&self) -> Vec<(String, String)> {
        Vec::new()
    }

    /// Check the metadata of a flavor profile (Octavia's `validate_flavor`); the error text is
    /// shown to the client. What it accepts reaches [`Driver::apply`] as
    /// [`LoadBalancerGraph::flavor_metadata`]. By default only `{}` is accepted.
    fn validate_flavor(&self, metadata: &serde_json::Value) -> Result<(), String> {
        accept_keys("flavor", metadata, &[])
    }

    /// The availability zone metadata keys it understands, as (name, description) pairs
    /// (Octavia's `get_supported_availability_zone_metadata`). None by default.
    fn availability_zone_capabilities(&self) -> Vec<(String, String)> {
        Vec::new()
    }

    /// Check the metadata of an availability zone profile (Octavia's
    /// `validate_availability_zone`). What it accepts reaches [`Driver::apply`] as
    /// [`LoadBalancerGraph::availability_zone_metadata`]. By default only `{}` is accepted.
    fn validate_availability_zone(&self, metadata: &serde_json::Value) -> Result<(), String> {
        accept_keys("availability zone", metadata, &[])
    }
}

/// Accept a metadata object whose keys are all among `known`; `what` names the metadata in the
/// error ("flavor", "availability zone").
pub fn accept_keys(what: &str, metadata: &serde_json::Value, known: &[&str]) -> Result<(), String> {
    let serde_json::Value::Object(map) = metadata else {
        return Err(format!("The {what} metadata must be a JSON object."));
    };
    let unknown: Vec<&str> = map
        .keys()
        .map(String::as_str)
        .filter(|k| !known.contains(k))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "Unsupported {what} metadata key(s): {}",
            unknown.join(", ")
        ))
    }
}
