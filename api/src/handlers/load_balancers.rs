//! `/v2/lbaas/loadbalancers`: create (with the whole tree in one call), show, list, update,
//! delete (with `cascade`), the status tree, statistics and failover.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use fulcrum_core::Error;
use fulcrum_core::model::LoadBalancer;
use serde_json::Value;

use super::graph::full_view;
use super::{ListBody, ListRequest, bool_from_string, rooted, show_body};
use crate::auth::RequestContext;
use crate::body::OctaviaBody;
use crate::fault::ApiResult;
use crate::shapes::envelope::Envelope;
use crate::shapes::load_balancers::{
    CreateLoadBalancer, DeleteParams, LoadBalancerBody, LoadBalancerList, LoadBalancerView,
    UpdateLoadBalancer,
};
use crate::shapes::status::status_tree;
use crate::shapes::{StatsBody, to_value};
use crate::state::AppState;

/// The rendered view of a load balancer the caller may see, from the view cache when no write
/// happened since it was rendered.
async fn cached_view(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
) -> Result<Arc<Value>, Error> {
    let epoch = state.service.read_epoch();
    if let Some((project, view)) = epoch.and_then(|e| state.views.get(id, e)) {
        ctx.authorize(project.as_deref())?;
        return Ok(view);
    }
    let found = state.service.load_balancer(ctx, id).await?;
    let project = found.object.project_id.clone();
    let value = Arc::new(to_value(&LoadBalancerView::new(
        found.object,
        &found.related,
    )));
    if let Some(e) = epoch {
        state.views.put(id, e, project, value.clone());
    }
    Ok(value)
}

/// The rendered views of load balancers `ids`, in their order: those rendered since the last
/// write from the view cache, the others read together, rendered and remembered. One deleted
/// since the ids were read is left out.
async fn cached_views(
    state: &AppState,
    epoch: u64,
    ids: &[String],
) -> Result<Vec<Arc<Value>>, Error> {
    let mut views: Vec<Option<Arc<Value>>> = ids
        .iter()
        .map(|id| state.views.get(id, epoch).map(|(_, view)| view))
        .collect();
    let missing: Vec<&str> = ids
        .iter()
        .zip(&views)
        .filter(|(_, view)| view.is_none())
        .map(|(id, _)| id.as_str())
        .collect();
    if !missing.is_empty() {
        let (items, related) = state
            .service
            .with_related_many::<LoadBalancer>(&missing)
            .await?;
        let mut rendered: HashMap<String, Arc<Value>> = HashMap::with_capacity(items.len());
        for lb in items {
            let (id, project) = (lb.id.clone(), lb.project_id.clone());
            let view = Arc::new(to_value(&LoadBalancerView::new(lb, &related)));
            state.views.put(&id, epoch, project, view.clone());
            rendered.insert(id, view);
        }
        for (slot, id) in views.iter_mut().zip(ids) {
            if slot.is_none() {
                *slot = rendered.remove(id);
            }
        }
    }
    Ok(views.into_iter().flatten().collect())
}

// While the view cache serves (see [`cached_view`]), the database is asked for the ids of the
// page, and for the objects whose views are not cached since the last write (all of them, the
// first time after a write).
/// List load balancers.
#[utoipa::path(get, path = "/v2/lbaas/loadbalancers", tag = "loadbalancers",
    responses((status = 200, body = LoadBalancerList)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    list: ListRequest,
) -> ApiResult<ListBody> {
    let Some(epoch) = state.service.read_epoch() else {
        let page = state
            .service
            .list::<LoadBalancer>(&ctx, list.query())
            .await?;
        return Ok(list.page_body(page, "loadbalancers", LoadBalancerView::new)?);
    };
    let (params, ids) = state
        .service
        .list_ids::<LoadBalancer>(&ctx, list.query())
        .await?;
    let views = cached_views(&state, epoch, &ids).await?;
    Ok(list.views_body(&params, "loadbalancers", &views)?)
}

/// Show one load balancer.
#[utoipa::path(get, path = "/v2/lbaas/loadbalancers/{id}", tag = "loadbalancers",
    params(("id" = String, Path, description = "Load balancer id")),
    responses((status = 200, body = LoadBalancerBody)))]
pub async fn show(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let view = cached_view(&state, &ctx, &id).await?;
    Ok(Json(show_body(
        "loadbalancer",
        view.as_ref(),
        raw.as_deref(),
    )))
}

/// Create a load balancer, optionally with its whole tree of listeners, pools, members, health
/// monitors, L7 policies and rules in the same call (Octavia's graph create).
#[utoipa::path(post, path = "/v2/lbaas/loadbalancers", tag = "loadbalancers",
    request_body(content = inline(Envelope<CreateLoadBalancer>), description = "`{\"loadbalancer\": {...}}`"),
    responses((status = 201, body = LoadBalancerBody,
               description = "Octavia's full response: `listeners` and `pools` are full objects \
                              (listeners with full `l7policies` and `rules`, pools with full \
                              `members` and `healthmonitor`)")))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    OctaviaBody(req): OctaviaBody<CreateLoadBalancer>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (lb, graph) = state.service.create_load_balancer(&ctx, req).await?;
    Ok((
        StatusCode::CREATED,
        Json(rooted("loadbalancer", full_view(lb, &graph))),
    ))
}

/// Update a load balancer.
#[utoipa::path(put, path = "/v2/lbaas/loadbalancers/{id}", tag = "loadbalancers",
    params(("id" = String, Path, description = "Load balancer id")),
    request_body(content = inline(Envelope<UpdateLoadBalancer>), description = "`{\"loadbalancer\": {...}}`"),
    responses((status = 200, body = LoadBalancerBody)))]
pub async fn update(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(id): Path<String>,
    OctaviaBody(req): OctaviaBody<UpdateLoadBalancer>,
) -> ApiResult<Json<LoadBalancerBody>> {
    let updated = state.service.update_load_balancer(&ctx, &id, req).await?;
    Ok(Json(LoadBalancerBody {
        loadbalancer: LoadBalancerView::new(updated.object, &updated.related),
    }))
}

/// Delete a load balancer (`?cascade=true` deletes everything below it).
#[utoipa::path(delete, path = "/v2/lbaas/loadbalancers/{id}", tag = "loadbalancers",
    params(("id" = String, Path, description = "Load balancer id"),
           ("cascade" = Option<bool>, Query, description = "Delete its children too")),
    responses((status = 204)))]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(id): Path<String>,
    Query(params): Query<DeleteParams>,
) -> ApiResult<StatusCode> {
    let cascade = params.cascade.as_deref().is_some_and(bool_from_string);
    state
        .service
        .delete_load_balancer(&ctx, &id, cascade)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The status tree of a load balancer.
#[utoipa::path(get, path = "/v2/lbaas/loadbalancers/{id}/status", tag = "loadbalancers",
    params(("id" = String, Path, description = "Load balancer id")),
    responses((status = 200, body = Object, description = "`{\"statuses\": {\"loadbalancer\": {...}}}`")))]
pub async fn status(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let tree = state.service.load_balancer_status(&ctx, &id).await?;
    Ok(Json(serde_json::json!({ "statuses": status_tree(&tree) })))
}

/// Traffic counters of a load balancer.
#[utoipa::path(get, path = "/v2/lbaas/loadbalancers/{id}/stats", tag = "loadbalancers",
    params(("id" = String, Path, description = "Load balancer id")),
    responses((status = 200, body = StatsBody)))]
pub async fn stats(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(id): Path<String>,
) -> ApiResult<Json<StatsBody>> {
    let stats = state.service.load_balancer_stats(&ctx, &id).await?;
    Ok(Json(StatsBody { stats }))
}

/// Rebuild a load balancer on its backend.
#[utoipa::path(put, path = "/v2/lbaas/loadbalancers/{id}/failover", tag = "loadbalancers",
    params(("id" = String, Path, description = "Load balancer id")),
    responses((status = 202)))]
pub async fn failover(
    State(state): State<Arc<AppState>>,
    ctx: RequestContext,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.service.failover_load_balancer(&ctx, &id).await?;
    Ok(StatusCode::ACCEPTED)
}
