//! `/v1/status/tasks`: what each background task of this process did last (start, end, result,
//! counts), for operators. Administrators only.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;

use crate::shapes::tasks::TaskList;
use crate::state::AppState;

/// The background tasks of the process that answers and their last activation.
#[utoipa::path(get, path = "/v1/status/tasks", tag = "status",
    responses((status = 200, body = TaskList)))]
pub async fn list_tasks(State(state): State<Arc<AppState>>) -> Json<TaskList> {
    Json(TaskList {
        tasks: state.tasks.snapshot(),
    })
}
