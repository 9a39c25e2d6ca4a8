//! The Octavia v2 resources. Each module holds one resource's request and response shapes, its
//! thin handlers and the service function each handler calls.

pub mod graph;
pub mod health_monitors;
pub mod l7policies;
pub mod l7rules;
pub mod listeners;
pub mod load_balancers;
pub mod members;
pub mod pools;

use axum::http::HeaderMap;
use fulcrum_core::Error;
use fulcrum_core::model::{Kind, LoadBalancer, ProvisioningStatus};
use fulcrum_store::{LockOutcome, Record, Tx, WorkAction};
use serde::Serialize;
use serde_json::Value;

use crate::AppState;
use crate::auth::RequestContext;
use crate::shapes::Related;

/// An `{"id": ...}` reference to a related object.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IdRef {
    /// The related object's id.
    pub id: String,
}

/// Id references from ids.
pub fn id_refs<'a>(ids: impl IntoIterator<Item = &'a String>) -> Vec<IdRef> {
    ids.into_iter().map(|id| IdRef { id: id.clone() }).collect()
}

/// A fresh object id.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Octavia renders a missing name or description as "".
pub fn text_or_empty(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

/// `http://host` of the request, for links.
pub fn base_url(headers: &HeaderMap, path: &str) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}{path}")
}

/// Load an object the request may act on: Octavia's 404 when it does not exist or the caller may
/// not know of it, 403 when the request's policy rule refuses the caller on its project.
pub async fn visible<T: Record + HasProject>(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
) -> Result<T, Error> {
    authorized(ctx, state.service.store.get::<T>(id).await?, id)
}

/// The same, inside a transaction.
pub async fn visible_in<T: Record + HasProject>(
    tx: &mut Tx,
    ctx: &RequestContext,
    id: &str,
) -> Result<T, Error> {
    authorized(ctx, tx.get::<T>(id).await?, id)
}

fn authorized<T: Record + HasProject>(
    ctx: &RequestContext,
    found: Option<T>,
    id: &str,
) -> Result<T, Error> {
    match found {
        Some(obj) if ctx.authorize_object(obj.project())? => Ok(obj),
        _ => Err(Error::not_found(T::KIND.display_name(), id)),
    }
}

/// Objects owned by a project.
pub trait HasProject {
    /// The owning project.
    fn project(&self) -> Option<&str>;
}

macro_rules! has_project {
    ($($ty:ty),*) => {$(
        impl HasProject for $ty {
            fn project(&self) -> Option<&str> {
                self.project_id.as_deref()
            }
        }
    )*};
}
has_project!(
    fulcrum_core::model::LoadBalancer,
    fulcrum_core::model::Listener,
    fulcrum_core::model::Pool,
    fulcrum_core::model::Member,
    fulcrum_core::model::HealthMonitor,
    fulcrum_core::model::L7Policy,
    fulcrum_core::model::L7Rule
);

/// Take the write lock on a load balancer's tree for a change below it: the load balancer moves
/// from ACTIVE to PENDING_UPDATE, or the request gets Octavia's 409.
pub async fn lock_tree(tx: &mut Tx, load_balancer_id: &str) -> Result<LoadBalancer, Error> {
    match tx
        .lock_load_balancer(
            load_balancer_id,
            ProvisioningStatus::PendingUpdate,
            &[ProvisioningStatus::Active],
        )
        .await?
    {
        LockOutcome::Locked(lb) => Ok(*lb),
        LockOutcome::NotFound => Err(Error::not_found("Load Balancer", load_balancer_id)),
        LockOutcome::Busy(_) => Err(Error::Immutable {
            resource: "Load Balancer",
            id: load_balancer_id.to_string(),
        }),
    }
}

/// Queue the tree for the reconciler, commit, and wake the local reconciler.
pub async fn commit_work(
    state: &AppState,
    mut tx: Tx,
    load_balancer_id: &str,
    action: WorkAction,
) -> Result<(), Error> {
    tx.enqueue(load_balancer_id, action).await?;
    tx.commit().await?;
    state.service.work_ready.notify_one();
    Ok(())
}

/// Wrap a serialized object in its root key.
pub fn rooted(root: &str, value: Value) -> Value {
    let mut map = serde_json::Map::new();
    map.insert(root.to_string(), value);
    Value::Object(map)
}

/// Serialize a view.
pub fn to_value<T: Serialize>(view: &T) -> Value {
    serde_json::to_value(view).unwrap_or(Value::Null)
}

/// A list body: `{"<plural>": [...], "<plural>_links": [...]}`.
pub fn list_body(plural: &str, items: Vec<Value>, links: Vec<crate::listing::Link>) -> Value {
    let mut map = serde_json::Map::new();
    map.insert(plural.to_string(), Value::Array(items));
    map.insert(format!("{plural}_links"), to_value(&links));
    Value::Object(map)
}

/// The project a new load balancer belongs to (the one the body names, else the caller's),
/// after the request's policy rule allowed the caller to create in it.
pub fn owner_for_create(
    ctx: &RequestContext,
    requested: Option<String>,
) -> Result<Option<String>, Error> {
    let project = requested.or_else(|| ctx.project_id().map(str::to_owned));
    ctx.authorize(project.as_deref())?;
    Ok(project)
}

/// A page of objects of one kind the caller may list. With `fixed` filters the URL implies (the
/// pool of `/pools/{id}/members`, ...), the caller was authorized on that parent already and the
/// page holds its children; otherwise the project scope comes from
/// [`RequestContext::list_scope`] (a `project_id=` filter included).
pub async fn fetch_page<T: Record>(
    state: &AppState,
    ctx: &RequestContext,
    raw: Option<&str>,
    fixed: &[(&str, &str)],
) -> Result<(crate::listing::ListParams, Vec<T>), Error> {
    let mut params =
        crate::listing::parse(raw, T::KIND, state.service.defaults.pagination_max_limit)?;
    for (key, value) in fixed {
        params.query.filters.retain(|(k, _)| k != key);
        params.query.filters.push(((*key).into(), (*value).into()));
    }
    if fixed.is_empty() {
        let requested = params
            .query
            .filters
            .iter()
            .find(|(k, _)| k == "project_id")
            .map(|(_, v)| v.clone());
        if let Some(project) = ctx.list_scope(requested.as_deref())? {
            params.query.filters.retain(|(k, _)| k != "project_id");
            params.query.filters.push(("project_id".into(), project));
        }
    } else if !ctx.was_authorized() {
        return Err(Error::Internal(
            "child list without an authorized parent".into(),
        ));
    }
    let items = state.service.store.list(&params.query).await?;
    Ok((params, items))
}

/// Finish a list response from rendered objects.
pub fn page_body<T: Record>(
    params: &crate::listing::ListParams,
    headers: &HeaderMap,
    path: &str,
    plural: &str,
    items: &[T],
    rendered: Vec<Value>,
) -> Value {
    let links = params.links(
        &base_url(headers, path),
        items.len(),
        items.first().map(|i| i.id()),
        items.last().map(|i| i.id()),
    );
    let rendered = rendered.into_iter().map(|v| params.project(v)).collect();
    list_body(plural, rendered, links)
}

/// A single object body with `fields=` applied.
pub fn show_body<T: Serialize>(root: &str, view: &T, raw: Option<&str>) -> Value {
    let fields = crate::listing::fields_of(raw);
    rooted(root, crate::listing::project(to_value(view), &fields))
}

/// Octavia's 501 when a provider lacks a capability.
pub fn unsupported(provider: &str, option: impl Into<String>) -> Error {
    Error::ProviderUnsupported {
        provider: provider.to_string(),
        option: option.into(),
    }
}

/// Every certificate reference must resolve, or Octavia's 400 names those that do not.
pub fn check_certificates<'a>(
    state: &AppState,
    references: impl IntoIterator<Item = &'a String>,
) -> Result<(), Error> {
    let missing: Vec<String> = references
        .into_iter()
        .filter(|r| state.service.certificates.fetch(r).is_err())
        .map(|r| format!("'{r}'"))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::BadRequest(format!(
            "Could not retrieve certificate: [{}]",
            missing.join(", ")
        )))
    }
}

/// A relation a view lists: the `value` column of the `table` rows whose `key` column holds the
/// object's id, listed as objects of the last kind.
type Relation = (Kind, &'static str, &'static str, Kind);

/// What the view of an object of `kind` lists: a load balancer its listeners and pools, a
/// listener its L7 policies, a pool the listeners it serves (as default pool or as a policy's
/// redirect target), its members and health monitor, a policy its rules.
fn relations(kind: Kind) -> &'static [Relation] {
    use Kind::*;
    match kind {
        LoadBalancer => &[
            (Listener, "loadbalancer_id", "id", Listener),
            (Pool, "loadbalancer_id", "id", Pool),
        ],
        Listener => &[(L7Policy, "listener_id", "id", L7Policy)],
        Pool => &[
            (Listener, "default_pool_id", "id", Listener),
            (L7Policy, "redirect_pool_id", "listener_id", Listener),
            (Member, "pool_id", "id", Member),
            (HealthMonitor, "pool_id", "id", HealthMonitor),
        ],
        L7Policy => &[(L7Rule, "l7policy_id", "id", L7Rule)],
        Member | HealthMonitor | L7Rule => &[],
    }
}

/// The ids the views of objects of `kind` list, for the objects `ids`.
pub async fn related(state: &AppState, kind: Kind, ids: &[&str]) -> Result<Related, Error> {
    let mut related = Related::default();
    for (table, key, value, listed) in relations(kind) {
        let found = state.service.store.related(*table, key, value, ids).await?;
        related.add(*listed, found);
    }
    Ok(related)
}
