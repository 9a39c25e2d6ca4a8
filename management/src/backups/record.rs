//! The record of each backup attempt (`mgmt_backups`): what was taken from which device, why,
//! where it is kept and its checksum, or why it failed.

use fulcrum_store::ModuleDb;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::{ManagementError, ManagementResult};

const COLUMNS: &str = "id, device_id, device_name, reason, name, archive_key, sha256, size, \
                       status, error, created_ms";

/// How a backup attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BackupStatus {
    /// Taken and kept in the archive.
    Stored,
    /// Not taken or not kept; `error` says why.
    Failed,
}

impl BackupStatus {
    /// The stored and serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            BackupStatus::Stored => "stored",
            BackupStatus::Failed => "failed",
        }
    }

    fn parse(text: &str) -> ManagementResult<Self> {
        match text {
            "stored" => Ok(BackupStatus::Stored),
            "failed" => Ok(BackupStatus::Failed),
            other => Err(ManagementError::BadRequest(format!(
                "status must be stored or failed, not {other:?}."
            ))),
        }
    }
}

/// One backup attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BackupRecord {
    /// Its id.
    pub id: String,
    /// The device it was taken from.
    pub device_id: String,
    /// That device's name when it was taken.
    pub device_name: String,
    /// Why: `manual`, `schedule:<name>`, `campaign:<id>`.
    pub reason: String,
    /// The file name the device gave it.
    pub name: Option<String>,
    /// Where the archive keeps it.
    pub archive_key: Option<String>,
    /// The SHA-256 of its content, in hex.
    pub sha256: Option<String>,
    /// Its size in bytes.
    pub size: Option<i64>,
    /// How the attempt ended.
    pub status: BackupStatus,
    /// Why it failed.
    pub error: Option<String>,
    /// When it was taken (ms since the Unix epoch).
    pub created_ms: i64,
}

fn record(row: &AnyRow) -> ManagementResult<BackupRecord> {
    Ok(BackupRecord {
        id: row.try_get("id")?,
        device_id: row.try_get("device_id")?,
        device_name: row.try_get("device_name")?,
        reason: row.try_get("reason")?,
        name: row.try_get("name")?,
        archive_key: row.try_get("archive_key")?,
        sha256: row.try_get("sha256")?,
        size: row.try_get("size")?,
        status: BackupStatus::parse(&row.try_get::<String, _>("status")?)?,
        error: row.try_get("error")?,
        created_ms: row.try_get("created_ms")?,
    })
}

/// Record a backup attempt.
pub async fn insert(db: &ModuleDb, backup: &BackupRecord) -> ManagementResult<()> {
    sqlx::query(&format!(
        "INSERT INTO mgmt_backups ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(&backup.id)
    .bind(&backup.device_id)
    .bind(&backup.device_name)
    .bind(&backup.reason)
    .bind(&backup.name)
    .bind(&backup.archive_key)
    .bind(&backup.sha256)
    .bind(backup.size)
    .bind(backup.status.as_str())
    .bind(&backup.error)
    .bind(backup.created_ms)
    .execute(db.writer())
    .await?;
    Ok(())
}

/// The backup `id`.
pub async fn get(db: &ModuleDb, id: &str) -> ManagementResult<BackupRecord> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM mgmt_backups WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    match row {
        Some(row) => record(&row),
        None => Err(ManagementError::NotFound {
            kind: "Backup",
            id: id.to_owned(),
        }),
    }
}

/// The backups of `device_id`, newest first.
pub async fn of_device(db: &ModuleDb, device_id: &str) -> ManagementResult<Vec<BackupRecord>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM mgmt_backups WHERE device_id = $1 ORDER BY created_ms DESC, id DESC"
    ))
    .bind(device_id)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(record).collect()
}

/// Filters of a backup listing.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BackupQuery {
    /// Only backups of this device.
    pub device_id: Option<String>,
    /// Only `stored` or `failed` ones.
    #[param(pattern = "^(stored|failed)$")]
    pub status: Option<String>,
    /// Only those taken for this reason (`manual`, `schedule:<name>`, ...).
    pub reason: Option<String>,
    /// At most this many, newest first (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// The backups matching `query`, newest first.
pub async fn list(db: &ModuleDb, query: &BackupQuery) -> ManagementResult<Vec<BackupRecord>> {
    let limit = crate::sql::limit(query.limit)?;
    if let Some(status) = &query.status {
        BackupStatus::parse(status)?;
    }
    let rows = crate::sql::select_equal(
        db,
        &format!("SELECT {COLUMNS} FROM mgmt_backups"),
        &[
            ("device_id", query.device_id.as_ref()),
            ("status", query.status.as_ref()),
            ("reason", query.reason.as_ref()),
        ],
        "created_ms DESC, id DESC",
        limit,
    )
    .await?;
    rows.iter().map(record).collect()
}

/// The backups of `device_id` taken for `reason` that ended with `status`, newest first.
pub async fn of_device_for(
    db: &ModuleDb,
    device_id: &str,
    reason: &str,
    status: BackupStatus,
) -> ManagementResult<Vec<BackupRecord>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM mgmt_backups WHERE device_id = $1 AND reason = $2 \
         AND status = $3 ORDER BY created_ms DESC, id DESC"
    ))
    .bind(device_id)
    .bind(reason)
    .bind(status.as_str())
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(record).collect()
}

/// Forget the backup `id`.
pub async fn delete(db: &ModuleDb, id: &str) -> ManagementResult<()> {
    sqlx::query("DELETE FROM mgmt_backups WHERE id = $1")
        .bind(id)
        .execute(db.writer())
        .await?;
    Ok(())
}
