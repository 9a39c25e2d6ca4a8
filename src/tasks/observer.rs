//! The observer task: every `observe_interval_seconds`, read operating statuses and counters of
//! converged load balancers from drivers that have a live data plane, record them, and tell
//! management what changed (a member going down raises an alert; coming back clears it).
//!
//! Observing is also when a driver with a data plane finds what it realized lost (HAProxy: a
//! process that died, a state directory deleted) and realizes it again at once, so such a load
//! balancer is repaired within one observer period rather than at the next full sync.

use std::sync::Arc;

use async_trait::async_trait;
use fulcrum_core::driver::{Driver, Observation};
use fulcrum_core::events::Event;
use fulcrum_core::model::{OperatingStatus, ProvisioningStatus};
use fulcrum_core::tasks::{BackgroundTask, Report};
use fulcrum_store::Tree;

use super::driver_calls::{Operation, metered};
use super::heartbeat::LeaseHolder;
use super::{TaskContext, performs};

/// Reads data-plane statuses and counters.
pub struct ObserverTask {
    context: TaskContext,
    holder: Arc<LeaseHolder>,
}

impl ObserverTask {
    /// The observer over the context's store and drivers.
    pub fn new(context: TaskContext, holder: Arc<LeaseHolder>) -> Self {
        ObserverTask { context, holder }
    }
}

#[async_trait]
impl BackgroundTask for ObserverTask {
    fn name(&self) -> &'static str {
        "observer"
    }

    fn description(&self) -> &'static str {
        "Reads operating statuses and counters from drivers with a data plane."
    }

    async fn activate(&self) -> Result<Report, String> {
        let store = &self.context.store;
        let on_duty = performs(&self.holder, store, "observer").await?;
        let (mut observed, mut failed) = (0, 0);
        let load_balancers = store
            .load_balancer_providers()
            .await
            .map_err(|e| format!("listing load balancers failed: {e}"))?;
        for (id, provider) in load_balancers {
            let Some(driver) = self.context.providers.find(&provider) else {
                continue;
            };
            if !driver.observes_data_plane() || !(on_duty || driver.realizes_on_this_host()) {
                continue;
            }
            let Some(tree) = store.tree(&id).await.map_err(|e| e.to_string())? else {
                continue;
            };
            if tree.rows.load_balancer.provisioning_status != ProvisioningStatus::Active {
                continue;
            }
            let Some(observation) = observe(driver.as_ref(), &tree).await else {
                failed += 1;
                continue;
            };
            let events = observed_events(&tree, &observation);
            store
                .record_observation(&tree, &observation, &events)
                .await
                .map_err(|e| format!("recording an observation failed: {e}"))?;
            if !events.is_empty() {
                self.context.events.notify_committed();
            }
            observed += 1;
        }
        Ok(Report::from([
            ("observed", observed),
            ("failed", failed),
            ("standby", u64::from(!on_duty)),
        ]))
    }
}

/// What management should learn from an observation: what the driver noticed, and members that
/// went down or came back.
pub(super) fn observed_events(tree: &Tree, observation: &Observation) -> Vec<Event> {
    let mut events = observation.events.clone();
    events.extend(member_changes(tree, observation));
    events
}

/// A member going down raises an alert; coming back clears it.
fn member_changes(tree: &Tree, observation: &Observation) -> Vec<Event> {
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

/// Observe one tree, logging (not failing on) a driver error.
pub(super) async fn observe(driver: &dyn Driver, tree: &Tree) -> Option<Observation> {
    let desired = tree.desired();
    match metered(driver.name(), Operation::Observe, driver.observe(&desired)).await {
        Ok(o) => Some(o),
        Err(e) => {
            tracing::warn!(load_balancer = %tree.rows.load_balancer.id, error = %e, "observing failed");
            None
        }
    }
}
