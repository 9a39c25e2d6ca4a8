//! Alerts Fulcrum raises itself, from orchestration's events and from management's own areas.
//!
//! An event's `key` names the alert (`member-down:<member>`, `converge:<lb>`,
//! `object-refused:<object>`, `device-unreachable:<device>`, ...); its prefix, before the first
//! `:`, chooses the `alertname` and `severity`. The labels are `alertname`, `severity`,
//! `load_balancer_id`, `provider`, `key`, `source="fulcrum"`, and `device` for the kinds about a
//! device (the rest of the key), so that inhibition by `DeviceUnreachable` reaches them. The
//! message becomes the `summary` annotation. Raised alerts do not time out: they fire until
//! their clearing event.
//!
//! Handling is idempotent, as the events reader requires: an alert starts at its event's time,
//! and is cleared at its clearing event's time, so handling a batch twice leaves what handling it
//! once left.

use async_trait::async_trait;
use fulcrum_core::events::Event;
use fulcrum_store::StoredEvent;

use super::Alerts;
use super::model::{Labels, NewAlert};
use crate::error::ManagementResult;
use crate::events::EventHandler;

/// The kinds of alert Fulcrum raises: the key prefix, the `alertname`, the `severity`, and
/// whether the rest of the key names a device.
const KINDS: &[(&str, &str, &str, bool)] = &[
    (
        "converge",
        "LoadBalancerRealizationError",
        "critical",
        false,
    ),
    (
        "nsxt-realization",
        "LoadBalancerRealizationError",
        "critical",
        false,
    ),
    ("object-refused", "ObjectRefused", "warning", false),
    ("member-down", "MemberDown", "warning", false),
    ("nsxt-member-down", "MemberDown", "warning", false),
    (
        "haproxy-process",
        "LoadBalancerProcessRestarted",
        "warning",
        false,
    ),
    ("device-unreachable", "DeviceUnreachable", "critical", true),
    ("license-expiring", "LicenseExpiring", "warning", true),
    (
        "certificate-expiring",
        "CertificateExpiring",
        "warning",
        false,
    ),
    (
        "campaign-step-failed",
        "CampaignStepFailed",
        "critical",
        false,
    ),
    ("backup-failed", "BackupFailed", "warning", true),
    ("license-pool-expiring", "LicenseExpiring", "warning", false),
    ("license-mismatch", "LicenseMismatch", "warning", true),
    (
        "license-pool-exhausted",
        "LicensePoolExhausted",
        "warning",
        false,
    ),
];

/// An alert Fulcrum raises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raised {
    /// Its key (`device-unreachable:bigip-1`): the same key clears it.
    pub key: String,
    /// The load balancer concerned, or empty.
    pub load_balancer_id: String,
    /// The provider that reported it.
    pub provider: String,
    /// What happened.
    pub message: String,
}

impl Raised {
    /// Its labels (see the module's documentation).
    pub fn labels(&self) -> Labels {
        let (prefix, rest) = self.key.split_once(':').unwrap_or((&self.key, ""));
        let (alertname, severity, device) = KINDS
            .iter()
            .find(|(p, ..)| *p == prefix)
            .map(|(_, name, severity, device)| {
                ((*name).to_owned(), *severity, device.then_some(rest))
            })
            .unwrap_or_else(|| (camel_case(prefix), "warning", None));
        let mut labels = Labels::from([
            ("alertname".to_owned(), alertname),
            ("severity".to_owned(), severity.to_owned()),
            ("source".to_owned(), "fulcrum".to_owned()),
            ("key".to_owned(), self.key.clone()),
            ("load_balancer_id".to_owned(), self.load_balancer_id.clone()),
            ("provider".to_owned(), self.provider.clone()),
        ]);
        if let Some(device) = device {
            labels.insert("device".to_owned(), device.to_owned());
        }
        labels.retain(|_, value| !value.is_empty());
        labels
    }

    /// The alert, starting at `at_ms`.
    pub fn to_alert(&self, at_ms: i64) -> NewAlert {
        NewAlert {
            labels: self.labels(),
            annotations: Labels::from([("summary".to_owned(), self.message.clone())]),
            starts_at_ms: at_ms,
            ends_at_ms: None,
            generator_url: String::new(),
            source_key: Some(source_key(&self.load_balancer_id, &self.key)),
        }
    }
}

/// What names a raised alert for its clearing: the load balancer and the key.
fn source_key(load_balancer_id: &str, key: &str) -> String {
    format!("{load_balancer_id}/{key}")
}

/// `member-down` → `MemberDown`.
fn camel_case(prefix: &str) -> String {
    prefix
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

impl Alerts {
    /// Raise `alert` at `at_ms` (milliseconds since the Unix epoch); raising it again while it
    /// fires changes nothing but its message.
    pub async fn raise(&self, alert: &Raised, at_ms: i64) -> ManagementResult<()> {
        self.store.upsert(&[alert.to_alert(at_ms)], at_ms).await
    }

    /// Clear the alert raised with `key` for `load_balancer_id` at `at_ms`.
    pub async fn clear(
        &self,
        key: &str,
        load_balancer_id: &str,
        at_ms: i64,
    ) -> ManagementResult<()> {
        self.store
            .clear_source(&source_key(load_balancer_id, key), at_ms)
            .await
    }
}

/// Turns `AlertRaised` and `AlertCleared` events into alerts.
#[derive(Debug, Clone)]
pub struct AlertEvents {
    alerts: Alerts,
}

impl AlertEvents {
    /// A handler recording into `alerts`.
    pub fn new(alerts: Alerts) -> Self {
        AlertEvents { alerts }
    }
}

#[async_trait]
impl EventHandler for AlertEvents {
    async fn handle(&self, event: &StoredEvent) -> ManagementResult<()> {
        let at_ms = fulcrum_core::timestamp::parse(&event.created_at)
            .map_or_else(fulcrum_core::timestamp::now_millis, |at| {
                (at.unix_timestamp_nanos() / 1_000_000) as i64
            });
        match &event.event {
            Event::AlertRaised {
                key,
                load_balancer_id,
                provider,
                message,
            } => {
                let raised = Raised {
                    key: key.clone(),
                    load_balancer_id: load_balancer_id.clone(),
                    provider: provider.clone(),
                    message: message.clone(),
                };
                self.alerts.raise(&raised, at_ms).await
            }
            Event::AlertCleared {
                key,
                load_balancer_id,
            } => self.alerts.clear(key, load_balancer_id, at_ms).await,
            Event::DayTwoRequest { .. } | Event::DeviceSeen { .. } => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raised(key: &str) -> Raised {
        Raised {
            key: key.to_owned(),
            load_balancer_id: "lb-1".to_owned(),
            provider: "f5".to_owned(),
            message: "it broke".to_owned(),
        }
    }

    #[test]
    fn the_key_prefix_names_the_alert() {
        let labels = raised("converge:lb-1").labels();
        assert_eq!(labels["alertname"], "LoadBalancerRealizationError");
        assert_eq!(labels["severity"], "critical");
        assert_eq!(labels["source"], "fulcrum");
        assert_eq!(labels["load_balancer_id"], "lb-1");
        assert!(!labels.contains_key("device"));
        assert_eq!(
            raised("some-new-thing:x").labels()["alertname"],
            "SomeNewThing"
        );
    }

    #[test]
    fn device_kinds_carry_the_device_for_inhibition() {
        let labels = raised("device-unreachable:bigip-1").labels();
        assert_eq!(labels["alertname"], "DeviceUnreachable");
        assert_eq!(labels["device"], "bigip-1");
    }
}
