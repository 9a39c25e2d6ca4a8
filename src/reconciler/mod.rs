//! The reconciler: converges what the API recorded.
//!
//! Work is level-triggered. Each work item says "make load balancer X's backend match the store";
//! a worker claims it with an expiring lease, hands the driver the whole desired tree, then settles
//! statuses in the same transaction that removes the item — only if no newer write superseded it.
//! A process that dies loses nothing: its leases expire and another worker (or the restarted
//! process) claims the items again. Transient driver errors are retried with exponential back-off;
//! anything else, or too many attempts, leaves the objects in ERROR.
//!
//! A periodic full sync queues every converged load balancer again (repairing drift on the
//! backend) and removes load balancers a driver holds that the store does not know (orphans).
//!
//! Both activities run on a timer and on demand: the API wakes the worker loop after each commit.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use fulcrum_core::driver::{Driver, DriverError, Providers};
use fulcrum_core::events::{Event, EventBus};
use fulcrum_core::model::{OperatingStatus, ProvisioningStatus};
use fulcrum_store::{Outcome, Store, WorkAction, WorkItem};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use crate::config::ReconcilerConfig;

/// The reconciler of one process.
pub struct Reconciler {
    store: Store,
    providers: Providers,
    events: EventBus,
    config: ReconcilerConfig,
    owner: String,
    work_ready: Arc<Notify>,
}

impl Reconciler {
    /// A reconciler that claims work as `owner` (unique per process).
    pub fn new(
        store: Store,
        providers: Providers,
        events: EventBus,
        config: ReconcilerConfig,
        work_ready: Arc<Notify>,
    ) -> Arc<Self> {
        Arc::new(Reconciler {
            store,
            providers,
            events,
            config,
            owner: format!("fulcrum-{}", uuid::Uuid::new_v4()),
            work_ready,
        })
    }

    /// Claim and converge work until `shutdown` turns true, then finish what is in flight.
    pub async fn run_workers(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut in_flight: JoinSet<()> = JoinSet::new();
        let poll = Duration::from_millis(self.config.poll_interval_ms);
        loop {
            if *shutdown.borrow() {
                break;
            }
            let free = self.config.concurrency.saturating_sub(in_flight.len());
            let mut claimed = 0;
            if free > 0 {
                match self
                    .store
                    .claim(&self.owner, self.lease_ms(), free as i64)
                    .await
                {
                    Ok(items) => {
                        claimed = items.len();
                        for item in items {
                            let me = self.clone();
                            in_flight.spawn(async move { me.process(item).await });
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "claiming work failed"),
                }
            }
            if free > 0 && claimed == free {
                // Every slot was filled, so more work is probably due: wait only for a free slot.
                in_flight.join_next().await;
                continue;
            }
            tokio::select! {
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
                _ = self.work_ready.notified() => {}
                _ = tokio::time::sleep(poll) => {}
                _ = shutdown.changed() => {}
            }
        }
        tracing::info!(
            in_flight = in_flight.len(),
            "reconciler finishing in-flight work"
        );
        while in_flight.join_next().await.is_some() {}
    }

    /// Queue a full sync every `sync_interval_seconds` until `shutdown` turns true.
    pub async fn run_full_sync(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let every = Duration::from_secs(self.config.sync_interval_seconds.max(1));
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => return,
            }
            if let Err(e) = self.full_sync().await {
                tracing::warn!(error = %e, "full sync failed");
            }
        }
    }

    /// Read operating statuses and counters of converged load balancers from drivers that have a
    /// data plane, every `observe_interval_seconds`, until `shutdown` turns true.
    pub async fn run_observer(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let every = Duration::from_secs(self.config.observe_interval_seconds.max(1));
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => return,
            }
            if let Err(e) = self.observe_all().await {
                tracing::warn!(error = %e, "observing load balancers failed");
            }
        }
    }

    /// One observation round over every converged load balancer of an observing driver.
    pub async fn observe_all(&self) -> Result<(), fulcrum_store::StoreError> {
        for (id, provider) in self.store.load_balancer_providers().await? {
            let Ok(driver) = self.providers.get(&provider) else {
                continue;
            };
            if !driver.observes_data_plane() {
                continue;
            }
            let Some(tree) = self.store.tree(&id).await? else {
                continue;
            };
            if tree.rows.load_balancer.provisioning_status != ProvisioningStatus::Active {
                continue;
            }
            if let Some(observation) = observe(driver.as_ref(), &tree).await {
                let mut events = observation.events.clone();
                events.extend(Self::member_changes(&tree, &observation));
                self.store
                    .record_observation(&tree, &observation, &events)
                    .await?;
                if !events.is_empty() {
                    self.events.notify_committed();
                }
            }
        }
        Ok(())
    }

    /// A member going down raises an alert; coming back clears it.
    fn member_changes(
        tree: &fulcrum_store::Tree,
        observation: &fulcrum_core::driver::Observation,
    ) -> Vec<Event> {
        let lb = &tree.rows.load_balancer;
        let mut events = Vec::new();
        for member in &tree.rows.members {
            let Some(now) = observation.operating_status.get(&member.id) else {
                continue;
            };
            let key = format!("member-down:{}", member.id);
            match (member.operating_status, *now) {
                (before, OperatingStatus::Error) if before != OperatingStatus::Error => {
                    tracing::warn!(load_balancer = %lb.id, member = %member.id, address = %member.address, "member down");
                    events.push(Event::AlertRaised {
                        key,
                        load_balancer_id: lb.id.clone(),
                        provider: lb.provider.clone(),
                        message: format!(
                            "member {} ({}:{}) is down",
                            member.id, member.address, member.protocol_port
                        ),
                    });
                }
                (OperatingStatus::Error, after) if after != OperatingStatus::Error => {
                    tracing::info!(load_balancer = %lb.id, member = %member.id, "member back");
                    events.push(Event::AlertCleared {
                        key,
                        load_balancer_id: lb.id.clone(),
                    });
                }
                _ => {}
            }
        }
        events
    }

    /// Queue every converged load balancer for re-application and remove orphans.
    pub async fn full_sync(&self) -> Result<(), fulcrum_store::StoreError> {
        let queued = self.store.enqueue_sync_all().await?;
        self.work_ready.notify_one();
        let known: Vec<(String, String)> = self.store.load_balancer_providers().await?;
        let mut removed = 0;
        for driver in self.providers.all() {
            let ids: HashSet<&str> = known
                .iter()
                .filter(|(_, p)| p == driver.name())
                .map(|(id, _)| id.as_str())
                .collect();
            match driver.realized_load_balancers().await {
                Ok(realized) => {
                    for orphan in realized.iter().filter(|id| !ids.contains(id.as_str())) {
                        match driver.remove(orphan).await {
                            Ok(()) => removed += 1,
                            Err(e) => {
                                tracing::warn!(provider = driver.name(), %orphan, error = %e, "removing orphan failed")
                            }
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(provider = driver.name(), error = %e, "listing realized load balancers failed")
                }
            }
        }
        tracing::info!(queued, orphans_removed = removed, "full sync");
        Ok(())
    }

    fn lease_ms(&self) -> i64 {
        (self.config.lease_seconds * 1000) as i64
    }

    async fn process(&self, item: WorkItem) {
        if let Err(e) = self.converge(&item).await {
            // A database failure: the lease runs out and the item is claimed again.
            tracing::warn!(load_balancer = %item.load_balancer_id, error = %e, "converging failed");
        }
    }

    async fn converge(&self, item: &WorkItem) -> Result<(), fulcrum_store::StoreError> {
        let lb_id = item.load_balancer_id.as_str();
        let Some(tree) = self.store.tree(lb_id).await? else {
            return self.store.discard(item, &self.owner).await;
        };
        let provider = tree.rows.load_balancer.provider.clone();
        let driver = match self.providers.get(&provider) {
            Ok(d) => d.clone(),
            Err(e) => {
                return self
                    .settle_failure(
                        item,
                        &tree,
                        &provider,
                        DriverError::invalid_configuration(e.to_string()),
                    )
                    .await;
            }
        };
        // The driver must finish well inside the lease, or another worker could start too.
        let deadline = Duration::from_millis((self.lease_ms() / 2).max(1) as u64);
        let result = match item.action {
            WorkAction::Delete => timed(deadline, driver.remove(lb_id)).await,
            WorkAction::Apply | WorkAction::Sync => {
                warn_unresolved_metadata(&tree);
                timed(deadline, driver.apply(&tree.desired())).await
            }
        };
        match result {
            Ok(()) => {
                let observation = match item.action {
                    WorkAction::Delete => None,
                    _ => observe(driver.as_ref(), &tree).await,
                };
                let cleared: Vec<Event> = if item.attempts > 1 {
                    vec![Event::AlertCleared {
                        key: alert_key(lb_id),
                        load_balancer_id: lb_id.to_string(),
                    }]
                } else {
                    Vec::new()
                };
                let done = self
                    .store
                    .complete(
                        item,
                        &self.owner,
                        &tree,
                        Outcome::Converged,
                        observation.as_ref(),
                        &cleared,
                    )
                    .await?;
                if !cleared.is_empty() {
                    self.events.notify_committed();
                }
                tracing::debug!(load_balancer = %lb_id, action = item.action.as_str(), superseded = !done, "converged");
                Ok(())
            }
            Err(err) => self.settle_failure(item, &tree, &provider, err).await,
        }
    }

    async fn settle_failure(
        &self,
        item: &WorkItem,
        tree: &fulcrum_store::Tree,
        provider: &str,
        err: DriverError,
    ) -> Result<(), fulcrum_store::StoreError> {
        let lb_id = item.load_balancer_id.as_str();
        let retry = err.is_transient() && item.attempts < self.config.max_attempts;
        tracing::warn!(load_balancer = %lb_id, provider, attempt = item.attempts, retry, kind = err.kind().as_str(), error = %err, source = ?std::error::Error::source(&err).map(ToString::to_string), "driver failed");
        if retry {
            let backoff = self.config.retry_base_ms * (1 << (item.attempts - 1).clamp(0, 10));
            let hinted = err
                .retry_after()
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
            let delay = backoff.max(hinted);
            return self
                .store
                .retry_later(item, &self.owner, delay, &err.to_string())
                .await;
        }
        let alert = [Event::AlertRaised {
            key: alert_key(lb_id),
            load_balancer_id: lb_id.to_string(),
            provider: provider.to_string(),
            message: err.to_string(),
        }];
        if item.action == WorkAction::Sync {
            // Statuses stay; the next full sync tries again.
            self.store.append_events(&alert).await?;
            self.events.notify_committed();
            return self.store.discard(item, &self.owner).await;
        }
        self.store
            .complete(item, &self.owner, tree, Outcome::Failed, None, &alert)
            .await?;
        self.events.notify_committed();
        Ok(())
    }
}

/// Say that a tree is applied without flavor or zone metadata it names. The API refuses to delete
/// a flavor, zone or profile in use, so this takes a row removed behind its back or a delete racing
/// the load balancer's create; the load balancer keeps working with the driver's defaults.
fn warn_unresolved_metadata(tree: &fulcrum_store::Tree) {
    for warning in &tree.metadata_warnings {
        tracing::warn!(load_balancer = %tree.rows.load_balancer.id, "{warning}");
    }
}

fn alert_key(lb_id: &str) -> String {
    format!("converge:{lb_id}")
}

async fn timed(
    deadline: Duration,
    fut: impl std::future::Future<Output = Result<(), DriverError>>,
) -> Result<(), DriverError> {
    match tokio::time::timeout(deadline, fut).await {
        Ok(r) => r,
        Err(_) => Err(DriverError::transient(format!(
            "the driver did not finish within {} ms",
            deadline.as_millis()
        ))),
    }
}

async fn observe(
    driver: &dyn Driver,
    tree: &fulcrum_store::Tree,
) -> Option<fulcrum_core::driver::Observation> {
    match driver.observe(&tree.desired()).await {
        Ok(o) => Some(o),
        Err(e) => {
            tracing::warn!(load_balancer = %tree.rows.load_balancer.id, error = %e, "observing failed");
            None
        }
    }
}
