//! Who is asking and what they may do: the [`RequestContext`] every handler receives.
//!
//! Authentication sits behind the [`Authenticator`] seam: [`NoAuth`] follows Octavia's `noauth`
//! strategy (project and roles from headers), [`keystone::Keystone`] validates `X-Auth-Token`s
//! with Keystone. The [`gate`] middleware authenticates every request, finds the policy rule of
//! the route, and checks rules whose target is the caller's own project before the handler runs.
//! Rules whose target is an object's owner are checked by the handler's service code once it has
//! loaded the object ([`RequestContext::authorize`]); the gate refuses to let a successful response
//! out if that never happened.

pub mod authenticator;
pub mod gate;
pub mod keystone;
pub mod noauth;
mod single_flight;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use fulcrum_core::Error;

pub use authenticator::{AuthError, Authenticator};
pub use noauth::NoAuth;

use crate::fault::ApiError;
use crate::policy::actions::Action;
use crate::policy::{Credentials, FORBIDDEN, Policy, Target};

/// The caller of a request, the policy in force and the rule governing the request.
#[derive(Debug, Clone)]
pub struct RequestContext {
    creds: Credentials,
    policy: Arc<Policy>,
    action: Option<Action>,
    authorized: Arc<AtomicBool>,
}

impl RequestContext {
    /// A context for `creds` under `policy`, for a request governed by `action`.
    pub fn new(mut creds: Credentials, policy: Arc<Policy>, action: Option<Action>) -> Self {
        creds.is_admin = creds.is_admin || policy.is_admin(&creds);
        RequestContext {
            creds,
            policy,
            action,
            authorized: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The caller's user, if the token names one.
    pub fn user_id(&self) -> Option<&str> {
        self.creds.user_id.as_deref()
    }

    /// The caller's project, if the request is scoped to one.
    pub fn project_id(&self) -> Option<&str> {
        self.creds.project_id.as_deref()
    }

    /// Whether the caller is an administrator (Octavia's `context_is_admin`, or noauth without a
    /// project).
    pub fn is_admin(&self) -> bool {
        self.creds.is_admin
    }

    /// Whether `rule` lets the caller act on objects of `project`.
    pub fn allows(&self, rule: &str, project: Option<&str>) -> bool {
        self.policy.allows(
            rule,
            &self.creds,
            Target {
                project_id: project,
            },
        )
    }

    /// Check `rule` on `project`: Octavia's 403 if it does not allow the caller.
    pub fn require(&self, rule: &str, project: Option<&str>) -> Result<(), Error> {
        if self.allows(rule, project) {
            Ok(())
        } else {
            Err(Error::Forbidden(FORBIDDEN.into()))
        }
    }

    /// Check the request's own rule on an object of `project` (403 when refused) and record that
    /// the request was authorized.
    pub fn authorize(&self, project: Option<&str>) -> Result<(), Error> {
        if let Some(action) = self.action {
            self.require(action.rule, project)?;
        }
        self.mark_authorized();
        Ok(())
    }

    /// The project filter of a list (Octavia's `_auth_get_all`): `None` lists every project (or
    /// the requested one) for callers the resource's `get_all-global` rule allows; otherwise the
    /// caller's project (or the requested one) after its `get_all` check.
    pub fn list_scope(&self, requested: Option<&str>) -> Result<Option<String>, Error> {
        let Some(action) = self.action else {
            self.mark_authorized();
            return Ok(if self.is_admin() {
                requested.map(str::to_owned)
            } else {
                self.project_id().map(str::to_owned)
            });
        };
        if self.allows(&action.sibling("get_all-global"), requested) {
            self.mark_authorized();
            return Ok(requested.map(str::to_owned));
        }
        let project = requested
            .map(str::to_owned)
            .or_else(|| self.project_id().map(str::to_owned))
            .ok_or_else(|| Error::Forbidden(FORBIDDEN.into()))?;
        self.authorize(Some(&project))?;
        Ok(Some(project))
    }

    /// Record that the request's rule was checked.
    pub fn mark_authorized(&self) {
        self.authorized.store(true, Ordering::Release);
    }

    /// Whether the request's rule was checked.
    pub fn was_authorized(&self) -> bool {
        self.authorized.load(Ordering::Acquire)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestContext {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<RequestContext>()
            .cloned()
            .ok_or_else(|| ApiError(Error::Internal("request was not authenticated".into())))
    }
}
