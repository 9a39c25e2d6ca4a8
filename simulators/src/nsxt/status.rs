//! What `/lb-services/{id}/detailed-status` and `/statistics` answer, derived from the stored
//! objects: the virtual servers on the service, their pools and members.
//!
//! Statuses follow the objects: a disabled virtual server is `DISABLED`, a member is `UP` unless
//! its admin state says otherwise or a test has forced it `DOWN`, a pool is `UP`,
//! `PARTIALLY_UP` or `DOWN` by its members, and an unrealized service is `UNKNOWN`. Counters
//! grow steadily with each object's age, so two reads show traffic.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Value, json};

use super::kinds::{self, INFRA};
use super::realization::{Realization, RealizedState};
use super::store::{Store, StoredObject, now_millis};

/// Member statuses forced by a test, by (pool path, member address, member port).
pub type MemberOverrides = HashMap<(String, String, String), String>;

const ENFORCEMENT_POINT: &str = "/infra/sites/default/enforcement-points/default";

/// The virtual servers on a service and the pools they use, in path order.
struct ServiceTree<'a> {
    virtual_servers: Vec<&'a StoredObject>,
    pools: Vec<&'a StoredObject>,
}

fn tree<'a>(store: &'a Store, service_path: &str) -> ServiceTree<'a> {
    let virtual_servers: Vec<&StoredObject> = store
        .of_kind(kinds::by_collection("lb-virtual-servers").expect("a known kind"))
        .filter(|vs| vs.body["lb_service_path"] == service_path)
        .collect();
    let pool_kind = kinds::by_collection("lb-pools").expect("a known kind");
    let pool_paths: BTreeSet<&str> = virtual_servers
        .iter()
        .flat_map(|vs| vs.kind.references_of(&vs.body))
        .filter(|(reference, _)| reference.target == pool_kind.collection)
        .map(|(_, path)| path)
        .collect();
    let pools = pool_paths
        .into_iter()
        .filter_map(|path| store.get(path))
        .collect();
    ServiceTree {
        virtual_servers,
        pools,
    }
}

fn members(pool: &StoredObject) -> impl Iterator<Item = &Value> {
    pool.body["members"].as_array().into_iter().flatten()
}

fn member_key(pool: &StoredObject, member: &Value) -> (String, String, String) {
    (
        pool.body["path"].as_str().unwrap_or_default().to_owned(),
        member["ip_address"].as_str().unwrap_or_default().to_owned(),
        member["port"].as_str().unwrap_or_default().to_owned(),
    )
}

fn member_status(pool: &StoredObject, member: &Value, overrides: &MemberOverrides) -> String {
    if let Some(forced) = overrides.get(&member_key(pool, member)) {
        return forced.clone();
    }
    match member["admin_state"].as_str() {
        Some("DISABLED") => "DISABLED".into(),
        Some("GRACEFUL_DISABLED") => "GRACEFUL_DISABLED".into(),
        _ => "UP".into(),
    }
}

/// `AggregateLBServiceStatus` for a stored service.
pub fn detailed_status(
    store: &Store,
    service: &StoredObject,
    realization: &Realization,
    overrides: &MemberOverrides,
) -> Value {
    let service_path = service.body["path"].as_str().unwrap_or_default();
    let tree = tree(store, service_path);
    let now = now_millis();
    let mut pool_status = HashMap::new();
    let pools: Vec<Value> = tree
        .pools
        .iter()
        .map(|pool| {
            let members: Vec<Value> = members(pool)
                .map(|member| {
                    json!({
                        "ip_address": member["ip_address"],
                        "port": member["port"],
                        "status": member_status(pool, member, overrides),
                        "last_check_time": now,
                    })
                })
                .collect();
            let up = members.iter().filter(|m| m["status"] == "UP").count();
            let status = match up {
                0 => "DOWN",
                n if n == members.len() => "UP",
                _ => "PARTIALLY_UP",
            };
            let path = pool.body["path"].as_str().unwrap_or_default().to_owned();
            pool_status.insert(path, status);
            json!({
                "resource_type": "LBPoolStatus",
                "pool_path": pool.body["path"],
                "status": status,
                "members": members,
                "last_update_timestamp": now,
            })
        })
        .collect();
    let virtual_servers: Vec<Value> = tree
        .virtual_servers
        .iter()
        .map(|vs| {
            let status = if vs.body["enabled"] == false {
                "DISABLED"
            } else {
                match vs.body["pool_path"]
                    .as_str()
                    .and_then(|p| pool_status.get(p))
                {
                    Some(&"DOWN") => "DOWN",
                    Some(&"PARTIALLY_UP") => "PARTIALLY_UP",
                    _ => "UP",
                }
            };
            json!({
                "resource_type": "LBVirtualServerStatus",
                "virtual_server_path": vs.body["path"],
                "status": status,
                "last_update_timestamp": now,
            })
        })
        .collect();
    let service_status = match realization.state(service_path, service) {
        RealizedState::Unrealized => "UNKNOWN",
        RealizedState::Error(_) => "ERROR",
        RealizedState::Realized if service.body["enabled"] == false => "DISABLED",
        RealizedState::Realized => "UP",
    };
    json!({
        "intent_path": service_path,
        "results": [{
            "resource_type": "LBServiceStatus",
            "enforcement_point_path": ENFORCEMENT_POINT,
            "service_path": service_path,
            "service_status": service_status,
            "virtual_servers": virtual_servers,
            "pools": pools,
            "active_transport_nodes": ["edge-node-1"],
            "standby_transport_nodes": ["edge-node-2"],
            "last_update_timestamp": now,
        }],
    })
}

/// Counters that grow with the object's age, some faster than others.
fn counters(object: &StoredObject, now: i64, active: bool) -> Value {
    let created = object.body["_create_time"].as_i64().unwrap_or(now);
    let age = u64::try_from((now - created) / 1000).unwrap_or(0) + 1;
    let spread = object.body["path"]
        .as_str()
        .unwrap_or_default()
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    let total = age * (1 + spread % 5);
    let current = if active { spread % 10 } else { 0 };
    json!({
        "total_sessions": total,
        "current_sessions": current,
        "max_sessions": current + spread % 7,
        "bytes_in": total * 512,
        "bytes_out": total * 2048,
        "packets_in": total * 4,
        "packets_out": total * 6,
        "http_requests": total,
        "current_session_rate": 1.0 + (spread % 5) as f64,
        "bytes_in_rate": 512.0 * (1 + spread % 5) as f64,
        "bytes_out_rate": 2048.0 * (1 + spread % 5) as f64,
    })
}

/// `AggregateLBServiceStatistics` for a stored service.
pub fn statistics(store: &Store, service: &StoredObject) -> Value {
    let service_path = service.body["path"].as_str().unwrap_or_default();
    let tree = tree(store, service_path);
    let now = now_millis();
    let virtual_servers: Vec<Value> = tree
        .virtual_servers
        .iter()
        .map(|vs| {
            json!({
                "resource_type": "LBVirtualServerStatistics",
                "virtual_server_path": vs.body["path"],
                "statistics": counters(vs, now, vs.body["enabled"] != false),
                "last_update_timestamp": now,
            })
        })
        .collect();
    let pools: Vec<Value> = tree
        .pools
        .iter()
        .map(|pool| {
            let members: Vec<Value> = members(pool)
                .map(|member| {
                    json!({
                        "ip_address": member["ip_address"],
                        "port": member["port"],
                        "statistics": counters(pool, now, true),
                    })
                })
                .collect();
            json!({
                "resource_type": "LBPoolStatistics",
                "pool_path": pool.body["path"],
                "statistics": counters(pool, now, true),
                "members": members,
                "last_update_timestamp": now,
            })
        })
        .collect();
    let service_counters = counters(service, now, true);
    json!({
        "intent_path": service_path,
        "results": [{
            "resource_type": "LBServiceStatistics",
            "enforcement_point_path": ENFORCEMENT_POINT,
            "service_path": service_path,
            "statistics": {
                "l4_total_sessions": service_counters["total_sessions"],
                "l4_current_sessions": service_counters["current_sessions"],
                "l4_max_sessions": service_counters["max_sessions"],
                "l7_total_sessions": 0,
                "l7_current_sessions": 0,
                "l7_max_sessions": 0,
            },
            "virtual_servers": virtual_servers,
            "pools": pools,
            "last_update_timestamp": now,
        }],
    })
}

/// The path of the service with this id.
pub fn service_path(id: &str) -> String {
    format!("{INFRA}/lb-services/{id}")
}
