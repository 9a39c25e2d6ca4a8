//! Group commit of the converge task's finished work.
//!
//! Every item the converge task works on ends in one store transaction that removes it and
//! settles its tree's statuses. Committed one by one, under load, those transactions queue for
//! the database's connections and, on PostgreSQL, each waits for its own flush of the
//! write-ahead log. So each worker hands its [`Completion`] to the one [`Settler`] and waits:
//! whichever worker finds no commit under way takes every completion waiting at that moment and
//! commits them together ([`fulcrum_store::Store::complete_all`]); the completions that arrive
//! meanwhile form the next batch. Nobody waits for a batch to fill: a lone completion is
//! committed at once, and batches grow only as large as the load makes them.

use std::sync::Arc;

use fulcrum_store::{Completion, Store, StoreError};
use tokio::sync::{Mutex, oneshot};

/// Why an item did not settle; its lease runs out (or its holder goes) and it is claimed again.
#[derive(Debug, Clone, thiserror::Error)]
pub(super) enum SettleError {
    /// The batch it was in failed to commit: the database error, shared by the whole batch.
    #[error("settling a batch of {items} finished work items failed: {source}")]
    Database {
        /// Items in the batch.
        items: usize,
        /// What the store said.
        source: Arc<StoreError>,
    },
    /// The worker committing its batch was cancelled (the task is being torn down).
    #[error("the batch was abandoned before it committed")]
    Abandoned,
}

type Outcome = Result<bool, SettleError>;

/// Gathers completions and commits them in batches, as the lease holder `owner`.
pub(super) struct Settler {
    store: Store,
    owner: String,
    waiting: std::sync::Mutex<Vec<(Completion, oneshot::Sender<Outcome>)>>,
    committing: Mutex<()>,
}

impl Settler {
    /// A settler for the items `owner` holds.
    pub(super) fn new(store: Store, owner: String) -> Self {
        Settler {
            store,
            owner,
            waiting: std::sync::Mutex::default(),
            committing: Mutex::new(()),
        }
    }

    /// Settle one finished item, in a batch with whatever else is finishing now. Returns
    /// whether it settled (`false`: a newer write superseded the work, see
    /// [`fulcrum_store::Store::complete_all`]).
    pub(super) async fn settle(&self, completion: Completion) -> Outcome {
        let (done, result) = oneshot::channel();
        self.lock_waiting().push((completion, done));
        {
            let _committing = self.committing.lock().await;
            let batch = std::mem::take(&mut *self.lock_waiting());
            if !batch.is_empty() {
                self.commit(batch).await;
            }
        }
        // Ours was in the batch just committed, by this worker or by the one before it.
        result.await.unwrap_or(Err(SettleError::Abandoned))
    }

    fn lock_waiting(
        &self,
    ) -> std::sync::MutexGuard<'_, Vec<(Completion, oneshot::Sender<Outcome>)>> {
        self.waiting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn commit(&self, batch: Vec<(Completion, oneshot::Sender<Outcome>)>) {
        let (completions, senders): (Vec<Completion>, Vec<_>) = batch.into_iter().unzip();
        match self.store.complete_all(&self.owner, &completions).await {
            Ok(settled) => {
                for (sender, settled) in senders.into_iter().zip(settled) {
                    let _ = sender.send(Ok(settled));
                }
            }
            Err(e) => {
                let error = SettleError::Database {
                    items: senders.len(),
                    source: Arc::new(e),
                };
                for sender in senders {
                    let _ = sender.send(Err(error.clone()));
                }
            }
        }
    }
}
