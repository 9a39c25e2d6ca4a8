//! Octavia's default policy: the `keystone_default_roles` rules with their deprecated
//! `load-balancer_*` forms, and the rule of every API action.

/// A rule and the deprecated form it replaced (kept while new defaults are not enforced).
pub struct DefaultRule {
    /// The rule's name.
    pub name: &'static str,
    /// Its check string.
    pub check: &'static str,
    /// The check string it had before the keystone default roles.
    pub deprecated: Option<&'static str>,
}

const fn rule(name: &'static str, check: &'static str) -> DefaultRule {
    DefaultRule {
        name,
        check,
        deprecated: None,
    }
}

const fn renamed(name: &'static str, check: &'static str, deprecated: &'static str) -> DefaultRule {
    DefaultRule {
        name,
        check,
        deprecated: Some(deprecated),
    }
}

/// The building blocks the API rules are made of.
pub const BASE_RULES: &[DefaultRule] = &[
    rule(
        "project-member",
        "role:member and project_id:%(project_id)s",
    ),
    rule(
        "project-reader",
        "role:reader and project_id:%(project_id)s",
    ),
    renamed(
        "context_is_admin",
        "role:admin",
        "role:admin or role:load-balancer_admin",
    ),
    renamed(
        "load-balancer:admin",
        "is_admin:True or role:admin",
        "is_admin:True or role:admin or role:load-balancer_admin",
    ),
    rule("service", "role:service"),
    renamed(
        "load-balancer:global_observer",
        "role:admin",
        "role:load-balancer_global_observer",
    ),
    renamed(
        "load-balancer:member_and_owner",
        "rule:project-member",
        "role:load-balancer_member and rule:load-balancer:owner",
    ),
    renamed(
        "load-balancer:observer_and_owner",
        "rule:project-reader",
        "role:load-balancer_observer and rule:load-balancer:owner",
    ),
    renamed(
        "load-balancer:quota-admin",
        "role:admin",
        "role:load-balancer_quota_admin",
    ),
    rule("load-balancer:owner", "project_id:%(project_id)s"),
    rule(
        "load-balancer:read",
        "rule:load-balancer:observer_and_owner or rule:load-balancer:global_observer or \
         rule:load-balancer:member_and_owner or rule:load-balancer:admin",
    ),
    rule(
        "load-balancer:read-global",
        "rule:load-balancer:global_observer or rule:load-balancer:admin",
    ),
    rule(
        "load-balancer:write",
        "rule:load-balancer:member_and_owner or rule:load-balancer:admin",
    ),
    rule(
        "load-balancer:read-quota",
        "rule:load-balancer:observer_and_owner or rule:load-balancer:global_observer or \
         rule:load-balancer:member_and_owner or rule:load-balancer:quota-admin or \
         rule:load-balancer:admin",
    ),
    rule(
        "load-balancer:read-quota-global",
        "rule:load-balancer:global_observer or rule:load-balancer:quota-admin or \
         rule:load-balancer:admin",
    ),
    rule(
        "load-balancer:write-quota",
        "rule:load-balancer:quota-admin or rule:load-balancer:admin",
    ),
];

const READ: &str = "rule:load-balancer:read";
const READ_GLOBAL: &str = "rule:load-balancer:read-global";
const WRITE: &str = "rule:load-balancer:write";
const ADMIN: &str = "rule:load-balancer:admin";

/// The rule of every API action, `os_load-balancer_api:<resource>:<operation>`.
pub const API_RULES: &[(&str, &str)] = &[
    ("os_load-balancer_api:loadbalancer:get_all", READ),
    (
        "os_load-balancer_api:loadbalancer:get_all-global",
        READ_GLOBAL,
    ),
    ("os_load-balancer_api:loadbalancer:post", WRITE),
    ("os_load-balancer_api:loadbalancer:get_one", READ),
    ("os_load-balancer_api:loadbalancer:put", WRITE),
    ("os_load-balancer_api:loadbalancer:delete", WRITE),
    ("os_load-balancer_api:loadbalancer:get_stats", READ),
    ("os_load-balancer_api:loadbalancer:get_status", READ),
    ("os_load-balancer_api:loadbalancer:put_failover", ADMIN),
    ("os_load-balancer_api:listener:get_all", READ),
    ("os_load-balancer_api:listener:get_all-global", READ_GLOBAL),
    ("os_load-balancer_api:listener:post", WRITE),
    ("os_load-balancer_api:listener:get_one", READ),
    ("os_load-balancer_api:listener:put", WRITE),
    ("os_load-balancer_api:listener:delete", WRITE),
    ("os_load-balancer_api:listener:get_stats", READ),
    ("os_load-balancer_api:pool:get_all", READ),
    ("os_load-balancer_api:pool:get_all-global", READ_GLOBAL),
    ("os_load-balancer_api:pool:post", WRITE),
    ("os_load-balancer_api:pool:get_one", READ),
    ("os_load-balancer_api:pool:put", WRITE),
    ("os_load-balancer_api:pool:delete", WRITE),
    (
        "os_load-balancer_api:member:get_all",
        "rule:load-balancer:read or rule:service",
    ),
    ("os_load-balancer_api:member:post", WRITE),
    ("os_load-balancer_api:member:get_one", READ),
    ("os_load-balancer_api:member:put", WRITE),
    ("os_load-balancer_api:member:delete", WRITE),
    ("os_load-balancer_api:healthmonitor:get_all", READ),
    (
        "os_load-balancer_api:healthmonitor:get_all-global",
        READ_GLOBAL,
    ),
    ("os_load-balancer_api:healthmonitor:post", WRITE),
    ("os_load-balancer_api:healthmonitor:get_one", READ),
    ("os_load-balancer_api:healthmonitor:put", WRITE),
    ("os_load-balancer_api:healthmonitor:delete", WRITE),
    ("os_load-balancer_api:l7policy:get_all", READ),
    ("os_load-balancer_api:l7policy:get_all-global", READ_GLOBAL),
    ("os_load-balancer_api:l7policy:post", WRITE),
    ("os_load-balancer_api:l7policy:get_one", READ),
    ("os_load-balancer_api:l7policy:put", WRITE),
    ("os_load-balancer_api:l7policy:delete", WRITE),
    ("os_load-balancer_api:l7rule:get_all", READ),
    ("os_load-balancer_api:l7rule:post", WRITE),
    ("os_load-balancer_api:l7rule:get_one", READ),
    ("os_load-balancer_api:l7rule:put", WRITE),
    ("os_load-balancer_api:l7rule:delete", WRITE),
    (
        "os_load-balancer_api:quota:get_all",
        "rule:load-balancer:read-quota",
    ),
    (
        "os_load-balancer_api:quota:get_all-global",
        "rule:load-balancer:read-quota-global",
    ),
    (
        "os_load-balancer_api:quota:get_one",
        "rule:load-balancer:read-quota",
    ),
    (
        "os_load-balancer_api:quota:put",
        "rule:load-balancer:write-quota",
    ),
    (
        "os_load-balancer_api:quota:delete",
        "rule:load-balancer:write-quota",
    ),
    (
        "os_load-balancer_api:quota:get_defaults",
        "rule:load-balancer:read-quota",
    ),
    ("os_load-balancer_api:provider:get_all", READ),
    ("os_load-balancer_api:provider-flavor:get_all", ADMIN),
    (
        "os_load-balancer_api:provider-availability-zone:get_all",
        ADMIN,
    ),
    ("os_load-balancer_api:flavor:get_all", READ),
    ("os_load-balancer_api:flavor:post", ADMIN),
    ("os_load-balancer_api:flavor:put", ADMIN),
    ("os_load-balancer_api:flavor:get_one", READ),
    ("os_load-balancer_api:flavor:delete", ADMIN),
    ("os_load-balancer_api:flavor-profile:get_all", ADMIN),
    ("os_load-balancer_api:flavor-profile:post", ADMIN),
    ("os_load-balancer_api:flavor-profile:put", ADMIN),
    ("os_load-balancer_api:flavor-profile:get_one", ADMIN),
    ("os_load-balancer_api:flavor-profile:delete", ADMIN),
    ("os_load-balancer_api:availability-zone:get_all", READ),
    ("os_load-balancer_api:availability-zone:post", ADMIN),
    ("os_load-balancer_api:availability-zone:put", ADMIN),
    ("os_load-balancer_api:availability-zone:get_one", READ),
    ("os_load-balancer_api:availability-zone:delete", ADMIN),
    (
        "os_load-balancer_api:availability-zone-profile:get_all",
        ADMIN,
    ),
    ("os_load-balancer_api:availability-zone-profile:post", ADMIN),
    ("os_load-balancer_api:availability-zone-profile:put", ADMIN),
    (
        "os_load-balancer_api:availability-zone-profile:get_one",
        ADMIN,
    ),
    (
        "os_load-balancer_api:availability-zone-profile:delete",
        ADMIN,
    ),
    ("os_load-balancer_api:amphora:get_all", ADMIN),
    ("os_load-balancer_api:amphora:get_one", ADMIN),
    ("os_load-balancer_api:amphora:delete", ADMIN),
    ("os_load-balancer_api:amphora:put_config", ADMIN),
    ("os_load-balancer_api:amphora:put_failover", ADMIN),
    ("os_load-balancer_api:amphora:get_stats", ADMIN),
    // Fulcrum's own: the status of this process's background tasks.
    ("fulcrum:status:get_tasks", ADMIN),
    // Fulcrum's own: this process's metrics, when served on the API's address and not public.
    ("fulcrum:metrics:get", ADMIN),
    // Fulcrum's own: the provider API that Octavia's provider driver for Fulcrum calls.
    ("fulcrum:provider:put", ADMIN),
    ("fulcrum:provider:delete", ADMIN),
    ("fulcrum:provider:get_status", ADMIN),
    // Fulcrum's own: the management API (`/v1/management/...`), reading and acting.
    ("fulcrum:management:get", ADMIN),
    ("fulcrum:management:write", ADMIN),
];
