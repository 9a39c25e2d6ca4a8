//! Octavia's full response to a graph create (`LoadBalancerFullResponse`): the load balancer with
//! the full objects it was created with instead of their ids.

use fulcrum_core::model::{Kind, L7Policy, L7Rule, LoadBalancer};
use serde_json::Value;

use crate::service::graph::{Graph, ListenerPlan, PoolPlan};
use crate::shapes::health_monitors::HealthMonitorView;
use crate::shapes::l7policies::L7PolicyView;
use crate::shapes::l7rules::L7RuleView;
use crate::shapes::listeners::ListenerView;
use crate::shapes::load_balancers::LoadBalancerView;
use crate::shapes::members::MemberView;
use crate::shapes::pools::PoolView;
use crate::shapes::{Related, to_value};

/// Octavia's `LoadBalancerFullResponse`: the view of the load balancer whose `listeners` and
/// `pools` are the full objects its graph create made.
pub fn full_view(lb: LoadBalancer, graph: &Graph) -> Value {
    let lb_view = to_value(&LoadBalancerView::new(lb, &Related::default()));
    let listeners = graph.listeners.iter().map(render_listener).collect();
    let pools = graph.pools.iter().map(|p| render_pool(graph, p)).collect();
    patched(
        lb_view,
        &[],
        [
            ("listeners", Value::Array(listeners)),
            ("pools", Value::Array(pools)),
        ],
    )
}

fn render_pool(graph: &Graph, p: &PoolPlan) -> Value {
    let related = Related::of(Kind::Listener, &p.pool.id, graph.listeners_of(&p.pool.id));
    let members = p
        .members
        .iter()
        .map(|m| to_value(&MemberView::new(m.clone())))
        .collect();
    let monitor = p.monitor.as_ref().map_or(Value::Null, |h| {
        patched(to_value(&HealthMonitorView::new(h.clone())), &["pools"], [])
    });
    patched(
        to_value(&PoolView::new(p.pool.clone(), &related)),
        &["loadbalancers", "healthmonitor_id"],
        [
            ("members", Value::Array(members)),
            ("healthmonitor", monitor),
        ],
    )
}

fn render_listener(l: &ListenerPlan) -> Value {
    let mut policies: Vec<&(L7Policy, Vec<L7Rule>)> = l.policies.iter().collect();
    policies.sort_by_key(|(p, _)| p.position);
    let policies = policies
        .into_iter()
        .map(|(p, rules)| {
            let rules = rules
                .iter()
                .map(|r| to_value(&L7RuleView::from(r.clone())))
                .collect();
            patched(
                to_value(&L7PolicyView::new(p.clone(), &Related::default())),
                &[],
                [("rules", Value::Array(rules))],
            )
        })
        .collect();
    patched(
        to_value(&ListenerView::new(l.listener.clone(), &Related::default())),
        &["loadbalancers"],
        [("l7policies", Value::Array(policies))],
    )
}

/// A rendered object without the `omit` keys and with the `set` ones replaced.
fn patched<const N: usize>(mut v: Value, omit: &[&str], set: [(&str, Value); N]) -> Value {
    if let Value::Object(map) = &mut v {
        for key in omit {
            map.remove(*key);
        }
        for (key, value) in set {
            map.insert(key.to_string(), value);
        }
    }
    v
}
