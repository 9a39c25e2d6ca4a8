//! Events: what orchestration tells management. Alerts raised and cleared, devices seen serving
//! load balancers, and day-2 requests that arrived through the orchestrator API.
//!
//! # Durable, through an outbox
//!
//! An event is a row in the store, not a message in memory. Whoever causes one writes it in the
//! same transaction as the change that causes it (a work item completed, an observation recorded,
//! a failover accepted), so the event exists exactly when the change does: a rolled-back change
//! leaves no event, and a committed one cannot lose its event to a crash between the two.
//! Management reads events in id order from a cursor it stores under its own name, and moves the
//! cursor after it has handled them. A consumer that restarts, falls behind, or runs in another
//! replica picks up where its cursor points; nothing is dropped because nobody was listening.
//! Orchestration never waits for management.
//!
//! Each [`Event`] has a stable `kind` tag and a JSON payload (serde's adjacent tagging, see
//! [`Event::to_parts`]); the tags are part of the stored format and must not change once
//! released.
//!
//! # The in-process bus
//!
//! [`EventBus`] carries no events: it is a wake-up saying "events were committed, read the
//! store", so that a consumer in the same process need not wait for its next poll. A consumer in
//! another replica is not woken and finds the events on its next poll.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// Something management should know about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "payload")]
pub enum Event {
    /// A problem was observed on a load balancer's backend.
    #[serde(rename = "alert_raised")]
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
    #[serde(rename = "alert_cleared")]
    AlertCleared {
        /// The key of the alert.
        key: String,
        /// The load balancer concerned.
        load_balancer_id: String,
    },
    /// A day-2 request arrived through the orchestrator API (e.g. failover).
    #[serde(rename = "day_two_request")]
    DayTwoRequest {
        /// What was asked ("failover", ...).
        action: String,
        /// The load balancer concerned.
        load_balancer_id: String,
    },
    /// A provider saw a device (an appliance, a manager, an edge node), serving a load balancer or
    /// on its own: what management's inventory is built from.
    #[serde(rename = "device_seen")]
    DeviceSeen {
        /// The provider that saw it.
        provider: String,
        /// The device, as the provider names it.
        device_id: String,
        /// The load balancer it serves, when it was seen serving one.
        load_balancer_id: Option<String>,
    },
}

impl Event {
    /// The stable tag of this event's kind, as stored and serialized.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::AlertRaised { .. } => "alert_raised",
            Event::AlertCleared { .. } => "alert_cleared",
            Event::DayTwoRequest { .. } => "day_two_request",
            Event::DeviceSeen { .. } => "device_seen",
        }
    }

    /// The load balancer the event is about, if any.
    pub fn load_balancer_id(&self) -> Option<&str> {
        match self {
            Event::AlertRaised {
                load_balancer_id, ..
            }
            | Event::AlertCleared {
                load_balancer_id, ..
            }
            | Event::DayTwoRequest {
                load_balancer_id, ..
            } => Some(load_balancer_id),
            Event::DeviceSeen {
                load_balancer_id, ..
            } => load_balancer_id.as_deref(),
        }
    }

    /// The stored form: the kind tag and the JSON payload (the variant's fields).
    pub fn to_parts(&self) -> (&'static str, serde_json::Value) {
        let payload = match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(mut tagged)) => {
                tagged.remove("payload").unwrap_or_default()
            }
            _ => unreachable!("an event serializes to an object with a payload"),
        };
        (self.kind(), payload)
    }

    /// An event back from its stored form; fails on a kind this version does not know or a
    /// payload that does not fit it.
    pub fn from_parts(kind: &str, payload: serde_json::Value) -> Result<Event, serde_json::Error> {
        serde_json::from_value(serde_json::json!({ "kind": kind, "payload": payload }))
    }
}

/// The in-process wake-up for event consumers. Cloning it is cheap; signalling never blocks and
/// never fails because nobody waits.
#[derive(Debug, Clone)]
pub struct EventBus {
    committed: Arc<watch::Sender<u64>>,
}

impl EventBus {
    /// A bus nobody listens to yet.
    pub fn new() -> Self {
        EventBus {
            committed: Arc::new(watch::channel(0).0),
        }
    }

    /// Say that a transaction holding events has committed: wakes every [`EventWakeup`].
    pub fn notify_committed(&self) {
        self.committed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A wake-up that fires after each [`EventBus::notify_committed`] from now on.
    pub fn subscribe(&self) -> EventWakeup {
        EventWakeup {
            committed: self.committed.subscribe(),
        }
    }
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus::new()
    }
}

/// One consumer's side of the wake-up.
#[derive(Debug)]
pub struct EventWakeup {
    committed: watch::Receiver<u64>,
}

impl EventWakeup {
    /// Wait until events were committed since this was created or last returned. A signal sent
    /// while nobody waited is not lost: the next call returns at once.
    pub async fn committed(&mut self) {
        if self.committed.changed().await.is_err() {
            // Every bus is gone, so nothing will signal again.
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;

    fn every_kind() -> Vec<Event> {
        vec![
            Event::AlertRaised {
                key: "k".into(),
                load_balancer_id: "lb".into(),
                provider: "haproxy".into(),
                message: "down".into(),
            },
            Event::AlertCleared {
                key: "k".into(),
                load_balancer_id: "lb".into(),
            },
            Event::DayTwoRequest {
                action: "failover".into(),
                load_balancer_id: "lb".into(),
            },
            Event::DeviceSeen {
                provider: "f5".into(),
                device_id: "bigip-1".into(),
                load_balancer_id: None,
            },
        ]
    }

    #[test]
    fn the_stored_form_is_a_kind_tag_and_the_fields_as_payload() {
        let event = Event::DeviceSeen {
            provider: "f5".into(),
            device_id: "bigip-1".into(),
            load_balancer_id: Some("lb".into()),
        };
        let (kind, payload) = event.to_parts();
        assert_eq!(kind, "device_seen");
        assert_eq!(
            payload,
            json!({"provider": "f5", "device_id": "bigip-1", "load_balancer_id": "lb"})
        );
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            json!({"kind": "device_seen", "payload": payload})
        );
    }

    #[test]
    fn every_kind_round_trips_under_its_tag() {
        for event in every_kind() {
            let (kind, payload) = event.to_parts();
            assert_eq!(serde_json::to_value(&event).unwrap()["kind"], kind);
            assert_eq!(Event::from_parts(kind, payload).unwrap(), event);
        }
        assert!(Event::from_parts("no_such_kind", json!({})).is_err());
    }

    #[test]
    fn the_load_balancer_is_named_where_there_is_one() {
        let events = every_kind();
        let ids: Vec<Option<&str>> = events.iter().map(Event::load_balancer_id).collect();
        assert_eq!(ids, [Some("lb"), Some("lb"), Some("lb"), None]);
    }

    #[tokio::test]
    async fn a_wake_up_sent_while_nobody_waits_is_kept() {
        let bus = EventBus::default();
        let mut wakeup = bus.subscribe();
        bus.notify_committed();
        bus.notify_committed();
        tokio::time::timeout(Duration::from_secs(1), wakeup.committed())
            .await
            .expect("a signal sent before waiting wakes the next wait");
        assert!(
            tokio::time::timeout(Duration::from_millis(50), wakeup.committed())
                .await
                .is_err(),
            "signals already seen do not wake again"
        );
    }
}
