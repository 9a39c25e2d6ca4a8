//! The middleware every routed request passes: authenticate, find the route's policy rule (none for
//! a method the route does not serve: 405), check rules that target the caller's own project, hand
//! the [`RequestContext`] to the handler, and make sure rules that target an object were checked
//! before a success leaves.

use std::sync::Arc;

use axum::Json;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::RequestContext;
use super::authenticator::{AuthError, Authenticator};
use crate::fault::{fault, method_not_allowed};
use crate::policy::actions::{Governed, PUBLIC_PATHS, TargetFrom, for_route};
use crate::policy::{FORBIDDEN, Policy};

/// What the gate checks requests with.
#[derive(Clone)]
pub struct Gate {
    /// Who is asking.
    pub auth: Arc<dyn Authenticator>,
    /// What they may do.
    pub policy: Arc<Policy>,
}

/// Authenticate and authorize one request.
pub async fn gate(
    State(state): State<Gate>,
    matched: Option<MatchedPath>,
    mut request: Request,
    next: Next,
) -> Response {
    if PUBLIC_PATHS.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let creds = match state.auth.authenticate(request.headers()).await {
        Ok(creds) => creds,
        Err(AuthError::Unauthorized) => return unauthorized(state.auth.www_authenticate()),
        Err(AuthError::Unavailable(reason)) => {
            tracing::error!(%reason, "cannot validate a token");
            return fault(
                StatusCode::SERVICE_UNAVAILABLE,
                "The identity service could not be reached to validate the token.",
            );
        }
    };
    let route = matched.as_ref().map(MatchedPath::as_str).unwrap_or("");
    let governed = match for_route(request.method(), route) {
        Some(governed) => governed,
        None => {
            let allowed = allowed_methods(route);
            if !allowed.is_empty() {
                return method_not_allowed(&allowed);
            }
            tracing::error!(method = %request.method(), route, "route has no policy rule");
            return fault(StatusCode::FORBIDDEN, FORBIDDEN);
        }
    };
    let action = match governed {
        Governed::Rule(action) => Some(action),
        Governed::AuthenticationOnly => None,
    };
    let ctx = RequestContext::new(creds, state.policy.clone(), action);
    match action {
        Some(action) if action.target == TargetFrom::Caller => {
            if let Err(e) = ctx.authorize(ctx.project_id()) {
                return crate::fault::ApiError(e).into_response();
            }
        }
        None => ctx.mark_authorized(),
        Some(_) => {}
    }
    request.extensions_mut().insert(fulcrum_core::Caller {
        user_id: ctx.user_id().map(str::to_owned),
        project_id: ctx.project_id().map(str::to_owned),
    });
    request.extensions_mut().insert(ctx.clone());
    let response = next.run(request).await;
    if response.status().is_success() && !ctx.was_authorized() {
        tracing::error!(
            route,
            "a success was about to leave without its policy check"
        );
        return fault(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error.");
    }
    response
}

/// The methods a route serves: those with a policy rule (every served method has one, a unit test
/// of the router makes sure). A route's other methods are 405, as pecan answers them.
fn allowed_methods(route: &str) -> Vec<Method> {
    [Method::GET, Method::POST, Method::PUT, Method::DELETE]
        .into_iter()
        .filter(|method| for_route(method, route).is_some())
        .collect()
}

/// keystonemiddleware's 401.
fn unauthorized(www_authenticate: Option<String>) -> Response {
    let body = json!({"error": {
        "code": 401,
        "title": "Unauthorized",
        "message": "The request you have made requires authentication.",
    }});
    let mut response = (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    if let Some(value) = www_authenticate.and_then(|v| HeaderValue::from_str(&v).ok()) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}
