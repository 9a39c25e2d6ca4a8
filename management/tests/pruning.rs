//! Pruning management's history, on SQLite and PostgreSQL: alerts resolved, notifications
//! finished and silences expired more than `keep_resolved_days` ago, and day-2 requests handled
//! more than `keep_requests_days` ago, are deleted; what fires, what is still owed to a receiver
//! and what is recent stays. "Now" is given, so days pass without waiting.

mod common;

use std::sync::Arc;

use async_trait::async_trait;
use common::{Alone, Served};
use fulcrum_core::tasks::{BackgroundTask, Duties};
use fulcrum_core::timestamp::now_millis;
use fulcrum_management::ManagementConfig;
use fulcrum_management::alerts::model::rfc3339;
use fulcrum_management::pruning::{Pruned, PruningTask, Retention, prune};
use fulcrum_store::Store;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Row;

const DAY: i64 = 86_400_000;

/// Another replica prunes.
struct Elsewhere;

#[async_trait]
impl Duties for Elsewhere {
    async fn performs(&self, _: &str) -> Result<bool, String> {
        Ok(false)
    }
}

fn alert(name: &str, starts_ms: i64, ends_ms: Option<i64>) -> Value {
    let mut alert = json!({"labels": {"alertname": name}, "startsAt": rfc3339(starts_ms)});
    if let Some(ends) = ends_ms {
        alert["endsAt"] = json!(rfc3339(ends));
    }
    alert
}

async fn alert_names(s: &Served) -> Vec<String> {
    let body = s.get("/v1/management/alerts?resolved=true").await;
    let mut names: Vec<String> = body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["labels"]["alertname"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

async fn notification_ids(s: &Served) -> Vec<String> {
    let rows = sqlx::query("SELECT id FROM mgmt_alert_notifications ORDER BY id")
        .fetch_all(s.management.db.reader())
        .await
        .unwrap();
    rows.iter().map(|r| r.get("id")).collect()
}

async fn silence_ids(s: &Served) -> Vec<String> {
    let body = s.get("/v1/management/api/v2/silences").await;
    let mut ids: Vec<String> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|silence| silence["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

async fn history_older_than_its_keep_settings_is_pruned(store: Store) {
    let s = Served::start(&store, ManagementConfig::default()).await;
    let m = &s.management;
    let db = m.db.writer();
    let now = now_millis();

    let (status, body) = s
        .call(
            "POST",
            "/v1/management/api/v2/alerts",
            Some(json!([
                alert("ResolvedLongAgo", now - 12 * DAY, Some(now - 10 * DAY)),
                alert("ResolvedLately", now - 3 * DAY, Some(now - 2 * DAY)),
                alert("StillOwed", now - 12 * DAY, Some(now - 10 * DAY)),
                alert("Firing", now - 30 * DAY, None),
            ])),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let listed = s.get("/v1/management/alerts?resolved=true").await;
    let owed = listed["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["labels"]["alertname"] == "StillOwed")
        .unwrap()["fingerprint"]
        .clone();
    // A receiver that still knows StillOwed as firing: it is yet to be told it resolved.
    sqlx::query(
        "INSERT INTO mgmt_alert_groups (receiver, group_key, firing, sent_at_ms) \
         VALUES ('pager', 'g', $1, $2)",
    )
    .bind(json!([owed]).to_string())
    .bind(now - 11 * DAY)
    .execute(db)
    .await
    .unwrap();
    for (id, delivered, failed) in [
        ("delivered-long-ago", Some(now - 10 * DAY), None),
        ("given-up-long-ago", None, Some(now - 10 * DAY)),
        ("still-to-deliver", None, None),
        ("delivered-lately", Some(now - 2 * DAY), None),
    ] {
        sqlx::query(
            "INSERT INTO mgmt_alert_notifications (id, created_at_ms, receiver, group_key, \
             payload, attempts, next_attempt_ms, delivered_at_ms, failed_at_ms) \
             VALUES ($1, $2, 'pager', 'g', '{}', 1, $3, $4, $5)",
        )
        .bind(id)
        .bind(now - 11 * DAY)
        .bind(now - 11 * DAY)
        .bind(delivered)
        .bind(failed)
        .execute(db)
        .await
        .unwrap();
    }
    for (id, ends) in [
        ("expired-long-ago", now - 10 * DAY),
        ("expired-lately", now - 2 * DAY),
        ("active", now + DAY),
    ] {
        sqlx::query(
            "INSERT INTO mgmt_silences (id, matchers, starts_at_ms, ends_at_ms, updated_at_ms, \
             created_by, comment) VALUES ($1, '[]', $2, $3, $2, 'ops', 'maintenance')",
        )
        .bind(id)
        .bind(now - 11 * DAY)
        .bind(ends)
        .execute(db)
        .await
        .unwrap();
    }
    for (event_id, handled) in [(1_i64, now - 31 * DAY), (2, now - 29 * DAY)] {
        sqlx::query("INSERT INTO mgmt_device_requests (event_id, handled_ms) VALUES ($1, $2)")
            .bind(event_id)
            .bind(handled)
            .execute(db)
            .await
            .unwrap();
    }
    assert!(m.devices.claim_request(3).await.unwrap());

    // Another replica's duty: nothing changes here.
    let standby = PruningTask::new(
        m.alerts.store.clone(),
        m.devices.clone(),
        Retention::of(&m.config),
        Arc::new(Elsewhere),
    );
    assert_eq!(standby.activate().await.unwrap().get("standby"), Some(&1));
    assert_eq!(alert_names(&s).await.len(), 4);

    let retention = Retention::of(&m.config);
    assert_eq!(
        retention,
        Retention {
            keep_resolved_days: 7,
            keep_requests_days: 30
        }
    );
    let pruned = prune(&m.alerts.store, &m.devices, retention, now)
        .await
        .unwrap();
    assert_eq!(
        pruned,
        Pruned {
            alerts: 1,
            notifications: 2,
            silences: 1,
            requests: 1
        }
    );
    assert_eq!(
        alert_names(&s).await,
        ["Firing", "ResolvedLately", "StillOwed"]
    );
    assert_eq!(
        notification_ids(&s).await,
        ["delivered-lately", "still-to-deliver"]
    );
    assert_eq!(silence_ids(&s).await, ["active", "expired-lately"]);
    assert!(
        m.devices.claim_request(1).await.unwrap(),
        "a request handled 31 days ago is forgotten"
    );
    assert!(!m.devices.claim_request(2).await.unwrap());
    assert!(!m.devices.claim_request(3).await.unwrap());

    let again = prune(&m.alerts.store, &m.devices, retention, now)
        .await
        .unwrap();
    assert_eq!(
        again.alerts + again.notifications + again.silences,
        0,
        "{again:?}"
    );

    // Six days on, the alert resolved two days ago has been resolved for eight; once the
    // receiver has been told, the owed one goes too.
    sqlx::query("DELETE FROM mgmt_alert_groups")
        .execute(db)
        .await
        .unwrap();
    let task = PruningTask::new(
        m.alerts.store.clone(),
        m.devices.clone(),
        retention,
        Arc::new(Alone),
    );
    let later = prune(&m.alerts.store, &m.devices, retention, now + 6 * DAY)
        .await
        .unwrap();
    assert_eq!(later.alerts, 2, "{later:?}");
    assert_eq!(later.notifications, 1, "{later:?}");
    assert_eq!(alert_names(&s).await, ["Firing"]);
    assert_eq!(notification_ids(&s).await, ["still-to-deliver"]);
    assert_eq!(later.silences, 1, "{later:?}");
    assert_eq!(silence_ids(&s).await, ["active"]);
    let report = task.activate().await.unwrap();
    assert_eq!(report.get("alerts"), Some(&0), "{report:?}");
}

on_both_databases!(history_older_than_its_keep_settings_is_pruned);

/// The keep settings are read from `[management.alerts]` and `[management.devices]`.
#[test]
fn the_keep_settings_come_from_the_configuration() {
    let config: ManagementConfig = serde_json::from_value(json!({
        "alerts": {"keep_resolved_days": 3},
        "devices": {"keep_requests_days": 90},
    }))
    .unwrap();
    assert_eq!(
        Retention::of(&config),
        Retention {
            keep_resolved_days: 3,
            keep_requests_days: 90
        }
    );
}
