//! Management's side of the events outbox: one background task reads what orchestration wrote
//! (`core::events`) from the cursor named `management`, hands each event to every
//! [`EventHandler`] that management's areas registered, and moves the cursor once all of them
//! handled the batch.
//!
//! Reading is a cluster duty (one replica at a time: two readers of one cursor would each handle
//! every event). A batch whose handling fails is not committed and is read again, so handlers
//! must be idempotent: an event handled twice (after a crash between handling and commit) leaves
//! the same state as once.

use std::sync::Arc;

use async_trait::async_trait;
use fulcrum_core::tasks::{BackgroundTask, Duties, Report};
use fulcrum_store::{EventConsumer, Store, StoredEvent};
use tokio::sync::Mutex;

use crate::error::ManagementResult;

/// The name of management's cursor on the outbox, and of the duty of reading it.
pub const CONSUMER: &str = "management";

/// Events read per batch.
const BATCH: i64 = 500;

/// A part of management that reacts to orchestration's events.
#[async_trait]
pub trait EventHandler: Send + Sync + 'static {
    /// React to one event. Must be idempotent.
    async fn handle(&self, event: &StoredEvent) -> ManagementResult<()>;
}

/// Reads the outbox and hands events to the handlers.
pub struct EventsTask {
    store: Store,
    consumer: Mutex<EventConsumer>,
    handlers: Vec<Arc<dyn EventHandler>>,
    duties: Arc<dyn Duties>,
}

impl EventsTask {
    /// A task reading `store`'s outbox for `handlers`, when `duties` says this process reads it.
    pub fn new(
        store: Store,
        handlers: Vec<Arc<dyn EventHandler>>,
        duties: Arc<dyn Duties>,
    ) -> Self {
        EventsTask {
            consumer: Mutex::new(EventConsumer::new(store.clone(), CONSUMER)),
            store,
            handlers,
            duties,
        }
    }
}

#[async_trait]
impl BackgroundTask for EventsTask {
    fn name(&self) -> &'static str {
        "management-events"
    }

    fn description(&self) -> &'static str {
        "hands orchestration's events (alerts, devices seen, day-2 requests) to management"
    }

    async fn activate(&self) -> Result<Report, String> {
        let mut report = Report::new();
        let mut consumer = self.consumer.lock().await;
        if !self.duties.performs(CONSUMER).await? {
            // Another replica reads and moves the cursor; start from it when this one takes over.
            *consumer = EventConsumer::new(self.store.clone(), CONSUMER);
            report.insert("standby", 1);
            return Ok(report);
        }
        let mut handled = 0;
        loop {
            let batch = consumer.poll(BATCH).await.map_err(|e| e.to_string())?;
            let Some(last) = batch.last().map(|e| e.id) else {
                break;
            };
            for event in &batch {
                for handler in &self.handlers {
                    if let Err(error) = handler.handle(event).await {
                        // Read this batch again, from the stored cursor, next time.
                        *consumer = EventConsumer::new(self.store.clone(), CONSUMER);
                        return Err(format!("handling event {}: {error}", event.id));
                    }
                }
                handled += 1;
            }
            consumer.commit(last).await.map_err(|e| e.to_string())?;
        }
        report.insert("handled", handled);
        Ok(report)
    }
}
