//! [`EventConsumer`]: reading the events outbox under a name, from a cursor stored with the events.

use crate::{Store, StoreError, StoredEvent};

/// One named reader of the events outbox.
///
/// [`EventConsumer::poll`] hands out the events after the last one handed out (after the stored
/// cursor, at first); [`EventConsumer::commit`] stores the cursor. A consumer that handles each
/// batch and then commits it sees every event exactly once, across restarts and however slowly it
/// reads: a new consumer with the same name, in this process or another replica, starts after the
/// last commit. Events handed out but not committed are handed out again after a restart; to read
/// them again without one, make a new consumer with the same name.
///
/// A name is one consumer: two consumers running under the same name each read every event.
#[derive(Debug, Clone)]
pub struct EventConsumer {
    store: Store,
    name: String,
    /// The id of the last event handed out, once known.
    position: Option<i64>,
}

impl EventConsumer {
    /// A consumer named `name`, starting after its stored cursor.
    pub fn new(store: Store, name: impl Into<String>) -> Self {
        EventConsumer {
            store,
            name: name.into(),
            position: None,
        }
    }

    /// Its name (the key of its stored cursor).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Up to `limit` events after the last one handed out, in id order; empty when there are none
    /// yet.
    pub async fn poll(&mut self, limit: i64) -> Result<Vec<StoredEvent>, StoreError> {
        let position = self.position().await?;
        let events = self.store.events_after(position, limit).await?;
        if let (Some(first), Some(last)) = (events.first(), events.last()) {
            if first.id > position + 1 {
                tracing::warn!(
                    consumer = %self.name,
                    missed = first.id - position - 1,
                    after = position,
                    "events were pruned before this consumer read them"
                );
            }
            self.position = Some(last.id);
        }
        Ok(events)
    }

    /// Store that every event up to `up_to_id` was handled, so that no consumer of this name sees
    /// them again. Only events already handed out can be committed (a larger id counts as the
    /// last one handed out), and the stored cursor never moves backwards.
    pub async fn commit(&mut self, up_to_id: i64) -> Result<(), StoreError> {
        let position = self.position().await?;
        self.store
            .advance_event_cursor(&self.name, up_to_id.min(position))
            .await
    }

    async fn position(&mut self) -> Result<i64, StoreError> {
        match self.position {
            Some(position) => Ok(position),
            None => {
                let cursor = self.store.event_cursor(&self.name).await?;
                self.position = Some(cursor);
                Ok(cursor)
            }
        }
    }
}
