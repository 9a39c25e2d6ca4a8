//! The event-retention task: every `events.prune_interval_seconds`, delete outbox events (and
//! entries of the provider status feed) older than `events.retention_hours`. A consumer that stays away longer than the retention misses
//! what was pruned (its next poll logs the gap); everything younger is kept whether or not it was
//! read.

use std::time::Duration;

use async_trait::async_trait;
use fulcrum_core::tasks::{BackgroundTask, Report};
use fulcrum_store::Store;

/// Deletes events past their retention.
pub struct EventRetentionTask {
    store: Store,
    retention: Duration,
}

impl EventRetentionTask {
    /// Prune `store`'s events older than `retention`.
    pub fn new(store: Store, retention: Duration) -> Self {
        EventRetentionTask { store, retention }
    }
}

#[async_trait]
impl BackgroundTask for EventRetentionTask {
    fn name(&self) -> &'static str {
        "event-retention"
    }

    fn description(&self) -> &'static str {
        "Deletes outbox events and provider feed entries older than the configured retention."
    }

    async fn activate(&self) -> Result<Report, String> {
        let pruned = self
            .store
            .prune_events(self.retention)
            .await
            .map_err(|e| format!("pruning events failed: {e}"))?;
        let pruned_feed = self
            .store
            .prune_provider_feed(self.retention)
            .await
            .map_err(|e| format!("pruning the provider feed failed: {e}"))?;
        let last = self
            .store
            .last_event_id()
            .await
            .map_err(|e| format!("reading the last event id failed: {e}"))?;
        Ok(Report::from([
            ("pruned", pruned),
            ("pruned_provider_feed", pruned_feed),
            ("last_event_id", u64::try_from(last).unwrap_or(0)),
        ]))
    }
}
