//! Coalescing: the changes to one tenant that wait for their turn at the device are declared
//! together, so a burst of edits (or of load balancers of one project) becomes a few
//! declarations instead of one each.
//!
//! A caller adds its change and waits for the outcome; whoever gets the driver's turn next for
//! that tenant takes every change waiting for it, declares them at once and tells each waiter
//! how it went. A later change to the same Application replaces an earlier one still waiting.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use fulcrum_core::driver::DriverError;
use serde_json::Value;
use tokio::sync::oneshot;

/// What a waiter learns: the outcome of the declaration that carried its change.
pub type Outcome = Result<(), DriverError>;

/// The changes waiting for one tenant, and who waits for them.
#[derive(Debug, Default)]
pub struct Pending {
    changes: BTreeMap<String, Option<Value>>,
    waiters: Vec<oneshot::Sender<Outcome>>,
}

impl Pending {
    /// The Applications to set (`Some`) or remove (`None`), by name.
    pub fn changes(&self) -> &BTreeMap<String, Option<Value>> {
        &self.changes
    }

    /// Tell every waiter the outcome.
    pub fn finish(self, outcome: &Outcome) {
        for waiter in self.waiters {
            let _ = waiter.send(outcome.clone());
        }
    }
}

/// The waiting changes of every tenant.
#[derive(Debug, Default)]
pub struct Batches {
    pending: Mutex<HashMap<String, Pending>>,
}

impl Batches {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pending>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Add a change to a tenant's Application; the receiver gets the outcome of the
    /// declaration that carries it.
    pub fn add(
        &self,
        tenant: &str,
        app: &str,
        change: Option<Value>,
    ) -> oneshot::Receiver<Outcome> {
        let (tell, told) = oneshot::channel();
        let mut pending = self.lock();
        let waiting = pending.entry(tenant.to_owned()).or_default();
        waiting.changes.insert(app.to_owned(), change);
        waiting.waiters.push(tell);
        told
    }

    /// Take every change waiting for a tenant (none when another caller took them already).
    pub fn take(&self, tenant: &str) -> Option<Pending> {
        self.lock().remove(tenant)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[tokio::test]
    async fn waiting_changes_are_taken_together_and_every_waiter_is_told() {
        let batches = Batches::default();
        let first = batches.add("t", "a", Some(json!(1)));
        let second = batches.add("t", "a", Some(json!(2)));
        let third = batches.add("t", "b", None);
        let pending = batches.take("t").unwrap();
        assert_eq!(pending.changes().len(), 2);
        assert_eq!(
            pending.changes()["a"],
            Some(json!(2)),
            "the later change wins"
        );
        assert!(batches.take("t").is_none());
        pending.finish(&Err(DriverError::rejected("no")));
        for told in [first, second, third] {
            assert!(told.await.unwrap().is_err());
        }
    }
}
