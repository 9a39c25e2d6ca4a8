//! The converge task: converges what the API recorded.
//!
//! Work is level-triggered. Each work item says "make load balancer X's backend match the store";
//! an activation claims as many items as there are free slots (`reconciler.concurrency`), each
//! with an expiring lease, and converges each in its own tokio task: the driver is handed the
//! whole desired tree, then statuses are settled in the same transaction that removes the item —
//! only if no newer write superseded it — together with the other items finishing at the same
//! time ([`super::settler`]). A process that dies loses nothing: its leases are free
//! again when they expire, or as soon as its holder is known to be gone (a restarted process
//! retires its earlier run; a silent one is gone after `holder_timeout_ms`, see
//! [`super::heartbeat`]), and another process (or the restarted one) claims the items again. Transient driver errors are
//! retried with exponential back-off, never sooner than the backend's retry hint; anything else,
//! or too many attempts, leaves the objects in ERROR.
//!
//! Once a deleted load balancer is settled, its VIP port is released when the network back-end
//! created it (Neutron). A release that fails does not hold the deletion back and is not retried
//! here: the full sync removes such a port once it is past its grace period.
//!
//! The task is woken by the API after every commit, by each item it finishes (a slot is free),
//! and every `poll_interval_ms` (work of other replicas, expired leases, retries that came due).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use fulcrum_core::driver::{Applied, DriverError};
use fulcrum_core::events::Event;
use fulcrum_core::model::ProvisioningStatus;
use fulcrum_core::tasks::{BackgroundTask, Report};
use fulcrum_store::{Completion, Outcome, StoreError, WorkAction, WorkItem, rows_of};
use tokio::sync::Mutex;
use tokio::task::JoinSet;

use super::TaskContext;
use super::driver_calls::{Operation, metered};
use super::heartbeat::LeaseHolder;
use super::observer::{observe, observed_events};
use super::settler::{SettleError, Settler};

/// Work items given back for another attempt after a transient driver error, by provider.
const RETRIES: &str = "fulcrum_work_item_retries_total";

/// Describe the converge task's own metrics, for the exposition's `HELP`.
pub(super) fn describe_metrics() {
    metrics::describe_counter!(
        RETRIES,
        "Work items given back for another attempt after a transient driver error, by provider."
    );
}

/// Claims work items and converges their load balancers.
pub struct ConvergeTask {
    converger: Arc<Converger>,
    holder: Arc<LeaseHolder>,
    in_flight: Mutex<JoinSet<()>>,
}

/// Converges one claimed item at a time; shared by the items in flight.
struct Converger {
    context: TaskContext,
    owner: String,
    settler: Settler,
}

/// Why converging an item stopped short; its lease runs out (or its holder goes) and the item
/// is claimed again.
#[derive(Debug, thiserror::Error)]
enum ConvergeError {
    /// Reading the tree, or giving the item back, failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Settling the finished item failed.
    #[error(transparent)]
    Settle(#[from] SettleError),
}

impl ConvergeTask {
    /// A converge task that claims work as `holder` (this process's, kept alive by the heartbeat
    /// task).
    pub fn new(context: TaskContext, holder: Arc<LeaseHolder>) -> Self {
        ConvergeTask {
            converger: Arc::new(Converger {
                settler: Settler::new(context.store.clone(), holder.id().to_string()),
                context,
                owner: holder.id().to_string(),
            }),
            holder,
            in_flight: Mutex::new(JoinSet::new()),
        }
    }
}

#[async_trait]
impl BackgroundTask for ConvergeTask {
    fn name(&self) -> &'static str {
        "converge"
    }

    fn description(&self) -> &'static str {
        "Claims queued work and hands each load balancer's whole desired tree to its driver."
    }

    async fn activate(&self) -> Result<Report, String> {
        let mut in_flight = self.in_flight.lock().await;
        while in_flight.try_join_next().is_some() {}
        let converger = &self.converger;
        let free = converger
            .context
            .config
            .concurrency
            .saturating_sub(in_flight.len());
        let mut claimed = 0;
        if free > 0 {
            let store = &converger.context.store;
            self.holder
                .ensure_registered(store)
                .await
                .map_err(|e| format!("registering the work holder failed: {e}"))?;
            let items = store
                .claim(
                    &converger.owner,
                    converger.lease_ms(),
                    self.holder.timeout_ms(),
                    free as i64,
                )
                .await
                .map_err(|e| format!("claiming work failed: {e}"))?;
            claimed = items.len();
            for item in items {
                let me = Arc::clone(converger);
                in_flight.spawn(async move {
                    me.process(item).await;
                    // A slot is free: there may be more work waiting.
                    me.context.work_ready.wake();
                });
            }
        }
        Ok(Report::from([
            ("claimed", claimed as u64),
            ("in_flight", in_flight.len() as u64),
        ]))
    }

    async fn finish(&self) {
        let mut in_flight = self.in_flight.lock().await;
        tracing::info!(
            in_flight = in_flight.len(),
            "finishing converge work in flight"
        );
        while in_flight.join_next().await.is_some() {}
        // Nothing is held any more; another process may take what comes next at once.
        if let Err(e) = self.holder.retire(&self.converger.context.store).await {
            tracing::warn!(error = %e, "retiring the work holder failed");
        }
    }
}

impl Converger {
    fn lease_ms(&self) -> i64 {
        (self.context.config.lease_seconds * 1000) as i64
    }

    async fn process(&self, item: WorkItem) {
        if let Err(e) = self.converge(&item).await {
            // A database failure: the lease runs out and the item is claimed again.
            tracing::warn!(load_balancer = %item.load_balancer_id, error = %e, "converging failed");
        }
    }

    async fn converge(&self, item: &WorkItem) -> Result<(), ConvergeError> {
        let lb_id = item.load_balancer_id.as_str();
        let Some(tree) = self.context.store.tree(lb_id).await? else {
            return Ok(self.context.store.discard(item, &self.owner).await?);
        };
        let provider = tree.rows.load_balancer.provider.clone();
        let driver = match self.context.providers.get(&provider) {
            Ok(d) => d.clone(),
            Err(e) => {
                return self
                    .settle_failure(
                        item,
                        tree,
                        &provider,
                        DriverError::invalid_configuration(e.to_string()),
                    )
                    .await;
            }
        };
        // The driver must finish well inside the lease, or another worker could start too.
        let deadline = Duration::from_millis((self.lease_ms() / 2).max(1) as u64);
        let result = match item.action {
            WorkAction::Delete => metered(
                &provider,
                Operation::Remove,
                timed(deadline, driver.remove(lb_id)),
            )
            .await
            .map(|()| Applied::default()),
            WorkAction::Apply | WorkAction::Sync => {
                warn_unresolved_metadata(&tree);
                let desired = tree.desired();
                metered(
                    &provider,
                    Operation::Apply,
                    timed(deadline, driver.apply_reporting(&desired)),
                )
                .await
            }
        };
        match result {
            Ok(applied) => {
                let observation = match item.action {
                    WorkAction::Delete => None,
                    _ => observe(driver.as_ref(), &tree).await,
                };
                let mut events = observation
                    .as_ref()
                    .map(|o| observed_events(&tree, o))
                    .unwrap_or_default();
                events.extend(refusal_events(&tree, &applied));
                if item.attempts > 1 {
                    events.push(Event::AlertCleared {
                        key: alert_key(lb_id),
                        load_balancer_id: lb_id.to_string(),
                    });
                }
                let wrote_events = !events.is_empty();
                let vip_port_id = tree.rows.load_balancer.vip_port_id.clone();
                let done = self
                    .settler
                    .settle(Completion {
                        item: item.clone(),
                        tree,
                        outcome: Outcome::Converged,
                        observation,
                        refused: applied.refused.into_keys().collect(),
                        events,
                    })
                    .await?;
                if wrote_events {
                    self.context.events.notify_committed();
                }
                if done && item.action == WorkAction::Delete {
                    self.release_vip_port(lb_id, &vip_port_id).await;
                }
                tracing::debug!(load_balancer = %lb_id, action = item.action.as_str(), superseded = !done, "converged");
                Ok(())
            }
            Err(err) => self.settle_failure(item, tree, &provider, err).await,
        }
    }

    /// Release the VIP port of a deleted load balancer; a failure is left to the full sync.
    async fn release_vip_port(&self, lb_id: &str, port_id: &str) {
        if let Err(e) = self.context.networks.release_vip_port(lb_id, port_id).await {
            tracing::warn!(load_balancer = %lb_id, port = %port_id, error = %e, "releasing the VIP port failed; the full sync removes it");
        }
    }

    async fn settle_failure(
        &self,
        item: &WorkItem,
        tree: fulcrum_store::Tree,
        provider: &str,
        err: DriverError,
    ) -> Result<(), ConvergeError> {
        let lb_id = item.load_balancer_id.as_str();
        let retry = err.is_transient() && item.attempts < self.context.config.max_attempts;
        tracing::warn!(load_balancer = %lb_id, provider, attempt = item.attempts, retry, kind = err.kind().as_str(), error = %err, source = ?std::error::Error::source(&err).map(ToString::to_string), "driver failed");
        if retry {
            metrics::counter!(RETRIES, "provider" => provider.to_string()).increment(1);
            let backoff =
                self.context.config.retry_base_ms * (1 << (item.attempts - 1).clamp(0, 10));
            let hinted = err
                .retry_after()
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
            let delay = backoff.max(hinted);
            return Ok(self
                .context
                .store
                .retry_later(item, &self.owner, delay, &err.to_string())
                .await?);
        }
        let alert = [Event::AlertRaised {
            key: alert_key(lb_id),
            load_balancer_id: lb_id.to_string(),
            provider: provider.to_string(),
            message: err.to_string(),
        }];
        let store = &self.context.store;
        if item.action == WorkAction::Sync {
            // Statuses stay; the next full sync tries again.
            store.append_events(&alert).await?;
            store.discard(item, &self.owner).await?;
        } else {
            self.settler
                .settle(Completion {
                    item: item.clone(),
                    tree,
                    outcome: Outcome::Failed,
                    observation: None,
                    refused: Default::default(),
                    events: alert.to_vec(),
                })
                .await?;
        }
        self.context.events.notify_committed();
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

/// An alert for each object the backend refused, in its words, and the alert of each object in
/// ERROR that the apply realized cleared.
fn refusal_events(tree: &fulcrum_store::Tree, applied: &Applied) -> Vec<Event> {
    let lb = &tree.rows.load_balancer;
    let key = |id: &str| format!("object-refused:{id}");
    rows_of(tree)
        .into_iter()
        .filter_map(|(_, id, prov, _)| match applied.refused.get(id) {
            Some(words) => {
                tracing::warn!(load_balancer = %lb.id, object = %id, "{words}");
                Some(Event::AlertRaised {
                    key: key(id),
                    load_balancer_id: lb.id.clone(),
                    provider: lb.provider.clone(),
                    message: words.clone(),
                })
            }
            None => (prov == ProvisioningStatus::Error).then(|| Event::AlertCleared {
                key: key(id),
                load_balancer_id: lb.id.clone(),
            }),
        })
        .collect()
}

async fn timed<T>(
    deadline: Duration,
    fut: impl std::future::Future<Output = Result<T, DriverError>>,
) -> Result<T, DriverError> {
    match tokio::time::timeout(deadline, fut).await {
        Ok(r) => r,
        Err(_) => Err(DriverError::transient(format!(
            "the driver did not finish within {} ms",
            deadline.as_millis()
        ))),
    }
}
