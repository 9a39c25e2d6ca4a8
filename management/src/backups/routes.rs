//! `/v1/management/backups` (list, show, verify, restore, delete),
//! `/v1/management/devices/{id}/backups` (a backup now) and `/v1/management/backup-schedules`
//! (those of the configuration read-only, those of the API created and deleted). A restore
//! replaces a device's configuration, so it must name the device (`{"confirm": "<name>"}`).
//! Each action is audited with its caller.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use fulcrum_core::Caller;
use serde::Deserialize;
use serde_json::{Value, json};

use super::BackupQuery;
use super::schedule::{BackupSchedule, ScheduleSource, ScheduleView};
use super::task::take_watched;
use crate::Management;
use crate::devices::ops_for;
use crate::error::{ManagementError, ManagementResult};
use crate::http::{JsonBody, QueryParams, Who};

type Answer = ManagementResult<Json<Value>>;

/// The backups' and schedules' routes.
pub fn routes() -> Router<Arc<Management>> {
    Router::new()
        .route("/v1/management/devices/{id}/backups", post(take))
        .route("/v1/management/backups", get(list))
        .route("/v1/management/backups/{id}", get(show).delete(remove))
        .route("/v1/management/backups/{id}/verify", post(verify))
        .route("/v1/management/backups/{id}/restore", post(restore))
        .route(
            "/v1/management/backup-schedules",
            get(list_schedules).post(create_schedule),
        )
        .route(
            "/v1/management/backup-schedules/{name}",
            get(show_schedule).delete(delete_schedule),
        )
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

async fn take(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    Path(id): Path<String>,
) -> ManagementResult<(StatusCode, Json<Value>)> {
    let device = management.devices.get(&id).await?;
    ops_for(&device).map_err(|e| e.for_device(&device.name))?;
    let record = take_watched(&management, Some(&caller), &device, "manual").await?;
    Ok((StatusCode::CREATED, Json(json!({ "backup": record }))))
}

async fn list(
    State(management): State<Arc<Management>>,
    QueryParams(query): QueryParams<BackupQuery>,
) -> Answer {
    let backups = management.backups.list(&query).await?;
    Ok(Json(json!({ "backups": backups })))
}

async fn show(State(management): State<Arc<Management>>, Path(id): Path<String>) -> Answer {
    Ok(Json(
        json!({ "backup": management.backups.get(&id).await? }),
    ))
}

async fn verify(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    Path(id): Path<String>,
) -> Answer {
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
    Ok(Json(json!({ "verified": true, "backup": record })))
}

/// The body of `POST /v1/management/backups/{id}/restore`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Confirmation {
    /// The name of the device the backup goes back on.
    #[serde(default)]
    confirm: Option<String>,
}

async fn restore(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    Path(id): Path<String>,
    JsonBody(confirmation): JsonBody<Confirmation>,
) -> Answer {
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
    Ok(Json(json!({ "restored": true, "backup": record })))
}

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

async fn list_schedules(State(management): State<Arc<Management>>) -> Answer {
    Ok(Json(
        json!({ "backup_schedules": views(&management).await? }),
    ))
}

async fn show_schedule(
    State(management): State<Arc<Management>>,
    Path(name): Path<String>,
) -> Answer {
    let view = views(&management)
        .await?
        .into_iter()
        .find(|v| v.schedule.name == name)
        .ok_or(ManagementError::NotFound {
            kind: "Backup schedule",
            id: name,
        })?;
    Ok(Json(json!({ "backup_schedule": view })))
}

async fn create_schedule(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    JsonBody(schedule): JsonBody<BackupSchedule>,
) -> ManagementResult<(StatusCode, Json<Value>)> {
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
        .find(|v| v.schedule.name == schedule.name);
    Ok((
        StatusCode::CREATED,
        Json(json!({ "backup_schedule": view })),
    ))
}

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
