//! Telling receivers: a background job that, at each activation, compares each group of
//! notifiable alerts (firing, neither silenced nor inhibited; grouped by the `group_by` labels)
//! with what each receiver was last told, queues one notification per group that changed, and
//! delivers the queue.
//!
//! # One notification per group per change, durably
//!
//! A group's new state and the notification announcing it are written in one transaction, so a
//! change is queued exactly once whatever restarts. A notification is marked delivered when the
//! receiver answers 2xx, and only then: a restart resends what was not acknowledged and never
//! what was. A 5xx answer or a failed connection is retried after a wait that doubles from
//! `retry_initial_ms` up to `retry_max_ms`, until `max_attempts`; a 4xx answer is final, as
//! Alertmanager treats it. A group's notifications go out in order: a later one waits for the
//! earlier one to be delivered or given up.
//!
//! A change is an alert joining the firing set, or one of the alerts the receiver knows as firing
//! resolving (sent with `status: resolved`). An alert leaving the set because it was silenced or
//! inhibited is not news: the receiver is not told.
//!
//! # Receivers
//!
//! A webhook gets Alertmanager's webhook payload (version 4). An Alertmanager gets the group's
//! alerts posted to its `/api/v2/alerts`, and the firing ones again every
//! `forward_repeat_seconds`, as Prometheus resends them, so that its resolve timeout does not end
//! alerts still firing here.
//!
//! Reading and delivering is a cluster duty: one replica at a time.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use fulcrum_core::tasks::{BackgroundTask, Duties, Report};
use fulcrum_core::timestamp::now_millis;
use fulcrum_store::ModuleDb;
use serde_json::{Value, json};
use sqlx::Row;

use super::model::{Labels, rfc3339};
use super::{Alerts, Evaluated};
use crate::config::{ReceiverConfig, ReceiverKind};
use crate::error::ManagementResult;

/// The duty of delivering notifications.
pub const DUTY: &str = "management-alerts";

/// Notifications tried per activation.
const BATCH: i64 = 200;

/// Queues and delivers notifications to the configured receivers.
pub struct DeliveryTask {
    alerts: Alerts,
    db: ModuleDb,
    duties: Arc<dyn Duties>,
    client: reqwest::Client,
}

impl DeliveryTask {
    /// A task for `alerts` in `db`, when `duties` says this process delivers.
    pub fn new(alerts: Alerts, db: ModuleDb, duties: Arc<dyn Duties>) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(
                alerts.config.request_timeout_seconds.max(1),
            ))
            .build()
            .unwrap_or_default();
        DeliveryTask {
            alerts,
            db,
            duties,
            client,
        }
    }

    /// Compare every group with what each receiver was told, and queue what changed. Only the
    /// alerts firing now and the resolved ones a receiver still knows as firing are read: the
    /// history of resolved alerts is not.
    pub async fn queue_changes(&self) -> ManagementResult<u64> {
        let mut evaluated = self.alerts.evaluate(false).await?;
        let now = now_millis();
        let mut told = Vec::new();
        for receiver in &self.alerts.config.receivers {
            told.push(self.told(&receiver.name).await?);
        }
        let read: HashSet<&str> = evaluated
            .iter()
            .map(|e| e.alert.fingerprint.as_str())
            .collect();
        let missing: BTreeSet<String> = told
            .iter()
            .flat_map(|groups| groups.values())
            .flat_map(|(known, _)| known)
            .filter(|fp| !read.contains(fp.as_str()))
            .cloned()
            .collect();
        let missing: Vec<String> = missing.into_iter().collect();
        for alert in self.alerts.store.alerts_with(&missing).await? {
            evaluated.push(Evaluated {
                alert,
                silenced_by: Vec::new(),
                inhibited_by: Vec::new(),
            });
        }
        let by_fingerprint: HashMap<&str, &Evaluated> = evaluated
            .iter()
            .map(|e| (e.alert.fingerprint.as_str(), e))
            .collect();
        let mut groups: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for e in &evaluated {
            if !e.alert.is_resolved(now) && !e.is_suppressed() {
                groups
                    .entry(self.group_key(&e.alert.labels))
                    .or_default()
                    .insert(e.alert.fingerprint.clone());
            }
        }
        let mut queued = 0;
        for (receiver, told) in self.alerts.config.receivers.iter().zip(told) {
            let keys: BTreeSet<&String> = groups.keys().chain(told.keys()).collect();
            for key in keys {
                let firing = groups.get(key).cloned().unwrap_or_default();
                let (known, sent_at) = told.get(key).cloned().unwrap_or_default();
                let resolved: Vec<&Evaluated> = known
                    .iter()
                    .filter_map(|fp| by_fingerprint.get(fp.as_str()).copied())
                    .filter(|e| e.alert.is_resolved(now))
                    .collect();
                let joined = !firing.is_subset(&known);
                let repeat = receiver.kind == ReceiverKind::Alertmanager
                    && !firing.is_empty()
                    && now - sent_at >= self.repeat_ms();
                let notify = joined || !resolved.is_empty() || repeat;
                if !notify && firing == known {
                    continue;
                }
                let firing_alerts: Vec<&Evaluated> = firing
                    .iter()
                    .filter_map(|fp| by_fingerprint.get(fp.as_str()).copied())
                    .collect();
                let payload =
                    notify.then(|| self.payload(receiver, key, &firing_alerts, &resolved, now));
                self.record(&receiver.name, key, &firing, payload, now, sent_at)
                    .await?;
                queued += u64::from(notify);
            }
        }
        Ok(queued)
    }

    fn repeat_ms(&self) -> i64 {
        i64::try_from(
            self.alerts
                .config
                .forward_repeat_seconds
                .saturating_mul(1000),
        )
        .unwrap_or(i64::MAX)
    }

    /// The group an alert belongs to: `{}:{name="value",...}` over the `group_by` labels it has.
    fn group_key(&self, labels: &Labels) -> String {
        let pairs: Vec<String> = self
            .group_labels(labels)
            .iter()
            .map(|(name, value)| format!("{name}={value:?}"))
            .collect();
        format!("{{}}:{{{}}}", pairs.join(","))
    }

    fn group_labels(&self, labels: &Labels) -> Labels {
        self.alerts
            .config
            .group_by
            .iter()
            .filter_map(|name| labels.get(name).map(|v| (name.clone(), v.clone())))
            .collect()
    }

    /// What `receiver` was told of each group: the firing fingerprints and when.
    async fn told(
        &self,
        receiver: &str,
    ) -> ManagementResult<HashMap<String, (BTreeSet<String>, i64)>> {
        let rows = sqlx::query(
            "SELECT group_key, firing, sent_at_ms FROM mgmt_alert_groups WHERE receiver = $1",
        )
        .bind(receiver)
        .fetch_all(self.db.reader())
        .await?;
        let mut told = HashMap::new();
        for row in rows {
            let firing: String = row.try_get("firing")?;
            let firing =
                serde_json::from_str(&firing).map_err(|e| sqlx::Error::Decode(e.into()))?;
            told.insert(
                row.try_get("group_key")?,
                (firing, row.try_get("sent_at_ms")?),
            );
        }
        Ok(told)
    }

    /// Record the group's new firing set and, in the same transaction, the notification.
    async fn record(
        &self,
        receiver: &str,
        key: &str,
        firing: &BTreeSet<String>,
        payload: Option<Value>,
        now: i64,
        sent_at: i64,
    ) -> ManagementResult<()> {
        let mut tx = self.db.writer().begin().await?;
        sqlx::query("DELETE FROM mgmt_alert_groups WHERE receiver = $1 AND group_key = $2")
            .bind(receiver)
            .bind(key)
            .execute(&mut *tx)
            .await?;
        if !firing.is_empty() {
            let firing = serde_json::to_string(firing).expect("a set of strings serializes");
            sqlx::query(
                "INSERT INTO mgmt_alert_groups (receiver, group_key, firing, sent_at_ms) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(receiver)
            .bind(key)
            .bind(firing)
            .bind(if payload.is_some() { now } else { sent_at })
            .execute(&mut *tx)
            .await?;
        }
        if let Some(payload) = payload {
            sqlx::query(
                "INSERT INTO mgmt_alert_notifications (id, created_at_ms, receiver, group_key, \
                 payload, attempts, next_attempt_ms) VALUES ($1, $2, $3, $4, $5, 0, $6)",
            )
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(now)
            .bind(receiver)
            .bind(key)
            .bind(payload.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// What `receiver` is sent for a group.
    fn payload(
        &self,
        receiver: &ReceiverConfig,
        key: &str,
        firing: &[&Evaluated],
        resolved: &[&Evaluated],
        now: i64,
    ) -> Value {
        let all: Vec<&Evaluated> = firing.iter().chain(resolved).copied().collect();
        match receiver.kind {
            ReceiverKind::Alertmanager => Value::Array(
                all.iter()
                    .map(|e| {
                        let alert = &e.alert;
                        let mut posted = json!({
                            "labels": alert.labels,
                            "annotations": alert.annotations,
                            "startsAt": rfc3339(alert.starts_at_ms),
                            "generatorURL": alert.generator_url,
                        });
                        if let Some(end) = alert.ends_at_ms {
                            posted["endsAt"] = json!(rfc3339(end));
                        }
                        posted
                    })
                    .collect(),
            ),
            ReceiverKind::Webhook => {
                let labels: Vec<&Labels> = all.iter().map(|e| &e.alert.labels).collect();
                let annotations: Vec<&Labels> = all.iter().map(|e| &e.alert.annotations).collect();
                let group_labels = all
                    .first()
                    .map(|e| self.group_labels(&e.alert.labels))
                    .unwrap_or_default();
                json!({
                    "version": "4",
                    "groupKey": key,
                    "truncatedAlerts": 0,
                    "status": if firing.is_empty() { "resolved" } else { "firing" },
                    "receiver": receiver.name,
                    "groupLabels": group_labels,
                    "commonLabels": common(&labels),
                    "commonAnnotations": common(&annotations),
                    "externalURL": self.alerts.config.external_url,
                    "alerts": all.iter().map(|e| {
                        let alert = &e.alert;
                        let resolved = alert.is_resolved(now);
                        json!({
                            "status": if resolved { "resolved" } else { "firing" },
                            "labels": alert.labels,
                            "annotations": alert.annotations,
                            "startsAt": rfc3339(alert.starts_at_ms),
                            "endsAt": match alert.ends_at_ms {
                                Some(end) if resolved => rfc3339(end),
                                _ => "0001-01-01T00:00:00Z".to_owned(),
                            },
                            "generatorURL": alert.generator_url,
                            "fingerprint": alert.fingerprint,
                        })
                    }).collect::<Vec<_>>(),
                })
            }
        }
    }

    /// Deliver the notifications that are due; the counts delivered, to retry, and given up.
    pub async fn deliver_due(&self) -> ManagementResult<(u64, u64, u64)> {
        let now = now_millis();
        let rows = sqlx::query(
            "SELECT id, receiver, group_key, payload, attempts, next_attempt_ms \
             FROM mgmt_alert_notifications \
             WHERE delivered_at_ms IS NULL AND failed_at_ms IS NULL \
             ORDER BY created_at_ms, id LIMIT $1",
        )
        .bind(BATCH)
        .fetch_all(self.db.reader())
        .await?;
        let mut waiting: HashSet<(String, String)> = HashSet::new();
        let (mut delivered, mut retried, mut failed) = (0, 0, 0);
        for row in rows {
            let id: String = row.try_get("id")?;
            let receiver: String = row.try_get("receiver")?;
            let group: String = row.try_get("group_key")?;
            let attempts: i64 = row.try_get("attempts")?;
            let next: i64 = row.try_get("next_attempt_ms")?;
            // An earlier notification of the group goes first.
            if !waiting.insert((receiver.clone(), group)) || next > now {
                continue;
            }
            let payload: String = row.try_get("payload")?;
            let outcome = match self
                .alerts
                .config
                .receivers
                .iter()
                .find(|r| r.name == receiver)
            {
                Some(config) => self.send(config, payload).await,
                None => Err((
                    false,
                    format!("receiver {receiver} is no longer configured"),
                )),
            };
            let attempts = attempts + 1;
            match outcome {
                Ok(()) => {
                    self.mark(&id, attempts, "delivered_at_ms", None).await?;
                    delivered += 1;
                }
                Err((true, error)) if attempts < i64::from(self.alerts.config.max_attempts) => {
                    tracing::warn!(receiver, attempts, %error, "alert notification failed; retrying");
                    self.retry(&id, attempts, &error).await?;
                    retried += 1;
                }
                Err((_, error)) => {
                    tracing::error!(receiver, attempts, %error, "alert notification given up");
                    self.mark(&id, attempts, "failed_at_ms", Some(&error))
                        .await?;
                    failed += 1;
                }
            }
        }
        Ok((delivered, retried, failed))
    }

    /// Post `payload` to `receiver`; an error says whether to retry.
    async fn send(&self, receiver: &ReceiverConfig, payload: String) -> Result<(), (bool, String)> {
        let url = match receiver.kind {
            ReceiverKind::Webhook => receiver.url.clone(),
            ReceiverKind::Alertmanager => {
                format!("{}/api/v2/alerts", receiver.url.trim_end_matches('/'))
            }
        };
        let response = self
            .client
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(payload)
            .send()
            .await
            .map_err(|e| (true, format!("POST {url}: {e}")))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            let retry =
                status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS;
            Err((retry, format!("POST {url}: HTTP {status}")))
        }
    }

    async fn mark(
        &self,
        id: &str,
        attempts: i64,
        column: &str,
        error: Option<&str>,
    ) -> ManagementResult<()> {
        sqlx::query(&format!(
            "UPDATE mgmt_alert_notifications SET {column} = $1, attempts = $2, last_error = $3 \
             WHERE id = $4"
        ))
        .bind(now_millis())
        .bind(attempts)
        .bind(error)
        .bind(id)
        .execute(self.db.writer())
        .await?;
        Ok(())
    }

    async fn retry(&self, id: &str, attempts: i64, error: &str) -> ManagementResult<()> {
        let config = &self.alerts.config;
        let doubling = 1u64 << (attempts - 1).clamp(0, 30);
        let wait = config
            .retry_initial_ms
            .saturating_mul(doubling)
            .min(config.retry_max_ms);
        sqlx::query(
            "UPDATE mgmt_alert_notifications SET attempts = $1, next_attempt_ms = $2, \
             last_error = $3 WHERE id = $4",
        )
        .bind(attempts)
        .bind(now_millis() + i64::try_from(wait).unwrap_or(i64::MAX))
        .bind(error)
        .bind(id)
        .execute(self.db.writer())
        .await?;
        Ok(())
    }
}

/// The pairs every one of `sets` has.
fn common(sets: &[&Labels]) -> Labels {
    let Some((first, rest)) = sets.split_first() else {
        return Labels::new();
    };
    first
        .iter()
        .filter(|(k, v)| rest.iter().all(|other| other.get(*k) == Some(*v)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[async_trait]
impl BackgroundTask for DeliveryTask {
    fn name(&self) -> &'static str {
        "management-alerts"
    }

    fn description(&self) -> &'static str {
        "tells alert receivers (webhooks, Alertmanagers) of each group's changes, with retries"
    }

    async fn activate(&self) -> Result<Report, String> {
        let mut report = Report::new();
        if self.alerts.config.receivers.is_empty() {
            return Ok(report);
        }
        if !self.duties.performs(DUTY).await? {
            report.insert("standby", 1);
            return Ok(report);
        }
        let queued = self.queue_changes().await.map_err(|e| e.to_string())?;
        let (delivered, retried, failed) = self.deliver_due().await.map_err(|e| e.to_string())?;
        report.insert("queued", queued);
        report.insert("delivered", delivered);
        report.insert("retried", retried);
        report.insert("failed", failed);
        Ok(report)
    }
}
