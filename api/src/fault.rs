//! Errors → Octavia's fault body, in one place.
//!
//! Every error the API returns is `{"faultcode": "Client"|"Server", "faultstring": ..., "debuginfo":
//! null}` with the status Octavia uses for it. Client input never produces a 500.
//!
//! The exception are the errors Octavia raises before a controller runs (a method the resource
//! does not have, a client that accepts no JSON): pecan answers those itself, with
//! `{"code": ..., "title": ..., "description": ...}` ([`http_error`]).

use axum::Json;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fulcrum_core::Error;

pub use fulcrum_core::Fault;

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl From<fulcrum_store::StoreError> for ApiError {
    fn from(e: fulcrum_store::StoreError) -> Self {
        ApiError(e.into())
    }
}

/// The HTTP status of an error.
pub fn status_of(e: &Error) -> StatusCode {
    match e {
        Error::NotFound { .. } => StatusCode::NOT_FOUND,
        Error::Immutable { .. } | Error::InvalidState { .. } | Error::Conflict(_) => {
            StatusCode::CONFLICT
        }
        Error::Validation(_) | Error::InvalidInput(_) | Error::BadRequest(_) => {
            StatusCode::BAD_REQUEST
        }
        Error::Forbidden(_) => StatusCode::FORBIDDEN,
        Error::ProviderUnsupported { .. } => StatusCode::NOT_IMPLEMENTED,
        Error::ProviderFailed { .. } | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A fault response with an explicit status and message (for errors outside [`Error`]).
pub fn fault(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(Fault::new(status.as_u16(), message))).into_response()
}

/// The body pecan gives an HTTP error raised while routing, before any controller runs (pecan's
/// `core.py` renders `code`, `title` and `description` for a client that takes JSON; Octavia's
/// `ContentTypeHook` makes every client one).
pub fn http_error(status: StatusCode, description: impl Into<String>) -> Response {
    let body = serde_json::json!({
        "code": status.as_u16(),
        "title": status.canonical_reason().unwrap_or_default(),
        "description": description.into(),
    });
    (status, Json(body)).into_response()
}

/// 405 for a method the resource does not have, with the `Allow` header of those it has (sorted,
/// as pecan's `RestController` lists them) and pecan's body (`abort(405)` gives no description).
pub fn method_not_allowed(allowed: &[Method]) -> Response {
    let mut names: Vec<&str> = allowed.iter().map(Method::as_str).collect();
    names.sort_unstable();
    let mut response = http_error(StatusCode::METHOD_NOT_ALLOWED, "");
    if let Ok(value) = HeaderValue::from_str(&names.join(", ")) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_of(&self.0);
        if status.is_server_error() && status != StatusCode::NOT_IMPLEMENTED {
            tracing::error!(error = %self.0, "request failed");
        }
        let message = match &self.0 {
            Error::Internal(_) => "Internal server error.".to_string(),
            other => other.to_string(),
        };
        fault(status, message)
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
