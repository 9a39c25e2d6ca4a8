//! `/v1/management/devices`: register, list, show, put in or out of maintenance, delete, read
//! facts now, push its configuration to its HA peer, and the load balancers a device carries. Credentials go in and never come out:
//! every answer is a [`DeviceView`]. Each action is audited with its caller.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use fulcrum_core::Fault;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::facts_task::{Reading, refresh};
use super::model::{DeviceSource, DeviceView, MaintenanceState, Registration};
use super::ops::OpsError;
use super::store::DeviceQuery;
use crate::Management;
use crate::error::{DEVICE_FAILED, ManagementError, ManagementResult};
use crate::http::{JsonBody, QueryParams, Who};

type Answer = ManagementResult<Json<DeviceBody>>;

/// The inventory's routes.
pub fn routes() -> OpenApiRouter<Arc<Management>> {
    OpenApiRouter::new()
        .routes(routes!(list, register))
        .routes(routes!(show, set_state, remove))
        .routes(routes!(refresh_now))
        .routes(routes!(config_sync))
        .routes(routes!(load_balancers))
}

/// The body of an answer about one device.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceBody {
    /// The device.
    pub device: DeviceView,
}

/// The body of `GET /v1/management/devices`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceList {
    /// The devices, by name.
    pub devices: Vec<DeviceView>,
}

/// The body of `GET /v1/management/devices/{id}/loadbalancers`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CarriedLoadBalancers {
    /// The ids of the load balancers the device carries.
    pub loadbalancers: Vec<String>,
}

fn one(device: &super::model::Device) -> Json<DeviceBody> {
    Json(DeviceBody {
        device: DeviceView::from(device),
    })
}

/// Register a device; a license is assigned to it from a pool that assigns on registration.
#[utoipa::path(post, path = "/v1/management/devices", tag = "devices",
    request_body(content = Registration),
    responses((status = 201, body = DeviceBody)))]
async fn register(
    State(management): State<Arc<Management>>,
    Who(caller): Who,
    JsonBody(registration): JsonBody<Registration>,
) -> ManagementResult<(StatusCode, Json<DeviceBody>)> {
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

/// List the inventory.
#[utoipa::path(get, path = "/v1/management/devices", tag = "devices", params(DeviceQuery),
    responses((status = 200, body = DeviceList)))]
async fn list(
    State(management): State<Arc<Management>>,
    QueryParams(query): QueryParams<DeviceQuery>,
) -> ManagementResult<Json<DeviceList>> {
    let devices = management.devices.list(&query).await?;
    Ok(Json(DeviceList {
        devices: devices.iter().map(DeviceView::from).collect(),
    }))
}

/// Show a device with the facts last read from it.
#[utoipa::path(get, path = "/v1/management/devices/{id}", tag = "devices",
    params(("id" = String, Path, description = "Device id")),
    responses((status = 200, body = DeviceBody)))]
async fn show(State(management): State<Arc<Management>>, Path(id): Path<String>) -> Answer {
    Ok(one(&management.devices.get(&id).await?))
}

/// The body of `PATCH /v1/management/devices/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StateChange {
    /// The maintenance state to move to (`unreachable` is the facts job's to set).
    pub state: MaintenanceState,
}

/// Move a device in or out of maintenance: placement skips devices not `ready`.
#[utoipa::path(patch, path = "/v1/management/devices/{id}", tag = "devices",
    params(("id" = String, Path, description = "Device id")),
    request_body(content = StateChange),
    responses((status = 200, body = DeviceBody)))]
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

/// Remove a device registered through the API (those of the configuration stay).
#[utoipa::path(delete, path = "/v1/management/devices/{id}", tag = "devices",
    params(("id" = String, Path, description = "Device id")),
    responses((status = 204, description = "Removed")))]
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

/// Read a device's facts now.
#[utoipa::path(post, path = "/v1/management/devices/{id}/refresh", tag = "devices",
    params(("id" = String, Path, description = "Device id")),
    responses((status = 200, body = DeviceBody),
        (status = 502, body = Fault, description = DEVICE_FAILED)))]
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
#[utoipa::path(post, path = "/v1/management/devices/{id}/sync", tag = "devices",
    params(("id" = String, Path, description = "Device id")),
    responses((status = 200, body = DeviceBody),
        (status = 502, body = Fault, description = DEVICE_FAILED)))]
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

/// The load balancers a device carries, as orchestration's events reported them.
#[utoipa::path(get, path = "/v1/management/devices/{id}/loadbalancers", tag = "devices",
    params(("id" = String, Path, description = "Device id")),
    responses((status = 200, body = CarriedLoadBalancers)))]
async fn load_balancers(
    State(management): State<Arc<Management>>,
    Path(id): Path<String>,
) -> ManagementResult<Json<CarriedLoadBalancers>> {
    management.devices.get(&id).await?;
    let loadbalancers = management.devices.carried(&id).await?;
    Ok(Json(CarriedLoadBalancers { loadbalancers }))
}
