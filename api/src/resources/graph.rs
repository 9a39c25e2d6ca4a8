//! Octavia's single-call "graph" create: `POST /v2/lbaas/loadbalancers` with nested
//! `listeners` (default pool, L7 policies and rules) and `pools` (members, health monitor).
//!
//! The request shapes are Octavia's `*SingleCreate` types. [`plan`] builds and validates every
//! object with the same functions the standalone endpoints use, before anything is written;
//! [`Graph::insert`] then writes them in the load balancer's transaction and [`Graph::render`]
//! gives Octavia's full response (`LoadBalancerFullResponse`).

use std::collections::{BTreeMap, HashSet};

use fulcrum_core::Error;
use fulcrum_core::model::{
    ClientAuthentication, HealthMonitor, HealthMonitorType, HttpMethod, Kind, L7Policy,
    L7PolicyAction, L7Rule, LbAlgorithm, Listener, ListenerProtocol, LoadBalancer, Member, Pool,
    PoolProtocol, SessionPersistence,
};
use fulcrum_core::validate;
use fulcrum_store::Tx;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::health_monitors::{self, CreateHealthMonitor, HealthMonitorView};
use super::l7policies::{self, CreateL7Policy, L7PolicyView};
use super::l7rules::{CreateL7Rule, L7RuleView};
use super::listeners::{self, CreateListener, ListenerView};
use super::members::{self, CreateMember, MemberView};
use super::pools::{self, CreatePool, Relations};
use super::to_value;
use crate::AppState;

/// A pool in a graph create (Octavia's `PoolSingleCreate`): a full definition, or — as a
/// listener's `default_pool` or a policy's `redirect_pool` — just the `name` of a pool defined
/// elsewhere in the same request.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct PoolSingleCreate {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub admin_state_up: Option<bool>,
    #[serde(default)]
    pub protocol: Option<PoolProtocol>,
    #[serde(default)]
    pub lb_algorithm: Option<LbAlgorithm>,
    #[serde(default)]
    pub session_persistence: Option<SessionPersistence>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub tls_container_ref: Option<String>,
    #[serde(default)]
    pub ca_tls_container_ref: Option<String>,
    #[serde(default)]
    pub crl_container_ref: Option<String>,
    #[serde(default)]
    pub tls_enabled: Option<bool>,
    #[serde(default)]
    pub tls_ciphers: Option<String>,
    #[serde(default)]
    pub tls_versions: Option<Vec<String>>,
    #[serde(default)]
    pub alpn_protocols: Option<Vec<String>>,
    /// Its health monitor.
    #[serde(default)]
    pub healthmonitor: Option<HealthMonitorSingleCreate>,
    /// Its members.
    #[serde(default)]
    pub members: Option<Vec<CreateMember>>,
}

/// A health monitor in a graph create (Octavia's `HealthMonitorSingleCreate`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct HealthMonitorSingleCreate {
    #[serde(rename = "type")]
    pub kind: HealthMonitorType,
    pub delay: i64,
    pub timeout: i64,
    pub max_retries: i64,
    #[serde(default)]
    pub max_retries_down: Option<i64>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub http_method: Option<HttpMethod>,
    #[serde(default)]
    pub url_path: Option<String>,
    #[serde(default)]
    pub expected_codes: Option<String>,
    #[serde(default)]
    pub http_version: Option<f64>,
    #[serde(default)]
    pub domain_name: Option<String>,
    #[serde(default)]
    pub admin_state_up: Option<bool>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
}

/// A listener in a graph create (Octavia's `ListenerSingleCreate`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct ListenerSingleCreate {
    pub protocol: ListenerProtocol,
    pub protocol_port: i64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub admin_state_up: Option<bool>,
    #[serde(default)]
    pub connection_limit: Option<i64>,
    #[serde(default)]
    pub default_tls_container_ref: Option<String>,
    #[serde(default)]
    pub sni_container_refs: Option<Vec<String>>,
    /// An existing pool: none can exist on a load balancer being created (404).
    #[serde(default)]
    pub default_pool_id: Option<String>,
    /// Its default pool: a full definition or the name of one in `pools`.
    #[serde(default)]
    pub default_pool: Option<PoolSingleCreate>,
    /// Its L7 policies.
    #[serde(default)]
    pub l7policies: Option<Vec<L7PolicySingleCreate>>,
    #[serde(default)]
    pub insert_headers: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub timeout_client_data: Option<i64>,
    #[serde(default)]
    pub timeout_member_connect: Option<i64>,
    #[serde(default)]
    pub timeout_member_data: Option<i64>,
    #[serde(default)]
    pub timeout_tcp_inspect: Option<i64>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub client_ca_tls_container_ref: Option<String>,
    #[serde(default)]
    pub client_authentication: Option<ClientAuthentication>,
    #[serde(default)]
    pub client_crl_container_ref: Option<String>,
    #[serde(default)]
    pub allowed_cidrs: Option<Vec<String>>,
    #[serde(default)]
    pub tls_ciphers: Option<String>,
    #[serde(default)]
    pub tls_versions: Option<Vec<String>>,
    #[serde(default)]
    pub alpn_protocols: Option<Vec<String>>,
    #[serde(default)]
    pub hsts_max_age: Option<i64>,
    #[serde(default)]
    pub hsts_include_subdomains: Option<bool>,
    #[serde(default)]
    pub hsts_preload: Option<bool>,
}

/// An L7 policy in a graph create (Octavia's `L7PolicySingleCreate`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct L7PolicySingleCreate {
    pub action: L7PolicyAction,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub admin_state_up: Option<bool>,
    /// The pool to redirect to: a full definition or the name of one in the request.
    #[serde(default)]
    pub redirect_pool: Option<PoolSingleCreate>,
    #[serde(default)]
    pub redirect_url: Option<String>,
    #[serde(default)]
    pub redirect_prefix: Option<String>,
    #[serde(default)]
    pub redirect_http_code: Option<i64>,
    #[serde(default)]
    pub position: Option<i64>,
    /// Its rules.
    #[serde(default)]
    pub rules: Option<Vec<CreateL7Rule>>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
}

impl PoolSingleCreate {
    /// A reference to the pool named `name`.
    fn reference(name: String) -> Self {
        PoolSingleCreate {
            name: Some(name),
            ..PoolSingleCreate::default()
        }
    }

    /// Whether it only names a pool (Octavia: nothing given but the name).
    fn is_reference(&self) -> bool {
        self.description.is_none()
            && self.admin_state_up.is_none()
            && self.protocol.is_none()
            && self.lb_algorithm.is_none()
            && self.session_persistence.is_none()
            && self.tags.is_none()
            && self.tls_container_ref.is_none()
            && self.ca_tls_container_ref.is_none()
            && self.crl_container_ref.is_none()
            && self.tls_enabled.is_none()
            && self.tls_ciphers.is_none()
            && self.tls_versions.is_none()
            && self.alpn_protocols.is_none()
            && self.healthmonitor.is_none()
            && self.members.is_none()
    }

    /// The standalone create request for it, its monitor and its members; protocol and
    /// algorithm, optional in the type, are required here.
    fn into_create(
        self,
    ) -> Result<
        (
            CreatePool,
            Option<HealthMonitorSingleCreate>,
            Vec<CreateMember>,
        ),
        Error,
    > {
        let missing = |attr: &str| {
            Error::validation(format!(
                "Pool definition for '{}' missing required attribute: {attr}",
                self.name.as_deref().unwrap_or("None")
            ))
        };
        let protocol = self.protocol.ok_or_else(|| missing("protocol"))?;
        let lb_algorithm = self.lb_algorithm.ok_or_else(|| missing("lb_algorithm"))?;
        let create = CreatePool {
            protocol,
            lb_algorithm,
            loadbalancer_id: None,
            listener_id: None,
            name: self.name,
            description: self.description,
            admin_state_up: self.admin_state_up,
            session_persistence: self.session_persistence,
            tags: self.tags,
            tls_container_ref: self.tls_container_ref,
            ca_tls_container_ref: self.ca_tls_container_ref,
            crl_container_ref: self.crl_container_ref,
            tls_enabled: self.tls_enabled,
            tls_ciphers: self.tls_ciphers,
            tls_versions: self.tls_versions,
            alpn_protocols: self.alpn_protocols,
            project_id: None,
            tenant_id: None,
        };
        Ok((create, self.healthmonitor, self.members.unwrap_or_default()))
    }
}

impl HealthMonitorSingleCreate {
    /// The standalone create request for a monitor of `pool_id`.
    fn into_create(self, pool_id: &str) -> CreateHealthMonitor {
        CreateHealthMonitor {
            pool_id: pool_id.to_string(),
            kind: self.kind,
            delay: self.delay,
            timeout: self.timeout,
            max_retries: self.max_retries,
            max_retries_down: self.max_retries_down,
            name: self.name,
            http_method: self.http_method,
            url_path: self.url_path,
            expected_codes: self.expected_codes,
            http_version: self.http_version,
            domain_name: self.domain_name,
            admin_state_up: self.admin_state_up,
            tags: self.tags,
            project_id: None,
            tenant_id: None,
        }
    }
}

impl ListenerSingleCreate {
    /// The standalone create request for it on `lb_id` (after `default_pool` and `l7policies`
    /// were taken out).
    fn into_create(self, lb_id: &str, default_pool_id: Option<String>) -> CreateListener {
        CreateListener {
            loadbalancer_id: lb_id.to_string(),
            protocol: self.protocol,
            protocol_port: self.protocol_port,
            name: self.name,
            description: self.description,
            admin_state_up: self.admin_state_up,
            connection_limit: self.connection_limit,
            default_tls_container_ref: self.default_tls_container_ref,
            sni_container_refs: self.sni_container_refs,
            default_pool_id,
            insert_headers: self.insert_headers,
            timeout_client_data: self.timeout_client_data,
            timeout_member_connect: self.timeout_member_connect,
            timeout_member_data: self.timeout_member_data,
            timeout_tcp_inspect: self.timeout_tcp_inspect,
            tags: self.tags,
            client_ca_tls_container_ref: self.client_ca_tls_container_ref,
            client_authentication: self.client_authentication,
            client_crl_container_ref: self.client_crl_container_ref,
            allowed_cidrs: self.allowed_cidrs,
            tls_ciphers: self.tls_ciphers,
            tls_versions: self.tls_versions,
            alpn_protocols: self.alpn_protocols,
            hsts_max_age: self.hsts_max_age,
            hsts_include_subdomains: self.hsts_include_subdomains,
            hsts_preload: self.hsts_preload,
            project_id: None,
            tenant_id: None,
        }
    }
}

impl L7PolicySingleCreate {
    /// The standalone create request for it on `listener_id` (after `redirect_pool` was taken
    /// out and resolved).
    fn into_create(self, listener_id: &str, redirect_pool_id: Option<String>) -> CreateL7Policy {
        CreateL7Policy {
            listener_id: listener_id.to_string(),
            action: self.action,
            name: self.name,
            description: self.description,
            admin_state_up: self.admin_state_up,
            redirect_pool_id,
            redirect_url: self.redirect_url,
            redirect_prefix: self.redirect_prefix,
            redirect_http_code: self.redirect_http_code,
            position: self.position,
            rules: self.rules,
            tags: self.tags,
            project_id: None,
            tenant_id: None,
        }
    }
}

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
    let pool = pools::build_pool(state, lb, create)?;
    let monitor = monitor
        .map(|h| health_monitors::build_monitor(state, &pool, lb, h.into_create(&pool.id)))
        .transpose()?;
    let mut members = Vec::new();
    for m in requested {
        let m = members::build_member(state, &pool, m, monitor.is_some())?;
        members::check_endpoint_free(&members, &m)?;
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
    let listener = listeners::build_listener(state, lb, create)?;
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
    let (mut policy, rules) = l7policies::build_policy(state, lb, &plan.listener, create)?;
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
        let relations = Relations::of_listeners(&p.pool.id, self.listeners_of(&p.pool.id));
        let members = p
            .members
            .iter()
            .map(|m| to_value(&MemberView::new(m.clone())))
            .collect();
        let monitor = p.monitor.as_ref().map_or(Value::Null, |h| {
            patched(to_value(&HealthMonitorView::new(h.clone())), &["pools"], [])
        });
        patched(
            to_value(&relations.view(p.pool.clone())),
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
                to_value(&L7PolicyView::new(p.clone(), &[])),
                &[],
                [("rules", Value::Array(rules))],
            )
        })
        .collect();
    patched(
        to_value(&ListenerView::new(l.listener.clone(), &[])),
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
