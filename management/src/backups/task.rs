//! The `management-backups` job: at each activation, every schedule whose cron was due since
//! its last run takes a backup of each device it selects, then removes what its retention
//! expires. It is a cluster duty: one replica runs the schedules.
//!
//! A schedule's last run is recorded after its backups, so a process stopped in the middle runs
//! the slot again rather than skipping it; a schedule that missed several slots runs once. A
//! schedule seen for the first time outside its slot starts from that minute, so a slot that
//! falls between two activations is caught up at the next.
//! Every backup, scheduled or on demand, goes through [`take_watched`]: a failure raises the
//! `BackupFailed` alert of the device (key `backup-failed:<device>`), a success resolves it, and
//! either is audited.

use std::sync::Arc;

use async_trait::async_trait;
use fulcrum_core::Caller;
use fulcrum_core::tasks::{BackgroundTask, Duties, Report};
use time::OffsetDateTime;

use super::BackupRecord;
use super::schedule::{BackupSchedule, due_slot, millis, minute_of};
use crate::Management;
use crate::alerts::from_events::Raised;
use crate::audit::Outcome;
use crate::devices::model::Device;
use crate::devices::ops_for;
use crate::devices::store::DeviceQuery;
use crate::error::ManagementResult;

/// The cluster duty of running backup schedules.
pub const DUTY: &str = "management-backups";

/// The key of the alert raised when a backup of the device named `device` fails.
pub fn alert_key(device: &str) -> String {
    format!("backup-failed:{device}")
}

/// Take a backup of `device` for `reason` on behalf of `caller` (none for the job): raise the
/// device's `BackupFailed` alert when it fails, resolve it when it succeeds, and audit it
/// (`backup.take`).
pub async fn take_watched(
    management: &Management,
    caller: Option<&Caller>,
    device: &Device,
    reason: &str,
) -> ManagementResult<BackupRecord> {
    let result = management.backups.take(device, reason).await;
    let key = alert_key(&device.name);
    let now_ms = fulcrum_core::timestamp::now_millis();
    let (outcome, detail) = match &result {
        Ok(record) => {
            management.alerts.clear(&key, "", now_ms).await?;
            (Outcome::Success, format!("backup {} ({reason})", record.id))
        }
        Err(error) => {
            let message = format!("The backup of {} failed: {error}", device.name);
            let raised = Raised {
                key,
                load_balancer_id: String::new(),
                provider: device.provider.clone().unwrap_or_default(),
                message,
            };
            management.alerts.raise(&raised, now_ms).await?;
            (Outcome::Failure, format!("{error} ({reason})"))
        }
    };
    management
        .audit
        .record(
            caller,
            "backup.take",
            Some(&device.id),
            outcome,
            Some(&detail),
        )
        .await;
    result
}

/// Runs the backup schedules.
pub struct BackupsTask {
    management: Arc<Management>,
    duties: Arc<dyn Duties>,
}

impl BackupsTask {
    /// The job over `management`'s schedules, when `duties` says this process runs them.
    pub fn new(management: Arc<Management>, duties: Arc<dyn Duties>) -> Self {
        BackupsTask { management, duties }
    }

    /// Run, as of `now`, every schedule due since its last run: its backups, then its
    /// retention. Counts of schedules run, backups stored, failed and expired, and devices
    /// skipped (of a kind Fulcrum cannot back up).
    pub async fn run(&self, now: OffsetDateTime) -> ManagementResult<Report> {
        let mut report = Report::new();
        let store = self.management.backups.schedules();
        let mut schedules = self.management.config.backups.schedules.clone();
        schedules.extend(store.list().await?);
        let devices = self
            .management
            .devices
            .list(&DeviceQuery::default())
            .await?;
        for schedule in schedules {
            let Ok(cron) = schedule.schedule() else {
                continue;
            };
            let last = store.last_slot(&schedule.name).await?;
            let Some(slot) = due_slot(&cron, last, now) else {
                if last.is_none() {
                    store
                        .record_run(&schedule.name, millis(minute_of(now)))
                        .await?;
                }
                continue;
            };
            *report.entry("schedules").or_default() += 1;
            for device in devices.iter().filter(|d| schedule.selects(d)) {
                self.back_up(&schedule, device, now, &mut report).await?;
            }
            store.record_run(&schedule.name, millis(slot)).await?;
        }
        Ok(report)
    }

    async fn back_up(
        &self,
        schedule: &BackupSchedule,
        device: &Device,
        now: OffsetDateTime,
        report: &mut Report,
    ) -> ManagementResult<()> {
        if ops_for(device).is_err() {
            *report.entry("skipped").or_default() += 1;
            return Ok(());
        }
        let reason = schedule.reason();
        match take_watched(&self.management, None, device, &reason).await {
            Ok(_) => *report.entry("stored").or_default() += 1,
            Err(error) => {
                tracing::warn!(device = %device.name, schedule = %schedule.name, %error, "scheduled backup failed");
                *report.entry("failed").or_default() += 1;
            }
        }
        let expired = self
            .management
            .backups
            .expire(&device.id, &reason, schedule.retention(), now)
            .await?;
        if !expired.is_empty() {
            *report.entry("expired").or_default() += expired.len() as u64;
        }
        Ok(())
    }
}

#[async_trait]
impl BackgroundTask for BackupsTask {
    fn name(&self) -> &'static str {
        "management-backups"
    }

    fn description(&self) -> &'static str {
        "takes the backups of each schedule that is due and removes those its retention expires"
    }

    async fn activate(&self) -> Result<Report, String> {
        if !self.duties.performs(DUTY).await? {
            return Ok(Report::from([("standby", 1)]));
        }
        self.run(OffsetDateTime::now_utc())
            .await
            .map_err(|e| e.to_string())
    }
}
