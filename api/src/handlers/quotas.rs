//! `/v2/lbaas/quotas`: per-project quotas with Octavia's shapes.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;

use crate::auth::RequestContext;
use crate::body::OctaviaBody;
use crate::fault::ApiResult;
use crate::shapes::envelope::Envelope;
use crate::shapes::quotas::{QuotaBody, QuotaList, QuotaView, UpdateQuota};
use crate::state::AppState;

/// The `project_id=` filter of a list query.
fn project_filter(raw: Option<&str>) -> Option<String> {
    form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "project_id")
        .map(|(_, v)| v.into_owned())
}

/// List the projects whose quotas were set explicitly (`null`: the default applies).
#[utoipa::path(get, path = "/v2/lbaas/quotas", tag = "quotas",
    params(("project_id" = Option<String>, Query, description = "Only this project")),
    responses((status = 200, body = QuotaList)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<QuotaList>> {
    let filter = project_filter(raw.as_deref());
    let rows = state.service.list_quotas(&ctx, filter.as_deref()).await?;
    Ok(Json(QuotaList {
        quotas: rows
            .iter()
            .map(|(project, limits)| QuotaView::new(project, limits))
            .collect(),
        quotas_links: vec![],
    }))
}

/// A project's quotas in effect: explicit where set, the configured defaults elsewhere.
#[utoipa::path(get, path = "/v2/lbaas/quotas/{project_id}", tag = "quotas",
    params(("project_id" = String, Path, description = "Project id")),
    responses((status = 200, body = QuotaBody)))]
pub async fn show(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(project_id): Path<String>,
) -> ApiResult<Json<QuotaBody>> {
    let limits = state.service.quota(&ctx, &project_id).await?;
    Ok(Json(QuotaBody {
        quota: QuotaView::new(&project_id, &limits),
    }))
}

/// Set any or all of a project's quotas (`null` returns one to the default).
#[utoipa::path(put, path = "/v2/lbaas/quotas/{project_id}", tag = "quotas",
    params(("project_id" = String, Path, description = "Project id")),
    request_body(content = inline(Envelope<UpdateQuota>), description = "`{\"quota\": {...}}`"),
    responses((status = 202, body = QuotaBody)))]
pub async fn update(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(project_id): Path<String>,
    OctaviaBody(req): OctaviaBody<UpdateQuota>,
) -> ApiResult<(StatusCode, Json<QuotaBody>)> {
    let limits = state.service.update_quota(&ctx, &project_id, req).await?;
    let quota = QuotaView::new(&project_id, &limits);
    Ok((StatusCode::ACCEPTED, Json(QuotaBody { quota })))
}

/// Reset a project's quotas to the configured defaults.
#[utoipa::path(delete, path = "/v2/lbaas/quotas/{project_id}", tag = "quotas",
    params(("project_id" = String, Path, description = "Project id")),
    responses((status = 204)))]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(project_id): Path<String>,
) -> ApiResult<StatusCode> {
    state.service.delete_quota(&ctx, &project_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The configured default quotas, as they apply to a project.
#[utoipa::path(get, path = "/v2/lbaas/quotas/{project_id}/default", tag = "quotas",
    params(("project_id" = String, Path, description = "Project id")),
    responses((status = 200, body = QuotaBody)))]
pub async fn defaults(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(project_id): Path<String>,
) -> ApiResult<Json<QuotaBody>> {
    let limits = state.service.default_quota(&ctx, &project_id)?;
    Ok(Json(QuotaBody {
        quota: QuotaView::new(&project_id, &limits),
    }))
}
