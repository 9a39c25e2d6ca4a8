//! The status tree of `GET /v2/lbaas/loadbalancers/{id}/status`: each object's provisioning and
//! operating status, nested as Octavia nests them (pools under the listeners that use them).

use fulcrum_core::driver::LoadBalancerGraph;
use fulcrum_core::model::{HealthMonitor, Listener, Member, Pool};
use serde_json::Value;

use super::text_or_empty;

/// `{"loadbalancer": {...}}` with its listeners, their pools, and the members and health
/// monitor of each pool.
pub fn status_tree(g: &LoadBalancerGraph) -> Value {
    let lb = &g.load_balancer;
    let listeners: Vec<Value> = g.listeners.iter().map(|l| listener_status(g, l)).collect();
    serde_json::json!({
        "loadbalancer": {
            "id": lb.id,
            "name": text_or_empty(&lb.name),
            "operating_status": lb.operating_status,
            "provisioning_status": lb.provisioning_status,
            "listeners": listeners,
        }
    })
}

fn listener_status(g: &LoadBalancerGraph, l: &Listener) -> Value {
    let mut pool_ids: Vec<&str> = l.default_pool_id.iter().map(String::as_str).collect();
    for policy in g.policies_of(&l.id) {
        if let Some(p) = policy.redirect_pool_id.as_deref()
            && !pool_ids.contains(&p)
        {
            pool_ids.push(p);
        }
    }
    let pools: Vec<Value> = pool_ids
        .into_iter()
        .filter_map(|id| g.pool(id))
        .map(|p| pool_status(g, p))
        .collect();
    serde_json::json!({
        "id": l.id,
        "name": text_or_empty(&l.name),
        "operating_status": l.operating_status,
        "provisioning_status": l.provisioning_status,
        "pools": pools,
    })
}

fn pool_status(g: &LoadBalancerGraph, p: &Pool) -> Value {
    let members: Vec<Value> = g
        .members_of(&p.id)
        .map(|m: &Member| {
            serde_json::json!({
                "id": m.id,
                "name": text_or_empty(&m.name),
                "operating_status": m.operating_status,
                "provisioning_status": m.provisioning_status,
                "address": m.address,
                "protocol_port": m.protocol_port,
            })
        })
        .collect();
    let mut out = serde_json::json!({
        "id": p.id,
        "name": text_or_empty(&p.name),
        "provisioning_status": p.provisioning_status,
        "operating_status": p.operating_status,
        "members": members,
    });
    if let Some(h) = g.health_monitor_of(&p.id) {
        let h: &HealthMonitor = h;
        out["health_monitor"] = serde_json::json!({
            "id": h.id,
            "name": text_or_empty(&h.name),
            "type": h.kind,
            "provisioning_status": h.provisioning_status,
            "operating_status": h.operating_status,
        });
    }
    out
}
