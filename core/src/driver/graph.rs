//! [`LoadBalancerGraph`]: the whole desired load balancer a driver is handed.

use crate::model::{HealthMonitor, L7Policy, L7Rule, Listener, LoadBalancer, Member, Pool};

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
    /// [`super::Driver::validate_flavor`] accepted it when the profile was stored; empty when the load
    /// balancer has no flavor (or its flavor can no longer be resolved).
    pub flavor_metadata: serde_json::Map<String, serde_json::Value>,
    /// The `availability_zone_data` of the profile behind its `availability_zone`, as
    /// [`super::Driver::validate_availability_zone`] accepted it; empty when it has no zone (or its zone
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
