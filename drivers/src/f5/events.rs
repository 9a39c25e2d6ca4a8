//! What the driver tells management while observing: which BIG-IP serves which load balancer
//! ([`Event::DeviceSeen`], once per device and load balancer in a process, since management
//! keeps an inventory rather than a log of sightings), and an alert while no device can be
//! reached as active, cleared when one can again.

use std::collections::HashSet;
use std::sync::Mutex;

use fulcrum_core::events::Event;

/// The key of a load balancer's alert raised while no device can be reached as active.
fn unreachable_key(load_balancer_id: &str) -> String {
    format!("f5-active-unreachable:{load_balancer_id}")
}

/// What has been told already.
#[derive(Debug, Default)]
pub struct Events {
    /// (device, load balancer) pairs reported.
    seen: Mutex<HashSet<(String, String)>>,
    /// Load balancers whose unreachable alert is raised.
    unreachable: Mutex<HashSet<String>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Events {
    /// Report `device` serving `load_balancer_id`, unless it was reported already.
    pub fn seen(&self, events: &mut Vec<Event>, device: &str, load_balancer_id: &str) {
        let pair = (device.to_owned(), load_balancer_id.to_owned());
        if lock(&self.seen).insert(pair) {
            events.push(Event::DeviceSeen {
                provider: "f5".into(),
                device_id: device.to_owned(),
                load_balancer_id: Some(load_balancer_id.to_owned()),
            });
        }
    }

    /// Raise the unreachable alert of a load balancer, unless it is raised.
    pub fn raise_unreachable(
        &self,
        events: &mut Vec<Event>,
        load_balancer_id: &str,
        message: String,
    ) {
        if lock(&self.unreachable).insert(load_balancer_id.to_owned()) {
            events.push(Event::AlertRaised {
                key: unreachable_key(load_balancer_id),
                load_balancer_id: load_balancer_id.to_owned(),
                provider: "f5".into(),
                message,
            });
        }
    }

    /// Clear the unreachable alert of a load balancer, if it is raised.
    pub fn clear_unreachable(&self, events: &mut Vec<Event>, load_balancer_id: &str) {
        if lock(&self.unreachable).remove(load_balancer_id) {
            events.push(Event::AlertCleared {
                key: unreachable_key(load_balancer_id),
                load_balancer_id: load_balancer_id.to_owned(),
            });
        }
    }
}
