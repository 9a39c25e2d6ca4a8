//! The full-sync task: every `sync_interval_seconds` (and once at start-up), queue every
//! converged load balancer again so that drift on a backend is repaired, and remove the load
//! balancers a driver holds that the store does not know (orphans: DESIGN.md invariant 4).

use std::collections::HashSet;

use async_trait::async_trait;
use fulcrum_core::tasks::{BackgroundTask, Report};

use super::TaskContext;
use super::driver_calls::{Operation, metered};

/// Queues every converged load balancer and removes orphans.
pub struct FullSyncTask {
    context: TaskContext,
}

impl FullSyncTask {
    /// The full sync over the context's store and drivers.
    pub fn new(context: TaskContext) -> Self {
        FullSyncTask { context }
    }
}

#[async_trait]
impl BackgroundTask for FullSyncTask {
    fn name(&self) -> &'static str {
        "full-sync"
    }

    fn description(&self) -> &'static str {
        "Re-applies every converged load balancer (drift repair) and removes orphans from backends."
    }

    async fn activate(&self) -> Result<Report, String> {
        let store = &self.context.store;
        let queued = store
            .enqueue_sync_all()
            .await
            .map_err(|e| format!("queueing load balancers failed: {e}"))?;
        self.context.work_ready.wake();
        let known: Vec<(String, String)> = store
            .load_balancer_providers()
            .await
            .map_err(|e| format!("listing load balancers failed: {e}"))?;
        let (mut removed, mut failures) = (0, 0);
        for driver in self.context.providers.all() {
            let ids: HashSet<&str> = known
                .iter()
                .filter(|(_, p)| p == driver.name())
                .map(|(id, _)| id.as_str())
                .collect();
            let realized = match driver.realized_load_balancers().await {
                Ok(realized) => realized,
                Err(e) => {
                    failures += 1;
                    tracing::warn!(provider = driver.name(), error = %e, "listing realized load balancers failed");
                    continue;
                }
            };
            for orphan in realized.iter().filter(|id| !ids.contains(id.as_str())) {
                match metered(driver.name(), Operation::Remove, driver.remove(orphan)).await {
                    Ok(()) => removed += 1,
                    Err(e) => {
                        failures += 1;
                        tracing::warn!(provider = driver.name(), %orphan, error = %e, "removing orphan failed");
                    }
                }
            }
        }
        tracing::info!(queued, orphans_removed = removed, "full sync");
        Ok(Report::from([
            ("queued", queued),
            ("orphans_removed", removed),
            ("driver_failures", failures),
        ]))
    }
}
