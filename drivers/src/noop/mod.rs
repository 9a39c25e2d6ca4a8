//! The noop driver: keeps each applied load balancer in memory and realizes nothing.
//!
//! It reports operating statuses the way Octavia does when its amphora provider runs on noop
//! compute and network drivers and no health data arrives: load balancers, listeners and pools
//! `OFFLINE`, members `OFFLINE` in a pool with a health monitor and `NO_MONITOR` in one without
//! (as Octavia creates them), health monitors and L7 policies and rules `ONLINE` when
//! enabled and `OFFLINE` when disabled.
//!
//! For tests and benchmarks it can be told to add latency, to fail for load balancers whose
//! name contains a marker (permanently, or transiently for the first few attempts), and to keep a
//! [`journal`] of its calls in a file that several processes may share.

pub mod journal;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use fulcrum_core::driver::{
    Capabilities, Driver, DriverContext, DriverError, DriverFactory, Fingerprint,
    LoadBalancerGraph, Observation, Realized, parse_section,
};
use fulcrum_core::model::{OperatingStatus, Stats};
use serde::Deserialize;

use journal::{Entry, Journal};

/// The providers list's description of this driver.
const DESCRIPTION: &str =
    "The Octavia-compatible noop provider: accepts everything and realizes nothing.";

/// Builds [`NoopDriver`]s from `[providers.noop]`.
#[derive(Debug, Default)]
pub struct NoopFactory;

impl DriverFactory for NoopFactory {
    fn name(&self) -> &'static str {
        "noop"
    }

    fn description(&self) -> &'static str {
        DESCRIPTION
    }

    fn build(
        &self,
        _context: &DriverContext,
        section: &serde_json::Value,
    ) -> Result<Arc<dyn Driver>, DriverError> {
        let config: NoopConfig = parse_section("noop", section)?;
        let journal = config.journal.as_deref().map(Journal::open).transpose()?;
        Ok(Arc::new(NoopDriver {
            journal,
            ..NoopDriver::new(config)
        }))
    }
}

/// How the noop driver behaves (`[providers.noop]`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoopConfig {
    /// Time every apply and remove takes, in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// Load balancers whose name contains this text fail to apply.
    #[serde(default)]
    pub fail_name_marker: Option<String>,
    /// With `fail_name_marker`: fail only the first this many attempts, transiently; 0 fails
    /// every attempt permanently.
    #[serde(default)]
    pub transient_failures: u32,
    /// A file to append a line to for every apply, remove and inventory (see [`journal`]).
    #[serde(default)]
    pub journal: Option<PathBuf>,
}

/// The noop driver.
#[derive(Debug, Default)]
pub struct NoopDriver {
    config: NoopConfig,
    realized: Mutex<HashMap<String, LoadBalancerGraph>>,
    attempts: Mutex<HashMap<String, u32>>,
    journal: Option<Journal>,
}

impl NoopDriver {
    /// A noop driver with the given behaviour; its journal, if any, is opened by the factory.
    pub fn new(config: NoopConfig) -> Self {
        NoopDriver {
            config,
            ..Default::default()
        }
    }

    /// What it holds for a load balancer, as last applied.
    pub fn realized(&self, load_balancer_id: &str) -> Option<LoadBalancerGraph> {
        self.lock().get(load_balancer_id).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, LoadBalancerGraph>> {
        self.realized.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record(&self, entry: Entry, load_balancer_id: &str) {
        if let Some(journal) = &self.journal {
            journal.record(entry, load_balancer_id);
        }
    }

    async fn delay(&self) {
        if self.config.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(self.config.latency_ms)).await;
        }
    }

    fn injected_failure(&self, graph: &LoadBalancerGraph) -> Result<(), DriverError> {
        let Some(marker) = &self.config.fail_name_marker else {
            return Ok(());
        };
        let lb = &graph.load_balancer;
        if !lb
            .name
            .as_deref()
            .is_some_and(|n| n.contains(marker.as_str()))
        {
            return Ok(());
        }
        if self.config.transient_failures == 0 {
            return Err(DriverError::rejected(format!(
                "load balancer {} is configured to fail",
                lb.id
            )));
        }
        let mut attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        let seen = attempts.entry(lb.id.clone()).or_default();
        *seen += 1;
        if *seen <= self.config.transient_failures {
            Err(DriverError::transient(format!(
                "injected failure {} of {}",
                seen, self.config.transient_failures
            )))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl Driver for NoopDriver {
    fn name(&self) -> &str {
        "noop"
    }

    fn description(&self) -> &str {
        DESCRIPTION
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::everything()
    }

    fn realizes_additional_vips(&self) -> bool {
        true
    }

    fn flavor_capabilities(&self) -> Vec<(String, String)> {
        vec![(
            "amp_image_tag".into(),
            "The glance image tag to use for this load balancer.".into(),
        )]
    }

    /// Like Octavia's noop provider: any metadata is accepted.
    fn validate_flavor(&self, _metadata: &serde_json::Value) -> Result<(), DriverError> {
        Ok(())
    }

    fn availability_zone_capabilities(&self) -> Vec<(String, String)> {
        vec![
            (
                "compute_zone".into(),
                "The compute availability zone to use for this loadbalancer.".into(),
            ),
            (
                "volume_zone".into(),
                "The volume availability zone to use for this loadbalancer.".into(),
            ),
        ]
    }

    /// Like Octavia's noop provider: any metadata is accepted.
    fn validate_availability_zone(&self, _metadata: &serde_json::Value) -> Result<(), DriverError> {
        Ok(())
    }

    async fn apply(&self, graph: &LoadBalancerGraph) -> Result<(), DriverError> {
        let id = &graph.load_balancer.id;
        self.record(Entry::ApplyBegin, id);
        self.delay().await;
        let applied = self.injected_failure(graph).map(|()| {
            self.lock().insert(id.clone(), graph.clone());
        });
        self.record(Entry::ApplyEnd, id);
        applied
    }

    async fn remove(&self, load_balancer_id: &str) -> Result<(), DriverError> {
        self.record(Entry::RemoveBegin, load_balancer_id);
        self.delay().await;
        self.lock().remove(load_balancer_id);
        self.record(Entry::RemoveEnd, load_balancer_id);
        Ok(())
    }

    async fn observe(&self, graph: &LoadBalancerGraph) -> Result<Observation, DriverError> {
        let mut obs = Observation::default();
        let mut set = |id: &str, status| {
            obs.operating_status.insert(id.to_owned(), status);
        };
        set(&graph.load_balancer.id, OperatingStatus::Offline);
        for l in &graph.listeners {
            set(&l.id, OperatingStatus::Offline);
        }
        for p in &graph.pools {
            set(&p.id, OperatingStatus::Offline);
        }
        for m in &graph.members {
            // As created: a member of a monitored pool waits for health data that never comes.
            let status = if graph.health_monitor_of(&m.pool_id).is_some() {
                OperatingStatus::Offline
            } else {
                OperatingStatus::NoMonitor
            };
            set(&m.id, status);
        }
        obs.set_configured_statuses(graph);
        obs.listener_stats = graph
            .listeners
            .iter()
            .map(|l| (l.id.clone(), Stats::default()))
            .collect();
        Ok(obs)
    }

    async fn realized_load_balancers(&self) -> Result<Vec<String>, DriverError> {
        self.record(Entry::Inventory, "-");
        Ok(self.lock().keys().cloned().collect())
    }

    /// What it holds is exactly what it was last handed: nothing drifts behind its back, so every
    /// load balancer it holds is in sync (and one it lost, in a restart, is missing).
    async fn realized_fingerprints(&self) -> Result<Vec<Realized>, DriverError> {
        self.record(Entry::Inventory, "-");
        let held = Some(Fingerprint::of("held in memory as applied"));
        Ok(self
            .lock()
            .keys()
            .map(|id| Realized {
                load_balancer_id: id.clone(),
                now: held,
                applied: held,
            })
            .collect())
    }
}
