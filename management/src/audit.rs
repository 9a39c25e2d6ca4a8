//! The audit trail: every management action — who asked (from the token), what, on which object,
//! when, and how it ended — recorded and listable (`GET /v1/management/audit`).
//!
//! Actions are recorded after they end, with their result, so the trail says what happened rather
//! than what was attempted; an action refused before it did anything (a malformed request) is not
//! an action and leaves no entry. Background jobs record under no user.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use fulcrum_core::Caller;
use fulcrum_store::ModuleDb;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ManagementError, ManagementResult};
use crate::http::QueryParams;

/// One recorded action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    /// Its id, a UUIDv7: ids of one process sort as their entries were recorded, which orders
    /// the entries of one millisecond.
    pub id: String,
    /// When it ended (UTC, `2026-11-30T19:49:40`).
    pub at: String,
    /// The user who asked; `null` for Fulcrum's own jobs.
    pub user_id: Option<String>,
    /// The project of the token.
    pub project_id: Option<String>,
    /// What was done: `device.register`, `alert.acknowledge`, `backup.restore`, ...
    pub action: String,
    /// The object acted on (a device, an alert, a campaign id), when there is one.
    pub target: Option<String>,
    /// `success`, or `failure`.
    #[schema(pattern = "^(success|failure)$")]
    pub result: String,
    /// The error, or what the action changed, in a line.
    pub detail: Option<String>,
}

/// How an action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It did what was asked.
    Success,
    /// It failed.
    Failure,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }
}

/// Writes and reads the audit trail.
#[derive(Debug, Clone)]
pub struct Audit {
    db: ModuleDb,
}

/// Filters of an audit listing.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this action.
    pub action: Option<String>,
    /// Only actions on this object.
    pub target: Option<String>,
    /// Only this user's actions.
    pub user_id: Option<String>,
    /// Only `success` or `failure`.
    #[param(pattern = "^(success|failure)$")]
    pub result: Option<String>,
    /// At most this many, newest first (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

impl Audit {
    /// The trail in `db`.
    pub fn new(db: ModuleDb) -> Self {
        Audit { db }
    }

    /// Record that `caller` (none for a background job) did `action` on `target`, and how it
    /// ended. A failure to record is logged, never returned: the action has happened either way.
    pub async fn record(
        &self,
        caller: Option<&Caller>,
        action: &str,
        target: Option<&str>,
        outcome: Outcome,
        detail: Option<&str>,
    ) {
        let result = sqlx::query(
            "INSERT INTO mgmt_audit (id, at_ms, user_id, project_id, action, target, result, \
             detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(fulcrum_core::timestamp::now_millis())
        .bind(caller.and_then(|c| c.user_id.clone()))
        .bind(caller.and_then(|c| c.project_id.clone()))
        .bind(action)
        .bind(target)
        .bind(outcome.as_str())
        .bind(detail)
        .execute(self.db.writer())
        .await;
        if let Err(error) = result {
            tracing::error!(%error, action, ?target, "recording an audit entry failed");
        }
    }

    /// Record the end of `action` from its result: success, or failure with the error's text.
    pub async fn record_result<T>(
        &self,
        caller: Option<&Caller>,
        action: &str,
        target: Option<&str>,
        result: &ManagementResult<T>,
    ) {
        match result {
            Ok(_) => {
                self.record(caller, action, target, Outcome::Success, None)
                    .await
            }
            Err(error) => {
                let text = error.to_string();
                self.record(caller, action, target, Outcome::Failure, Some(&text))
                    .await
            }
        }
    }

    /// Record the end of `action` on `target` from its result: success with `detail`, or failure
    /// with `detail` and the error's text.
    pub async fn record_result_with(
        &self,
        caller: Option<&Caller>,
        action: &str,
        target: &str,
        result: &ManagementResult<impl Sized>,
        detail: &str,
    ) {
        let (outcome, detail) = match result {
            Ok(_) => (Outcome::Success, detail.to_owned()),
            Err(error) => (Outcome::Failure, format!("{detail}: {error}")),
        };
        self.record(caller, action, Some(target), outcome, Some(&detail))
            .await;
    }

    /// Entries matching `query`, newest first.
    pub async fn list(&self, query: &AuditQuery) -> ManagementResult<Vec<AuditEntry>> {
        let limit = crate::sql::limit(query.limit)?;
        if let Some(result) = &query.result
            && result != "success"
            && result != "failure"
        {
            return Err(ManagementError::BadRequest(format!(
                "result must be success or failure, not {result:?}."
            )));
        }
        let rows = crate::sql::select_equal(
            &self.db,
            "SELECT id, at_ms, user_id, project_id, action, target, result, detail FROM mgmt_audit",
            &[
                ("action", query.action.as_ref()),
                ("target", query.target.as_ref()),
                ("user_id", query.user_id.as_ref()),
                ("result", query.result.as_ref()),
            ],
            "at_ms DESC, id DESC",
            limit,
        )
        .await?;
        rows.iter().map(entry).collect()
    }
}

fn entry(row: &sqlx::any::AnyRow) -> ManagementResult<AuditEntry> {
    let at_ms: i64 = row.try_get("at_ms")?;
    Ok(AuditEntry {
        id: row.try_get("id")?,
        at: fulcrum_core::timestamp::format_millis(at_ms),
        user_id: row.try_get("user_id")?,
        project_id: row.try_get("project_id")?,
        action: row.try_get("action")?,
        target: row.try_get("target")?,
        result: row.try_get("result")?,
        detail: row.try_get("detail")?,
    })
}

/// The body of `GET /v1/management/audit`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditList {
    /// The entries, newest first.
    pub audit: Vec<AuditEntry>,
}

/// `GET /v1/management/audit`.
pub fn routes() -> OpenApiRouter<Arc<crate::Management>> {
    OpenApiRouter::new().routes(routes!(list))
}

/// List the audit trail, newest first.
#[utoipa::path(get, path = "/v1/management/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = AuditList)))]
async fn list(
    State(management): State<Arc<crate::Management>>,
    QueryParams(query): QueryParams<AuditQuery>,
) -> ManagementResult<Json<AuditList>> {
    let audit = management.audit.list(&query).await?;
    Ok(Json(AuditList { audit }))
}
