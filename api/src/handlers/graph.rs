//! Octavia's single-call "graph" create: `POST /v2/lbaas/loadbalancers` with nested
//! `listeners` (default pool, L7 policies and rules) and `pools` (members, health monitor).
//!
//! The request shapes are Octavia's `*SingleCreate` types. [`plan`] builds and validates every
//! object with the same functions the standalone endpoints use, before anything is written;
//! [`Graph::insert`] then writes them in the load balancer's transaction and [`Graph::render`]
//! gives Octavia's full response (`LoadBalancerFullResponse`).

use crate::shapes::Related;
use crate::shapes::graph::*;
use std::collections::HashSet;

use fulcrum_core::Error;
use fulcrum_core::model::{
    HealthMonitor, Kind, L7Policy, L7Rule, Listener, LoadBalancer, Member, Pool,
};
use fulcrum_core::validate;
use fulcrum_store::Tx;
use serde_json::Value;

use super::to_value;
use crate::AppState;
use crate::service::{l7policies, listeners, pools};
use crate::shapes::health_monitors::HealthMonitorView;
use crate::shapes::l7policies::L7PolicyView;
use crate::shapes::l7rules::L7RuleView;
use crate::shapes::listeners::ListenerView;
use crate::shapes::members::MemberView;
use crate::shapes::pools::PoolView;

/// A pool of the graph with its members and monitor, built and validated.
#[derive(Debug)]
struct PoolPlan {
    pool: Pool,
    members: Vec<Member>,
    monitor: Option<HealthMonitor>,
}

/// A listener of the graph with its policies and their rules, built and validated.
#[derive(Debug)]
struct ListenerPlan {
    listener: Listener,
    policies: Vec<(L7Policy, Vec<L7Rule>)>,
}

/// Every object of a graph create, built and validated, ready to be inserted.
#[derive(Debug, Default)]
pub struct Graph {
    pools: Vec<PoolPlan>,
    listeners: Vec<ListenerPlan>,
}

/// Build and validate the whole graph below `lb` (whose id, project, provider and VIP address
/// are final) without touching the store. Pools given in place are moved to the top-level list
/// first, so every reference resolves by name to a pool of the same request, as in Octavia.
pub fn plan(
    state: &AppState,
    lb: &LoadBalancer,
    mut listeners: Vec<ListenerSingleCreate>,
    mut pools: Vec<PoolSingleCreate>,
) -> Result<Graph, Error> {
    hoist_pools(&mut listeners, &mut pools)?;
    let mut graph = Graph::default();
    for spec in pools {
        graph.pools.push(plan_pool(state, lb, spec)?);
    }
    for spec in listeners {
        let plan = plan_listener(state, lb, spec, &graph)?;
        graph.listeners.push(plan);
    }
    Ok(graph)
}

fn unnamed_pool() -> Error {
    Error::validation("Pools must be named when creating a fully populated loadbalancer.")
}

/// Move a pool defined in place to `pools`, leaving a reference by name in its slot.
fn hoist(
    slot: &mut Option<PoolSingleCreate>,
    pools: &mut Vec<PoolSingleCreate>,
) -> Result<(), Error> {
    let Some(spec) = slot.take() else {
        return Ok(());
    };
    let name = spec.name.clone().ok_or_else(unnamed_pool)?;
    if !spec.is_reference() {
        pools.push(spec);
    }
    *slot = Some(PoolSingleCreate::reference(name));
    Ok(())
}

/// Hoist every in-place pool definition; pool names must then be unique.
fn hoist_pools(
    listeners: &mut [ListenerSingleCreate],
    pools: &mut Vec<PoolSingleCreate>,
) -> Result<(), Error> {
    for l in listeners.iter_mut() {
        hoist(&mut l.default_pool, pools)?;
        for policy in l.l7policies.iter_mut().flatten() {
            hoist(&mut policy.redirect_pool, pools)?;
        }
    }
    let mut seen = HashSet::new();
    if pools
        .iter()
        .filter_map(|p| p.name.as_deref())
        .any(|name| !seen.insert(name))
    {
        return Err(Error::validation(
            "Pool names must be unique when creating a fully populated loadbalancer.",
        ));
    }
    Ok(())
}

/// The pool of the graph a reference names, or Octavia's `SingleCreateDetailsMissing`.
fn resolve(slot: Option<PoolSingleCreate>, graph: &Graph) -> Result<Option<&Pool>, Error> {
    let Some(name) = slot.map(|s| s.name) else {
        return Ok(None);
    };
    let name = name.ok_or_else(unnamed_pool)?;
    graph
        .pools
        .iter()
        .map(|p| &p.pool)
        .find(|p| p.name.as_deref() == Some(name.as_str()))
        .map(Some)
        .ok_or_else(|| Error::InvalidInput(format!("Missing details for Pool object: {name}")))
}

fn plan_pool(
    state: &AppState,
    lb: &LoadBalancer,
    spec: PoolSingleCreate,
) -> Result<PoolPlan, Error> {
    let (create, monitor, requested) = spec.into_create()?;
    let pool = pools::build_pool(&state.service, lb, create)?;
    let monitor = monitor
        .map(|h| {
            crate::service::health_monitors::build_monitor(
                &state.service,
                &pool,
                lb,
                h.into_create(&pool.id),
            )
        })
        .transpose()?;
    let mut members = Vec::new();
    for m in requested {
        let m = crate::service::members::build_member(
            state.service.networks.as_ref(),
            &pool,
            m,
            monitor.is_some(),
        )?;
        crate::service::members::check_endpoint_free(&members, &m)?;
        members.push(m);
    }
    Ok(PoolPlan {
        pool,
        members,
        monitor,
    })
}

fn plan_listener(
    state: &AppState,
    lb: &LoadBalancer,
    mut spec: ListenerSingleCreate,
    graph: &Graph,
) -> Result<ListenerPlan, Error> {
    if let Some(id) = &spec.default_pool_id {
        return Err(Error::not_found("Pool", id));
    }
    let default_pool = resolve(spec.default_pool.take(), graph)?;
    if let Some(pool) = default_pool {
        validate::listener_pool_protocols(spec.protocol, pool.protocol)?;
    }
    let policies = spec.l7policies.take().unwrap_or_default();
    let create = spec.into_create(&lb.id, default_pool.map(|p| p.id.clone()));
    let listener = listeners::build_listener(&state.service, lb, create)?;
    listeners::check_port_free(graph.listeners.iter().map(|l| &l.listener), &listener)?;
    let mut plan = ListenerPlan {
        listener,
        policies: Vec::new(),
    };
    for policy in policies {
        plan_policy(state, lb, &mut plan, policy, graph)?;
    }
    Ok(plan)
}

fn plan_policy(
    state: &AppState,
    lb: &LoadBalancer,
    plan: &mut ListenerPlan,
    mut spec: L7PolicySingleCreate,
    graph: &Graph,
) -> Result<(), Error> {
    let redirect = resolve(spec.redirect_pool.take(), graph)?;
    let create = spec.into_create(&plan.listener.id, redirect.map(|p| p.id.clone()));
    let (mut policy, rules) = l7policies::build_policy(&state.service, lb, &plan.listener, create)?;
    if let Some(pool) = redirect.filter(|_| policy.redirect_pool_id.is_some()) {
        validate::listener_pool_protocols(plan.listener.protocol, pool.protocol)?;
    }
    let siblings = plan.policies.iter().map(|(p, _)| p.clone()).collect();
    let wanted = policy.position;
    for moved in l7policies::place(&mut policy, siblings, wanted) {
        if let Some(slot) = plan.policies.iter_mut().find(|(p, _)| p.id == moved.id) {
            slot.0 = moved;
        }
    }
    plan.policies.push((policy, rules));
    Ok(())
}

impl Graph {
    /// How many objects of each kind creating it adds, the load balancer included (for quotas).
    pub fn quota_counts(&self) -> [(Kind, usize); 7] {
        let policies = self.listeners.iter().flat_map(|l| &l.policies);
        [
            (Kind::LoadBalancer, 1),
            (Kind::Listener, self.listeners.len()),
            (Kind::Pool, self.pools.len()),
            (
                Kind::Member,
                self.pools.iter().map(|p| p.members.len()).sum(),
            ),
            (
                Kind::HealthMonitor,
                self.pools.iter().filter(|p| p.monitor.is_some()).count(),
            ),
            (Kind::L7Policy, policies.clone().count()),
            (Kind::L7Rule, policies.map(|(_, rules)| rules.len()).sum()),
        ]
    }

    /// Insert every object, parents first, in the load balancer's transaction.
    pub async fn insert(&self, tx: &mut Tx) -> Result<(), Error> {
        for p in &self.pools {
            tx.insert(&p.pool).await?;
            for m in &p.members {
                tx.insert(m).await?;
            }
            if let Some(h) = &p.monitor {
                tx.insert(h).await?;
            }
        }
        for l in &self.listeners {
            tx.insert(&l.listener).await?;
            for (policy, rules) in &l.policies {
                tx.insert(policy).await?;
                for r in rules {
                    tx.insert(r).await?;
                }
            }
        }
        Ok(())
    }

    /// Octavia's `LoadBalancerFullResponse` from the plain view of the load balancer: its
    /// `listeners` and `pools` become full objects.
    pub fn render(&self, lb_view: Value) -> Value {
        let listeners = self.listeners.iter().map(render_listener).collect();
        let pools = self.pools.iter().map(|p| self.render_pool(p)).collect();
        patched(
            lb_view,
            &[],
            [
                ("listeners", Value::Array(listeners)),
                ("pools", Value::Array(pools)),
            ],
        )
    }

    /// The listeners a pool serves: as default pool or as a policy's redirect target.
    fn listeners_of(&self, pool_id: &str) -> Vec<String> {
        self.listeners
            .iter()
            .filter(|l| {
                l.listener.default_pool_id.as_deref() == Some(pool_id)
                    || l.policies
                        .iter()
                        .any(|(p, _)| p.redirect_pool_id.as_deref() == Some(pool_id))
            })
            .map(|l| l.listener.id.clone())
            .collect()
    }

    fn render_pool(&self, p: &PoolPlan) -> Value {
        let related = Related::of(Kind::Listener, &p.pool.id, self.listeners_of(&p.pool.id));
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
