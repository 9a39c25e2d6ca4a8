//! Table descriptors: which columns hold which field of a model, and how each is encoded.
//!
//! Models are (de)serialized through `serde_json` maps, so a descriptor only needs column names
//! and encodings; a unit test checks that every descriptor covers its model's fields exactly.

use fulcrum_core::model::Kind;

/// How a field is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Col {
    /// TEXT, from a JSON string (or null).
    Text,
    /// BIGINT, from a JSON integer (or null).
    Int,
    /// BIGINT 0/1, from a JSON bool.
    Bool,
    /// TEXT holding JSON (lists, maps, nested objects, floats).
    Json,
}

/// A table of one object kind.
#[derive(Debug)]
pub(crate) struct Table {
    /// SQL table name.
    pub name: &'static str,
    /// The column that holds the load balancer id of the row's tree.
    pub tree_column: &'static str,
    /// The primary key column (the last default sort key and the paging marker).
    pub key: &'static str,
    /// Columns in order.
    pub columns: &'static [(&'static str, Col)],
}

impl Table {
    /// The descriptor of a kind.
    pub fn of(kind: Kind) -> &'static Table {
        match kind {
            Kind::LoadBalancer => &LOAD_BALANCERS,
            Kind::Listener => &LISTENERS,
            Kind::Pool => &POOLS,
            Kind::Member => &MEMBERS,
            Kind::HealthMonitor => &HEALTH_MONITORS,
            Kind::L7Policy => &L7POLICIES,
            Kind::L7Rule => &L7RULES,
        }
    }

    /// The encoding of a column, if the table has it.
    pub fn column(&self, name: &str) -> Option<Col> {
        self.columns
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| *c)
    }

    /// `a, b, c` (quoted, since `type`, `key` and `value` are keywords somewhere).
    pub fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|(n, _)| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

use Col::*;

const COMMON_HEAD: [(&str, Col); 2] = [("id", Text), ("project_id", Text)];

macro_rules! table {
    ($ident:ident, $name:literal, $tree:literal, [$($col:literal : $ty:ident),* $(,)?]) => {
        static $ident: Table = Table {
            name: $name,
            tree_column: $tree,
            key: "id",
            columns: &[
                (COMMON_HEAD[0].0, Text),
                (COMMON_HEAD[1].0, Text),
                $(($col, $ty),)*
                ("tags", Json),
                ("created_at", Text),
                ("updated_at", Text),
            ],
        };
    };
}

table!(LOAD_BALANCERS, "load_balancers", "id", [
    "name": Text, "description": Text, "admin_state_up": Bool, "provisioning_status": Text,
    "operating_status": Text, "vip_address": Text, "vip_port_id": Text, "vip_subnet_id": Text,
    "vip_network_id": Text, "vip_qos_policy_id": Text, "additional_vips": Json, "vip_router_id": Text,
    "placement": Text, "provider": Text, "flavor_id": Text,
    "availability_zone": Text,
]);

table!(LISTENERS, "listeners", "loadbalancer_id", [
    "loadbalancer_id": Text, "name": Text, "description": Text, "admin_state_up": Bool,
    "provisioning_status": Text, "operating_status": Text, "protocol": Text, "protocol_port": Int,
    "connection_limit": Int, "default_tls_container_ref": Text, "sni_container_refs": Json,
    "default_pool_id": Text, "insert_headers": Json, "timeout_client_data": Int,
    "timeout_member_connect": Int, "timeout_member_data": Int, "timeout_tcp_inspect": Int,
    "client_ca_tls_container_ref": Text, "client_authentication": Text,
    "client_crl_container_ref": Text, "allowed_cidrs": Json, "tls_ciphers": Text,
    "tls_versions": Json, "alpn_protocols": Json, "hsts_max_age": Int,
    "hsts_include_subdomains": Bool, "hsts_preload": Bool,
]);

table!(POOLS, "pools", "loadbalancer_id", [
    "loadbalancer_id": Text, "name": Text, "description": Text, "admin_state_up": Bool,
    "provisioning_status": Text, "operating_status": Text, "protocol": Text, "lb_algorithm": Text,
    "session_persistence": Json, "tls_container_ref": Text, "ca_tls_container_ref": Text,
    "crl_container_ref": Text, "tls_enabled": Bool, "tls_ciphers": Text, "tls_versions": Json,
    "alpn_protocols": Json,
]);

table!(MEMBERS, "members", "loadbalancer_id", [
    "loadbalancer_id": Text, "pool_id": Text, "name": Text, "admin_state_up": Bool,
    "provisioning_status": Text, "operating_status": Text, "address": Text, "protocol_port": Int,
    "weight": Int, "backup": Bool, "subnet_id": Text, "monitor_address": Text, "monitor_port": Int,
]);

table!(HEALTH_MONITORS, "health_monitors", "loadbalancer_id", [
    "loadbalancer_id": Text, "pool_id": Text, "name": Text, "type": Text, "delay": Int,
    "timeout": Int, "max_retries": Int, "max_retries_down": Int, "http_method": Text,
    "url_path": Text, "expected_codes": Text, "http_version": Json, "domain_name": Text,
    "admin_state_up": Bool, "provisioning_status": Text, "operating_status": Text,
]);

table!(L7POLICIES, "l7policies", "loadbalancer_id", [
    "loadbalancer_id": Text, "listener_id": Text, "name": Text, "description": Text,
    "admin_state_up": Bool, "provisioning_status": Text, "operating_status": Text, "action": Text,
    "redirect_pool_id": Text, "redirect_url": Text, "redirect_prefix": Text,
    "redirect_http_code": Int, "position": Int,
]);

table!(L7RULES, "l7rules", "loadbalancer_id", [
    "loadbalancer_id": Text, "l7policy_id": Text, "type": Text, "compare_type": Text,
    "key": Text, "value": Text, "invert": Bool, "admin_state_up": Bool,
    "provisioning_status": Text, "operating_status": Text,
]);
