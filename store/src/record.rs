//! [`Record`]: a model the store can persist, and the mapping between models and rows.

use fulcrum_core::driver::LoadBalancerGraph;
use fulcrum_core::model::{
    HealthMonitor, Kind, L7Policy, L7Rule, Listener, LoadBalancer, Member, Pool, ProvisioningStatus,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sqlx::Any;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;

use crate::StoreError;
use crate::row_de::RowDeserializer;
use crate::table::{Col, Table};

/// A model stored in a table of its own.
pub trait Record: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static {
    /// Which kind of object it is.
    const KIND: Kind;
    /// Its id.
    fn id(&self) -> &str;
    /// Its tags.
    fn tags(&self) -> &[String];
    /// Its provisioning status.
    fn provisioning_status(&self) -> ProvisioningStatus;
}

macro_rules! record {
    ($ty:ty, $kind:expr) => {
        impl Record for $ty {
            const KIND: Kind = $kind;
            fn id(&self) -> &str {
                &self.id
            }
            fn tags(&self) -> &[String] {
                &self.tags
            }
            fn provisioning_status(&self) -> ProvisioningStatus {
                self.provisioning_status
            }
        }
    };
}

record!(LoadBalancer, Kind::LoadBalancer);
record!(Listener, Kind::Listener);
record!(Pool, Kind::Pool);
record!(Member, Kind::Member);
record!(HealthMonitor, Kind::HealthMonitor);
record!(L7Policy, Kind::L7Policy);
record!(L7Rule, Kind::L7Rule);

/// Every stored row of one load balancer's tree, including rows marked for deletion, with the
/// flavor and availability zone metadata it names.
#[derive(Debug, Clone, PartialEq)]
pub struct Tree {
    /// The stored rows, in the shape drivers take.
    pub rows: LoadBalancerGraph,
    /// Why metadata the load balancer names could not be resolved (its flavor or zone, or their
    /// profile, is gone or belongs to another provider); empty normally. The tree then carries
    /// no metadata of that kind, and whoever applies it says so.
    pub metadata_warnings: Vec<String>,
}

impl Tree {
    /// The desired state for a driver: everything but rows marked for deletion.
    pub fn desired(&self) -> LoadBalancerGraph {
        fn keep<T: Record + Clone>(rows: &[T]) -> Vec<T> {
            rows.iter()
                .filter(|r| r.provisioning_status() != ProvisioningStatus::PendingDelete)
                .cloned()
                .collect()
        }
        let g = &self.rows;
        LoadBalancerGraph {
            load_balancer: g.load_balancer.clone(),
            listeners: keep(&g.listeners),
            pools: keep(&g.pools),
            members: keep(&g.members),
            health_monitors: keep(&g.health_monitors),
            l7policies: keep(&g.l7policies),
            l7rules: keep(&g.l7rules),
            flavor_metadata: g.flavor_metadata.clone(),
            availability_zone_metadata: g.availability_zone_metadata.clone(),
        }
    }
}

/// Bind every column of a record to a query, in table order.
pub(crate) fn bind_record<'q, T: Record>(
    query: Query<'q, Any, AnyArguments<'q>>,
    record: &T,
) -> Result<Query<'q, Any, AnyArguments<'q>>, StoreError> {
    bind_row(query, Table::of(T::KIND), record)
}

/// Bind every column of any serializable row of `table`, in table order.
pub(crate) fn bind_row<'q, T: Serialize>(
    mut query: Query<'q, Any, AnyArguments<'q>>,
    table: &Table,
    record: &T,
) -> Result<Query<'q, Any, AnyArguments<'q>>, StoreError> {
    let Value::Object(map) = serde_json::to_value(record).map_err(|e| corrupt(table, e))? else {
        return Err(corrupt(table, "not an object"));
    };
    for (name, col) in table.columns {
        let value = map.get(*name).unwrap_or(&Value::Null);
        query = bind_value(query, *col, value);
    }
    Ok(query)
}

/// Bind one JSON value with a column's encoding.
pub(crate) fn bind_value<'q>(
    query: Query<'q, Any, AnyArguments<'q>>,
    col: Col,
    value: &Value,
) -> Query<'q, Any, AnyArguments<'q>> {
    match col {
        Col::Text => query.bind(value.as_str().map(str::to_owned)),
        Col::Int => query.bind(value.as_i64()),
        Col::Bool => query.bind(value.as_bool().map(i64::from)),
        Col::Json => query.bind(if value.is_null() {
            None
        } else {
            Some(value.to_string())
        }),
    }
}

/// Read a row selected with [`Table::column_list`] back into its model.
pub(crate) fn decode<T: Record>(row: &AnyRow) -> Result<T, StoreError> {
    decode_row(Table::of(T::KIND), row)
}

/// Read a row of `table` selected with [`Table::column_list`] into any deserializable type.
pub(crate) fn decode_row<T: DeserializeOwned>(
    table: &Table,
    row: &AnyRow,
) -> Result<T, StoreError> {
    T::deserialize(RowDeserializer::new(table, row)).map_err(|e| corrupt(table, e))
}

fn corrupt(table: &Table, message: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        table: table.name,
        message: message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fulcrum_core::model::*;

    fn fields_of<T: Serialize>(value: &T) -> Vec<String> {
        let Value::Object(map) = serde_json::to_value(value).unwrap() else {
            panic!("not an object")
        };
        let mut keys: Vec<String> = map.keys().cloned().collect();
        keys.sort();
        keys
    }

    fn columns_of(kind: Kind) -> Vec<String> {
        let mut cols: Vec<String> = Table::of(kind)
            .columns
            .iter()
            .map(|(n, _)| n.to_string())
            .collect();
        cols.sort();
        cols
    }

    #[test]
    fn every_table_covers_its_model_exactly() {
        let lb = LoadBalancer {
            id: "i".into(),
            project_id: None,
            name: None,
            description: None,
            admin_state_up: true,
            provisioning_status: ProvisioningStatus::Active,
            operating_status: OperatingStatus::Online,
            vip_address: "a".into(),
            vip_port_id: "p".into(),
            vip_subnet_id: "s".into(),
            vip_network_id: "n".into(),
            vip_qos_policy_id: None,
            vip_router_id: None,
            placement: None,
            additional_vips: vec![],
            provider: "noop".into(),
            flavor_id: None,
            availability_zone: None,
            tags: vec![],
            created_at: "t".into(),
            updated_at: None,
        };
        assert_eq!(fields_of(&lb), columns_of(Kind::LoadBalancer));
        // Each model's fields, read from a row-shaped map, must serialize back to the same keys.
        let check = |kind: Kind, keys: Vec<String>| assert_eq!(keys, columns_of(kind), "{kind}");
        check(Kind::Listener, fields_of(&sample_listener()));
        check(Kind::Member, fields_of(&sample_member()));
    }

    fn sample_listener() -> Listener {
        serde_json::from_value(serde_json::json!({
            "id": "l", "project_id": null, "loadbalancer_id": "lb", "name": null,
            "description": null, "admin_state_up": true, "provisioning_status": "ACTIVE",
            "operating_status": "ONLINE", "protocol": "HTTP", "protocol_port": 80,
            "connection_limit": -1, "default_tls_container_ref": null, "sni_container_refs": [],
            "default_pool_id": null, "insert_headers": {}, "timeout_client_data": 1,
            "timeout_member_connect": 1, "timeout_member_data": 1, "timeout_tcp_inspect": 0,
            "tags": [], "client_ca_tls_container_ref": null, "client_authentication": "NONE",
            "client_crl_container_ref": null, "allowed_cidrs": [], "tls_ciphers": null,
            "tls_versions": null, "alpn_protocols": null, "hsts_max_age": null,
            "hsts_include_subdomains": false, "hsts_preload": false, "created_at": "t",
            "updated_at": null
        }))
        .unwrap()
    }

    fn sample_member() -> Member {
        serde_json::from_value(serde_json::json!({
            "id": "m", "project_id": null, "loadbalancer_id": "lb", "pool_id": "p", "name": null,
            "admin_state_up": true, "provisioning_status": "ACTIVE", "operating_status": "ONLINE",
            "address": "127.0.0.1", "protocol_port": 80, "weight": 1, "backup": false,
            "subnet_id": null, "monitor_address": null, "monitor_port": null, "tags": [],
            "created_at": "t", "updated_at": null
        }))
        .unwrap()
    }
}
