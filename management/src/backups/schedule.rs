//! Backup schedules: when ([`cron`](super::cron)), of which devices (a kind and/or names, or
//! all) and how long their backups are kept. They come from the configuration
//! (`[[management.backups.schedules]]`, read-only through the API) or from the API
//! (`mgmt_backup_schedules`); one name space holds both. The last slot each ran for is kept in
//! `mgmt_backup_schedule_runs`, so that a restart neither skips nor repeats one.

use fulcrum_store::ModuleDb;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use time::{Duration, OffsetDateTime};

use super::cron::Schedule;
use super::retention::Retention;
use crate::devices::model::{Device, DeviceKind};
use crate::error::{ManagementError, ManagementResult};

/// A backup schedule, as configured or posted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "nightly", "cron": "0 2 * * *", "kind": "bigip",
    "keep_count": 7, "keep_days": 30}))]
pub struct BackupSchedule {
    /// Its name (letters, digits, `.`, `_`, `-`): backups it takes have the reason
    /// `schedule:<name>`.
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9._-]+$")]
    pub name: String,
    /// When it runs: five cron fields, in UTC.
    pub cron: String,
    /// Only devices of this kind (`bigip`, `haproxy_host`, ...).
    #[serde(default)]
    pub kind: Option<String>,
    /// Only the devices with these names.
    #[serde(default)]
    pub devices: Vec<String>,
    /// The newest this many of each device's backups by this schedule are kept.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 100000)]
    pub keep_count: Option<i64>,
    /// This schedule's backups older than this many days are removed (a device's newest is
    /// always kept).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 100000)]
    pub keep_days: Option<i64>,
}

impl BackupSchedule {
    /// Check every field; a 400 naming the problem.
    pub fn validate(&self) -> ManagementResult<()> {
        let bad = |text: String| Err(ManagementError::BadRequest(text));
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !name_ok {
            return bad(format!(
                "name must be 1 to 64 letters, digits, '.', '_' or '-', not {:?}.",
                self.name
            ));
        }
        self.schedule()?;
        if let Some(kind) = &self.kind {
            DeviceKind::parse(kind)?;
        }
        if let Some(name) = self
            .devices
            .iter()
            .find(|d| d.is_empty() || d.contains('\0'))
        {
            return bad(format!("devices must be device names, not {name:?}."));
        }
        for (field, value) in [
            ("keep_count", self.keep_count),
            ("keep_days", self.keep_days),
        ] {
            if let Some(value) = value
                && !(1..=100_000).contains(&value)
            {
                return bad(format!(
                    "{field} must be between 1 and 100000, not {value}."
                ));
            }
        }
        Ok(())
    }

    /// Its parsed cron expression; a 400 with the parser's message.
    pub fn schedule(&self) -> ManagementResult<Schedule> {
        Schedule::parse(&self.cron).map_err(|e| ManagementError::BadRequest(format!("cron: {e}.")))
    }

    /// Whether it selects `device`.
    pub fn selects(&self, device: &Device) -> bool {
        self.kind
            .as_deref()
            .is_none_or(|kind| kind == device.kind.as_str())
            && (self.devices.is_empty() || self.devices.contains(&device.name))
    }

    /// The reason recorded with the backups it takes.
    pub fn reason(&self) -> String {
        format!("schedule:{}", self.name)
    }

    /// How long its backups are kept.
    pub fn retention(&self) -> Retention {
        Retention {
            keep: self
                .keep_count
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            max_age: self.keep_days.map(Duration::days),
        }
    }
}

/// Where a schedule comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleSource {
    /// `[[management.backups.schedules]]`: changed only there.
    Config,
    /// The API.
    Api,
}

/// A schedule as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ScheduleView {
    /// The schedule.
    #[serde(flatten)]
    pub schedule: BackupSchedule,
    /// Where it comes from.
    pub source: ScheduleSource,
    /// The last slot it ran for (UTC), if it ran.
    pub last_run: Option<String>,
    /// The next slot it runs for (UTC).
    pub next_run: Option<String>,
}

/// The first due minute strictly after `last_slot_ms`, if it is at or before `now`; with no
/// last slot, the minute of `now` if it is due. A schedule that missed several slots (the
/// process was down) is due once: it runs at most one catch-up.
pub fn due_slot(
    schedule: &Schedule,
    last_slot_ms: Option<i64>,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    let minute = minute_of(now);
    match last_slot_ms {
        None => schedule.is_due(minute).then_some(minute),
        Some(last) => {
            let last =
                OffsetDateTime::from_unix_timestamp_nanos(i128::from(last) * 1_000_000).ok()?;
            schedule
                .next_after(last)
                .filter(|next| *next <= now)
                .map(|_| minute)
        }
    }
}

/// The start of the minute of `at`.
pub fn minute_of(at: OffsetDateTime) -> OffsetDateTime {
    at - Duration::nanoseconds(i64::from(at.second()) * 1_000_000_000 + i64::from(at.nanosecond()))
}

/// Milliseconds since the Unix epoch of `at`.
pub fn millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The schedules made through the API, and the last runs of all.
#[derive(Debug, Clone)]
pub struct ScheduleStore {
    db: ModuleDb,
}

const COLUMNS: &str = "name, cron, kind, devices, keep_count, keep_days";

fn schedule(row: &AnyRow) -> ManagementResult<BackupSchedule> {
    let devices: String = row.try_get("devices")?;
    Ok(BackupSchedule {
        name: row.try_get("name")?,
        cron: row.try_get("cron")?,
        kind: row.try_get("kind")?,
        devices: serde_json::from_str(&devices).unwrap_or_default(),
        keep_count: row.try_get("keep_count")?,
        keep_days: row.try_get("keep_days")?,
    })
}

impl ScheduleStore {
    /// The schedules in `db`.
    pub fn new(db: ModuleDb) -> Self {
        ScheduleStore { db }
    }

    /// Store a new schedule; a name taken already is a 409.
    pub async fn insert(&self, schedule: &BackupSchedule) -> ManagementResult<()> {
        let devices = serde_json::to_string(&schedule.devices).unwrap_or_else(|_| "[]".into());
        let inserted = sqlx::query(&format!(
            "INSERT INTO mgmt_backup_schedules ({COLUMNS}, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO NOTHING"
        ))
        .bind(&schedule.name)
        .bind(&schedule.cron)
        .bind(&schedule.kind)
        .bind(devices)
        .bind(schedule.keep_count)
        .bind(schedule.keep_days)
        .bind(fulcrum_core::timestamp::now_millis())
        .execute(self.db.writer())
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(ManagementError::Conflict(format!(
                "A backup schedule named {} exists already.",
                schedule.name
            )));
        }
        Ok(())
    }

    /// The schedules made through the API, by name.
    pub async fn list(&self) -> ManagementResult<Vec<BackupSchedule>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM mgmt_backup_schedules ORDER BY name"
        ))
        .fetch_all(self.db.reader())
        .await?;
        rows.iter().map(schedule).collect()
    }

    /// Remove the schedule `name` made through the API, and its last run; 404 when there is none.
    pub async fn delete(&self, name: &str) -> ManagementResult<()> {
        let mut tx = self.db.writer().begin().await?;
        let deleted = sqlx::query("DELETE FROM mgmt_backup_schedules WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            return Err(ManagementError::NotFound {
                kind: "Backup schedule",
                id: name.to_owned(),
            });
        }
        sqlx::query("DELETE FROM mgmt_backup_schedule_runs WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The last slot the schedule `name` ran for (ms since the Unix epoch).
    pub async fn last_slot(&self, name: &str) -> ManagementResult<Option<i64>> {
        let row = sqlx::query("SELECT last_slot_ms FROM mgmt_backup_schedule_runs WHERE name = $1")
            .bind(name)
            .fetch_optional(self.db.reader())
            .await?;
        Ok(row.map(|row| row.try_get(0)).transpose()?)
    }

    /// Record that the schedule `name` ran for the slot `slot_ms`.
    pub async fn record_run(&self, name: &str, slot_ms: i64) -> ManagementResult<()> {
        sqlx::query(
            "INSERT INTO mgmt_backup_schedule_runs (name, last_slot_ms) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET last_slot_ms = $2",
        )
        .bind(name)
        .bind(slot_ms)
        .execute(self.db.writer())
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn every(expression: &str) -> Schedule {
        Schedule::parse(expression).unwrap()
    }

    #[test]
    fn a_slot_is_due_once_and_missed_slots_make_one_catch_up() {
        let hourly = every("0 * * * *");
        let at = datetime!(2026-11-30 12:00:30 UTC);
        let slot = due_slot(&hourly, None, at).unwrap();
        assert_eq!(slot, datetime!(2026-11-30 12:00 UTC));
        assert_eq!(due_slot(&hourly, Some(millis(slot)), at), None, "not twice");
        let later = datetime!(2026-11-30 12:59 UTC);
        assert_eq!(due_slot(&hourly, Some(millis(slot)), later), None);
        let after_a_day_down = datetime!(2026-12-01 15:20 UTC);
        assert_eq!(
            due_slot(&hourly, Some(millis(slot)), after_a_day_down),
            Some(datetime!(2026-12-01 15:20 UTC)),
            "one catch-up run"
        );
        assert_eq!(
            due_slot(&hourly, None, datetime!(2026-11-30 12:01 UTC)),
            None,
            "a new schedule waits for its first slot"
        );
    }

    #[test]
    fn a_schedule_is_checked_field_by_field() {
        let good = BackupSchedule {
            name: "nightly".into(),
            cron: "0 2 * * *".into(),
            kind: Some("bigip".into()),
            devices: vec![],
            keep_count: Some(7),
            keep_days: None,
        };
        good.validate().unwrap();
        let refused = |change: fn(&mut BackupSchedule)| {
            let mut schedule = good.clone();
            change(&mut schedule);
            schedule.validate().unwrap_err().to_string()
        };
        assert!(refused(|s| s.cron = "61 * * * *".into()).contains("minute"));
        assert!(refused(|s| s.name = "a b".into()).contains("name must be"));
        assert!(refused(|s| s.kind = Some("router".into())).contains("router"));
        assert!(refused(|s| s.keep_count = Some(0)).contains("keep_count"));
    }
}
