//! Backups to the remote file server, listed by timestamp, and restores from them.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::{Answer, RemoteBackup, action, now_ms, object};
use crate::nsxt::error::{self, NsxError};
use crate::nsxt::{Shared, lock};

/// `POST /api/v1/cluster?action=backup_to_remote`: a backup of the configuration to the remote
/// file server, listed afterwards by its timestamp.
pub(super) async fn cluster_action(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> Answer {
    action(query.as_deref(), "/api/v1/cluster", &["backup_to_remote"])?;
    let store = lock(&shared.store).clone();
    let mut manager = lock(&shared.manager);
    let last = manager.backups.keys().next_back().copied().unwrap_or(0);
    let timestamp = now_ms().max(last + 1);
    let licenses = manager.installed_licenses.clone();
    manager
        .backups
        .insert(timestamp, RemoteBackup { store, licenses });
    Ok(StatusCode::OK.into_response())
}

pub(super) async fn backup_timestamps(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let manager = lock(&shared.manager);
    let results: Vec<Value> = manager
        .backups
        .keys()
        .map(|timestamp| {
            json!({
                "timestamp": timestamp,
                "node_id": manager.node_uuid,
                "ip_address": manager.hostname,
            })
        })
        .collect();
    Json(json!({"result_count": results.len(), "results": results}))
}

/// `POST /api/v1/cluster/restore?action=start` with `{"timestamp"}`: the backup of that
/// timestamp put back (the Policy objects and the licenses).
pub(super) async fn restore_action(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Answer {
    const PATH: &str = "/api/v1/cluster/restore";
    action(query.as_deref(), PATH, &["start"])?;
    let body = object(&body, PATH)?;
    let Some(timestamp) = body["timestamp"].as_i64() else {
        return Err(NsxError::validation(
            PATH,
            vec!["Field timestamp is required (epoch milliseconds of a backup).".to_owned()],
        ));
    };
    let mut manager = lock(&shared.manager);
    let Some(backup) = manager.backups.get(&timestamp).cloned() else {
        return Err(NsxError::bad_request(
            error::INVALID_REQUEST,
            format!("No backup with timestamp {timestamp} is on the remote file server."),
        ));
    };
    *lock(&shared.store) = backup.store;
    manager.installed_licenses = backup.licenses;
    manager.restore = Some((timestamp, "SUCCESS"));
    Ok(Json(restore_status_body(manager.restore)).into_response())
}

fn restore_status_body(restore: Option<(i64, &'static str)>) -> Value {
    match restore {
        Some((timestamp, status)) => json!({
            "backup_timestamp": timestamp,
            "status": {"value": status},
        }),
        None => json!({"status": {"value": "NOT_STARTED"}}),
    }
}

pub(super) async fn restore_status(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(restore_status_body(lock(&shared.manager).restore))
}
