//! The F5 BIG-IP driver: each load balancer is an AS3 Application in its project's (or its VIP
//! network's) tenant, declared on the active device of an HA pair (or on a single device).
//!
//! AS3 takes a tenant whole, so every apply re-declares the project's tenant: it reads the
//! tenant the active device holds, puts this load balancer's Application in it (or takes it
//! out) and declares the tenant alone (`POST /declare/{tenant}?async=true`), then polls the
//! task. A device applies one declaration at a time, so the driver sends one at a time; the
//! changes that wait meanwhile are coalesced per tenant ([`batch`]), so a burst of edits becomes
//! a few declarations and two load balancers of one project never overwrite each other. Before
//! each write the driver asks each device for its failover state and writes to the active one
//! only; a device busy with another declaration (503), or a failover under way, is retried with
//! the kit's back-off. A declaration AS3 refuses (422) is the load balancer's fault, quoting
//! AS3.
//!
//! See [`as3`] for the mapping.

pub mod as3;
mod batch;
pub mod config;
mod device;
pub mod l7;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use fulcrum_core::driver::{
    Capabilities, Driver, DriverContext, DriverError, DriverFactory, LoadBalancerGraph,
    Observation, parse_section,
};
use fulcrum_core::model::{
    HealthMonitorType, Kind, LbAlgorithm, ListenerProtocol, OperatingStatus, PoolProtocol, Stats,
};
use serde_json::{Value, json};

use crate::kit::{
    HttpClientBuilder, ResolvedCertificates, RetryPolicy, backend_name, parse_backend_name,
    resolve_certificates, retry,
};
use batch::Batches;
pub use config::{AuthMode, F5Config, TenantNaming};
use device::Device;

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
    devices: Vec<Device>,
    context: DriverContext,
    retry: RetryPolicy,
    batches: Batches,
    turn: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for F5Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("F5Driver")
            .field("devices", &self.config.devices)
            .finish_non_exhaustive()
    }
}

impl F5Driver {
    /// A driver for the configured devices.
    pub fn new(config: F5Config, context: DriverContext) -> Result<Self, DriverError> {
        config.validate()?;
        let devices = config
            .devices
            .iter()
            .map(|url| {
                let mut builder = HttpClientBuilder::new(url.clone()).insecure(config.insecure);
                if let Some(bundle) = &config.ca_bundle {
                    builder = builder.ca_bundle(bundle);
                }
                Ok(Device::new(builder.build()?, &config))
            })
            .collect::<Result<Vec<_>, DriverError>>()?;
        Ok(Self {
            config,
            devices,
            context,
            retry: RetryPolicy::default(),
            batches: Batches::default(),
            turn: tokio::sync::Mutex::new(()),
        })
    }

    /// Retry transient failures with `policy` instead of the default.
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The device that is active now.
    async fn active(&self) -> Result<&Device, DriverError> {
        let mut last = None;
        for device in &self.devices {
            match device.is_active().await {
                Ok(true) => return Ok(device),
                Ok(false) => {}
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            DriverError::transient("No BIG-IP device is active; a failover may be under way.")
        }))
    }

    /// Set (`Some`) or remove (`None`) the Application `name` of `tenant` on the active device.
    /// The change waits for the driver's turn at the device; whoever takes the turn declares
    /// every change waiting for the tenant at once (see [`batch`]).
    async fn redeclare(
        &self,
        tenant: &str,
        name: &str,
        app: Option<Value>,
    ) -> Result<(), DriverError> {
        let outcome = self.batches.add(tenant, name, app);
        {
            let _turn = self.turn.lock().await;
            if let Some(pending) = self.batches.take(tenant) {
                let declared = self.declare_changes(tenant, pending.changes()).await;
                pending.finish(&declared);
            }
        }
        outcome.await.unwrap_or_else(|_| {
            Err(DriverError::transient(
                "The declaration that carried this change was abandoned.",
            ))
        })
    }

    /// Declare `tenant` as the active device holds it with `changes` made, retrying transient
    /// failures (a busy device, a failover under way).
    async fn declare_changes(
        &self,
        tenant: &str,
        changes: &BTreeMap<String, Option<Value>>,
    ) -> Result<(), DriverError> {
        retry(&self.retry, || async {
            let device = self.active().await?;
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

    /// The tenant holding a load balancer's Application on the active device, if any.
    async fn tenant_holding(&self, name: &str) -> Result<Option<String>, DriverError> {
        let device = self.active().await?;
        let tenants = device.tenants(None).await?;
        Ok(tenants
            .into_iter()
            .find(|(tenant, body)| {
                tenant.starts_with(&self.config.tenant_prefix) && body.get(name).is_some()
            })
            .map(|(tenant, _)| tenant))
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
        let certificates: ResolvedCertificates = if graph.certificate_references().is_empty() {
            ResolvedCertificates::new()
        } else {
            resolve_certificates(self.context.certificates.as_ref(), graph)?
        };
        let app = as3::application(graph, &certificates)?;
        let tenant = self.config.tenant_of(&graph.load_balancer);
        let name = as3::application_name(&graph.load_balancer.id);
        self.redeclare(&tenant, &name, Some(app)).await
    }

    async fn remove(&self, load_balancer_id: &str) -> Result<(), DriverError> {
        let name = as3::application_name(load_balancer_id);
        let Some(tenant) = retry(&self.retry, || self.tenant_holding(&name)).await? else {
            return Ok(());
        };
        self.redeclare(&tenant, &name, None).await
    }

    async fn observe(&self, graph: &LoadBalancerGraph) -> Result<Observation, DriverError> {
        let device = retry(&self.retry, || self.active()).await?;
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
        let mut observation = Observation::default();
        let mut lb_status = OperatingStatus::Online;
        for listener in graph.live_listeners() {
            let status = match entry(&virtuals, Kind::Listener, &listener.id) {
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
                let status = if !member.admin_state_up {
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
        Ok(observation)
    }

    async fn realized_load_balancers(&self) -> Result<Vec<String>, DriverError> {
        let device = retry(&self.retry, || self.active()).await?;
        let tenants = device.tenants(None).await?;
        let mut ids: Vec<String> = tenants
            .iter()
            .filter(|(tenant, _)| tenant.starts_with(&self.config.tenant_prefix))
            .flat_map(|(_, body)| body.as_object().into_iter().flatten())
            .filter_map(|(name, _)| match parse_backend_name(name) {
                Some((Kind::LoadBalancer, id)) => Some(id),
                _ => None,
            })
            .collect();
        ids.sort();
        ids.dedup();
        Ok(ids)
    }
}
