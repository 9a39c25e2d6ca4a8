//! The binary's background tasks, one file each, all run by the one runner of
//! [`fulcrum_core::tasks`] (timer + on-demand activation, shutdown, status):
//!
//! - [`converge`]: claims work items with leases and hands drivers whole load balancers; woken
//!   by the API after every commit and by each finished item;
//! - [`heartbeat`]: keeps this process's work holder alive, so that a dead process's leases are
//!   taken over in seconds;
//! - [`full_sync`]: queues the converged load balancers whose backend drifted from what was
//!   applied, as their drivers' fingerprints tell, and removes what drivers hold that the store
//!   does not know (orphans);
//! - [`observer`]: reads operating statuses and counters from drivers with a data plane;
//! - [`event_retention`]: deletes outbox events past their retention;
//! - [`certificate_expiry`]: warns management of certificates that expire soon;
//! - [`metrics_upkeep`]: keeps the metrics recorder's memory bounded.
//!
//! The full sync and the observer are duties of the cluster: of the replicas sharing a database,
//! one performs each at a time (the store's `hold_duty`), and it passes to another within the
//! holder timeout when that one is gone; so a backend all replicas share is read once per period,
//! however many replicas run. The others report `standby` and serve only the drivers whose
//! backend is on their own host (HAProxy), which no other replica can sync or observe.
//!
//! Every driver call of these tasks is timed and counted ([`driver_calls`]).
//!
//! A new task is a new file here implementing [`fulcrum_core::tasks::BackgroundTask`], plus one
//! [`Activator`] in [`activators`].

pub mod certificate_expiry;
pub mod converge;
mod driver_calls;
pub mod event_retention;
pub mod full_sync;
pub mod heartbeat;
pub mod metrics_upkeep;
pub mod observer;
mod settler;

use std::sync::Arc;
use std::time::Duration;

use fulcrum_core::driver::Providers;
use fulcrum_core::events::EventBus;
use fulcrum_core::network::Networks;
use fulcrum_core::secrets::CertificateStore;
use fulcrum_core::tasks::{Activator, Duties, Wake};
use fulcrum_store::Store;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::config::{CertificatesConfig, EventsConfig, ReconcilerConfig};

/// What the tasks share.
#[derive(Clone)]
pub struct TaskContext {
    /// The durable store.
    pub store: Store,
    /// The enabled drivers.
    pub providers: Providers,
    /// The network back-end, whose VIP ports are released with their load balancers.
    pub networks: Arc<dyn Networks>,
    /// The orchestration → management events channel.
    pub events: EventBus,
    /// Reconciler settings.
    pub config: ReconcilerConfig,
    /// Outbox settings.
    pub events_config: EventsConfig,
    /// Wakes the converge task (the API signals it after each commit).
    pub work_ready: Wake,
    /// The metrics recorder, kept bounded by the upkeep task.
    pub metrics: PrometheusHandle,
    /// Where certificate references are resolved.
    pub certificates: Arc<dyn CertificateStore>,
    /// `[certificates]`: how far ahead expiring certificates are reported, and how often.
    pub certificates_config: CertificatesConfig,
}

/// Seconds between upkeeps of the metrics recorder.
const METRICS_UPKEEP_PERIOD: Duration = Duration::from_secs(5);

/// The activators of every background task of the orchestration side, then those `more` makes
/// (management's), which share this process's holder of cluster duties.
pub fn activators(
    context: TaskContext,
    more: impl FnOnce(Arc<dyn Duties>) -> Vec<Activator>,
) -> Vec<Activator> {
    let config = context.config.clone();
    let work_ready = context.work_ready.clone();
    let holder = Arc::new(heartbeat::LeaseHolder::new(
        &config.replica,
        config.holder_timeout_ms,
    ));
    let duties = Arc::new(ClusterDuties {
        store: context.store.clone(),
        holder: Arc::clone(&holder),
    });
    let mut activators = vec![
        Activator::new(
            Arc::new(converge::ConvergeTask::new(
                context.clone(),
                Arc::clone(&holder),
            )),
            Duration::from_millis(config.poll_interval_ms.max(1)),
        )
        .woken_by(work_ready)
        .at_start(),
        Activator::new(
            Arc::new(heartbeat::HeartbeatTask::new(
                context.store.clone(),
                Arc::clone(&holder),
            )),
            Duration::from_millis(config.heartbeat_interval_ms.max(1)),
        )
        .at_start(),
        // Converge what a previous run left behind (drift, orphans) right away.
        Activator::new(
            Arc::new(full_sync::FullSyncTask::new(
                context.clone(),
                Arc::clone(&holder),
            )),
            Duration::from_secs(config.sync_interval_seconds.max(1)),
        )
        .at_start(),
        Activator::new(
            Arc::new(event_retention::EventRetentionTask::new(
                context.store.clone(),
                Duration::from_secs(context.events_config.retention_hours * 3600),
            )),
            Duration::from_secs(context.events_config.prune_interval_seconds.max(1)),
        )
        .at_start(),
        Activator::new(
            Arc::new(metrics_upkeep::MetricsUpkeepTask::new(
                context.metrics.clone(),
            )),
            METRICS_UPKEEP_PERIOD,
        ),
        Activator::new(
            Arc::new(certificate_expiry::CertificateExpiryTask::new(
                context.clone(),
                Arc::clone(&holder),
                Arc::clone(&context.certificates),
                context.certificates_config.expiry_warning_days,
            )),
            Duration::from_secs(
                context
                    .certificates_config
                    .expiry_check_interval_seconds
                    .max(1),
            ),
        )
        .at_start(),
        Activator::new(
            Arc::new(observer::ObserverTask::new(context, holder)),
            Duration::from_secs(config.observe_interval_seconds.max(1)),
        ),
    ];
    activators.extend(more(duties));
    activators
}

/// Whether this replica performs the cluster duty `duty` now; when it does not, a cluster-wide
/// task still serves the drivers that realize on this host ([`Driver::realizes_on_this_host`]).
///
/// [`Driver::realizes_on_this_host`]: fulcrum_core::driver::Driver::realizes_on_this_host
/// This process's share of the cluster's duties, for jobs outside the reconciler (management's).
pub struct ClusterDuties {
    store: Store,
    holder: Arc<heartbeat::LeaseHolder>,
}

#[async_trait::async_trait]
impl Duties for ClusterDuties {
    async fn performs(&self, duty: &str) -> Result<bool, String> {
        performs(&self.holder, &self.store, duty).await
    }
}

async fn performs(
    holder: &heartbeat::LeaseHolder,
    store: &Store,
    duty: &str,
) -> Result<bool, String> {
    holder
        .performs(store, duty)
        .await
        .map_err(|e| format!("asking for the {duty} duty failed: {e}"))
}

/// Describe the metrics the tasks record (driver calls, retries), for the exposition's `HELP`.
pub fn describe_metrics() {
    driver_calls::describe_metrics();
    converge::describe_metrics();
}
