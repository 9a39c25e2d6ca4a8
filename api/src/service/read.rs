//! Reads: pages of objects the caller may list and single objects the caller may see, each with
//! the ids of the objects its view lists ([`Related`]).

use fulcrum_core::model::Kind;
use fulcrum_core::{Error, validate};
use fulcrum_store::{ListQuery, Record};

use super::Service;
use super::access::HasProject;
use crate::auth::RequestContext;
use crate::listing::ListParams;
use crate::shapes::Related;

/// A page of objects the caller may list, with the ids their views list.
#[derive(Debug)]
pub struct Page<T> {
    /// The parsed list request: what the response's links and `fields=` need.
    pub params: ListParams,
    /// The objects, in order.
    pub items: Vec<T>,
    /// The ids their views list.
    pub related: Related,
}

/// One object with the ids its view lists.
#[derive(Debug)]
pub struct WithRelated<T> {
    /// The object.
    pub object: T,
    /// The ids its view lists.
    pub related: Related,
}

/// A relation a view lists: the `value` column of the rows of the first kind whose `key` column
/// holds the object's id, listed as objects of the last kind.
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

/// Keep NUL characters, which no stored text holds, away from the database: a marker that holds
/// one names no object (Octavia's 400); a tag that holds one excludes nothing from `not-tags`
/// and `not-tags-any` and is dropped; returns whether an equality filter or a `tags`/`tags-any`
/// filter holds one, so that the query matches nothing.
pub(crate) fn matches_nothing(query: &mut ListQuery) -> Result<bool, Error> {
    if let Some(marker) = query.marker.as_deref().filter(|m| !validate::storable(m)) {
        return Err(Error::InvalidInput(format!(
            "Supplied pagination marker '{}' is not valid.",
            marker.replace('\0', "\\x00")
        )));
    }
    let t = &mut query.tags;
    if !t.not_all.iter().all(|v| validate::storable(v)) {
        t.not_all.clear();
    }
    t.not_any.retain(|v| validate::storable(v));
    let mut positive = query
        .filters
        .iter()
        .map(|(_, v)| v)
        .chain(&t.all)
        .chain(&t.any);
    Ok(positive.any(|v| !validate::storable(v)))
}

impl Service {
    /// A page of objects of one kind the caller may list (`query`: the request's query string).
    pub async fn list<T: Record>(
        &self,
        ctx: &RequestContext,
        query: Option<&str>,
    ) -> Result<Page<T>, Error> {
        self.page(ctx, query, &[]).await
    }

    /// One object the caller may see, with the ids its view lists.
    pub async fn show<T: Record + HasProject>(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<WithRelated<T>, Error> {
        let object: T = self.visible(ctx, id).await?;
        self.with_related(object).await
    }

    /// An object and the ids its view lists, as stored now.
    pub(crate) async fn with_related<T: Record>(&self, object: T) -> Result<WithRelated<T>, Error> {
        let related = self.related(T::KIND, &[object.id()]).await?;
        Ok(WithRelated { object, related })
    }

    /// A page of objects the caller may list. With `fixed` filters the URL implies (the pool of
    /// `/pools/{id}/members`, ...), the caller was authorized on that parent already and the
    /// page holds its children; otherwise the project scope comes from
    /// [`RequestContext::list_scope`] (a `project_id=` filter included).
    pub(crate) async fn page<T: Record>(
        &self,
        ctx: &RequestContext,
        raw: Option<&str>,
        fixed: &[(&str, &str)],
    ) -> Result<Page<T>, Error> {
        let mut params = self.scoped_params::<T>(ctx, raw, fixed)?;
        let items: Vec<T> = if matches_nothing(&mut params.query)? {
            Vec::new()
        } else {
            self.store.list(&params.query).await?
        };
        let ids: Vec<&str> = items.iter().map(Record::id).collect();
        let related = self.related(T::KIND, &ids).await?;
        Ok(Page {
            params,
            items,
            related,
        })
    }

    /// The ids of a page of objects the caller may list, in order, with the parsed request: for a
    /// caller that holds the objects' views already (see [`Service::with_related_many`]).
    pub async fn list_ids<T: Record>(
        &self,
        ctx: &RequestContext,
        raw: Option<&str>,
    ) -> Result<(ListParams, Vec<String>), Error> {
        let mut params = self.scoped_params::<T>(ctx, raw, &[])?;
        let ids = if matches_nothing(&mut params.query)? {
            Vec::new()
        } else {
            self.store.list_ids::<T>(&params.query).await?
        };
        Ok((params, ids))
    }

    /// The objects among `ids` that exist, with the ids their views list.
    pub async fn with_related_many<T: Record>(
        &self,
        ids: &[&str],
    ) -> Result<(Vec<T>, Related), Error> {
        let items: Vec<T> = self.store.get_many(ids).await?;
        let found: Vec<&str> = items.iter().map(Record::id).collect();
        let related = self.related(T::KIND, &found).await?;
        Ok((items, related))
    }

    /// The parsed list request with the caller's project scope, or the `fixed` filters of a
    /// child list, applied.
    fn scoped_params<T: Record>(
        &self,
        ctx: &RequestContext,
        raw: Option<&str>,
        fixed: &[(&str, &str)],
    ) -> Result<ListParams, Error> {
        let mut params = crate::listing::parse(raw, T::KIND, self.defaults.pagination_max_limit)?;
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
        Ok(params)
    }

    /// The ids the views of the objects `ids` of `kind` list.
    pub(crate) async fn related(&self, kind: Kind, ids: &[&str]) -> Result<Related, Error> {
        let mut related = Related::default();
        for (table, key, value, listed) in relations(kind) {
            let found = self.store.related(*table, key, value, ids).await?;
            related.add(*listed, found);
        }
        Ok(related)
    }
}
