//! Edge transport nodes: listed, their state and maintenance mode, their status and version.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::{Answer, Edge, Manager, action};
use crate::nsxt::error::NsxError;
use crate::nsxt::{Shared, lock};

fn edge<'a>(manager: &'a Manager, id: &str) -> Result<&'a Edge, NsxError> {
    manager
        .edges
        .iter()
        .find(|e| e.id == id)
        .ok_or_else(|| NsxError::not_found(&format!("/api/v1/transport-nodes/{id}")))
}

pub(super) async fn transport_nodes(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let manager = lock(&shared.manager);
    let results: Vec<Value> = manager
        .edges
        .iter()
        .map(|e| {
            json!({
                "id": e.id,
                "node_id": e.id,
                "display_name": e.name,
                "resource_type": "TransportNode",
                "node_deployment_info": {"resource_type": "EdgeNode", "display_name": e.name},
            })
        })
        .collect();
    Json(json!({"result_count": results.len(), "results": results}))
}

pub(super) async fn transport_node_state(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Answer {
    let manager = lock(&shared.manager);
    let edge = edge(&manager, &id)?;
    Ok(Json(json!({
        "transport_node_id": edge.id,
        "state": "success",
        "maintenance_mode_state": if edge.maintenance { "ENABLED" } else { "DISABLED" },
        "node_deployment_state": {"state": "NODE_READY"},
    }))
    .into_response())
}

pub(super) async fn transport_node_status(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Answer {
    let mut manager = lock(&shared.manager);
    manager.tick();
    let edge = edge(&manager, &id)?;
    Ok(Json(json!({
        "status": edge.status,
        "node_status": {"software_version": manager.version},
    }))
    .into_response())
}

/// `POST /api/v1/transport-nodes/<id>?action=enter_maintenance_mode|exit_maintenance_mode`.
pub(super) async fn transport_node_action(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Answer {
    let path = format!("/api/v1/transport-nodes/{id}");
    let action = action(
        query.as_deref(),
        &path,
        &["enter_maintenance_mode", "exit_maintenance_mode"],
    )?;
    let mut manager = lock(&shared.manager);
    edge(&manager, &id)?;
    if let Some(edge) = manager.edges.iter_mut().find(|e| e.id == id) {
        edge.maintenance = action == "enter_maintenance_mode";
    }
    Ok(StatusCode::OK.into_response())
}
