//! Edits of a load balancer's desired tree by the provider API: each object built from
//! Octavia's create fields with the builders Fulcrum's own API uses (so it is validated the same
//! way), put under Octavia's id, and checked against its siblings in the tree.

use fulcrum_core::Error;
use fulcrum_core::driver::LoadBalancerGraph;
use fulcrum_core::model::{Kind, LoadBalancer, Member};
use fulcrum_core::validate;
use fulcrum_store::Record;

use crate::service::Service;
use crate::service::health_monitors::build_monitor;
use crate::service::l7policies::build_policy;
use crate::service::l7rules::{check_rule_count, new_rule};
use crate::service::listeners::{build_listener, check_port_free};
use crate::service::members::{build_member, check_endpoint_free};
use crate::service::pools::build_pool;
use crate::shapes::health_monitors::CreateHealthMonitor;
use crate::shapes::l7policies::CreateL7Policy;
use crate::shapes::l7rules::CreateL7Rule;
use crate::shapes::listeners::CreateListener;
use crate::shapes::members::CreateMember;
use crate::shapes::pools::CreatePool;

/// A tree holding only `lb`.
pub(super) fn empty(lb: LoadBalancer) -> LoadBalancerGraph {
    LoadBalancerGraph {
        load_balancer: lb,
        listeners: Vec::new(),
        pools: Vec::new(),
        members: Vec::new(),
        health_monitors: Vec::new(),
        l7policies: Vec::new(),
        l7rules: Vec::new(),
        flavor_metadata: Default::default(),
        availability_zone_metadata: Default::default(),
    }
}

/// Replace the row with `row`'s id, or add it.
fn put<T: Record>(rows: &mut Vec<T>, row: T) {
    match rows.iter_mut().find(|r| r.id() == row.id()) {
        Some(slot) => *slot = row,
        None => rows.push(row),
    }
}

fn wrong_tree(field: &str, value: &str, lb: &LoadBalancer) -> Error {
    Error::validation(format!(
        "{field} {value} is not load balancer {}, whose tree this request writes",
        lb.id
    ))
}

/// Put a listener.
pub(super) fn listener(
    service: &Service,
    g: &mut LoadBalancerGraph,
    id: &str,
    req: CreateListener,
) -> Result<(), Error> {
    if req.loadbalancer_id != g.load_balancer.id {
        return Err(wrong_tree(
            "loadbalancer_id",
            &req.loadbalancer_id,
            &g.load_balancer,
        ));
    }
    let mut l = build_listener(service, &g.load_balancer, req)?;
    l.id = id.to_string();
    if let Some(pool_id) = &l.default_pool_id {
        let pool = g
            .pools
            .iter()
            .find(|p| &p.id == pool_id)
            .ok_or_else(|| Error::not_found("Pool", pool_id))?;
        validate::listener_pool_protocols(l.protocol, pool.protocol)?;
    }
    check_port_free(&g.listeners, &l)?;
    put(&mut g.listeners, l);
    Ok(())
}

/// Put a pool; returns the listener whose default pool it is to be, if the request names one.
pub(super) fn pool(
    service: &Service,
    g: &mut LoadBalancerGraph,
    id: &str,
    req: CreatePool,
) -> Result<Option<String>, Error> {
    if let Some(lb_id) = req.loadbalancer_id.as_deref()
        && lb_id != g.load_balancer.id
    {
        return Err(wrong_tree("loadbalancer_id", lb_id, &g.load_balancer));
    }
    let listener_id = req.listener_id.clone();
    let mut p = build_pool(service, &g.load_balancer, req)?;
    p.id = id.to_string();
    put(&mut g.pools, p);
    Ok(listener_id)
}

/// Make `pool_id` the default pool of `listener_id`, as a pool created with a `listener_id` is.
pub(super) fn link_default_pool(
    g: &mut LoadBalancerGraph,
    listener_id: &str,
    pool_id: &str,
) -> Result<(), Error> {
    let pool_protocol = g
        .pools
        .iter()
        .find(|p| p.id == pool_id)
        .map(|p| p.protocol)
        .ok_or_else(|| Error::not_found("Pool", pool_id))?;
    let listener = g
        .listeners
        .iter_mut()
        .find(|l| l.id == listener_id)
        .ok_or_else(|| Error::not_found("Listener", listener_id))?;
    match &listener.default_pool_id {
        Some(other) if other != pool_id => Err(Error::Conflict(
            "This listener already has a default pool".into(),
        )),
        _ => {
            validate::listener_pool_protocols(listener.protocol, pool_protocol)?;
            listener.default_pool_id = Some(pool_id.to_string());
            Ok(())
        }
    }
}

/// Put a member of `pool_id`.
pub(super) fn member(
    g: &mut LoadBalancerGraph,
    pool_id: &str,
    id: &str,
    req: CreateMember,
) -> Result<(), Error> {
    let pool = g
        .pools
        .iter()
        .find(|p| p.id == pool_id)
        .ok_or_else(|| Error::not_found("Pool", pool_id))?;
    let has_monitor = g.health_monitors.iter().any(|h| h.pool_id == pool_id);
    let mut m = build_member(pool, req, has_monitor)?;
    m.id = id.to_string();
    let siblings: Vec<Member> = g
        .members
        .iter()
        .filter(|s| s.pool_id == pool_id)
        .cloned()
        .collect();
    check_endpoint_free(&siblings, &m)?;
    put(&mut g.members, m);
    Ok(())
}

/// Put a health monitor; a pool has one at most.
pub(super) fn health_monitor(
    service: &Service,
    g: &mut LoadBalancerGraph,
    id: &str,
    req: CreateHealthMonitor,
) -> Result<(), Error> {
    let pool = g
        .pools
        .iter()
        .find(|p| p.id == req.pool_id)
        .ok_or_else(|| Error::not_found("Pool", &req.pool_id))?;
    if g.health_monitors
        .iter()
        .any(|h| h.pool_id == pool.id && h.id != id)
    {
        return Err(Error::Conflict(format!(
            "Pool {} already has a health monitor",
            pool.id
        )));
    }
    let mut h = build_monitor(service, pool, &g.load_balancer, req)?;
    h.id = id.to_string();
    put(&mut g.health_monitors, h);
    Ok(())
}

/// Put an L7 policy (its rules are put on their own, under their ids).
pub(super) fn l7policy(
    service: &Service,
    g: &mut LoadBalancerGraph,
    id: &str,
    req: CreateL7Policy,
) -> Result<(), Error> {
    if req.rules.as_ref().is_some_and(|r| !r.is_empty()) {
        return Err(Error::validation(
            "The rules of an L7 policy are put with their ids, not in the policy",
        ));
    }
    let listener = g
        .listeners
        .iter()
        .find(|l| l.id == req.listener_id)
        .ok_or_else(|| Error::not_found("Listener", &req.listener_id))?;
    let (mut policy, _) = build_policy(service, &g.load_balancer, listener, req)?;
    policy.id = id.to_string();
    if let Some(pool_id) = &policy.redirect_pool_id {
        let pool = g
            .pools
            .iter()
            .find(|p| &p.id == pool_id)
            .ok_or_else(|| Error::not_found("Pool", pool_id))?;
        validate::listener_pool_protocols(listener.protocol, pool.protocol)?;
    }
    put(&mut g.l7policies, policy);
    Ok(())
}

/// Put a rule of `policy_id`.
pub(super) fn l7rule(
    g: &mut LoadBalancerGraph,
    policy_id: &str,
    id: &str,
    req: CreateL7Rule,
) -> Result<(), Error> {
    let policy = g
        .l7policies
        .iter()
        .find(|p| p.id == policy_id)
        .ok_or_else(|| Error::not_found("L7Policy", policy_id))?;
    let mut rule = new_rule(policy, req)?;
    rule.id = id.to_string();
    put(&mut g.l7rules, rule);
    let count = g
        .l7rules
        .iter()
        .filter(|r| r.l7policy_id == policy_id)
        .count();
    check_rule_count(policy_id, count)
}

/// Replace the members of `pool_id` with `members` (Octavia's batch update).
pub(super) fn replace_members(
    g: &mut LoadBalancerGraph,
    pool_id: &str,
    members: Vec<(String, CreateMember)>,
) -> Result<(), Error> {
    if !g.pools.iter().any(|p| p.id == pool_id) {
        return Err(Error::not_found("Pool", pool_id));
    }
    g.members.retain(|m| m.pool_id != pool_id);
    for (id, req) in members {
        member(g, pool_id, &id, req)?;
    }
    Ok(())
}

/// Remove an object and everything below it; a listener whose default pool goes loses it.
pub(super) fn remove(g: &mut LoadBalancerGraph, kind: Kind, id: &str) {
    match kind {
        Kind::LoadBalancer => {}
        Kind::Listener => {
            g.listeners.retain(|l| l.id != id);
            let policies: Vec<String> = g
                .l7policies
                .iter()
                .filter(|p| p.listener_id == id)
                .map(|p| p.id.clone())
                .collect();
            g.l7policies.retain(|p| p.listener_id != id);
            g.l7rules.retain(|r| !policies.contains(&r.l7policy_id));
        }
        Kind::Pool => {
            g.pools.retain(|p| p.id != id);
            g.members.retain(|m| m.pool_id != id);
            g.health_monitors.retain(|h| h.pool_id != id);
            for l in &mut g.listeners {
                if l.default_pool_id.as_deref() == Some(id) {
                    l.default_pool_id = None;
                }
            }
        }
        Kind::Member => g.members.retain(|m| m.id != id),
        Kind::HealthMonitor => g.health_monitors.retain(|h| h.id != id),
        Kind::L7Policy => {
            g.l7policies.retain(|p| p.id != id);
            g.l7rules.retain(|r| r.l7policy_id != id);
        }
        Kind::L7Rule => g.l7rules.retain(|r| r.id != id),
    }
}
