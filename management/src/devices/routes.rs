//! `/v1/management/devices`: register, list, show, put in or out of maintenance, delete, read
//! facts now, push its configuration to its HA peer, and the load balancers a device carries. Credentials go in and never come out:
//! every answer is a [`DeviceView`]. Each action is audited with its caller.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::facts_task::{Reading, refresh};
use super::model::{DeviceSource, DeviceView, MaintenanceState, Registration};
use super::ops::OpsError;
use super::store::DeviceQuery;
use crate::Management;
use crate::error::{ManagementError, ManagementResult};
use crate::http::{JsonBody, QueryParams, Who};

type Answer = ManagementResult<Json<Value>>;

/// The inventory's routes.
pub fn routes() -> Router<Arc<Management>> {
    Router::new()
        .route("/v1/management/devices", get(list).post(register))
        .route(
            "/v1/management/devices/{id}",
            get(show).patch(set_state).delete(remove),
        )
        .route("/v1/management/devices/{id}/refresh", post(refresh_now))
        .route("/v1/management/devices/{id}/sync", post(config_sync))
        .route(
            "/v1/management/devices/{id}/loadbalancers",
            get(load_balancers),
        )
}

fn one(device: &super::model::Device) -> Json<Value> {
    Json(json!({ "device": DeviceView::from(device) }))
}

async fn register(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    JsonBody(registration): JsonBody<Registration>,
) -> ManagementResult<(StatusCode, Json<Value>)> {
    registration.validate()?;
    let device = management
        .devices
        .insert(&registration, DeviceSource::Api)
        .await?;
    management
        .audit
        .record(
            Some(&caller),
            "device.register",
            Some(&device.id),
            crate::audit::Outcome::Success,
            Some(&format!("{} ({})", device.name, device.kind.as_str())),
        )
        .await;
    management
        .licenses
        .on_registration(Some(&caller), &device)
        .await;
    Ok((StatusCode::CREATED, one(&device)))
}

async fn list(
    State(management): State<Arc<Management>>,
    QueryParams(query): QueryParams<DeviceQuery>,
) -> Answer {
    let devices = management.devices.list(&query).await?;
    let views: Vec<DeviceView> = devices.iter().map(DeviceView::from).collect();
    Ok(Json(json!({ "devices": views })))
}

async fn show(State(management): State<Arc<Management>>, Path(id): Path<String>) -> Answer {
    Ok(one(&management.devices.get(&id).await?))
}

/// The body of `PATCH /v1/management/devices/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateChange {
    state: MaintenanceState,
}

async fn set_state(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    Path(id): Path<String>,
    JsonBody(change): JsonBody<StateChange>,
) -> Answer {
    let device = management.devices.get(&id).await?;
    device.state.operator_may_move_to(change.state)?;
    management
        .devices
        .set_state(&id, change.state, None)
        .await?;
    let detail = format!("{} -> {}", device.state.as_str(), change.state.as_str());
    management
        .audit
        .record(
            Some(&caller),
            "device.maintenance",
            Some(&id),
            crate::audit::Outcome::Success,
            Some(&detail),
        )
        .await;
    Ok(one(&management.devices.get(&id).await?))
}

async fn remove(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    Path(id): Path<String>,
) -> ManagementResult<StatusCode> {
    let device = management.devices.get(&id).await?;
    if device.source == DeviceSource::Config {
        return Err(ManagementError::Conflict(format!(
            "Device {} is registered in the configuration; remove it there.",
            device.name
        )));
    }
    let result = management.devices.delete(&id).await;
    management
        .audit
        .record_result(Some(&caller), "device.delete", Some(&id), &result)
        .await;
    result.map(|()| StatusCode::NO_CONTENT)
}

async fn refresh_now(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    Path(id): Path<String>,
) -> Answer {
    let device = management.devices.get(&id).await?;
    let threshold = management.config.devices.unreachable_after;
    let result = match refresh(&management.devices, &device, threshold).await? {
        Reading::Answered => Ok(()),
        Reading::Failed(message) => Err(ManagementError::Device {
            device: device.name.clone(),
            message,
        }),
        Reading::NotOperable(error @ OpsError::Credentials(_)) => {
            Err(error.for_device(&device.name))
        }
        Reading::NotOperable(error) => return Err(error.for_device(&device.name)),
    };
    management
        .audit
        .record_result(Some(&caller), "device.refresh", Some(&id), &result)
        .await;
    result?;
    Ok(one(&management.devices.get(&id).await?))
}

/// Push the device's configuration to its HA peer (a BIG-IP's config-sync to its group).
async fn config_sync(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    Path(id): Path<String>,
) -> Answer {
    let device = management.devices.get(&id).await?;
    let result = match super::ops_for(&device) {
        Ok(ops) => ops
            .config_sync()
            .await
            .map_err(|e| e.for_device(&device.name)),
        Err(error) => Err(error.for_device(&device.name)),
    };
    management
        .audit
        .record_result(Some(&caller), "device.sync", Some(&id), &result)
        .await;
    result?;
    Ok(one(&device))
}

async fn load_balancers(
    State(management): State<Arc<Management>>,
    Path(id): Path<String>,
) -> Answer {
    management.devices.get(&id).await?;
    let carried = management.devices.carried(&id).await?;
    Ok(Json(json!({ "loadbalancers": carried })))
}
