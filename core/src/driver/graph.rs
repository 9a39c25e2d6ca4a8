//! [`LoadBalancerGraph`]: the whole desired load balancer a driver is handed.
//!
//! Besides the plain lookups by parent, the graph answers the questions that every consumer of a
//! tree asks the same way: which objects are live (not on their way out), in which order a
//! backend sees them, which L7 policies take effect, which listeners and policies send traffic to
//! a pool, and which certificate references the tree uses. Drivers render from these answers and
//! the API shows them, so the two cannot disagree on what a tree means.
//!
//! A graph built for a driver already leaves out rows marked for deletion; one built from every
//! stored row (the status tree) keeps them, which is why the `live_*` queries filter anyway.

use crate::model::{
    HealthMonitor, L7Policy, L7PolicyAction, L7Rule, Listener, LoadBalancer, Member, Pool,
    ProvisioningStatus,
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

    /// Whether an object in this provisioning status is still part of the desired state: neither
    /// marked for deletion nor deleted.
    pub fn is_live(status: ProvisioningStatus) -> bool {
        !matches!(
            status,
            ProvisioningStatus::PendingDelete | ProvisioningStatus::Deleted
        )
    }

    /// The live listeners, by port and then id.
    pub fn live_listeners(&self) -> Vec<&Listener> {
        let mut listeners: Vec<&Listener> = self
            .listeners
            .iter()
            .filter(|l| Self::is_live(l.provisioning_status))
            .collect();
        listeners.sort_by(|a, b| (a.protocol_port, &a.id).cmp(&(b.protocol_port, &b.id)));
        listeners
    }

    /// The live pools, by id.
    pub fn live_pools(&self) -> Vec<&Pool> {
        let mut pools: Vec<&Pool> = self
            .pools
            .iter()
            .filter(|p| Self::is_live(p.provisioning_status))
            .collect();
        pools.sort_by(|a, b| a.id.cmp(&b.id));
        pools
    }

    /// A live pool by id.
    pub fn live_pool(&self, id: &str) -> Option<&Pool> {
        self.pools
            .iter()
            .find(|p| p.id == id && Self::is_live(p.provisioning_status))
    }

    /// The live members of one pool, by id.
    pub fn live_members_of(&self, pool_id: &str) -> Vec<&Member> {
        let mut members: Vec<&Member> = self
            .members
            .iter()
            .filter(|m| m.pool_id == pool_id && Self::is_live(m.provisioning_status))
            .collect();
        members.sort_by(|a, b| a.id.cmp(&b.id));
        members
    }

    /// The live health monitor of one pool, if it has one.
    pub fn live_health_monitor_of(&self, pool_id: &str) -> Option<&HealthMonitor> {
        self.health_monitors
            .iter()
            .find(|h| h.pool_id == pool_id && Self::is_live(h.provisioning_status))
    }

    /// The L7 policies that take effect on a listener, in the order they are evaluated (position,
    /// then id), each with its rules: a policy counts when it is live and enabled and has at
    /// least one rule that is (a policy without rules matches nothing).
    pub fn effective_policies_of(&self, listener_id: &str) -> Vec<(&L7Policy, Vec<&L7Rule>)> {
        let mut policies: Vec<&L7Policy> = self
            .l7policies
            .iter()
            .filter(|p| p.listener_id == listener_id && p.admin_state_up)
            .filter(|p| Self::is_live(p.provisioning_status))
            .collect();
        policies.sort_by(|a, b| (a.position, &a.id).cmp(&(b.position, &b.id)));
        policies
            .into_iter()
            .map(|p| (p, self.effective_rules_of(&p.id)))
            .filter(|(_, rules)| !rules.is_empty())
            .collect()
    }

    /// The live, enabled rules of one L7 policy, by id (all of them must match).
    pub fn effective_rules_of(&self, policy_id: &str) -> Vec<&L7Rule> {
        let mut rules: Vec<&L7Rule> = self
            .l7rules
            .iter()
            .filter(|r| r.l7policy_id == policy_id && r.admin_state_up)
            .filter(|r| Self::is_live(r.provisioning_status))
            .collect();
        rules.sort_by(|a, b| a.id.cmp(&b.id));
        rules
    }

    /// The live policies that redirect to a pool, by listener, position and id.
    pub fn policies_using(&self, pool_id: &str) -> Vec<&L7Policy> {
        let mut policies: Vec<&L7Policy> = self
            .l7policies
            .iter()
            .filter(|p| redirects_to(p, pool_id) && Self::is_live(p.provisioning_status))
            .collect();
        policies.sort_by(|a, b| {
            (&a.listener_id, a.position, &a.id).cmp(&(&b.listener_id, b.position, &b.id))
        });
        policies
    }

    /// The live listeners that send traffic to a pool, as their default pool or through a live
    /// L7 policy, in [`Self::live_listeners`] order.
    pub fn listeners_using(&self, pool_id: &str) -> Vec<&Listener> {
        let policies = self.policies_using(pool_id);
        self.live_listeners()
            .into_iter()
            .filter(|l| {
                l.default_pool_id.as_deref() == Some(pool_id)
                    || policies.iter().any(|p| p.listener_id == l.id)
            })
            .collect()
    }

    /// Every certificate container reference the live listeners and pools use (TLS, SNI, client
    /// CA and CRL of listeners; client certificate, CA and CRL of pools), sorted, each once.
    pub fn certificate_references(&self) -> Vec<&str> {
        let mut refs: Vec<&str> = Vec::new();
        for l in self.live_listeners() {
            refs.extend(l.default_tls_container_ref.as_deref());
            refs.extend(l.sni_container_refs.iter().map(String::as_str));
            refs.extend(l.client_ca_tls_container_ref.as_deref());
            refs.extend(l.client_crl_container_ref.as_deref());
        }
        for p in self.live_pools() {
            refs.extend(p.tls_container_ref.as_deref());
            refs.extend(p.ca_tls_container_ref.as_deref());
            refs.extend(p.crl_container_ref.as_deref());
        }
        refs.sort_unstable();
        refs.dedup();
        refs
    }
}

/// Whether a policy sends matching requests to this pool.
fn redirects_to(policy: &L7Policy, pool_id: &str) -> bool {
    policy.action == L7PolicyAction::RedirectToPool
        && policy.redirect_pool_id.as_deref() == Some(pool_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::fixtures::{self, Object};
    use crate::model::{
        HealthMonitorType, L7CompareType, L7RuleType, LbAlgorithm, ListenerProtocol, PoolProtocol,
    };

    const LB: &str = "lb1";

    fn listener(id: &str, port: i64) -> Listener {
        fixtures::listener(id, LB, ListenerProtocol::Http, port)
    }

    fn pool(id: &str) -> Pool {
        fixtures::pool(id, LB, PoolProtocol::Http, LbAlgorithm::RoundRobin)
    }

    fn member(id: &str, pool_id: &str) -> Member {
        fixtures::member(id, LB, pool_id, "10.0.0.1", 80)
    }

    fn monitor(id: &str, pool_id: &str) -> HealthMonitor {
        fixtures::health_monitor(id, LB, pool_id, HealthMonitorType::Tcp)
    }

    fn policy(id: &str, listener_id: &str, position: i64) -> L7Policy {
        fixtures::l7policy(id, LB, listener_id, position, L7PolicyAction::Reject)
    }

    fn rule(id: &str, policy_id: &str) -> L7Rule {
        let (kind, compare) = (L7RuleType::Path, L7CompareType::StartsWith);
        fixtures::l7rule(id, LB, policy_id, kind, compare, "/")
    }

    fn graph() -> LoadBalancerGraph {
        fixtures::graph(fixtures::load_balancer(LB))
    }

    fn ids<T>(items: &[&T], id: impl Fn(&T) -> &str) -> Vec<String> {
        items.iter().map(|t| id(t).to_string()).collect()
    }

    #[test]
    fn live_objects_in_backend_order() {
        let mut g = graph();
        g.listeners = vec![
            listener("l-b", 443),
            listener("l-a", 443),
            listener("l-c", 80),
            listener("l-gone", 8080).pending_delete(),
        ];
        g.pools = vec![pool("p2"), pool("p1"), pool("p0").pending_delete()];
        g.members = vec![
            member("m2", "p1"),
            member("m1", "p1"),
            member("m0", "p1").pending_delete(),
            member("m3", "p2"),
        ];
        g.health_monitors = vec![monitor("h0", "p1").pending_delete(), monitor("h1", "p1")];

        assert_eq!(ids(&g.live_listeners(), |l| &l.id), ["l-c", "l-a", "l-b"]);
        assert_eq!(ids(&g.live_pools(), |p| &p.id), ["p1", "p2"]);
        assert!(g.live_pool("p0").is_none() && g.pool("p0").is_some());
        assert_eq!(ids(&g.live_members_of("p1"), |m| &m.id), ["m1", "m2"]);
        assert_eq!(
            g.live_health_monitor_of("p1").map(|h| h.id.as_str()),
            Some("h1")
        );
        assert!(g.live_health_monitor_of("p2").is_none());
        assert!(LoadBalancerGraph::is_live(
            ProvisioningStatus::PendingUpdate
        ));
        assert!(!LoadBalancerGraph::is_live(ProvisioningStatus::Deleted));
    }

    #[test]
    fn effective_policies_are_enabled_live_and_have_rules() {
        let mut g = graph();
        g.listeners = vec![listener("l1", 80)];
        g.l7policies = vec![
            policy("pol-2", "l1", 2),
            policy("pol-1b", "l1", 1),
            policy("pol-1a", "l1", 1),
            policy("pol-off", "l1", 3).disabled(),
            policy("pol-gone", "l1", 4).pending_delete(),
            policy("pol-empty", "l1", 5),
            policy("pol-other", "l2", 1),
        ];
        g.l7rules = vec![
            rule("r2", "pol-2"),
            rule("r1", "pol-2"),
            rule("r-off", "pol-2").disabled(),
            rule("r-gone", "pol-2").pending_delete(),
            rule("r3", "pol-1a"),
            rule("r4", "pol-1b"),
            rule("r5", "pol-off"),
            rule("r6", "pol-gone"),
            rule("r7", "pol-empty").disabled(),
        ];
        let effective: Vec<(&str, Vec<&str>)> = g
            .effective_policies_of("l1")
            .into_iter()
            .map(|(p, rules)| (p.id.as_str(), rules.iter().map(|r| r.id.as_str()).collect()))
            .collect();
        assert_eq!(
            effective,
            [
                ("pol-1a", vec!["r3"]),
                ("pol-1b", vec!["r4"]),
                ("pol-2", vec!["r1", "r2"])
            ]
        );
    }

    #[test]
    fn pools_are_used_by_default_and_by_redirecting_policies() {
        let mut g = graph();
        let to_p1 = |policy: L7Policy| L7Policy {
            action: L7PolicyAction::RedirectToPool,
            redirect_pool_id: Some("p1".into()),
            ..policy
        };
        let by_default = |listener: Listener| Listener {
            default_pool_id: Some("p1".into()),
            ..listener
        };
        g.listeners = vec![
            by_default(listener("l-default", 80)),
            listener("l-redirect", 81),
            listener("l-reject", 82),
            by_default(listener("l-gone", 83)).pending_delete(),
        ];
        g.pools = vec![pool("p1"), pool("p2")];
        g.l7policies = vec![
            to_p1(policy("pol-b", "l-redirect", 2)),
            to_p1(policy("pol-a", "l-redirect", 1)).disabled(),
            to_p1(policy("pol-gone", "l-reject", 1)).pending_delete(),
            L7Policy {
                redirect_pool_id: Some("p1".into()),
                ..policy("pol-reject", "l-reject", 2)
            },
        ];
        assert_eq!(ids(&g.policies_using("p1"), |p| &p.id), ["pol-a", "pol-b"]);
        assert_eq!(
            ids(&g.listeners_using("p1"), |l| &l.id),
            ["l-default", "l-redirect"]
        );
        assert!(g.listeners_using("p2").is_empty() && g.policies_using("p2").is_empty());
    }

    #[test]
    fn certificate_references_of_live_listeners_and_pools() {
        let mut g = graph();
        g.listeners = vec![
            Listener {
                protocol: ListenerProtocol::TerminatedHttps,
                default_tls_container_ref: Some("tls".into()),
                sni_container_refs: vec!["sni".into(), "tls".into()],
                client_ca_tls_container_ref: Some("ca".into()),
                client_crl_container_ref: Some("crl".into()),
                ..listener("l1", 443)
            },
            Listener {
                default_tls_container_ref: Some("old".into()),
                ..listener("l-gone", 444)
            }
            .pending_delete(),
        ];
        g.pools = vec![Pool {
            tls_container_ref: Some("client".into()),
            ca_tls_container_ref: Some("ca".into()),
            crl_container_ref: Some("pool-crl".into()),
            ..pool("p1")
        }];
        assert_eq!(
            g.certificate_references(),
            ["ca", "client", "crl", "pool-crl", "sni", "tls"]
        );
    }
}
