//! Which rule governs each route, and what its target is.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::http::Method;

/// Where a rule's target project comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetFrom {
    /// The object acted on (a load balancer and everything below it, a quota's project): the
    /// handler checks once it knows the owner.
    Object,
    /// The caller's own project (flavors, zones, providers, amphorae: objects without an owner),
    /// checked before the handler runs.
    Caller,
}

/// The rule of one API action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action {
    /// The rule's name, e.g. `os_load-balancer_api:loadbalancer:get_one`.
    pub rule: &'static str,
    /// Where the target comes from.
    pub target: TargetFrom,
}

impl Action {
    /// The resource part of the rule: `os_load-balancer_api:loadbalancer:`.
    pub fn resource_prefix(&self) -> &'static str {
        match self.rule.rfind(':') {
            Some(i) => &self.rule[..=i],
            None => self.rule,
        }
    }

    /// Another operation of the same resource (`get_one`, `get_all-global`, ...).
    pub fn sibling(&self, operation: &str) -> String {
        format!("{}{operation}", self.resource_prefix())
    }
}

use TargetFrom::{Caller, Object};

const ROUTES: &[(&str, &str, &str, TargetFrom)] = &[
    (
        "GET",
        "/v2/lbaas/loadbalancers",
        "loadbalancer:get_all",
        Object,
    ),
    (
        "POST",
        "/v2/lbaas/loadbalancers",
        "loadbalancer:post",
        Object,
    ),
    (
        "GET",
        "/v2/lbaas/loadbalancers/{id}",
        "loadbalancer:get_one",
        Object,
    ),
    (
        "PUT",
        "/v2/lbaas/loadbalancers/{id}",
        "loadbalancer:put",
        Object,
    ),
    (
        "DELETE",
        "/v2/lbaas/loadbalancers/{id}",
        "loadbalancer:delete",
        Object,
    ),
    (
        "GET",
        "/v2/lbaas/loadbalancers/{id}/stats",
        "loadbalancer:get_stats",
        Object,
    ),
    (
        "GET",
        "/v2/lbaas/loadbalancers/{id}/status",
        "loadbalancer:get_status",
        Object,
    ),
    (
        "PUT",
        "/v2/lbaas/loadbalancers/{id}/failover",
        "loadbalancer:put_failover",
        Object,
    ),
    ("GET", "/v2/lbaas/listeners", "listener:get_all", Object),
    ("POST", "/v2/lbaas/listeners", "listener:post", Object),
    (
        "GET",
        "/v2/lbaas/listeners/{id}",
        "listener:get_one",
        Object,
    ),
    ("PUT", "/v2/lbaas/listeners/{id}", "listener:put", Object),
    (
        "DELETE",
        "/v2/lbaas/listeners/{id}",
        "listener:delete",
        Object,
    ),
    (
        "GET",
        "/v2/lbaas/listeners/{id}/stats",
        "listener:get_stats",
        Object,
    ),
    ("GET", "/v2/lbaas/pools", "pool:get_all", Object),
    ("POST", "/v2/lbaas/pools", "pool:post", Object),
    ("GET", "/v2/lbaas/pools/{id}", "pool:get_one", Object),
    ("PUT", "/v2/lbaas/pools/{id}", "pool:put", Object),
    ("DELETE", "/v2/lbaas/pools/{id}", "pool:delete", Object),
    (
        "GET",
        "/v2/lbaas/pools/{pool_id}/members",
        "member:get_all",
        Object,
    ),
    (
        "POST",
        "/v2/lbaas/pools/{pool_id}/members",
        "member:post",
        Object,
    ),
    (
        "PUT",
        "/v2/lbaas/pools/{pool_id}/members",
        "member:put",
        Object,
    ),
    (
        "GET",
        "/v2/lbaas/pools/{pool_id}/members/{member_id}",
        "member:get_one",
        Object,
    ),
    (
        "PUT",
        "/v2/lbaas/pools/{pool_id}/members/{member_id}",
        "member:put",
        Object,
    ),
    (
        "DELETE",
        "/v2/lbaas/pools/{pool_id}/members/{member_id}",
        "member:delete",
        Object,
    ),
    (
        "GET",
        "/v2/lbaas/healthmonitors",
        "healthmonitor:get_all",
        Object,
    ),
    (
        "POST",
        "/v2/lbaas/healthmonitors",
        "healthmonitor:post",
        Object,
    ),
    (
        "GET",
        "/v2/lbaas/healthmonitors/{id}",
        "healthmonitor:get_one",
        Object,
    ),
    (
        "PUT",
        "/v2/lbaas/healthmonitors/{id}",
        "healthmonitor:put",
        Object,
    ),
    (
        "DELETE",
        "/v2/lbaas/healthmonitors/{id}",
        "healthmonitor:delete",
        Object,
    ),
    ("GET", "/v2/lbaas/l7policies", "l7policy:get_all", Object),
    ("POST", "/v2/lbaas/l7policies", "l7policy:post", Object),
    (
        "GET",
        "/v2/lbaas/l7policies/{id}",
        "l7policy:get_one",
        Object,
    ),
    ("PUT", "/v2/lbaas/l7policies/{id}", "l7policy:put", Object),
    (
        "DELETE",
        "/v2/lbaas/l7policies/{id}",
        "l7policy:delete",
        Object,
    ),
    (
        "GET",
        "/v2/lbaas/l7policies/{l7policy_id}/rules",
        "l7rule:get_all",
        Object,
    ),
    (
        "POST",
        "/v2/lbaas/l7policies/{l7policy_id}/rules",
        "l7rule:post",
        Object,
    ),
    (
        "GET",
        "/v2/lbaas/l7policies/{l7policy_id}/rules/{rule_id}",
        "l7rule:get_one",
        Object,
    ),
    (
        "PUT",
        "/v2/lbaas/l7policies/{l7policy_id}/rules/{rule_id}",
        "l7rule:put",
        Object,
    ),
    (
        "DELETE",
        "/v2/lbaas/l7policies/{l7policy_id}/rules/{rule_id}",
        "l7rule:delete",
        Object,
    ),
    ("GET", "/v2/lbaas/quotas", "quota:get_all", Object),
    (
        "GET",
        "/v2/lbaas/quotas/{project_id}",
        "quota:get_one",
        Object,
    ),
    ("PUT", "/v2/lbaas/quotas/{project_id}", "quota:put", Object),
    (
        "DELETE",
        "/v2/lbaas/quotas/{project_id}",
        "quota:delete",
        Object,
    ),
    (
        "GET",
        "/v2/lbaas/quotas/{project_id}/default",
        "quota:get_defaults",
        Object,
    ),
    ("GET", "/v2/lbaas/providers", "provider:get_all", Caller),
    (
        "GET",
        "/v2/lbaas/providers/{provider}/flavor_capabilities",
        "provider-flavor:get_all",
        Caller,
    ),
    (
        "GET",
        "/v2/lbaas/providers/{provider}/availability_zone_capabilities",
        "provider-availability-zone:get_all",
        Caller,
    ),
    ("GET", "/v2/lbaas/flavors", "flavor:get_all", Caller),
    ("POST", "/v2/lbaas/flavors", "flavor:post", Caller),
    ("GET", "/v2/lbaas/flavors/{id}", "flavor:get_one", Caller),
    ("PUT", "/v2/lbaas/flavors/{id}", "flavor:put", Caller),
    ("DELETE", "/v2/lbaas/flavors/{id}", "flavor:delete", Caller),
    (
        "GET",
        "/v2/lbaas/flavorprofiles",
        "flavor-profile:get_all",
        Caller,
    ),
    (
        "POST",
        "/v2/lbaas/flavorprofiles",
        "flavor-profile:post",
        Caller,
    ),
    (
        "GET",
        "/v2/lbaas/flavorprofiles/{id}",
        "flavor-profile:get_one",
        Caller,
    ),
    (
        "PUT",
        "/v2/lbaas/flavorprofiles/{id}",
        "flavor-profile:put",
        Caller,
    ),
    (
        "DELETE",
        "/v2/lbaas/flavorprofiles/{id}",
        "flavor-profile:delete",
        Caller,
    ),
    (
        "GET",
        "/v2/lbaas/availabilityzones",
        "availability-zone:get_all",
        Caller,
    ),
    (
        "POST",
        "/v2/lbaas/availabilityzones",
        "availability-zone:post",
        Caller,
    ),
    (
        "GET",
        "/v2/lbaas/availabilityzones/{name}",
        "availability-zone:get_one",
        Caller,
    ),
    (
        "PUT",
        "/v2/lbaas/availabilityzones/{name}",
        "availability-zone:put",
        Caller,
    ),
    (
        "DELETE",
        "/v2/lbaas/availabilityzones/{name}",
        "availability-zone:delete",
        Caller,
    ),
    (
        "GET",
        "/v2/lbaas/availabilityzoneprofiles",
        "availability-zone-profile:get_all",
        Caller,
    ),
    (
        "POST",
        "/v2/lbaas/availabilityzoneprofiles",
        "availability-zone-profile:post",
        Caller,
    ),
    (
        "GET",
        "/v2/lbaas/availabilityzoneprofiles/{id}",
        "availability-zone-profile:get_one",
        Caller,
    ),
    (
        "PUT",
        "/v2/lbaas/availabilityzoneprofiles/{id}",
        "availability-zone-profile:put",
        Caller,
    ),
    (
        "DELETE",
        "/v2/lbaas/availabilityzoneprofiles/{id}",
        "availability-zone-profile:delete",
        Caller,
    ),
    ("GET", "/v2/octavia/amphorae", "amphora:get_all", Caller),
    (
        "GET",
        "/v2/octavia/amphorae/{id}",
        "amphora:get_one",
        Caller,
    ),
    (
        "PUT",
        "/v2/octavia/amphorae/{id}/failover",
        "amphora:put_failover",
        Caller,
    ),
    (
        "GET",
        "/v1/status/tasks",
        "fulcrum:status:get_tasks",
        Caller,
    ),
    ("GET", "/metrics", "fulcrum:metrics:get", Caller),
    (
        "PUT",
        "/v2/fulcrum/provider/loadbalancers/{id}",
        "fulcrum:provider:put",
        Caller,
    ),
    (
        "DELETE",
        "/v2/fulcrum/provider/loadbalancers/{id}",
        "fulcrum:provider:delete",
        Caller,
    ),
    (
        "PUT",
        "/v2/fulcrum/provider/listeners/{id}",
        "fulcrum:provider:put",
        Caller,
    ),
    (
        "DELETE",
        "/v2/fulcrum/provider/listeners/{id}",
        "fulcrum:provider:delete",
        Caller,
    ),
    (
        "PUT",
        "/v2/fulcrum/provider/pools/{id}",
        "fulcrum:provider:put",
        Caller,
    ),
    (
        "DELETE",
        "/v2/fulcrum/provider/pools/{id}",
        "fulcrum:provider:delete",
        Caller,
    ),
    (
        "PUT",
        "/v2/fulcrum/provider/pools/{pool_id}/members",
        "fulcrum:provider:put",
        Caller,
    ),
    (
        "PUT",
        "/v2/fulcrum/provider/pools/{pool_id}/members/{id}",
        "fulcrum:provider:put",
        Caller,
    ),
    (
        "DELETE",
        "/v2/fulcrum/provider/pools/{pool_id}/members/{id}",
        "fulcrum:provider:delete",
        Caller,
    ),
    (
        "PUT",
        "/v2/fulcrum/provider/healthmonitors/{id}",
        "fulcrum:provider:put",
        Caller,
    ),
    (
        "DELETE",
        "/v2/fulcrum/provider/healthmonitors/{id}",
        "fulcrum:provider:delete",
        Caller,
    ),
    (
        "PUT",
        "/v2/fulcrum/provider/l7policies/{id}",
        "fulcrum:provider:put",
        Caller,
    ),
    (
        "DELETE",
        "/v2/fulcrum/provider/l7policies/{id}",
        "fulcrum:provider:delete",
        Caller,
    ),
    (
        "PUT",
        "/v2/fulcrum/provider/l7policies/{policy_id}/rules/{id}",
        "fulcrum:provider:put",
        Caller,
    ),
    (
        "DELETE",
        "/v2/fulcrum/provider/l7policies/{policy_id}/rules/{id}",
        "fulcrum:provider:delete",
        Caller,
    ),
    (
        "GET",
        "/v2/fulcrum/provider/status",
        "fulcrum:provider:get_status",
        Caller,
    ),
    (
        "POST",
        "/v2/fulcrum/provider/providers/{provider}/flavor_metadata",
        "fulcrum:provider:put",
        Caller,
    ),
    (
        "POST",
        "/v2/fulcrum/provider/providers/{provider}/availability_zone_metadata",
        "fulcrum:provider:put",
        Caller,
    ),
];

/// Routes any authenticated caller may use: version discovery and the read-only Neutron view.
const UNGOVERNED: &[&str] = &[
    "/v2",
    "/v2.0",
    "/v2.0/",
    "/v2.0/networks",
    "/v2.0/subnets",
    "/v2.0/ports",
];

/// Paths answered without any authentication (Octavia skips its token check for these).
pub const PUBLIC_PATHS: &[&str] = &["/", "/openapi.json"];

/// What governs a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Governed {
    /// A policy rule.
    Rule(Action),
    /// Nothing beyond authentication.
    AuthenticationOnly,
}

/// The governing rule of `method` on the route template `path` (as matched by the router).
/// `None` for a route this table does not know, which must be refused.
pub fn for_route(method: &Method, path: &str) -> Option<Governed> {
    if UNGOVERNED.contains(&path) || PUBLIC_PATHS.contains(&path) {
        return Some(Governed::AuthenticationOnly);
    }
    if path.starts_with(MANAGEMENT_PREFIX) {
        return Some(Governed::Rule(management_action(method)));
    }
    ROUTE_ACTIONS
        .get(&(method.as_str(), path))
        .map(|action| Governed::Rule(*action))
}

/// Every route of the management API starts here; its rules are by method, not by route.
const MANAGEMENT_PREFIX: &str = "/v1/management/";

/// The rule of a management route: `fulcrum:management:get` to read, `fulcrum:management:write`
/// for anything else.
fn management_action(method: &Method) -> Action {
    let rule = if method == Method::GET {
        "fulcrum:management:get"
    } else {
        "fulcrum:management:write"
    };
    Action {
        rule: rule_name(rule),
        target: Caller,
    }
}

/// [`ROUTES`] by method and route, with full rule names; built once, looked up per request.
static ROUTE_ACTIONS: LazyLock<HashMap<(&'static str, &'static str), Action>> =
    LazyLock::new(|| {
        ROUTES
            .iter()
            .map(|(method, path, rule, target)| {
                let action = Action {
                    rule: rule_name(rule),
                    target: *target,
                };
                ((*method, *path), action)
            })
            .collect()
    });

/// The full rule name of a table entry (`loadbalancer:get_one` →
/// `os_load-balancer_api:loadbalancer:get_one`; Fulcrum's own rules are named in full), found
/// among the defaults so it is `'static`.
fn rule_name(short: &str) -> &'static str {
    super::defaults::API_RULES
        .iter()
        .map(|(name, _)| *name)
        .find(|name| *name == short || name.strip_prefix("os_load-balancer_api:") == Some(short))
        .unwrap_or("os_load-balancer_api:unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_rule_has_a_default() {
        for (_, path, short, _) in ROUTES {
            assert_ne!(
                rule_name(short),
                "os_load-balancer_api:unknown",
                "{path}: {short}"
            );
        }
    }

    #[test]
    fn lookups() {
        let Some(Governed::Rule(a)) = for_route(&Method::GET, "/v2/lbaas/loadbalancers/{id}")
        else {
            panic!("governed");
        };
        assert_eq!(a.rule, "os_load-balancer_api:loadbalancer:get_one");
        assert_eq!(
            a.sibling("get_all-global"),
            "os_load-balancer_api:loadbalancer:get_all-global"
        );
        assert_eq!(
            for_route(&Method::GET, "/v2.0/networks"),
            Some(Governed::AuthenticationOnly)
        );
        assert_eq!(for_route(&Method::PATCH, "/v2/lbaas/loadbalancers"), None);
    }
}
