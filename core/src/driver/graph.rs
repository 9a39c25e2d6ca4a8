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
    use serde_json::{Value, json};

    use super::*;

    /// An object of the model from the fields a test cares about, over `base`.
    fn object<T: serde::de::DeserializeOwned>(base: Value, fields: Value) -> T {
        serde_json::from_value(with(base, fields)).unwrap()
    }

    fn common(id: &str) -> Value {
        json!({
            "id": id, "loadbalancer_id": "lb", "admin_state_up": true,
            "provisioning_status": "ACTIVE", "operating_status": "ONLINE",
            "tags": [], "created_at": "",
        })
    }

    /// `base` with the fields of `extra` added or replaced.
    fn with(mut base: Value, extra: Value) -> Value {
        if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
            b.extend(e);
        }
        base
    }

    fn listener(id: &str, port: i64, fields: Value) -> Listener {
        let base = with(
            common(id),
            json!({
                "protocol": "HTTP", "protocol_port": port, "connection_limit": -1,
                "sni_container_refs": [], "insert_headers": {}, "timeout_client_data": 50000,
                "timeout_member_connect": 5000, "timeout_member_data": 50000,
                "timeout_tcp_inspect": 0, "client_authentication": "NONE", "allowed_cidrs": [],
                "hsts_include_subdomains": false, "hsts_preload": false,
            }),
        );
        object(base, fields)
    }

    fn pool(id: &str, fields: Value) -> Pool {
        let base = with(
            common(id),
            json!({"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN", "tls_enabled": false}),
        );
        object(base, fields)
    }

    fn member(id: &str, pool_id: &str, fields: Value) -> Member {
        let base = with(
            common(id),
            json!({
                "pool_id": pool_id, "address": "10.0.0.1", "protocol_port": 80,
                "weight": 1, "backup": false,
            }),
        );
        object(base, fields)
    }

    fn monitor(id: &str, pool_id: &str, fields: Value) -> HealthMonitor {
        let base = with(
            common(id),
            json!({
                "pool_id": pool_id, "type": "TCP", "delay": 5, "timeout": 5,
                "max_retries": 3, "max_retries_down": 3,
            }),
        );
        object(base, fields)
    }

    fn policy(id: &str, listener_id: &str, position: i64, fields: Value) -> L7Policy {
        let base = with(
            common(id),
            json!({"listener_id": listener_id, "action": "REJECT", "position": position}),
        );
        object(base, fields)
    }

    fn rule(id: &str, policy_id: &str, fields: Value) -> L7Rule {
        let base = with(
            common(id),
            json!({
                "l7policy_id": policy_id, "type": "PATH", "compare_type": "STARTS_WITH",
                "value": "/", "invert": false,
            }),
        );
        object(base, fields)
    }

    fn graph() -> LoadBalancerGraph {
        LoadBalancerGraph {
            load_balancer: object(
                common("lb"),
                json!({
                    "vip_address": "10.0.0.10", "vip_port_id": "port", "vip_subnet_id": "subnet",
                    "vip_network_id": "net", "provider": "noop",
                }),
            ),
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

    fn gone() -> Value {
        json!({"provisioning_status": "PENDING_DELETE"})
    }

    fn ids<T>(items: &[&T], id: impl Fn(&T) -> &str) -> Vec<String> {
        items.iter().map(|t| id(t).to_string()).collect()
    }

    #[test]
    fn live_objects_in_backend_order() {
        let mut g = graph();
        g.listeners = vec![
            listener("l-b", 443, json!({})),
            listener("l-a", 443, json!({})),
            listener("l-c", 80, json!({})),
            listener("l-gone", 8080, gone()),
        ];
        g.pools = vec![
            pool("p2", json!({})),
            pool("p1", json!({})),
            pool("p0", gone()),
        ];
        g.members = vec![
            member("m2", "p1", json!({})),
            member("m1", "p1", json!({})),
            member("m0", "p1", gone()),
            member("m3", "p2", json!({})),
        ];
        g.health_monitors = vec![monitor("h0", "p1", gone()), monitor("h1", "p1", json!({}))];

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
        g.listeners = vec![listener("l1", 80, json!({}))];
        g.l7policies = vec![
            policy("pol-2", "l1", 2, json!({})),
            policy("pol-1b", "l1", 1, json!({})),
            policy("pol-1a", "l1", 1, json!({})),
            policy("pol-off", "l1", 3, json!({"admin_state_up": false})),
            policy("pol-gone", "l1", 4, gone()),
            policy("pol-empty", "l1", 5, json!({})),
            policy("pol-other", "l2", 1, json!({})),
        ];
        g.l7rules = vec![
            rule("r2", "pol-2", json!({})),
            rule("r1", "pol-2", json!({})),
            rule("r-off", "pol-2", json!({"admin_state_up": false})),
            rule("r-gone", "pol-2", gone()),
            rule("r3", "pol-1a", json!({})),
            rule("r4", "pol-1b", json!({})),
            rule("r5", "pol-off", json!({})),
            rule("r6", "pol-gone", json!({})),
            rule("r7", "pol-empty", json!({"admin_state_up": false})),
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
        g.listeners = vec![
            listener("l-default", 80, json!({"default_pool_id": "p1"})),
            listener("l-redirect", 81, json!({})),
            listener("l-reject", 82, json!({})),
            listener("l-gone", 83, with(gone(), json!({"default_pool_id": "p1"}))),
        ];
        g.pools = vec![pool("p1", json!({})), pool("p2", json!({}))];
        let to_p1 = json!({"action": "REDIRECT_TO_POOL", "redirect_pool_id": "p1"});
        g.l7policies = vec![
            policy("pol-b", "l-redirect", 2, to_p1.clone()),
            policy(
                "pol-a",
                "l-redirect",
                1,
                with(to_p1.clone(), json!({"admin_state_up": false})),
            ),
            policy("pol-gone", "l-reject", 1, with(to_p1.clone(), gone())),
            policy(
                "pol-reject",
                "l-reject",
                2,
                json!({"redirect_pool_id": "p1"}),
            ),
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
            listener(
                "l1",
                443,
                json!({
                    "protocol": "TERMINATED_HTTPS", "default_tls_container_ref": "tls",
                    "sni_container_refs": ["sni", "tls"], "client_ca_tls_container_ref": "ca",
                    "client_crl_container_ref": "crl",
                }),
            ),
            listener(
                "l-gone",
                444,
                with(gone(), json!({"default_tls_container_ref": "old"})),
            ),
        ];
        g.pools = vec![pool(
            "p1",
            json!({"tls_container_ref": "client", "ca_tls_container_ref": "ca",
                   "crl_container_ref": "pool-crl"}),
        )];
        assert_eq!(
            g.certificate_references(),
            ["ca", "client", "crl", "pool-crl", "sni", "tls"]
        );
    }
}
