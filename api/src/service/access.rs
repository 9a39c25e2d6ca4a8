//! Loading what a request names, and the policy check on it.
//!
//! Octavia checks a rule whose target is an object's owner once it has the object: an object that
//! does not exist is 404, one of a project the rule does not allow the caller on is 403 (even
//! when the caller may not read it: Octavia answers so, and its clients and conformance suite
//! expect it). So the check happens here, where the object is loaded, through the caller's
//! [`RequestContext`](crate::auth::RequestContext). Lists only ever hold what the caller may
//! read.

use fulcrum_core::{Error, validate};
use fulcrum_store::{Record, Tx};

use super::Service;
use crate::auth::RequestContext;

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

impl Service {
    /// Load an object the request may act on: Octavia's 404 when it does not exist (an id that
    /// holds a NUL character names nothing and is not looked up), 403 when the request's policy
    /// rule refuses the caller on its project.
    pub(crate) async fn visible<T: Record + HasProject>(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<T, Error> {
        let found = if validate::storable(id) {
            self.store.get::<T>(id).await?
        } else {
            None
        };
        authorized(ctx, found, id)
    }
}

/// The same, inside a transaction.
pub(crate) async fn visible_in<T: Record + HasProject>(
    tx: &mut Tx,
    ctx: &RequestContext,
    id: &str,
) -> Result<T, Error> {
    let found = if validate::storable(id) {
        tx.get::<T>(id).await?
    } else {
        None
    };
    authorized(ctx, found, id)
}

fn authorized<T: Record + HasProject>(
    ctx: &RequestContext,
    found: Option<T>,
    id: &str,
) -> Result<T, Error> {
    let obj = found.ok_or_else(|| Error::not_found(T::KIND.display_name(), id))?;
    ctx.authorize(obj.project())?;
    Ok(obj)
}

/// The project a new load balancer belongs to (the one the body names, else the caller's),
/// after the request's policy rule allowed the caller to create in it.
pub(crate) fn owner_for_create(
    ctx: &RequestContext,
    requested: Option<String>,
) -> Result<Option<String>, Error> {
    let project = requested.or_else(|| ctx.project_id().map(str::to_owned));
    ctx.authorize(project.as_deref())?;
    Ok(project)
}
