//! Octavia's single-call "graph" create: `POST /v2/lbaas/loadbalancers` with nested
//! `listeners` (default pool, L7 policies and rules) and `pools` (members, health monitor).
//!
//! The request shapes are Octavia's `*SingleCreate` types ([`crate::shapes::graph`]). [`plan`]
//! builds and validates every object with the same functions the standalone endpoints use,
//! before anything is written; [`Graph::insert`] then writes them in the load balancer's
//! transaction.

use std::collections::HashSet;

use fulcrum_core::Error;
use fulcrum_core::model::{
    HealthMonitor, Kind, L7Policy, L7Rule, Listener, LoadBalancer, Member, Pool,
};
use fulcrum_core::validate;
use fulcrum_store::Tx;

use super::Service;
use super::health_monitors::build_monitor;
use super::l7policies::{build_policy, place};
use super::listeners::{build_listener, check_port_free};
use super::members::{build_member, check_endpoint_free};
use super::pools::build_pool;
use crate::shapes::graph::{L7PolicySingleCreate, ListenerSingleCreate, PoolSingleCreate};

/// A pool of the graph with its members and monitor, built and validated.
#[derive(Debug)]
pub struct PoolPlan {
    /// The pool.
    pub pool: Pool,
    /// Its members.
    pub members: Vec<Member>,
    /// Its health monitor.
    pub monitor: Option<HealthMonitor>,
}

/// A listener of the graph with its policies and their rules, built and validated.
#[derive(Debug)]
pub struct ListenerPlan {
    /// The listener.
    pub listener: Listener,
    /// Its L7 policies, each with its rules.
    pub policies: Vec<(L7Policy, Vec<L7Rule>)>,
}

/// Every object of a graph create, built and validated, ready to be inserted.
#[derive(Debug, Default)]
pub struct Graph {
    /// The pools, each with its members and health monitor.
    pub pools: Vec<PoolPlan>,
    /// The listeners, each with its L7 policies and their rules.
    pub listeners: Vec<ListenerPlan>,
}

/// Build and validate the whole graph below `lb` (whose id, project, provider and VIP address
/// are final) without touching the store. Pools given in place are moved to the top-level list
/// first, so every reference resolves by name to a pool of the same request, as in Octavia.
pub(crate) fn plan(
    service: &Service,
    lb: &LoadBalancer,
    mut listeners: Vec<ListenerSingleCreate>,
    mut pools: Vec<PoolSingleCreate>,
) -> Result<Graph, Error> {
    hoist_pools(&mut listeners, &mut pools)?;
    let mut graph = Graph::default();
    for spec in pools {
        graph.pools.push(plan_pool(service, lb, spec)?);
    }
    for spec in listeners {
        let plan = plan_listener(service, lb, spec, &graph)?;
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
    service: &Service,
    lb: &LoadBalancer,
    spec: PoolSingleCreate,
) -> Result<PoolPlan, Error> {
    let (create, monitor, requested) = spec.into_create()?;
    let pool = build_pool(service, lb, create)?;
    let monitor = monitor
        .map(|h| build_monitor(service, &pool, lb, h.into_create(&pool.id)))
        .transpose()?;
    let mut members = Vec::new();
    for m in requested {
        let m = build_member(&pool, m, monitor.is_some())?;
        check_endpoint_free(&members, &m)?;
        members.push(m);
    }
    Ok(PoolPlan {
        pool,
        members,
        monitor,
    })
}

fn plan_listener(
    service: &Service,
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
    let listener = build_listener(service, lb, create)?;
    check_port_free(graph.listeners.iter().map(|l| &l.listener), &listener)?;
    let mut plan = ListenerPlan {
        listener,
        policies: Vec::new(),
    };
    for policy in policies {
        plan_policy(service, lb, &mut plan, policy, graph)?;
    }
    Ok(plan)
}

fn plan_policy(
    service: &Service,
    lb: &LoadBalancer,
    plan: &mut ListenerPlan,
    mut spec: L7PolicySingleCreate,
    graph: &Graph,
) -> Result<(), Error> {
    let redirect = resolve(spec.redirect_pool.take(), graph)?;
    let create = spec.into_create(&plan.listener.id, redirect.map(|p| p.id.clone()));
    let (mut policy, rules) = build_policy(service, lb, &plan.listener, create)?;
    if let Some(pool) = redirect.filter(|_| policy.redirect_pool_id.is_some()) {
        validate::listener_pool_protocols(plan.listener.protocol, pool.protocol)?;
    }
    let siblings = plan.policies.iter().map(|(p, _)| p.clone()).collect();
    let wanted = policy.position;
    for moved in place(&mut policy, siblings, wanted) {
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

    /// The ids of the listeners a pool serves: as default pool or as a policy's redirect target.
    pub fn listeners_of(&self, pool_id: &str) -> Vec<String> {
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
}
