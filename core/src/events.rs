//! The one typed channel from orchestration to management (DESIGN.md, "Orchestration ↔ management
//! interface"): alerts raised and cleared, devices seen, and day-2 requests that arrived through the
//! orchestrator API. Management subscribes; orchestration never waits for it.

use tokio::sync::broadcast;

/// Something management should know about.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A problem was observed on a load balancer's backend.
    AlertRaised {
        /// Stable key, so that a later [`Event::AlertCleared`] can name the same alert.
        key: String,
        /// The load balancer concerned.
        load_balancer_id: String,
        /// The provider that reported it.
        provider: String,
        /// What happened.
        message: String,
    },
    /// A problem reported earlier is gone.
    AlertCleared {
        /// The key of the alert.
        key: String,
        /// The load balancer concerned.
        load_balancer_id: String,
    },
    /// A day-2 request arrived through the orchestrator API (e.g. failover).
    DayTwoRequest {
        /// What was asked ("failover", ...).
        action: String,
        /// The load balancer concerned.
        load_balancer_id: String,
    },
}

/// The sending side of the events channel. Cloning it is cheap; publishing never blocks and never
/// fails because nobody listens.
#[derive(Debug, Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Event>,
}

impl EventBus {
    /// A bus that buffers up to `capacity` events for slow subscribers.
    pub fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity);
        EventBus { sender }
    }

    /// Publish an event to every current subscriber.
    pub fn publish(&self, event: Event) {
        // An error only means that nobody subscribes right now, which is fine.
        let _ = self.sender.send(event);
    }

    /// A new subscription that sees every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.sender.subscribe()
    }
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus::new(1024)
    }
}
