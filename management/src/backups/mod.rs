//! Configuration backups: when they are taken ([`cron`] schedules), how long they are kept
//! ([`retention`]), and where, with a checksum that every read checks ([`archive`]).
//!
//! [`Backups`] takes a backup of a device through its [`DeviceOps`](crate::devices::ops) and
//! keeps it in the archive, recording each attempt (stored or failed) in [`record`]'s table.
//! [`schedule`]s (of the configuration or the API) say when and of which devices, and the
//! [`task`] runs them; [`routes`] serve backups and schedules under `/v1/management`.

pub mod archive;
pub mod cron;
pub mod record;
pub mod retention;
pub mod routes;
pub mod schedule;
pub mod task;

use std::sync::Arc;

use fulcrum_store::ModuleDb;

use time::OffsetDateTime;

use crate::devices::model::Device;
use crate::devices::ops_for;
use crate::error::{ManagementError, ManagementResult};
use archive::Archive;
pub use record::{BackupQuery, BackupRecord, BackupStatus};
use retention::{Kept, Retention};

/// Takes, keeps and reads back device backups.
#[derive(Debug, Clone)]
pub struct Backups {
    db: ModuleDb,
    archive: Arc<dyn Archive>,
}

impl Backups {
    /// Backups recorded in `db` and kept in `archive`.
    pub fn new(db: ModuleDb, archive: Arc<dyn Archive>) -> Self {
        Backups { db, archive }
    }

    /// The backup schedules made through the API, and the last runs of all.
    pub fn schedules(&self) -> schedule::ScheduleStore {
        schedule::ScheduleStore::new(self.db.clone())
    }

    /// The archive the backups are kept in.
    pub fn archive(&self) -> &Arc<dyn Archive> {
        &self.archive
    }

    /// Take a backup of `device` now, for `reason` (`manual`, `schedule:<name>`,
    /// `campaign:<id>`), and keep it. The attempt is recorded either way: a failure is returned
    /// as the device's error and recorded as a `failed` backup.
    pub async fn take(&self, device: &Device, reason: &str) -> ManagementResult<BackupRecord> {
        let id = uuid::Uuid::new_v4().to_string();
        let created_ms = fulcrum_core::timestamp::now_millis();
        let outcome = self.take_and_store(device, &id).await;
        let record = match &outcome {
            Ok((name, stored)) => BackupRecord {
                id,
                device_id: device.id.clone(),
                device_name: device.name.clone(),
                reason: reason.to_owned(),
                name: Some(name.clone()),
                archive_key: Some(stored.key.clone()),
                sha256: Some(stored.sha256.clone()),
                size: Some(stored.size as i64),
                status: BackupStatus::Stored,
                error: None,
                created_ms,
            },
            Err(error) => BackupRecord {
                id,
                device_id: device.id.clone(),
                device_name: device.name.clone(),
                reason: reason.to_owned(),
                name: None,
                archive_key: None,
                sha256: None,
                size: None,
                status: BackupStatus::Failed,
                error: Some(error.to_string()),
                created_ms,
            },
        };
        record::insert(&self.db, &record).await?;
        outcome.map(|_| record)
    }

    async fn take_and_store(
        &self,
        device: &Device,
        id: &str,
    ) -> ManagementResult<(String, archive::Stored)> {
        let ops = ops_for(device).map_err(|e| e.for_device(&device.name))?;
        let backup = ops.backup().await.map_err(|e| e.for_device(&device.name))?;
        let key = format!("{}/{id}-{}", device.id, backup.name);
        let stored =
            self.archive
                .put(&key, &backup.bytes)
                .await
                .map_err(|e| ManagementError::Device {
                    device: device.name.clone(),
                    message: format!("the backup could not be kept: {e}"),
                })?;
        Ok((backup.name, stored))
    }

    /// The backup `id`.
    pub async fn get(&self, id: &str) -> ManagementResult<BackupRecord> {
        record::get(&self.db, id).await
    }

    /// Whether a backup of `device_id` taken for `reason` is stored.
    pub async fn stored_for(&self, device_id: &str, reason: &str) -> ManagementResult<bool> {
        let stored =
            record::of_device_for(&self.db, device_id, reason, BackupStatus::Stored).await?;
        Ok(!stored.is_empty())
    }

    /// The backups of `device_id`, newest first.
    pub async fn of_device(&self, device_id: &str) -> ManagementResult<Vec<BackupRecord>> {
        record::of_device(&self.db, device_id).await
    }

    /// The content of the stored backup `record`, checked against its checksum.
    pub async fn content(&self, record: &BackupRecord) -> ManagementResult<Vec<u8>> {
        let (Some(key), Some(sha256)) = (&record.archive_key, &record.sha256) else {
            return Err(ManagementError::Conflict(format!(
                "Backup {} failed and holds nothing.",
                record.id
            )));
        };
        self.archive
            .get(key, sha256)
            .await
            .map_err(|e| ManagementError::Conflict(e.to_string()))
    }

    /// The backups matching `query`, newest first.
    pub async fn list(&self, query: &BackupQuery) -> ManagementResult<Vec<BackupRecord>> {
        record::list(&self.db, query).await
    }

    /// Check that the backup `id` is in the archive, intact: the record, or a 409 naming what
    /// is wrong (missing, or its checksum differs).
    pub async fn verify(&self, id: &str) -> ManagementResult<BackupRecord> {
        let record = self.get(id).await?;
        self.content(&record).await?;
        Ok(record)
    }

    /// Put the backup `record` back on `device`, once its content matches its checksum.
    pub async fn restore(&self, record: &BackupRecord, device: &Device) -> ManagementResult<()> {
        let bytes = self.content(record).await?;
        let ops = ops_for(device).map_err(|e| e.for_device(&device.name))?;
        ops.restore(&bytes)
            .await
            .map_err(|e| e.for_device(&device.name))
    }

    /// Remove the backup `id`: its file, then its record.
    pub async fn delete(&self, id: &str) -> ManagementResult<BackupRecord> {
        let record = self.get(id).await?;
        self.forget(&record).await?;
        Ok(record)
    }

    async fn forget(&self, record: &BackupRecord) -> ManagementResult<()> {
        if let Some(key) = &record.archive_key {
            self.archive
                .delete(key)
                .await
                .map_err(|e| ManagementError::Conflict(e.to_string()))?;
        }
        record::delete(&self.db, &record.id).await
    }

    /// Remove the backups of `device_id` taken for `reason` that `retention` expires at `now`
    /// (files and records); the ones removed. Stored backups and the records of failed attempts
    /// are counted apart, so failures neither push stored backups out nor pile up.
    pub async fn expire(
        &self,
        device_id: &str,
        reason: &str,
        retention: Retention,
        now: OffsetDateTime,
    ) -> ManagementResult<Vec<BackupRecord>> {
        let mut removed = Vec::new();
        for status in [BackupStatus::Stored, BackupStatus::Failed] {
            let backups = record::of_device_for(&self.db, device_id, reason, status).await?;
            let kept: Vec<Kept> = backups
                .iter()
                .map(|backup| Kept {
                    id: backup.id.clone(),
                    taken_at: OffsetDateTime::from_unix_timestamp_nanos(
                        i128::from(backup.created_ms) * 1_000_000,
                    )
                    .unwrap_or(OffsetDateTime::UNIX_EPOCH),
                })
                .collect();
            let expired = retention::expired(&kept, retention, now);
            for backup in backups.into_iter().filter(|b| expired.contains(&b.id)) {
                self.forget(&backup).await?;
                removed.push(backup);
            }
        }
        Ok(removed)
    }
}
