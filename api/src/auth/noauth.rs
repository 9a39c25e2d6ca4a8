//! Octavia's `noauth` strategy, for development and standalone use.
//!
//! The project comes from `X-Project-Id` (or `X-Tenant-Id`), roles from `X-Roles` (comma-separated;
//! a project-scoped caller without the header is a member and reader of it), the user from
//! `X-User-Id`. A request without a project acts as an administrator for every project.

use axum::http::HeaderMap;

use super::authenticator::{AuthError, Authenticator};
use crate::policy::Credentials;

/// Octavia's `noauth` strategy.
#[derive(Debug, Default)]
pub struct NoAuth;

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The credentials noauth headers describe.
pub fn credentials(headers: &HeaderMap) -> Credentials {
    let project_id = header(headers, "x-project-id").or_else(|| header(headers, "x-tenant-id"));
    let roles: Vec<String> = match header(headers, "x-roles") {
        Some(list) => list
            .split(',')
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .collect(),
        None => vec!["member".into(), "reader".into()],
    };
    Credentials {
        is_admin: project_id.is_none(),
        project_id,
        user_id: header(headers, "x-user-id"),
        roles,
    }
}

#[async_trait::async_trait]
impl Authenticator for NoAuth {
    async fn authenticate(&self, headers: &HeaderMap) -> Result<Credentials, AuthError> {
        Ok(credentials(headers))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn headers_become_credentials() {
        let unscoped = credentials(&HeaderMap::new());
        assert!(unscoped.is_admin);
        assert_eq!(unscoped.project_id, None);

        let mut h = HeaderMap::new();
        h.insert("x-project-id", HeaderValue::from_static("p1"));
        let scoped = credentials(&h);
        assert!(!scoped.is_admin);
        assert_eq!(scoped.roles, vec!["member", "reader"]);

        h.insert("x-roles", HeaderValue::from_static("reader, admin"));
        assert_eq!(credentials(&h).roles, vec!["reader", "admin"]);
    }
}
