//! The heartbeat task: keeps this process's work holder alive in the database, so that the
//! leases it holds stay its own, and so that when it stops beating (killed, hung, cut off) the
//! other replicas take its work over within `holder_timeout_ms` instead of a whole lease.
//!
//! The holder is registered before the first claim, and registering retires the earlier runs of
//! the same replica name: a process restarted after a crash takes its own leased work back at
//! once. A clean shutdown retires the holder once the work in flight has finished (see
//! [`super::converge`]). The store's `holders` module says when a lease counts as free.

use std::sync::Arc;

use async_trait::async_trait;
use fulcrum_core::tasks::{BackgroundTask, Report};
use fulcrum_store::{Store, StoreError, WorkHolder};
use tokio::sync::Mutex;

/// Where this process's holder stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    /// Not registered yet: nothing may be claimed.
    Unregistered,
    /// Registered and beating.
    Alive,
    /// Retired at shutdown: it beats no more.
    Retired,
}

/// This process's work holder, shared by the converge task (which claims as it) and the
/// heartbeat task (which keeps it alive).
pub struct LeaseHolder {
    holder: WorkHolder,
    timeout_ms: i64,
    standing: Mutex<Standing>,
}

impl LeaseHolder {
    /// A new incarnation of the replica `replica`, counted as gone after `timeout_ms` without a
    /// heartbeat.
    pub fn new(replica: &str, timeout_ms: u64) -> Self {
        LeaseHolder {
            holder: WorkHolder::new(replica),
            timeout_ms: i64::try_from(timeout_ms).unwrap_or(i64::MAX),
            standing: Mutex::new(Standing::Unregistered),
        }
    }

    /// The holder id work is claimed as.
    pub fn id(&self) -> &str {
        self.holder.id()
    }

    /// Milliseconds without a heartbeat after which any holder counts as gone.
    pub fn timeout_ms(&self) -> i64 {
        self.timeout_ms
    }

    /// Register the holder if it is not yet: retire the earlier runs of its replica, whose
    /// leases are free from now on.
    pub async fn ensure_registered(&self, store: &Store) -> Result<(), StoreError> {
        let mut standing = self.standing.lock().await;
        if *standing == Standing::Unregistered {
            let retired = store.register_holder(&self.holder, self.timeout_ms).await?;
            tracing::info!(
                holder = self.holder.id(),
                earlier_runs_retired = retired,
                "claiming work as this holder"
            );
            *standing = Standing::Alive;
        }
        Ok(())
    }

    /// Beat once, registering first if needed; nothing once retired.
    async fn beat(&self, store: &Store) -> Result<bool, StoreError> {
        self.ensure_registered(store).await?;
        let standing = self.standing.lock().await;
        if *standing != Standing::Alive {
            return Ok(false);
        }
        if !store.heartbeat(&self.holder).await? {
            tracing::warn!(
                holder = self.holder.id(),
                replica = self.holder.replica(),
                "this holder had been retired or forgotten: another process may run under the \
                 same replica name, and each takes the other's work (give each its own \
                 reconciler.replica)"
            );
        }
        Ok(true)
    }

    /// Whether this process performs the cluster duty `duty` now (see the store's `duties`):
    /// it takes the duty when its holder is gone, keeps it while it lives. Never once retired.
    pub async fn performs(&self, store: &Store, duty: &str) -> Result<bool, StoreError> {
        self.ensure_registered(store).await?;
        if *self.standing.lock().await != Standing::Alive {
            return Ok(false);
        }
        store.hold_duty(duty, &self.holder, self.timeout_ms).await
    }

    /// Retire the holder: what it still holds is free at once, and it beats no more.
    pub async fn retire(&self, store: &Store) -> Result<(), StoreError> {
        let mut standing = self.standing.lock().await;
        if *standing == Standing::Alive {
            store.retire_holder(&self.holder).await?;
        }
        *standing = Standing::Retired;
        Ok(())
    }
}

/// Beats this process's work holder every `heartbeat_interval_ms`.
pub struct HeartbeatTask {
    store: Store,
    holder: Arc<LeaseHolder>,
}

impl HeartbeatTask {
    /// A heartbeat task for `holder`.
    pub fn new(store: Store, holder: Arc<LeaseHolder>) -> Self {
        HeartbeatTask { store, holder }
    }
}

#[async_trait]
impl BackgroundTask for HeartbeatTask {
    fn name(&self) -> &'static str {
        "heartbeat"
    }

    fn description(&self) -> &'static str {
        "Tells the other replicas this process is alive, so that its leased work stays its own."
    }

    async fn activate(&self) -> Result<Report, String> {
        let beat = self
            .holder
            .beat(&self.store)
            .await
            .map_err(|e| format!("heartbeat failed: {e}"))?;
        Ok(Report::from([("beats", u64::from(beat))]))
    }
}
