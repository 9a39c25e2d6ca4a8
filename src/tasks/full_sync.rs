//! The full-sync task: every `sync_interval_seconds` (and once at start-up), repair drift and
//! remove orphans (DESIGN.md invariant 4).
//!
//! Drift is found cheaply: each driver reports the load balancers it holds with fingerprints of
//! what it realizes now and of what it last applied (`Driver::realized_fingerprints`). Only a
//! converged load balancer whose fingerprints differ, that the driver does not hold, or that is in
//! `ERROR` is queued for a sync; one that provably holds what was applied costs nothing more than
//! its line in the report. So an idle sync queues nothing, whatever the number of load balancers.
//! A driver that cannot fingerprint reports none, and everything it holds is queued, as before.
//! After a restart of Fulcrum no driver knows what it applied, so the first sync re-applies every
//! load balancer (with this version's rendering).
//!
//! What a driver holds that the store does not know is an orphan, and is removed.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use fulcrum_core::driver::{Driver, Realized};
use fulcrum_core::model::ProvisioningStatus;
use fulcrum_core::tasks::{BackgroundTask, Report};
use fulcrum_store::SyncCandidate;

use super::driver_calls::{Operation, metered};
use super::heartbeat::LeaseHolder;
use super::{TaskContext, performs};

/// Queues drifted load balancers and removes orphans.
pub struct FullSyncTask {
    context: TaskContext,
    holder: Arc<LeaseHolder>,
}

impl FullSyncTask {
    /// The full sync over the context's store and drivers.
    pub fn new(context: TaskContext, holder: Arc<LeaseHolder>) -> Self {
        FullSyncTask { context, holder }
    }
}

/// What one driver reported, by load balancer id; `None` when it could not be asked.
type Holdings = Option<HashMap<String, Realized>>;

#[async_trait]
impl BackgroundTask for FullSyncTask {
    fn name(&self) -> &'static str {
        "full-sync"
    }

    fn description(&self) -> &'static str {
        "Re-applies the load balancers whose backend drifted from what was applied, and removes \
         orphans from backends."
    }

    async fn activate(&self) -> Result<Report, String> {
        let store = &self.context.store;
        let on_duty = performs(&self.holder, store, "full-sync").await?;
        // Drivers first, the store second: a load balancer created in between is then known to
        // the store and never taken for an orphan.
        let mut failures = 0;
        let mut holdings: Vec<(&dyn Driver, Holdings)> = Vec::new();
        let drivers = self
            .context
            .providers
            .all()
            .filter(|d| on_duty || d.realizes_on_this_host());
        for driver in drivers {
            let held = match driver.realized_fingerprints().await {
                Ok(realized) => Some(
                    realized
                        .into_iter()
                        .map(|r| (r.load_balancer_id.clone(), r))
                        .collect(),
                ),
                Err(e) => {
                    failures += 1;
                    tracing::warn!(provider = driver.name(), error = %e, "listing realized load balancers failed");
                    None
                }
            };
            holdings.push((driver.as_ref(), held));
        }
        let candidates = store
            .sync_candidates()
            .await
            .map_err(|e| format!("listing load balancers failed: {e}"))?;

        let (mut drifted, mut in_sync, mut removed) = (Vec::new(), 0, 0);
        for (driver, held) in &holdings {
            let mine: Vec<&SyncCandidate> = candidates
                .iter()
                .filter(|c| c.provider == driver.name())
                .collect();
            for candidate in &mine {
                match needs_sync(candidate, held.as_ref()) {
                    Some(true) => drifted.push(candidate.id.clone()),
                    Some(false) => in_sync += 1,
                    None => {}
                }
            }
            let Some(held) = held else { continue };
            let known: HashSet<&str> = mine.iter().map(|c| c.id.as_str()).collect();
            for orphan in held.keys().filter(|id| !known.contains(id.as_str())) {
                match metered(driver.name(), Operation::Remove, driver.remove(orphan)).await {
                    Ok(()) => removed += 1,
                    Err(e) => {
                        failures += 1;
                        tracing::warn!(provider = driver.name(), %orphan, error = %e, "removing orphan failed");
                    }
                }
            }
        }
        let queued = store
            .enqueue_sync(&drifted)
            .await
            .map_err(|e| format!("queueing load balancers failed: {e}"))?;
        if queued > 0 {
            self.context.work_ready.wake();
        }
        tracing::info!(queued, in_sync, orphans_removed = removed, "full sync");
        Ok(Report::from([
            ("queued", queued),
            ("in_sync", in_sync),
            ("orphans_removed", removed),
            ("driver_failures", failures),
            ("standby", u64::from(!on_duty)),
        ]))
    }
}

/// Whether a load balancer needs a sync: `Some(true)` when it is in `ERROR` (another attempt may
/// succeed), or `ACTIVE` and its driver could not be asked, does not hold it, or reports
/// something other than what it applied; `Some(false)` when it is `ACTIVE` and in sync; `None`
/// while work on it is pending anyway.
fn needs_sync(candidate: &SyncCandidate, held: Option<&HashMap<String, Realized>>) -> Option<bool> {
    match candidate.provisioning_status {
        ProvisioningStatus::Error => Some(true),
        ProvisioningStatus::Active => Some(
            !held
                .and_then(|h| h.get(&candidate.id))
                .is_some_and(Realized::in_sync),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use fulcrum_core::driver::Fingerprint;

    use super::*;

    fn candidate(id: &str, provisioning_status: ProvisioningStatus) -> SyncCandidate {
        SyncCandidate {
            id: id.into(),
            provider: "p".into(),
            provisioning_status,
        }
    }

    #[test]
    fn only_what_differs_or_failed_is_synced() {
        let applied = Some(Fingerprint::of("applied"));
        let held: HashMap<String, Realized> = [
            ("same", applied),
            ("changed", Some(Fingerprint::of("tampered"))),
            ("dead", None),
        ]
        .into_iter()
        .map(|(id, now)| {
            let realized = Realized {
                load_balancer_id: id.into(),
                now,
                applied,
            };
            (id.to_string(), realized)
        })
        .collect();
        let held = Some(&held);
        use ProvisioningStatus as P;
        assert_eq!(needs_sync(&candidate("same", P::Active), held), Some(false));
        assert_eq!(
            needs_sync(&candidate("changed", P::Active), held),
            Some(true)
        );
        assert_eq!(needs_sync(&candidate("dead", P::Active), held), Some(true));
        assert_eq!(
            needs_sync(&candidate("missing", P::Active), held),
            Some(true)
        );
        assert_eq!(needs_sync(&candidate("same", P::Error), held), Some(true));
        assert_eq!(needs_sync(&candidate("same", P::PendingUpdate), held), None);
        assert_eq!(needs_sync(&candidate("same", P::Active), None), Some(true));
    }
}
