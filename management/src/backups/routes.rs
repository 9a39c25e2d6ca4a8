//! `/v1/management/backups` (list, show, verify, restore, delete),
//! `/v1/management/devices/{id}/backups` (a backup now) and `/v1/management/backup-schedules`
//! (those of the configuration read-only, those of the API created and deleted). A restore
//! replaces a device's configuration, so it must name the device (`{"confirm": "<name>"}`).
//! Each action is audited with its caller.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use fulcrum_core::{Caller, Fault};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::BackupQuery;
use super::record::BackupRecord;
use super::schedule::{BackupSchedule, ScheduleSource, ScheduleView};
use super::task::take_watched;
use crate::Management;
use crate::devices::ops_for;
use crate::error::{DEVICE_FAILED, ManagementError, ManagementResult};
use crate::http::{JsonBody, QueryParams, Who};

/// The backups' and schedules' routes.
pub fn routes() -> OpenApiRouter<Arc<Management>> {
    OpenApiRouter::new()
        .routes(routes!(take))
        .routes(routes!(list))
        .routes(routes!(show, remove))
        .routes(routes!(verify))
        .routes(routes!(restore))
        .routes(routes!(list_schedules, create_schedule))
        .routes(routes!(show_schedule, delete_schedule))
}

/// The body of an answer about one backup.
#[derive(Debug, Serialize, ToSchema)]
pub struct BackupBody {
    /// The backup.
    pub backup: BackupRecord,
}

/// The body of `GET /v1/management/backups`.
#[derive(Debug, Serialize, ToSchema)]
pub struct BackupList {
    /// The backups, newest first.
    pub backups: Vec<BackupRecord>,
}

/// The body of `POST /v1/management/backups/{id}/verify`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Verified {
    /// Always true: a backup whose content does not match its checksum is a 409.
    pub verified: bool,
    /// The backup.
    pub backup: BackupRecord,
}

/// The body of `POST /v1/management/backups/{id}/restore`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Restored {
    /// Always true: a restore the device refused is an error.
    pub restored: bool,
    /// The backup put back.
    pub backup: BackupRecord,
}

/// The body of an answer about one backup schedule.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleBody {
    /// The schedule.
    pub backup_schedule: ScheduleView,
}

/// The body of `GET /v1/management/backup-schedules`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleList {
    /// The schedules, those of the configuration first.
    pub backup_schedules: Vec<ScheduleView>,
}

/// Audit `action` on `target` from `result`: success with `detail`, or failure with `detail` and
/// the error.
async fn audit<T>(
    management: &Management,
    caller: &Caller,
    action: &str,
    target: &str,
    result: &ManagementResult<T>,
    detail: &str,
) {
    management
        .audit
        .record_result_with(Some(caller), action, target, result, detail)
        .await;
}

/// Take a backup of a device now.
#[utoipa::path(post, path = "/v1/management/devices/{id}/backups", tag = "backups",
    params(("id" = String, Path, description = "Device id")),
    responses((status = 201, body = BackupBody),
        (status = 502, body = Fault, description = DEVICE_FAILED)))]
async fn take(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    Path(id): Path<String>,
) -> ManagementResult<(StatusCode, Json<BackupBody>)> {
    let device = management.devices.get(&id).await?;
    ops_for(&device).map_err(|e| e.for_device(&device.name))?;
    let record = take_watched(&management, Some(&caller), &device, "manual").await?;
    Ok((StatusCode::CREATED, Json(BackupBody { backup: record })))
}

/// List backups, failed attempts included.
#[utoipa::path(get, path = "/v1/management/backups", tag = "backups", params(BackupQuery),
    responses((status = 200, body = BackupList)))]
async fn list(
    State(management): State<Arc<Management>>,
    QueryParams(query): QueryParams<BackupQuery>,
) -> ManagementResult<Json<BackupList>> {
    let backups = management.backups.list(&query).await?;
    Ok(Json(BackupList { backups }))
}

/// Show a backup.
#[utoipa::path(get, path = "/v1/management/backups/{id}", tag = "backups",
    params(("id" = String, Path, description = "Backup id")),
    responses((status = 200, body = BackupBody)))]
async fn show(
    State(management): State<Arc<Management>>,
    Path(id): Path<String>,
) -> ManagementResult<Json<BackupBody>> {
    let backup = management.backups.get(&id).await?;
    Ok(Json(BackupBody { backup }))
}

/// Check that a backup's content is in the archive and matches its checksum.
#[utoipa::path(post, path = "/v1/management/backups/{id}/verify", tag = "backups",
    params(("id" = String, Path, description = "Backup id")),
    responses((status = 200, body = Verified)))]
async fn verify(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    Path(id): Path<String>,
) -> ManagementResult<Json<Verified>> {
    let record = management.backups.get(&id).await?;
    let result = management.backups.content(&record).await;
    audit(
        &management,
        &caller,
        "backup.verify",
        &id,
        &result,
        "intact",
    )
    .await;
    result?;
    Ok(Json(Verified {
        verified: true,
        backup: record,
    }))
}

/// The body of `POST /v1/management/backups/{id}/restore`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Confirmation {
    /// The name of the device the backup goes back on: without it, nothing is restored.
    #[serde(default)]
    pub confirm: Option<String>,
}

/// Put a backup back on its device, replacing the device's configuration; the body must name
/// the device.
#[utoipa::path(post, path = "/v1/management/backups/{id}/restore", tag = "backups",
    params(("id" = String, Path, description = "Backup id")),
    request_body(content = Confirmation, description = "`{\"confirm\": \"<device name>\"}`"),
    responses((status = 200, body = Restored),
        (status = 502, body = Fault, description = DEVICE_FAILED)))]
async fn restore(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    Path(id): Path<String>,
    JsonBody(confirmation): JsonBody<Confirmation>,
) -> ManagementResult<Json<Restored>> {
    let record = management.backups.get(&id).await?;
    let device = management.devices.get(&record.device_id).await?;
    if confirmation.confirm.as_deref() != Some(device.name.as_str()) {
        return Err(ManagementError::BadRequest(format!(
            "Restoring backup {id} replaces the configuration of device {name}; send \
             {{\"confirm\": \"{name}\"}} to confirm.",
            name = device.name
        )));
    }
    let result = management.backups.restore(&record, &device).await;
    audit(
        &management,
        &caller,
        "backup.restore",
        &device.id,
        &result,
        &format!("backup {id}"),
    )
    .await;
    result?;
    Ok(Json(Restored {
        restored: true,
        backup: record,
    }))
}

/// Delete a backup and its content in the archive.
#[utoipa::path(delete, path = "/v1/management/backups/{id}", tag = "backups",
    params(("id" = String, Path, description = "Backup id")),
    responses((status = 204, description = "Deleted")))]
async fn remove(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    Path(id): Path<String>,
) -> ManagementResult<StatusCode> {
    management.backups.get(&id).await?;
    let result = management.backups.delete(&id).await;
    audit(
        &management,
        &caller,
        "backup.delete",
        &id,
        &result,
        "deleted",
    )
    .await;
    result.map(|_| StatusCode::NO_CONTENT)
}

/// Every schedule, those of the configuration first, with when each last ran and runs next.
async fn views(management: &Management) -> ManagementResult<Vec<ScheduleView>> {
    let store = management.backups.schedules();
    let configured = management
        .config
        .backups
        .schedules
        .iter()
        .cloned()
        .map(|s| (s, ScheduleSource::Config));
    let stored = store
        .list()
        .await?
        .into_iter()
        .map(|s| (s, ScheduleSource::Api));
    let now = time::OffsetDateTime::now_utc();
    let mut views = Vec::new();
    for (schedule, source) in configured.chain(stored) {
        let last = store.last_slot(&schedule.name).await?;
        let next_run = schedule
            .schedule()
            .ok()
            .and_then(|cron| cron.next_after(now))
            .map(fulcrum_core::timestamp::format);
        views.push(ScheduleView {
            last_run: last.map(fulcrum_core::timestamp::format_millis),
            next_run,
            schedule,
            source,
        });
    }
    Ok(views)
}

/// List backup schedules, those of the configuration first, with their last and next runs.
#[utoipa::path(get, path = "/v1/management/backup-schedules", tag = "backups",
    responses((status = 200, body = ScheduleList)))]
async fn list_schedules(
    State(management): State<Arc<Management>>,
) -> ManagementResult<Json<ScheduleList>> {
    Ok(Json(ScheduleList {
        backup_schedules: views(&management).await?,
    }))
}

/// Show a backup schedule.
#[utoipa::path(get, path = "/v1/management/backup-schedules/{name}", tag = "backups",
    params(("name" = String, Path, description = "Schedule name")),
    responses((status = 200, body = ScheduleBody)))]
async fn show_schedule(
    State(management): State<Arc<Management>>,
    Path(name): Path<String>,
) -> ManagementResult<Json<ScheduleBody>> {
    let view = views(&management)
        .await?
        .into_iter()
        .find(|v| v.schedule.name == name)
        .ok_or(ManagementError::NotFound {
            kind: "Backup schedule",
            id: name,
        })?;
    Ok(Json(ScheduleBody {
        backup_schedule: view,
    }))
}

/// Create a backup schedule.
#[utoipa::path(post, path = "/v1/management/backup-schedules", tag = "backups",
    request_body(content = BackupSchedule),
    responses((status = 201, body = ScheduleBody)))]
async fn create_schedule(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    JsonBody(schedule): JsonBody<BackupSchedule>,
) -> ManagementResult<(StatusCode, Json<ScheduleBody>)> {
    schedule.validate()?;
    let configured = &management.config.backups.schedules;
    if configured.iter().any(|s| s.name == schedule.name) {
        return Err(ManagementError::Conflict(format!(
            "A backup schedule named {} exists already, in the configuration.",
            schedule.name
        )));
    }
    let result = management.backups.schedules().insert(&schedule).await;
    audit(
        &management,
        &caller,
        "backup-schedule.create",
        &schedule.name,
        &result,
        &schedule.cron,
    )
    .await;
    result?;
    let view = views(&management)
        .await?
        .into_iter()
        .find(|v| v.schedule.name == schedule.name)
        .ok_or(ManagementError::NotFound {
            kind: "Backup schedule",
            id: schedule.name,
        })?;
    Ok((
        StatusCode::CREATED,
        Json(ScheduleBody {
            backup_schedule: view,
        }),
    ))
}

/// Delete a backup schedule made through the API (those of the configuration stay).
#[utoipa::path(delete, path = "/v1/management/backup-schedules/{name}", tag = "backups",
    params(("name" = String, Path, description = "Schedule name")),
    responses((status = 204, description = "Deleted")))]
async fn delete_schedule(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    Path(name): Path<String>,
) -> ManagementResult<StatusCode> {
    if management
        .config
        .backups
        .schedules
        .iter()
        .any(|s| s.name == name)
    {
        return Err(ManagementError::Conflict(format!(
            "Backup schedule {name} is in the configuration; remove it there."
        )));
    }
    let result = management.backups.schedules().delete(&name).await;
    if matches!(result, Err(ManagementError::NotFound { .. })) {
        return result.map(|()| StatusCode::NO_CONTENT);
    }
    audit(
        &management,
        &caller,
        "backup-schedule.delete",
        &name,
        &result,
        "deleted",
    )
    .await;
    result.map(|()| StatusCode::NO_CONTENT)
}
