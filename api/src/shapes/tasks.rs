//! The body of `GET /v1/status/tasks`.

use fulcrum_core::tasks::TaskStatus;
use serde::Serialize;
use utoipa::ToSchema;

/// `{"tasks": [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskList {
    /// Every background task of the process that answers, by name.
    pub tasks: Vec<TaskStatus>,
}
