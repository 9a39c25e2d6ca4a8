//! Alerts: what is wrong with the devices and load balancers, from two sources, in one place.
//!
//! - **Posted**: Prometheus (or anything speaking Alertmanager's v2 API) posts alerts to
//!   `POST /v1/management/api/v2/alerts`, so Fulcrum can stand where an Alertmanager stands
//!   (`path_prefix: /v1/management` in Prometheus' `alerting` section).
//! - **Raised**: orchestration's events ([`fulcrum_core::events::Event::AlertRaised`] and
//!   `AlertCleared`) and management's own areas raise alerts with labels Fulcrum chooses
//!   ([`from_events`]).
//!
//! An alert is identified by its labels ([`model`]: the fingerprint); posting or raising the
//! same labels again updates one alert. It is resolved once its end is past: posted with an
//! `endsAt` in the past, not posted again within the resolve timeout, or cleared. Silences
//! ([`silences`]) and inhibition ([`inhibition`]) are applied when alerts are read, never
//! stored into them, so expiring a silence or resolving an inhibiting alert takes effect at
//! once. Receivers ([`receivers`]) are told of each group's changes by a background job that
//! records what it owes each receiver before it sends it.

pub mod from_events;
pub mod inhibition;
pub mod matchers;
pub mod model;
pub mod receivers;
pub mod routes;
pub mod silences;
pub mod store;
pub mod views;

use fulcrum_core::timestamp::now_millis;
use fulcrum_store::ModuleDb;

use crate::config::AlertsConfig;
use crate::error::{ManagementError, ManagementResult};
use matchers::Matcher;
use model::{Alert, NewAlert, PostableAlert};
use silences::{PostableSilence, Silence, SilenceState};
use store::AlertStore;

/// An alert with what silences and inhibits it now.
#[derive(Debug, Clone)]
pub struct Evaluated {
    /// The alert.
    pub alert: Alert,
    /// The ids of the active silences that match it.
    pub silenced_by: Vec<String>,
    /// The fingerprints of the firing alerts that inhibit it.
    pub inhibited_by: Vec<String>,
}

impl Evaluated {
    /// Whether a silence or another alert mutes it.
    pub fn is_suppressed(&self) -> bool {
        !self.silenced_by.is_empty() || !self.inhibited_by.is_empty()
    }
}

/// The alerts area: its tables and configuration.
#[derive(Debug, Clone)]
pub struct Alerts {
    /// The tables.
    pub store: AlertStore,
    /// `[management.alerts]`.
    pub config: AlertsConfig,
}

impl Alerts {
    /// The area on `db`, configured by `config`.
    pub fn new(db: ModuleDb, config: AlertsConfig) -> Self {
        Alerts {
            store: AlertStore::new(db),
            config,
        }
    }

    fn resolve_timeout_ms(&self) -> i64 {
        i64::try_from(self.config.resolve_timeout_seconds.saturating_mul(1000)).unwrap_or(i64::MAX)
    }

    /// Record posted alerts: every one is checked before any is recorded, so a batch with a bad
    /// alert changes nothing.
    pub async fn ingest(&self, posted: Vec<PostableAlert>) -> ManagementResult<()> {
        let now = now_millis();
        let alerts = posted
            .into_iter()
            .enumerate()
            .map(|(i, alert)| {
                alert
                    .validate(now, self.resolve_timeout_ms())
                    .map_err(|e| ManagementError::BadRequest(format!("alert {i}: {e}")))
            })
            .collect::<ManagementResult<Vec<NewAlert>>>()?;
        self.store.upsert(&alerts, now).await
    }

    /// The alerts (with the resolved ones when `include_resolved`), each with what silences and
    /// inhibits it now.
    pub async fn evaluate(&self, include_resolved: bool) -> ManagementResult<Vec<Evaluated>> {
        let now = now_millis();
        let alerts = self.store.alerts(include_resolved, now).await?;
        let silences = self.store.silences().await?;
        Ok(evaluate(&self.config, alerts, &silences, now))
    }

    /// Record that `user` acknowledged the firing alert with `fingerprint`.
    pub async fn acknowledge(&self, fingerprint: &str, user: &str) -> ManagementResult<Alert> {
        let now = now_millis();
        let alert = self.store.alert(fingerprint).await?;
        if alert.is_resolved(now) {
            return Err(ManagementError::Conflict(format!(
                "Alert {fingerprint} is resolved; there is nothing to acknowledge."
            )));
        }
        self.store.acknowledge(fingerprint, user, now).await?;
        self.store.alert(fingerprint).await
    }

    /// Record a silence (a new one, or a replacement of the one named by its `id`); its id.
    pub async fn save_silence(&self, posted: PostableSilence) -> ManagementResult<String> {
        let now = now_millis();
        let (matchers, starts_at_ms, ends_at_ms) =
            posted.validate(now).map_err(ManagementError::BadRequest)?;
        let id = match posted.id.as_deref().filter(|id| !id.is_empty()) {
            Some(id) => {
                let existing = self.store.silence(id).await?;
                if existing.state(now) == SilenceState::Expired {
                    return Err(ManagementError::Conflict(format!(
                        "Silence {id} has expired and cannot be changed."
                    )));
                }
                id.to_owned()
            }
            None => uuid::Uuid::new_v4().to_string(),
        };
        let silence = Silence {
            id: id.clone(),
            api_matchers: posted.matchers,
            matchers,
            starts_at_ms,
            ends_at_ms,
            updated_at_ms: now,
            created_by: posted.created_by,
            comment: posted.comment,
        };
        self.store.save_silence(&silence).await?;
        Ok(id)
    }

    /// End the silence with `id` now.
    pub async fn expire_silence(&self, id: &str) -> ManagementResult<()> {
        let now = now_millis();
        let mut silence = self.store.silence(id).await?;
        if silence.state(now) == SilenceState::Expired {
            return Err(ManagementError::Conflict(format!(
                "Silence {id} has already expired."
            )));
        }
        silence.starts_at_ms = silence.starts_at_ms.min(now);
        silence.ends_at_ms = now;
        silence.updated_at_ms = now;
        self.store.save_silence(&silence).await
    }

    /// The names of the configured receivers.
    pub fn receiver_names(&self) -> Vec<String> {
        self.config
            .receivers
            .iter()
            .map(|r| r.name.clone())
            .collect()
    }
}

/// Apply `silences` and the configured inhibition to `alerts` at `now_ms`.
pub fn evaluate(
    config: &AlertsConfig,
    alerts: Vec<Alert>,
    silences: &[Silence],
    now_ms: i64,
) -> Vec<Evaluated> {
    let firing: Vec<&Alert> = alerts.iter().filter(|a| !a.is_resolved(now_ms)).collect();
    alerts
        .iter()
        .map(|alert| {
            let firing_now = !alert.is_resolved(now_ms);
            Evaluated {
                alert: alert.clone(),
                silenced_by: silences
                    .iter()
                    .filter(|s| firing_now && s.mutes(&alert.labels, now_ms))
                    .map(|s| s.id.clone())
                    .collect(),
                inhibited_by: if firing_now {
                    inhibition::inhibited_by(&config.inhibit_rules, &firing, alert)
                } else {
                    Vec::new()
                },
            }
        })
        .collect()
}

/// Whether `alert` matches every matcher of `filter`.
pub fn matches_filter(filter: &[Matcher], alert: &Alert) -> bool {
    matchers::all_match(filter, &alert.labels)
}
