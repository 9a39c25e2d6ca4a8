//! `/v2/lbaas/quotas`: per-project quotas with Octavia's shapes (both the current field names and
//! the deprecated `load_balancer`/`health_monitor`), and their enforcement on create.
//!
//! A quota is explicit (stored, [`QuotaLimits`]) or the configured default ([`QuotaDefaults`]);
//! -1 is unlimited. [`reserve`] is what every create calls inside its own transaction before it
//! inserts: it takes the project's quota lock and counts the project's objects, so that the count
//! and the insert commit together and concurrent creates of one project cannot overshoot.

use crate::shapes::quotas::*;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use fulcrum_core::Error;
use fulcrum_core::model::Kind;
use fulcrum_store::{QuotaLimits, Tx};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::RequestContext;
use crate::body::OctaviaBody;
use crate::fault::ApiResult;
use crate::service::quotas::{MAX_QUOTA, QuotaDefaults, UNLIMITED};
use crate::state::AppState;

/// The limit that applies: the explicit one, or the default.
fn effective(explicit: &QuotaLimits, defaults: &QuotaDefaults, kind: Kind) -> i64 {
    explicit.of(kind).unwrap_or_else(|| defaults.of(kind))
}

/// Make sure `project` may create `wanted` more objects of each kind, inside the transaction that
/// will insert them: takes the project's quota lock (so concurrent creates of the project wait
/// for this transaction) and counts what it has. Objects without a project count against
/// nothing; kinds whose limit is unlimited take no lock. Octavia's 403 names the first kind
/// whose quota would be exceeded.
pub async fn reserve(
    state: &AppState,
    tx: &mut Tx,
    project: Option<&str>,
    wanted: &[(Kind, usize)],
) -> Result<(), Error> {
    let Some(project) = project else {
        return Ok(());
    };
    if wanted.iter().all(|(_, n)| *n == 0) {
        return Ok(());
    }
    let explicit = tx.quota(project).await?.unwrap_or_default();
    let limited: Vec<(Kind, i64, i64)> = wanted
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| {
            (
                *k,
                *n as i64,
                effective(&explicit, &state.service.quota_defaults, *k),
            )
        })
        .filter(|(_, _, limit)| *limit != UNLIMITED)
        .collect();
    if limited.is_empty() {
        return Ok(());
    }
    tx.lock_project(project).await?;
    for (kind, adding, limit) in limited {
        if tx.count_in_project(kind, project).await? + adding > limit {
            return Err(Error::quota_met(kind.display_name()));
        }
    }
    Ok(())
}

/// Octavia's range check of one limit (wsme's `IntegerType(minimum=-1, maximum=2000000000)`).
fn check_limit(field: &str, value: i64) -> Result<(), Error> {
    if value < UNLIMITED {
        return Err(Error::invalid_field(
            field,
            value,
            "Value should be greater or equal to -1",
        ));
    }
    if value > MAX_QUOTA {
        return Err(Error::invalid_field(
            field,
            value,
            &format!("Value should be lower or equal to {MAX_QUOTA}"),
        ));
    }
    Ok(())
}

/// Apply a validated update to stored limits.
fn apply(limits: &mut QuotaLimits, req: UpdateQuota) -> Result<(), Error> {
    let patches = req.into_patches();
    for (_, field, patch) in &patches {
        if let Some(v) = patch.value() {
            check_limit(field, *v)?;
        }
    }
    for (kind, _, patch) in patches {
        patch.apply_opt(limits.slot(kind));
    }
    Ok(())
}

/// A project's effective limits: explicit ones, the defaults for the rest.
async fn effective_limits(state: &AppState, project_id: &str) -> Result<QuotaLimits, Error> {
    let explicit = state
        .service
        .store
        .quota(project_id)
        .await?
        .unwrap_or_default();
    let mut limits = QuotaLimits::default();
    for kind in Kind::ALL {
        *limits.slot(kind) = Some(effective(&explicit, &state.service.quota_defaults, kind));
    }
    Ok(limits)
}

/// The `project_id=` filter of a list query.
fn project_filter(raw: Option<&str>) -> Option<String> {
    form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "project_id")
        .map(|(_, v)| v.into_owned())
}

async fn list_quotas(
    state: &AppState,
    ctx: &RequestContext,
    raw: Option<&str>,
) -> Result<Vec<QuotaView>, Error> {
    let filter = ctx.list_scope(project_filter(raw).as_deref())?;
    let rows = state.service.store.quotas(filter.as_deref()).await?;
    Ok(rows
        .iter()
        .map(|(project, limits)| QuotaView::new(project, limits))
        .collect())
}

async fn update_quota(
    state: &AppState,
    ctx: &RequestContext,
    project_id: &str,
    req: UpdateQuota,
) -> Result<QuotaLimits, Error> {
    ctx.authorize(Some(project_id))?;
    let mut tx = state.service.store.begin().await?;
    tx.lock_project(project_id).await?;
    let mut limits = tx.quota(project_id).await?.unwrap_or_default();
    apply(&mut limits, req)?;
    tx.set_quota(project_id, &limits).await?;
    tx.commit().await?;
    effective_limits(state, project_id).await
}

async fn delete_quota(
    state: &AppState,
    ctx: &RequestContext,
    project_id: &str,
) -> Result<(), Error> {
    ctx.authorize(Some(project_id))?;
    let mut tx = state.service.store.begin().await?;
    tx.delete_quota(project_id).await?;
    tx.commit().await?;
    Ok(())
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
    let quotas = list_quotas(&state, &ctx, raw.as_deref()).await?;
    Ok(Json(QuotaList {
        quotas,
        quotas_links: vec![],
    }))
}

/// A project's quotas in effect: explicit where set, the configured defaults elsewhere.
#[utoipa::path(get, path = "/v2/lbaas/quotas/{project_id}", tag = "quotas",
    params(("project_id" = String, Path, description = "Project id")),
    responses((status = 200, body = QuotaBody), (status = 403, body = crate::fault::Fault)))]
pub async fn show(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(project_id): Path<String>,
) -> ApiResult<Json<QuotaBody>> {
    ctx.authorize(Some(&project_id))?;
    let limits = effective_limits(&state, &project_id).await?;
    Ok(Json(QuotaBody {
        quota: QuotaView::new(&project_id, &limits),
    }))
}

/// Set any or all of a project's quotas (`null` returns one to the default).
#[utoipa::path(put, path = "/v2/lbaas/quotas/{project_id}", tag = "quotas",
    params(("project_id" = String, Path, description = "Project id")),
    request_body(content = inline(UpdateQuota), description = "`{\"quota\": {...}}`"),
    responses((status = 202, body = QuotaBody), (status = 400, body = crate::fault::Fault),
              (status = 403, body = crate::fault::Fault)))]
pub async fn update(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(project_id): Path<String>,
    OctaviaBody(req): OctaviaBody<UpdateQuota>,
) -> ApiResult<(StatusCode, Json<QuotaBody>)> {
    let limits = update_quota(&state, &ctx, &project_id, req).await?;
    let quota = QuotaView::new(&project_id, &limits);
    Ok((StatusCode::ACCEPTED, Json(QuotaBody { quota })))
}

/// Reset a project's quotas to the configured defaults.
#[utoipa::path(delete, path = "/v2/lbaas/quotas/{project_id}", tag = "quotas",
    params(("project_id" = String, Path, description = "Project id")),
    responses((status = 204), (status = 403, body = crate::fault::Fault)))]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(project_id): Path<String>,
) -> ApiResult<StatusCode> {
    delete_quota(&state, &ctx, &project_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The configured default quotas, as they apply to a project.
#[utoipa::path(get, path = "/v2/lbaas/quotas/{project_id}/default", tag = "quotas",
    params(("project_id" = String, Path, description = "Project id")),
    responses((status = 200, body = QuotaBody), (status = 403, body = crate::fault::Fault)))]
pub async fn defaults(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(project_id): Path<String>,
) -> ApiResult<Json<QuotaBody>> {
    ctx.authorize(Some(&project_id))?;
    let limits = state.service.quota_defaults.limits();
    Ok(Json(QuotaBody {
        quota: QuotaView::new(&project_id, &limits),
    }))
}

/// The routes of this module.
pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(show, update, delete))
        .routes(routes!(defaults))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<UpdateQuota, Error> {
        crate::body::parse::<UpdateQuota>(body.as_bytes())
    }

    #[test]
    fn aliases_absent_and_null() {
        let mut limits = QuotaLimits {
            listener: Some(3),
            pool: Some(4),
            ..QuotaLimits::default()
        };
        let req =
            parse(r#"{"quota": {"load_balancer": 2, "health_monitor": 7, "pool": null}}"#).unwrap();
        apply(&mut limits, req).unwrap();
        assert_eq!(limits.load_balancer, Some(2));
        assert_eq!(limits.health_monitor, Some(7));
        assert_eq!(limits.listener, Some(3), "absent is kept");
        assert_eq!(limits.pool, None, "null is the default");
        let req = parse(r#"{"quota": {"loadbalancer": 5, "load_balancer": 9}}"#).unwrap();
        apply(&mut limits, req).unwrap();
        assert_eq!(limits.load_balancer, Some(5), "the current name wins");
    }

    #[test]
    fn bad_limits() {
        let mut limits = QuotaLimits::default();
        let err = apply(&mut limits, parse(r#"{"quota": {"member": -2}}"#).unwrap()).unwrap_err();
        assert!(err.to_string().contains("member"), "{err}");
        let err = apply(
            &mut limits,
            parse(r#"{"quota": {"l7rule": 2000000001}}"#).unwrap(),
        );
        assert!(err.is_err());
        assert_eq!(limits, QuotaLimits::default(), "nothing applied");
        assert!(parse(r#"{"quota": {"pool": "x"}}"#).is_err());
        assert!(parse(r#"{"quota": {"colour": 1}}"#).is_err());
    }
}
