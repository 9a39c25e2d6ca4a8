//! The NSX-T driver: each Octavia load balancer realized as NSX Policy objects on a Tier-1
//! gateway, through the Policy API of an NSX Manager cluster.
//!
//! - [`config`]: the `providers.nsxt` section;
//! - [`client`]: calls to the managers (rate limit, authentication, failover, retries, pages),
//!   with [`fault`] reading NSX's error codes;
//! - [`render`]: the mapping of a tree to Policy objects, which is also the validation, with
//!   [`l7`] for L7 policies and rules and [`tls`] for SSL profiles;
//! - [`hapi`]: one hierarchical `PATCH /infra` per load balancer;
//! - [`shared`]: one load-balancer service per Tier-1 for the load balancers behind it, when
//!   the operator chooses so;
//! - [`inventory`]: what the manager holds that Fulcrum created, by ownership tags;
//! - [`drift`]: fingerprints, so that the full sync re-applies only what drifted;
//! - [`realization`]: waiting for NSX to realize a change, and its errors;
//! - [`status`]: operating statuses and counters.
//!
//! An apply, when nothing gets in the way, is a search for what the manager holds for the load
//! balancer (skipped for a load balancer being created, which holds nothing), one hierarchical
//! PATCH with every object and `_revision` checked (none when the manager already holds the
//! tree), and one search of the realized entities of the service and its virtual servers per
//! poll until each is realized — usually at the first poll: two calls for a new load balancer. A 412 (somebody changed an object meanwhile) re-reads
//! and sends again: the PATCH merges, so fields Fulcrum does not set keep what the other writer
//! put there.

pub mod client;
pub mod collections;
pub mod config;
pub mod drift;
mod factory;
pub mod fault;
pub mod hapi;
pub mod inventory;
pub mod l7;
pub mod realization;
pub mod render;
pub mod shared;
pub mod status;
pub mod tls;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use fulcrum_core::driver::{
    Capabilities, Driver, DriverError, DriverErrorKind, LoadBalancerGraph, Observation, Realized,
    accept_keys,
};
use fulcrum_core::events::Event;
use fulcrum_core::model::{
    HealthMonitorType, LbAlgorithm, ListenerProtocol, LoadBalancer, PoolProtocol,
    ProvisioningStatus,
};
use fulcrum_core::secrets::CertificateStore;

pub use config::{AuthMode, NsxtConfig, Tier1Source};
pub use factory::NsxtFactory;

use client::NsxClient;
use inventory::Held;
use render::{Desired, Placement};

use crate::kit::tree::resolve_certificates;

/// The providers list's description of this driver.
const DESCRIPTION: &str = "VMware NSX-T: load balancers as NSX Policy objects on a Tier-1 gateway.";

/// How many times an apply sends again after a 412 before it gives up for this attempt.
const CONFLICT_ATTEMPTS: u32 = 5;

/// The NSX-T driver.
pub struct NsxtDriver {
    config: NsxtConfig,
    client: NsxClient,
    certificates: Arc<dyn CertificateStore>,
    /// What was last applied, by load balancer id.
    applied: Mutex<HashMap<String, drift::Applied>>,
    /// The keys of the alerts raised and not cleared yet.
    alerts: Mutex<HashSet<String>>,
    /// The realization checks of the applies waiting at once.
    realization: realization::Checks,
}

impl std::fmt::Debug for NsxtDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NsxtDriver")
            .field("managers", &self.config.managers)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl NsxtDriver {
    /// A driver for the managers of `config`.
    pub fn new(
        config: NsxtConfig,
        certificates: Arc<dyn CertificateStore>,
    ) -> Result<Self, DriverError> {
        let client = NsxClient::new(&config)?;
        Ok(NsxtDriver {
            config,
            client,
            certificates,
            applied: Mutex::default(),
            alerts: Mutex::default(),
            realization: realization::Checks::default(),
        })
    }

    /// Where a load balancer goes: its Tier-1 (see [`config::Tier1Source`]), size and sharing.
    fn placement(&self, lb: &LoadBalancer) -> Result<Placement<'_>, DriverError> {
        Ok(Placement {
            tier1_path: self
                .config
                .tier1_path_for(&lb.vip_subnet_id, lb.vip_router_id.as_deref())?,
            default_size: &self.config.default_size,
            share_lb_service: self.config.share_lb_service,
        })
    }

    /// Raise an alert once, until it is cleared.
    fn raise(&self, events: &mut Vec<Event>, key: String, load_balancer_id: &str, message: String) {
        if lock(&self.alerts).insert(key.clone()) {
            events.push(Event::AlertRaised {
                key,
                load_balancer_id: load_balancer_id.to_string(),
                provider: "nsxt".into(),
                message,
            });
        }
    }

    /// Clear the alerts of a load balancer whose keys start with `prefix` and are not in `keep`.
    fn clear(
        &self,
        events: &mut Vec<Event>,
        prefix: &str,
        keep: &HashSet<String>,
        load_balancer_id: &str,
    ) {
        let mut alerts = lock(&self.alerts);
        let gone: Vec<String> = alerts
            .iter()
            .filter(|k| k.starts_with(prefix) && !keep.contains(*k))
            .cloned()
            .collect();
        for key in gone {
            alerts.remove(&key);
            events.push(Event::AlertCleared {
                key,
                load_balancer_id: load_balancer_id.to_string(),
            });
        }
    }

    /// What the manager holds for a load balancer: its objects found by their tags (none for a
    /// load balancer being created), and the shared service it would use (`shared_service`),
    /// read by its path.
    async fn held(
        &self,
        load_balancer_id: &str,
        being_created: bool,
        shared_service: Option<&str>,
    ) -> Result<Held, DriverError> {
        let mut held = if being_created {
            Held::new()
        } else {
            inventory::held_for(&self.client, load_balancer_id).await?
        };
        if let Some(path) = shared_service {
            match self.client.get(path, &[]).await {
                Ok(service) => {
                    held.insert(path.to_string(), service);
                }
                Err(e) if e.kind() == DriverErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(held)
    }

    /// Delete the shared service at `path` if no virtual server is attached to it any more
    /// (see [`shared`]): one search, and when it is unused a read and one PATCH. A virtual
    /// server attached meanwhile makes NSX refuse the deletion: the service stays for it.
    async fn retire_if_unused(&self, path: &str) -> Result<(), DriverError> {
        if !shared::unused(&self.client, path).await? {
            return Ok(());
        }
        let service = match self.client.get(path, &[]).await {
            Ok(service) => service,
            Err(e) if e.kind() == DriverErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let held: Held = [(path.to_string(), service)].into();
        let body = hapi::infra(&Desired::default(), &held);
        match self.client.patch("/infra", &[], &body).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == DriverErrorKind::Rejected => {
                tracing::info!(service = path, error = %e, "the shared service is in use again; it stays");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Send the hierarchical PATCH that turns `held` into what `plan` makes of it, reading
    /// again and sending again after a 412; whether anything was sent, and what was planned
    /// last.
    async fn converge(
        &self,
        load_balancer_id: &str,
        plan: impl Fn(&Held) -> Result<Desired, DriverError>,
        mut held: Held,
        shared_service: Option<&str>,
    ) -> Result<(bool, Desired), DriverError> {
        let enforce = [("enforce_revision_check", "true".to_string())];
        let mut attempt = 1;
        loop {
            let desired = plan(&held)?;
            if drift::held(&held, &desired) == drift::desired(&desired) {
                return Ok((false, desired));
            }
            let body = hapi::infra(&desired, &held);
            match self.client.patch("/infra", &enforce, &body).await {
                Ok(()) => return Ok((true, desired)),
                Err(e) if e.kind() == DriverErrorKind::Conflict && attempt < CONFLICT_ATTEMPTS => {
                    tracing::info!(
                        load_balancer_id,
                        attempt,
                        error = %e,
                        "NSX objects changed meanwhile; reading them again"
                    );
                    attempt += 1;
                    held = self.held(load_balancer_id, false, shared_service).await?;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// The key of a load balancer's realization alert, and the prefix of its members' alerts.
fn alert_prefixes(load_balancer_id: &str) -> (String, String) {
    (
        format!("nsxt-realization:{load_balancer_id}"),
        format!("nsxt-member-down:{load_balancer_id}:"),
    )
}

#[async_trait]
impl Driver for NsxtDriver {
    fn name(&self) -> &str {
        "nsxt"
    }

    fn description(&self) -> &str {
        DESCRIPTION
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            listener_protocols: vec![
                ListenerProtocol::Tcp,
                ListenerProtocol::Http,
                ListenerProtocol::Https,
                ListenerProtocol::TerminatedHttps,
                ListenerProtocol::Udp,
            ],
            pool_protocols: vec![
                PoolProtocol::Tcp,
                PoolProtocol::Http,
                PoolProtocol::Https,
                PoolProtocol::Udp,
            ],
            lb_algorithms: vec![
                LbAlgorithm::RoundRobin,
                LbAlgorithm::LeastConnections,
                LbAlgorithm::SourceIp,
            ],
            health_monitor_types: vec![
                HealthMonitorType::Http,
                HealthMonitorType::Https,
                HealthMonitorType::Tcp,
                HealthMonitorType::Ping,
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
        render::render(graph, &self.placement(&graph.load_balancer)?, None).map(|_| ())
    }

    /// The hierarchical `PATCH /infra` body that creates the load balancer, TLS material shown as
    /// placeholders.
    fn render(&self, graph: &LoadBalancerGraph) -> Option<Result<String, DriverError>> {
        let certificates = crate::kit::placeholder_certificates(graph);
        Some(
            self.placement(&graph.load_balancer)
                .and_then(|placement| render::render(graph, &placement, Some(&certificates)))
                .and_then(|desired| {
                    let body = hapi::infra(&desired, &Held::new());
                    serde_json::to_string_pretty(&body)
                        .map(|text| text + "\n")
                        .map_err(|e| DriverError::rejected(e.to_string()))
                }),
        )
    }

    async fn apply(&self, graph: &LoadBalancerGraph) -> Result<(), DriverError> {
        let certificates = resolve_certificates(self.certificates.as_ref(), graph)?;
        let placement = self.placement(&graph.load_balancer)?;
        let desired = render::render(graph, &placement, Some(&certificates))?;
        let id = &graph.load_balancer.id;
        let being_created = graph.load_balancer.provisioning_status
            == ProvisioningStatus::PendingCreate
            && !lock(&self.applied).contains_key(id);
        let service_path = placement.service_path(id);
        let uses_service = desired.objects.contains_key(&service_path);
        let shared_service =
            (placement.share_lb_service && uses_service).then_some(service_path.as_str());
        let held = self.held(id, being_created, shared_service).await?;
        let left_shared = shared::services_of(&held);
        let plan = |held: &Held| {
            let mut joined = desired.clone();
            shared::join(&mut joined, held);
            Ok(joined)
        };
        let (changed, applied) = self.converge(id, plan, held, shared_service).await?;
        for path in left_shared
            .iter()
            .filter(|p| **p != service_path || !uses_service)
        {
            self.retire_if_unused(path).await?;
        }
        lock(&self.applied).insert(id.clone(), drift::Applied::of(&shared::own_view(&applied)));
        let intent_paths: Vec<String> = uses_service
            .then(|| service_path.clone())
            .into_iter()
            .chain(
                graph
                    .live_listeners()
                    .into_iter()
                    .map(|l| render::virtual_server_path(&l.id)),
            )
            .collect();
        realization::wait(
            &self.realization,
            &self.client,
            &intent_paths,
            changed,
            self.config.realization_poll(),
            self.config.realization_timeout(),
        )
        .await
    }

    async fn remove(&self, load_balancer_id: &str) -> Result<(), DriverError> {
        let held = inventory::held_for(&self.client, load_balancer_id).await?;
        let mut left_shared = shared::services_of(&held);
        left_shared.extend(shared::orphan_path(load_balancer_id));
        if !held.is_empty() {
            let plan = |_: &Held| Ok(Desired::default());
            self.converge(load_balancer_id, plan, held, None).await?;
        }
        for path in &left_shared {
            self.retire_if_unused(path).await?;
        }
        lock(&self.applied).remove(load_balancer_id);
        let (realization, members) = alert_prefixes(load_balancer_id);
        lock(&self.alerts).retain(|k| *k != realization && !k.starts_with(&members));
        Ok(())
    }

    async fn observe(&self, graph: &LoadBalancerGraph) -> Result<Observation, DriverError> {
        let lb = &graph.load_balancer.id;
        let placement = self.placement(&graph.load_balancer)?;
        let service = placement.service_id(lb);
        let report = if placement.share_lb_service && graph.live_listeners().is_empty() {
            // Nothing of it serves on NSX, nor uses the shared service (see `shared`).
            status::ServiceReport::default()
        } else {
            let status = self
                .client
                .get(
                    &format!("/infra/lb-services/{service}/detailed-status"),
                    &[],
                )
                .await?;
            let statistics = self
                .client
                .get(&format!("/infra/lb-services/{service}/statistics"), &[])
                .await?;
            status::ServiceReport::read(&status, &statistics)
        };
        let mut observation = report.observe(graph);

        let (realization_key, member_prefix) = alert_prefixes(lb);
        let mut keep = HashSet::new();
        if report.service_status.as_deref() == Some("ERROR") {
            let message =
                match realization::state(&self.client, &placement.service_path(lb)).await? {
                    realization::State::Failed(message) => message,
                    _ => "NSX reports the load-balancer service in ERROR.".to_string(),
                };
            keep.insert(realization_key.clone());
            self.raise(&mut observation.events, realization_key, lb, message);
        }
        for (member_id, address) in report.members_down(graph) {
            let key = format!("{member_prefix}{member_id}");
            keep.insert(key.clone());
            self.raise(
                &mut observation.events,
                key,
                lb,
                format!("Member {member_id} ({address}) is down."),
            );
        }
        self.clear(&mut observation.events, &alert_prefixes(lb).0, &keep, lb);
        self.clear(&mut observation.events, &member_prefix, &keep, lb);
        Ok(observation)
    }

    async fn realized_load_balancers(&self) -> Result<Vec<String>, DriverError> {
        Ok(inventory::held_by_all(&self.client)
            .await?
            .into_keys()
            .collect())
    }

    async fn realized_fingerprints(&self) -> Result<Vec<Realized>, DriverError> {
        let held = inventory::held_by_all(&self.client).await?;
        let applied = lock(&self.applied);
        Ok(held
            .into_iter()
            .map(|(id, objects)| match applied.get(&id) {
                Some(record) => Realized {
                    now: Some(record.held(&objects)),
                    applied: Some(record.fingerprint()),
                    load_balancer_id: id,
                },
                None => Realized::unknown(id),
            })
            .collect())
    }

    fn flavor_capabilities(&self) -> Vec<(String, String)> {
        vec![(
            render::FLAVOR_SIZE.to_string(),
            "The size of the NSX load-balancer service: SMALL, MEDIUM, LARGE or XLARGE."
                .to_string(),
        )]
    }

    fn validate_flavor(&self, metadata: &serde_json::Value) -> Result<(), DriverError> {
        accept_keys("flavor", metadata, &[render::FLAVOR_SIZE])?;
        if let Some(size) = metadata.get(render::FLAVOR_SIZE) {
            render::size_of(size)?;
        }
        Ok(())
    }
}
