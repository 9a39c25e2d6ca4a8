//! Who is asking: the [`RequestContext`] every handler receives.
//!
//! Authentication sits behind the [`Authenticator`] seam. The built-in [`NoAuth`] follows Octavia's
//! `noauth` strategy: the project comes from the `X-Project-Id` header (or, on create, from the
//! body's `project_id`), roles from `X-Roles`. A request without a project header acts for every
//! project, as an operator on a development setup expects.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::AppState;
use crate::fault::ApiError;

/// The caller of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// The caller's project, if the request is scoped to one.
    pub project_id: Option<String>,
    /// Whether the caller may see and act on every project.
    pub is_admin: bool,
}

impl RequestContext {
    /// Whether the caller may see an object of `project_id`.
    pub fn can_see(&self, project_id: Option<&str>) -> bool {
        self.is_admin || self.project_id.is_none() || self.project_id.as_deref() == project_id
    }

    /// The project lists are limited to, if any.
    pub fn list_scope(&self) -> Option<&str> {
        if self.is_admin {
            None
        } else {
            self.project_id.as_deref()
        }
    }
}

/// Turns request headers into a [`RequestContext`].
pub trait Authenticator: Send + Sync {
    /// Authenticate a request.
    fn authenticate(&self, headers: &HeaderMap) -> Result<RequestContext, ApiError>;
}

/// Octavia's `noauth` strategy.
#[derive(Debug, Default)]
pub struct NoAuth;

impl Authenticator for NoAuth {
    fn authenticate(&self, headers: &HeaderMap) -> Result<RequestContext, ApiError> {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let project_id = header("x-project-id").or_else(|| header("x-tenant-id"));
        let is_admin = project_id.is_none()
            || header("x-roles").is_some_and(|roles| roles.split(',').any(|r| r.trim() == "admin"));
        Ok(RequestContext {
            project_id,
            is_admin,
        })
    }
}

impl FromRequestParts<Arc<AppState>> for RequestContext {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        state.auth.authenticate(&parts.headers)
    }
}
