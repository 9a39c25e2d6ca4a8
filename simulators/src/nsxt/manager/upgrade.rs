//! The upgrade coordinator: bundles fetched from URLs, the coordinator upgraded, the plan run.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::{Answer, Bundle, Manager, UPGRADE_STEP, action, object, required_str};
use crate::nsxt::error::{self, NsxError};
use crate::nsxt::{Shared, lock};

/// `POST /api/v1/upgrade/bundles` with `{"url"}`: fetch a bundle
/// (`VMware-NSX-upgrade-bundle-<version>.mub`); answers its id at once, the fetch takes a step.
pub(super) async fn fetch_bundle(State(shared): State<Arc<Shared>>, body: Bytes) -> Answer {
    const PATH: &str = "/api/v1/upgrade/bundles";
    let body = object(&body, PATH)?;
    let url = required_str(&body, "url", PATH)?;
    let file_name = url.rsplit('/').next().unwrap_or_default();
    let Some(version) = file_name
        .strip_prefix("VMware-NSX-upgrade-bundle-")
        .and_then(|rest| rest.strip_suffix(".mub"))
        .filter(|v| !v.is_empty())
    else {
        return Err(NsxError::bad_request(
            error::INVALID_REQUEST,
            format!(
                "{url} is not an NSX upgrade bundle (VMware-NSX-upgrade-bundle-<version>.mub)."
            ),
        ));
    };
    let mut manager = lock(&shared.manager);
    manager.tick();
    if manager.upgrade.is_some() {
        return Err(NsxError::bad_request(
            UPGRADE_STEP,
            "An upgrade is in progress; a bundle cannot be fetched now.",
        ));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let bundle = Bundle {
        url: url.to_owned(),
        file_name: file_name.to_owned(),
        version: version.to_owned(),
        fetched_at: Instant::now(),
    };
    manager.bundles.insert(id.clone(), bundle);
    Ok(Json(json!({"bundle_id": id})).into_response())
}

pub(super) async fn bundle_upload_status(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Answer {
    let manager = lock(&shared.manager);
    let bundle = manager
        .bundles
        .get(&id)
        .ok_or_else(|| NsxError::not_found(&format!("/api/v1/upgrade/bundles/{id}")))?;
    let status = manager.bundle_status(bundle);
    Ok(Json(json!({
        "bundle_name": bundle.file_name,
        "url": bundle.url,
        "status": status,
        "percent": if status == "SUCCESS" { 100 } else { 40 },
        "detailed_status": if status == "SUCCESS" { "Upload completed" } else { "Uploading bundle" },
    }))
    .into_response())
}

/// `POST /api/v1/upgrade?action=upgrade_uc`: the coordinator takes the newest fetched bundle.
pub(super) async fn upgrade_action(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> Answer {
    action(query.as_deref(), "/api/v1/upgrade", &["upgrade_uc"])?;
    let mut manager = lock(&shared.manager);
    manager.tick();
    let Some(bundle) = manager.ready_bundle().cloned() else {
        return Err(NsxError::bad_request(
            UPGRADE_STEP,
            "No upgrade bundle has been uploaded; upload one before upgrading the upgrade \
             coordinator.",
        ));
    };
    manager.coordinator = Some(bundle.version);
    Ok(StatusCode::OK.into_response())
}

pub(super) async fn upgrade_summary(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let mut manager = lock(&shared.manager);
    manager.tick();
    let bundle = manager.ready_bundle().cloned();
    Json(json!({
        "system_version": manager.version,
        "target_version": bundle.as_ref().map(|b| b.version.clone()),
        "upgrade_bundle_file_name": bundle.as_ref().map(|b| b.file_name.clone()),
        "upgrade_coordinator_updated": manager.coordinator.is_some(),
        "upgrade_status": overall_status(&manager),
    }))
}

fn overall_status(manager: &Manager) -> &'static str {
    if manager.upgrade.is_some() {
        "IN_PROGRESS"
    } else {
        manager.last_upgrade.unwrap_or("NOT_STARTED")
    }
}

/// `POST /api/v1/upgrade/plan?action=start`: upgrade to the coordinator's version, which takes a
/// step.
pub(super) async fn plan_action(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> Answer {
    action(query.as_deref(), "/api/v1/upgrade/plan", &["start"])?;
    let mut manager = lock(&shared.manager);
    manager.tick();
    if manager.upgrade.is_some() {
        return Err(NsxError::bad_request(
            UPGRADE_STEP,
            "The upgrade is already in progress.",
        ));
    }
    let Some(target) = manager.coordinator.clone() else {
        return Err(NsxError::bad_request(
            UPGRADE_STEP,
            "The upgrade coordinator has not been upgraded; upgrade it before starting the plan.",
        ));
    };
    manager.last_upgrade = None;
    manager.upgrade = Some((target, Instant::now()));
    Ok(StatusCode::OK.into_response())
}

pub(super) async fn upgrade_status_summary(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let mut manager = lock(&shared.manager);
    manager.tick();
    let status = overall_status(&manager);
    let target = manager
        .upgrade
        .as_ref()
        .map(|(t, _)| t.clone())
        .or_else(|| manager.coordinator.clone());
    Json(json!({
        "overall_upgrade_status": status,
        "target_version": target,
        "component_status": [{
            "component_type": "MP",
            "status": status,
            "percent_complete": if status == "SUCCESS" { 100 } else { 0 },
            "details": if status == "FAILED" {
                "The management plane upgrade failed on nsx-manager-1."
            } else {
                ""
            },
        }],
    }))
}
