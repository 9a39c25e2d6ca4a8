//! The F5 BIG-IP driver: each load balancer is an AS3 Application in its project's (or its VIP
//! network's) tenant, declared on the active device of an HA pair (or on a single device).
//!
//! With several pairs configured, each new load balancer is placed on one ([`placement`]): the
//! least loaded of the pairs whose devices management lets take new work, decided when it is
//! created and stored with it ([`LoadBalancer::placement`]; a load balancer stored without one
//! belongs to the first pair). Every call for a load balancer goes to its pair's devices.
//!
//! AS3 takes a tenant whole, so every apply re-declares the project's tenant: it reads the
//! tenant the active device holds, puts this load balancer's Application in it (or takes it
//! out) and declares the tenant alone (`POST /declare/{tenant}?async=true`), then polls the
//! task. A device applies one declaration at a time, so the driver sends one at a time to each
//! pair; the changes that wait meanwhile are coalesced per pair and tenant ([`batch`]), so a
//! burst of edits becomes a few declarations and two load balancers of one project never
//! overwrite each other. Before each write the driver asks each device of the pair for its
//! failover state and writes to the active one only; a device busy with another declaration
//! (503), or a failover under way, is retried with the kit's back-off. A declaration AS3 refuses
//! (422) is the load balancer's fault, quoting AS3, except for the pool members and the
//! listeners' certificates the device names: those members, and the listeners of those
//! certificates, are left out and reported refused, so that they alone end in ERROR
//! ([`refusal`]).
//!
//! See [`as3`] for the mapping.

pub mod as3;
mod batch;
pub mod config;
mod device;
mod events;
pub mod l7;
mod pair;
pub mod placement;
mod refusal;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use fulcrum_core::devices::placeable;
use fulcrum_core::driver::{
    Applied, Capabilities, Driver, DriverContext, DriverError, DriverErrorKind, DriverFactory,
    Fingerprint, LoadBalancerGraph, Observation, Placements, Realized, parse_section,
};
use fulcrum_core::model::{
    HealthMonitorType, Kind, LbAlgorithm, ListenerProtocol, LoadBalancer, OperatingStatus,
    PoolProtocol, Stats,
};
use serde_json::{Value, json};

use crate::kit::{
    ResolvedCertificates, RetryPolicy, backend_name, parse_backend_name, resolve_certificates,
    retry,
};
pub use config::{AuthMode, F5Config, PairConfig, TenantNaming};
use events::Events;
use pair::Pair;
use placement::Candidate;
use refusal::Verdict;

/// The providers list's description of this driver.
const DESCRIPTION: &str =
    "F5 BIG-IP through AS3: a tenant per project, an Application per load balancer.";

/// Builds [`F5Driver`]s from `[providers.f5]`.
#[derive(Debug, Default)]
pub struct F5Factory;

impl DriverFactory for F5Factory {
    fn name(&self) -> &'static str {
        "f5"
    }

    fn description(&self) -> &'static str {
        DESCRIPTION
    }

    fn build(
        &self,
        context: &DriverContext,
        section: &serde_json::Value,
    ) -> Result<Arc<dyn Driver>, DriverError> {
        let config: F5Config = parse_section("f5", section)?;
        Ok(Arc::new(F5Driver::new(config, context.clone())?))
    }
}

/// The F5 driver.
pub struct F5Driver {
    config: F5Config,
    /// The pairs, in configuration order.
    pairs: Vec<Pair>,
    context: DriverContext,
    retry: RetryPolicy,
    /// The pair (by index) holding each load balancer, as its placement or the device said.
    homes: Mutex<HashMap<String, usize>>,
    /// The ids of the objects the device refused at the last apply, by load balancer.
    refused: Mutex<HashMap<String, BTreeSet<String>>>,
    events: Events,
    /// A fingerprint of the Application last declared for each load balancer, when every
    /// object was accepted (drift is looked for only then; see [`Driver::realized_fingerprints`]).
    applied: Mutex<HashMap<String, Fingerprint>>,
}

impl std::fmt::Debug for F5Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("F5Driver")
            .field("pairs", &self.config.pairs())
            .finish_non_exhaustive()
    }
}

impl F5Driver {
    /// A driver for the configured devices.
    pub fn new(config: F5Config, context: DriverContext) -> Result<Self, DriverError> {
        config.validate()?;
        let pairs = config
            .pairs()
            .iter()
            .map(|pair| Pair::new(pair, &config))
            .collect::<Result<Vec<_>, DriverError>>()?;
        Ok(Self {
            config,
            pairs,
            context,
            retry: RetryPolicy::default(),
            homes: Mutex::default(),
            refused: Mutex::default(),
            events: Events::default(),
            applied: Mutex::default(),
        })
    }

    /// Retry transient failures with `policy` instead of the default.
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The pair a load balancer was placed on (the first for one stored without a placement),
    /// remembered as its home.
    fn pair_of(&self, load_balancer: &LoadBalancer) -> Result<&Pair, DriverError> {
        let index = match load_balancer.placement.as_deref() {
            None => 0,
            Some(name) => self
                .pairs
                .iter()
                .position(|p| p.name == name)
                .ok_or_else(|| {
                    DriverError::invalid_configuration(format!(
                        "Load balancer {} is placed on the BIG-IP pair {name:?}, which \
                         [providers.f5] does not list.",
                        load_balancer.id
                    ))
                })?,
        };
        self.lock_homes().insert(load_balancer.id.clone(), index);
        Ok(&self.pairs[index])
    }

    /// What [`Driver::probe`] says of one pair.
    async fn probe_pair(&self, pair: &Pair) -> Result<Vec<String>, DriverError> {
        let mut lines = Vec::new();
        let mut active = false;
        for device in &pair.devices {
            let unreachable = |e: DriverError| {
                DriverError::new(
                    e.kind(),
                    format!("BIG-IP {} cannot be asked: {}", device.url(), e.message()),
                )
            };
            let failover = device.failover().await.map_err(unreachable)?;
            let version = device.as3_version().await.map_err(unreachable)?;
            active |= failover.is_active();
            lines.push(format!(
                "BIG-IP {} ({}): {}, AS3 {version}, pair {}",
                device.url(),
                failover.name,
                failover.state,
                pair.name
            ));
        }
        if !active {
            return Err(DriverError::transient(format!(
                "No BIG-IP device of pair {:?} is active ({}).",
                pair.name,
                lines.join("; ")
            )));
        }
        Ok(lines)
    }

    fn lock_homes(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.homes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether every device of `pair` may take a new load balancer, as management says.
    async fn may_place_on(&self, pair: &Pair) -> bool {
        let names = pair.device_names();
        placeable(self.context.availability.as_ref(), "f5", &names)
            .await
            .len()
            == names.len()
    }

    /// Set (`Some`) or remove (`None`) the Application `name` of `tenant` on the active device
    /// of `pair`. The change waits for the driver's turn at the pair; whoever takes the turn
    /// declares every change waiting for the tenant there at once (see [`batch`]).
    async fn redeclare(
        &self,
        pair: &Pair,
        tenant: &str,
        name: &str,
        app: Option<Value>,
    ) -> Result<(), DriverError> {
        let outcome = pair.batches.add(tenant, name, app);
        {
            let _turn = pair.turn.lock().await;
            if let Some(pending) = pair.batches.take(tenant) {
                let declared = self.declare_changes(pair, tenant, pending.changes()).await;
                pending.finish(&declared);
            }
        }
        outcome.await.unwrap_or_else(|_| {
            Err(DriverError::transient(
                "The declaration that carried this change was abandoned.",
            ))
        })
    }

    /// Declare `tenant` as the active device of `pair` holds it with `changes` made, retrying
    /// transient failures (a busy device, a failover under way).
    async fn declare_changes(
        &self,
        pair: &Pair,
        tenant: &str,
        changes: &BTreeMap<String, Option<Value>>,
    ) -> Result<(), DriverError> {
        retry(&self.retry, || async {
            let device = pair.active().await?;
            let held = device.tenants(Some(tenant)).await?;
            let before = held
                .get(tenant)
                .cloned()
                .unwrap_or_else(|| json!({ "class": "Tenant" }));
            let mut body = before.clone();
            if let Some(object) = body.as_object_mut() {
                for (name, app) in changes {
                    match app {
                        Some(app) => object.insert(name.clone(), app.clone()),
                        None => object.remove(name),
                    };
                }
            }
            if body == before {
                return Ok(());
            }
            device.declare(tenant, &as3::request(tenant, body)).await
        })
        .await
    }

    /// The objects of a load balancer the device refused at its last apply.
    fn refused(&self, load_balancer_id: &str) -> BTreeSet<String> {
        self.refused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(load_balancer_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Remember the objects of a load balancer the device refused (none: forget).
    fn set_refused(&self, load_balancer_id: &str, objects: BTreeSet<String>) {
        let mut refused = self.refused.lock().unwrap_or_else(|e| e.into_inner());
        if objects.is_empty() {
            refused.remove(load_balancer_id);
        } else {
            refused.insert(load_balancer_id.to_owned(), objects);
        }
    }

    /// The tenant holding a load balancer's Application on the active device of `pair`, if any.
    async fn tenant_holding(&self, pair: &Pair, name: &str) -> Result<Option<String>, DriverError> {
        let device = pair.active().await?;
        let tenants = device.tenants(None).await?;
        Ok(tenants
            .into_iter()
            .find(|(tenant, body)| {
                tenant.starts_with(&self.config.tenant_prefix) && body.get(name).is_some()
            })
            .map(|(tenant, _)| tenant))
    }
}

/// Report the L7 policies and rules of each refused listener refused with it: they are declared
/// on its service, which is left out.
fn refuse_l7_of_refused_listeners(graph: &LoadBalancerGraph, applied: &mut Applied) {
    for policy in &graph.l7policies {
        let Some(words) = applied.refused.get(&policy.listener_id).cloned() else {
            continue;
        };
        for rule in graph.l7rules.iter().filter(|r| r.l7policy_id == policy.id) {
            applied.refused.insert(rule.id.clone(), words.clone());
        }
        applied.refused.insert(policy.id.clone(), words);
    }
}

#[async_trait]
impl Driver for F5Driver {
    fn name(&self) -> &str {
        "f5"
    }

    fn description(&self) -> &str {
        DESCRIPTION
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            listener_protocols: vec![
                ListenerProtocol::Http,
                ListenerProtocol::Https,
                ListenerProtocol::TerminatedHttps,
                ListenerProtocol::Tcp,
                ListenerProtocol::Udp,
            ],
            pool_protocols: vec![
                PoolProtocol::Http,
                PoolProtocol::Https,
                PoolProtocol::Tcp,
                PoolProtocol::Udp,
            ],
            lb_algorithms: vec![LbAlgorithm::RoundRobin, LbAlgorithm::LeastConnections],
            health_monitor_types: vec![
                HealthMonitorType::Http,
                HealthMonitorType::Https,
                HealthMonitorType::Ping,
                HealthMonitorType::Tcp,
                HealthMonitorType::TlsHello,
                HealthMonitorType::UdpConnect,
            ],
            l7_listener_protocols: vec![ListenerProtocol::Http, ListenerProtocol::TerminatedHttps],
        }
    }

    fn observes_data_plane(&self) -> bool {
        true
    }

    fn validates_trees(&self) -> bool {
        true
    }

    fn validate(&self, graph: &LoadBalancerGraph) -> Result<(), DriverError> {
        as3::check(graph)
    }

    /// The AS3 declaration of the load balancer's tenant holding its Application alone (an apply
    /// keeps the tenant's other Applications), TLS material shown as placeholders.
    fn render(&self, graph: &LoadBalancerGraph) -> Option<Result<String, DriverError>> {
        let certificates = crate::kit::placeholder_certificates(graph);
        Some(as3::application(graph, &certificates).and_then(|app| {
            let tenant = self.config.tenant_of(&graph.load_balancer);
            let mut declared = serde_json::Map::new();
            declared.insert("class".into(), json!("Tenant"));
            declared.insert(as3::application_name(&graph.load_balancer.id), app);
            let body = as3::request(&tenant, Value::Object(declared));
            serde_json::to_string_pretty(&body)
                .map(|text| text + "\n")
                .map_err(|e| DriverError::rejected(e.to_string()))
        }))
    }

    async fn apply(&self, graph: &LoadBalancerGraph) -> Result<(), DriverError> {
        self.apply_reporting(graph).await.map(drop)
    }

    /// Declares the load balancer's Application; the members and certificates the device
    /// refuses are left out, and they (a refused certificate's listener with its L7 policies
    /// and rules) are reported refused, and in ERROR by [`Driver::observe`] (see [`refusal`]).
    async fn apply_reporting(&self, graph: &LoadBalancerGraph) -> Result<Applied, DriverError> {
        let certificates: ResolvedCertificates = if graph.certificate_references().is_empty() {
            ResolvedCertificates::new()
        } else {
            resolve_certificates(self.context.certificates.as_ref(), graph)?
        };
        let pair = self.pair_of(&graph.load_balancer)?;
        let tenant = self.config.tenant_of(&graph.load_balancer);
        let name = as3::application_name(&graph.load_balancer.id);
        let mut declared = graph.clone();
        let mut applied = Applied::default();
        let fingerprint = loop {
            let app = as3::application(&declared, &certificates)?;
            let fingerprint = Fingerprint::of(app.to_string());
            let error = match self.redeclare(pair, &tenant, &name, Some(app)).await {
                Ok(()) => break fingerprint,
                Err(e) if e.kind() == DriverErrorKind::Rejected => e,
                Err(e) => return Err(e),
            };
            match refusal::judge(error.message(), &tenant, &name, &declared) {
                Verdict::Objects(objects) => {
                    declared.members.retain(|m| !objects.contains_key(&m.id));
                    declared.listeners.retain(|l| !objects.contains_key(&l.id));
                    applied.refused.extend(objects);
                }
                Verdict::Others => {
                    return Err(DriverError::transient(format!(
                        "Declared together with another load balancer's refused object: {}",
                        error.message()
                    )));
                }
                Verdict::Fault => return Err(error),
            }
        };
        refuse_l7_of_refused_listeners(graph, &mut applied);
        let mut last = self.applied.lock().unwrap_or_else(|e| e.into_inner());
        if applied.refused.is_empty() {
            last.insert(graph.load_balancer.id.clone(), fingerprint);
        } else {
            last.remove(&graph.load_balancer.id);
        }
        drop(last);
        self.set_refused(
            &graph.load_balancer.id,
            applied.refused.keys().cloned().collect(),
        );
        Ok(applied)
    }

    /// Removes the Application from its pair: the one it was applied to, observed on or found
    /// on in this process, else every pair.
    async fn remove(&self, load_balancer_id: &str) -> Result<(), DriverError> {
        let name = as3::application_name(load_balancer_id);
        let home = self.lock_homes().get(load_balancer_id).copied();
        let pairs = match home {
            Some(index) => &self.pairs[index..=index],
            None => &self.pairs[..],
        };
        for pair in pairs {
            let holding = retry(&self.retry, || self.tenant_holding(pair, &name)).await?;
            if let Some(tenant) = holding {
                self.redeclare(pair, &tenant, &name, None).await?;
            }
        }
        self.lock_homes().remove(load_balancer_id);
        self.set_refused(load_balancer_id, BTreeSet::new());
        self.applied
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(load_balancer_id);
        Ok(())
    }

    /// Statuses and counters from the active device of its pair, and the events management
    /// learns from: each device seen serving the load balancer (once per process), an alert
    /// while no device of its pair can be reached as active (statuses are then left as they
    /// were).
    async fn observe(&self, graph: &LoadBalancerGraph) -> Result<Observation, DriverError> {
        let lb_id = &graph.load_balancer.id;
        let pair = self.pair_of(&graph.load_balancer)?;
        let mut events = Vec::new();
        let mut active = None;
        let mut trouble = Vec::new();
        for device in &pair.devices {
            match device.failover().await {
                Ok(failover) => {
                    self.events.seen(&mut events, &failover.name, lb_id);
                    if failover.is_active() && active.is_none() {
                        active = Some(device);
                    }
                }
                Err(e) => trouble.push(format!("{}: {}", device.url(), e.message())),
            }
        }
        let Some(device) = active else {
            let message = if trouble.is_empty() {
                "No BIG-IP device is active; a failover may be under way.".to_owned()
            } else {
                format!(
                    "The active BIG-IP cannot be reached: {}",
                    trouble.join("; ")
                )
            };
            self.events.raise_unreachable(&mut events, lb_id, message);
            return Ok(Observation {
                events,
                ..Observation::default()
            });
        };
        self.events.clear_unreachable(&mut events, lb_id);
        let virtuals = device.stats("virtual").await?;
        let pools = device.stats("pool").await?;
        let tenant = self.config.tenant_of(&graph.load_balancer);
        let app = as3::application_name(&graph.load_balancer.id);
        let entry = |table: &Value, kind: Kind, id: &str| {
            let name = format!("/{tenant}/{app}/{}", backend_name(kind, id));
            table["entries"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(_, e)| &e["nestedStats"]["entries"])
                .find(|e| e["tmName"]["description"] == name.as_str())
                .cloned()
        };
        let status_of =
            |stats: &Value| match stats["status.availabilityState"]["description"].as_str() {
                Some("available") => OperatingStatus::Online,
                Some("offline") => OperatingStatus::Error,
                _ => OperatingStatus::Offline,
            };
        let refused = self.refused(&graph.load_balancer.id);
        let mut observation = Observation {
            events,
            ..Observation::default()
        };
        let mut lb_status = OperatingStatus::Online;
        for listener in graph.live_listeners() {
            let status = match entry(&virtuals, Kind::Listener, &listener.id) {
                _ if refused.contains(&listener.id) => OperatingStatus::Error,
                _ if !listener.admin_state_up => OperatingStatus::Offline,
                Some(stats) => {
                    let counter = |name: &str| stats[name]["value"].as_i64().unwrap_or(0);
                    observation.listener_stats.insert(
                        listener.id.clone(),
                        Stats {
                            bytes_in: counter("clientside.bitsIn") / 8,
                            bytes_out: counter("clientside.bitsOut") / 8,
                            active_connections: counter("clientside.curConns"),
                            total_connections: counter("clientside.totConns"),
                            request_errors: 0,
                        },
                    );
                    status_of(&stats)
                }
                None => OperatingStatus::Offline,
            };
            if status != OperatingStatus::Online {
                lb_status = OperatingStatus::Degraded;
            }
            observation
                .operating_status
                .insert(listener.id.clone(), status);
        }
        for pool in graph.live_pools() {
            let status = entry(&pools, Kind::Pool, &pool.id)
                .map_or(OperatingStatus::Offline, |stats| status_of(&stats));
            observation.operating_status.insert(pool.id.clone(), status);
            let monitored = graph.live_health_monitor_of(&pool.id).is_some();
            for member in graph.live_members_of(&pool.id) {
                let status = if refused.contains(&member.id) {
                    lb_status = OperatingStatus::Degraded;
                    OperatingStatus::Error
                } else if !member.admin_state_up {
                    OperatingStatus::Offline
                } else if monitored {
                    status
                } else {
                    OperatingStatus::NoMonitor
                };
                observation
                    .operating_status
                    .insert(member.id.clone(), status);
            }
        }
        let lb_status = if graph.load_balancer.admin_state_up {
            lb_status
        } else {
            OperatingStatus::Offline
        };
        observation
            .operating_status
            .insert(graph.load_balancer.id.clone(), lb_status);
        observation.set_configured_statuses(graph);
        for id in &refused {
            if let Some(status) = observation.operating_status.get_mut(id) {
                *status = OperatingStatus::Error;
            }
        }
        Ok(observation)
    }

    /// Each device's name, failover state, AS3 version and pair; an error when a device cannot
    /// be reached or a pair has no active device.
    async fn probe(&self) -> Result<Vec<String>, DriverError> {
        let mut lines = Vec::new();
        for pair in &self.pairs {
            lines.extend(self.probe_pair(pair).await?);
        }
        Ok(lines)
    }

    async fn realized_load_balancers(&self) -> Result<Vec<String>, DriverError> {
        Ok(self
            .realized_fingerprints()
            .await?
            .into_iter()
            .map(|r| r.load_balancer_id)
            .collect())
    }

    /// Each load balancer's Application on the active device of each pair, fingerprinted as
    /// held and as last declared: an Application changed on the device behind Fulcrum's back
    /// differs, one removed with its tenant is not listed, and the full sync declares either
    /// again. The pair each is found on is remembered, so that an orphan is removed there.
    async fn realized_fingerprints(&self) -> Result<Vec<Realized>, DriverError> {
        let applied = self
            .applied
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut held: BTreeMap<String, Realized> = BTreeMap::new();
        for (index, pair) in self.pairs.iter().enumerate() {
            let device = retry(&self.retry, || pair.active()).await?;
            let tenants = device.tenants(None).await?;
            let apps = tenants
                .iter()
                .filter(|(tenant, _)| tenant.starts_with(&self.config.tenant_prefix))
                .flat_map(|(_, body)| body.as_object().into_iter().flatten());
            for (name, app) in apps {
                let Some((Kind::LoadBalancer, id)) = parse_backend_name(name) else {
                    continue;
                };
                if held.contains_key(&id) {
                    continue;
                }
                self.lock_homes().entry(id.clone()).or_insert(index);
                held.insert(
                    id.clone(),
                    Realized {
                        now: Some(Fingerprint::of(app.to_string())),
                        applied: applied.get(&id).copied(),
                        load_balancer_id: id,
                    },
                );
            }
        }
        Ok(held.into_values().collect())
    }

    fn places_load_balancers(&self) -> bool {
        true
    }

    /// The least loaded pair every device of which management lets take new work (a load
    /// balancer stored without a placement counts for the first pair), the first configured
    /// on a tie; refused when there is none.
    async fn place(&self, placed: &Placements) -> Result<Option<String>, DriverError> {
        let mut candidates = Vec::with_capacity(self.pairs.len());
        for (index, pair) in self.pairs.iter().enumerate() {
            let unplaced = if index == 0 { placed.count(None) } else { 0 };
            candidates.push(Candidate {
                name: &pair.name,
                load: placed.count(Some(&pair.name)) + unplaced,
                open: self.may_place_on(pair).await,
            });
        }
        match placement::choose(&candidates) {
            Some(name) => Ok(Some(name.to_owned())),
            None => Err(DriverError::rejected(format!(
                "No BIG-IP pair may take a new load balancer: a device of each ({}) is held \
                 back by management (maintenance, draining or unreachable).",
                self.pairs
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }
}
