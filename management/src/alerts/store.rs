//! The SQL of alerts and silences, on management's own tables (`mgmt_alerts`,
//! `mgmt_silences`), portable between SQLite and PostgreSQL, and the pruning of their history.

use fulcrum_store::ModuleDb;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::model::{Alert, Labels, NewAlert, fingerprint};
use super::silences::{ApiMatcher, Silence};
use crate::error::{ManagementError, ManagementResult};

const ALERT_COLUMNS: &str = "fingerprint, labels, annotations, starts_at_ms, ends_at_ms, \
                             updated_at_ms, generator_url, acknowledged_by, acknowledged_at_ms";

/// Alerts and silences in the database.
#[derive(Debug, Clone)]
pub struct AlertStore {
    db: ModuleDb,
}

impl AlertStore {
    /// The tables in `db`.
    pub fn new(db: ModuleDb) -> Self {
        AlertStore { db }
    }

    /// Record `alerts` received at `now_ms`, in one transaction: a new label set is a new alert;
    /// a known one takes the new annotations and end. An alert that had resolved starts again
    /// (new start, acknowledgement forgotten); one still firing keeps the earlier of its start
    /// and the posted one, as Alertmanager merges them, so a start never follows the end.
    pub async fn upsert(&self, alerts: &[NewAlert], now_ms: i64) -> ManagementResult<()> {
        let mut tx = self.db.writer().begin().await?;
        for alert in alerts {
            sqlx::query(
                "INSERT INTO mgmt_alerts (fingerprint, labels, annotations, starts_at_ms, \
                 ends_at_ms, updated_at_ms, generator_url, source_key) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (fingerprint) DO UPDATE SET \
                 annotations = excluded.annotations, \
                 generator_url = excluded.generator_url, \
                 source_key = excluded.source_key, \
                 starts_at_ms = CASE WHEN mgmt_alerts.ends_at_ms <= $9 \
                     OR excluded.starts_at_ms < mgmt_alerts.starts_at_ms \
                     THEN excluded.starts_at_ms ELSE mgmt_alerts.starts_at_ms END, \
                 acknowledged_by = CASE WHEN mgmt_alerts.ends_at_ms <= $10 \
                     THEN NULL ELSE mgmt_alerts.acknowledged_by END, \
                 acknowledged_at_ms = CASE WHEN mgmt_alerts.ends_at_ms <= $11 \
                     THEN NULL ELSE mgmt_alerts.acknowledged_at_ms END, \
                 ends_at_ms = excluded.ends_at_ms, \
                 updated_at_ms = excluded.updated_at_ms",
            )
            .bind(fingerprint(&alert.labels))
            .bind(to_json(&alert.labels))
            .bind(to_json(&alert.annotations))
            .bind(alert.starts_at_ms)
            .bind(alert.ends_at_ms)
            .bind(now_ms)
            .bind(&alert.generator_url)
            .bind(&alert.source_key)
            .bind(now_ms)
            .bind(now_ms)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// End at `at_ms` the firing alert raised under `source_key`; nothing if there is none.
    pub async fn clear_source(&self, source_key: &str, at_ms: i64) -> ManagementResult<()> {
        sqlx::query(
            "UPDATE mgmt_alerts SET ends_at_ms = $1, updated_at_ms = $2 \
             WHERE source_key = $3 AND (ends_at_ms IS NULL OR ends_at_ms > $4)",
        )
        .bind(at_ms)
        .bind(at_ms)
        .bind(source_key)
        .bind(at_ms)
        .execute(self.db.writer())
        .await?;
        Ok(())
    }

    /// Every alert, or only those not resolved at `now_ms`; oldest first.
    pub async fn alerts(
        &self,
        include_resolved: bool,
        now_ms: i64,
    ) -> ManagementResult<Vec<Alert>> {
        let mut sql = format!("SELECT {ALERT_COLUMNS} FROM mgmt_alerts");
        if !include_resolved {
            sql.push_str(" WHERE ends_at_ms IS NULL OR ends_at_ms > $1");
        }
        sql.push_str(" ORDER BY starts_at_ms, fingerprint");
        let mut query = sqlx::query(&sql);
        if !include_resolved {
            query = query.bind(now_ms);
        }
        let rows = query.fetch_all(self.db.reader()).await?;
        rows.iter().map(alert).collect()
    }

    /// The alerts with these fingerprints (those that exist).
    pub async fn alerts_with(&self, fingerprints: &[String]) -> ManagementResult<Vec<Alert>> {
        let mut found = Vec::new();
        for chunk in fingerprints.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
            let sql = format!(
                "SELECT {ALERT_COLUMNS} FROM mgmt_alerts WHERE fingerprint IN ({})",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for fingerprint in chunk {
                query = query.bind(fingerprint);
            }
            for row in query.fetch_all(self.db.reader()).await? {
                found.push(alert(&row)?);
            }
        }
        Ok(found)
    }

    /// The alert with `fingerprint`.
    pub async fn alert(&self, fingerprint: &str) -> ManagementResult<Alert> {
        let row = sqlx::query(&format!(
            "SELECT {ALERT_COLUMNS} FROM mgmt_alerts WHERE fingerprint = $1"
        ))
        .bind(fingerprint)
        .fetch_optional(self.db.reader())
        .await?
        .ok_or_else(|| ManagementError::NotFound {
            kind: "Alert",
            id: fingerprint.to_owned(),
        })?;
        alert(&row)
    }

    /// Record that `user` acknowledged the alert with `fingerprint` at `now_ms`.
    pub async fn acknowledge(
        &self,
        fingerprint: &str,
        user: &str,
        now_ms: i64,
    ) -> ManagementResult<()> {
        sqlx::query(
            "UPDATE mgmt_alerts SET acknowledged_by = $1, acknowledged_at_ms = $2 \
             WHERE fingerprint = $3",
        )
        .bind(user)
        .bind(now_ms)
        .bind(fingerprint)
        .execute(self.db.writer())
        .await?;
        Ok(())
    }

    /// Record a new silence, or replace the one with the same id.
    pub async fn save_silence(&self, silence: &Silence) -> ManagementResult<()> {
        let matchers = serde_json::to_string(&silence.api_matchers)
            .map_err(|e| ManagementError::BadRequest(e.to_string()))?;
        sqlx::query(
            "INSERT INTO mgmt_silences (id, matchers, starts_at_ms, ends_at_ms, updated_at_ms, \
             created_by, comment) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (id) DO UPDATE SET matchers = excluded.matchers, \
             starts_at_ms = excluded.starts_at_ms, ends_at_ms = excluded.ends_at_ms, \
             updated_at_ms = excluded.updated_at_ms, created_by = excluded.created_by, \
             comment = excluded.comment",
        )
        .bind(&silence.id)
        .bind(matchers)
        .bind(silence.starts_at_ms)
        .bind(silence.ends_at_ms)
        .bind(silence.updated_at_ms)
        .bind(&silence.created_by)
        .bind(&silence.comment)
        .execute(self.db.writer())
        .await?;
        Ok(())
    }

    /// Every silence, newest first.
    pub async fn silences(&self) -> ManagementResult<Vec<Silence>> {
        let rows = sqlx::query(
            "SELECT id, matchers, starts_at_ms, ends_at_ms, updated_at_ms, created_by, comment \
             FROM mgmt_silences ORDER BY updated_at_ms DESC, id",
        )
        .fetch_all(self.db.reader())
        .await?;
        rows.iter().map(silence).collect()
    }

    /// The silence with `id`.
    pub async fn silence(&self, id: &str) -> ManagementResult<Silence> {
        let row = sqlx::query(
            "SELECT id, matchers, starts_at_ms, ends_at_ms, updated_at_ms, created_by, comment \
             FROM mgmt_silences WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.db.reader())
        .await?
        .ok_or_else(|| ManagementError::NotFound {
            kind: "Silence",
            id: id.to_owned(),
        })?;
        silence(&row)
    }
}

impl AlertStore {
    /// Delete the alerts resolved before `before_ms`, but those a receiver still knows as
    /// firing (it is yet to be told they resolved); how many.
    pub async fn prune_resolved(&self, before_ms: i64) -> ManagementResult<u64> {
        let mut known = std::collections::HashSet::new();
        for row in sqlx::query("SELECT firing FROM mgmt_alert_groups")
            .fetch_all(self.db.reader())
            .await?
        {
            let firing: Vec<String> = from_json(&row.try_get::<String, _>("firing")?)?;
            known.extend(firing);
        }
        let rows = sqlx::query(
            "SELECT fingerprint FROM mgmt_alerts WHERE ends_at_ms IS NOT NULL AND ends_at_ms < $1",
        )
        .bind(before_ms)
        .fetch_all(self.db.reader())
        .await?;
        let mut old = Vec::new();
        for row in rows {
            let fingerprint: String = row.try_get("fingerprint")?;
            if !known.contains(&fingerprint) {
                old.push(fingerprint);
            }
        }
        let mut deleted = 0;
        for chunk in old.chunks(500) {
            let placeholders: Vec<String> =
                (2..=chunk.len() + 1).map(|n| format!("${n}")).collect();
            // Checked again: an alert posted again meanwhile fires and stays.
            let sql = format!(
                "DELETE FROM mgmt_alerts WHERE ends_at_ms IS NOT NULL AND ends_at_ms < $1 \
                 AND fingerprint IN ({})",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(&sql).bind(before_ms);
            for fingerprint in chunk {
                query = query.bind(fingerprint);
            }
            deleted += query.execute(self.db.writer()).await?.rows_affected();
        }
        Ok(deleted)
    }

    /// Delete the notifications delivered or given up before `before_ms`; how many. Those still
    /// to deliver are kept, however old.
    pub async fn prune_notifications(&self, before_ms: i64) -> ManagementResult<u64> {
        let done = sqlx::query(
            "DELETE FROM mgmt_alert_notifications WHERE delivered_at_ms < $1 \
             OR failed_at_ms < $2",
        )
        .bind(before_ms)
        .bind(before_ms)
        .execute(self.db.writer())
        .await?;
        Ok(done.rows_affected())
    }

    /// Delete the silences that expired before `before_ms`; how many. Alertmanager keeps expired
    /// silences for a while too, so that one can be looked at or recreated, then forgets them.
    pub async fn prune_expired_silences(&self, before_ms: i64) -> ManagementResult<u64> {
        let done = sqlx::query("DELETE FROM mgmt_silences WHERE ends_at_ms < $1")
            .bind(before_ms)
            .execute(self.db.writer())
            .await?;
        Ok(done.rows_affected())
    }
}

fn to_json(labels: &Labels) -> String {
    serde_json::to_string(labels).expect("a map of strings serializes")
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> ManagementResult<T> {
    serde_json::from_str(text).map_err(|e| ManagementError::Database(sqlx::Error::Decode(e.into())))
}

fn alert(row: &AnyRow) -> ManagementResult<Alert> {
    Ok(Alert {
        fingerprint: row.try_get("fingerprint")?,
        labels: from_json(&row.try_get::<String, _>("labels")?)?,
        annotations: from_json(&row.try_get::<String, _>("annotations")?)?,
        starts_at_ms: row.try_get("starts_at_ms")?,
        ends_at_ms: row.try_get("ends_at_ms")?,
        updated_at_ms: row.try_get("updated_at_ms")?,
        generator_url: row.try_get("generator_url")?,
        acknowledged_by: row.try_get("acknowledged_by")?,
        acknowledged_at_ms: row.try_get("acknowledged_at_ms")?,
    })
}

fn silence(row: &AnyRow) -> ManagementResult<Silence> {
    let api_matchers: Vec<ApiMatcher> = from_json(&row.try_get::<String, _>("matchers")?)?;
    let matchers = api_matchers
        .iter()
        .map(ApiMatcher::to_matcher)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ManagementError::Database(sqlx::Error::Decode(e.into())))?;
    Ok(Silence {
        id: row.try_get("id")?,
        api_matchers,
        matchers,
        starts_at_ms: row.try_get("starts_at_ms")?,
        ends_at_ms: row.try_get("ends_at_ms")?,
        updated_at_ms: row.try_get("updated_at_ms")?,
        created_by: row.try_get("created_by")?,
        comment: row.try_get("comment")?,
    })
}
