//! Errors → Octavia's fault body, in one place.
//!
//! Every error the API returns is `{"faultcode": "Client"|"Server", "faultstring": ..., "debuginfo":
//! null}` with the status Octavia uses for it. Client input never produces a 500.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fulcrum_core::Error;
use serde::Serialize;

/// Octavia's fault body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Fault {
    /// "Client" for 4xx, "Server" otherwise.
    pub faultcode: &'static str,
    /// What went wrong.
    pub faultstring: String,
    /// Always null.
    pub debuginfo: Option<String>,
}

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
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A fault response with an explicit status and message (for errors outside [`Error`]).
pub fn fault(status: StatusCode, message: impl Into<String>) -> Response {
    let body = Fault {
        faultcode: if status.is_client_error() {
            "Client"
        } else {
            "Server"
        },
        faultstring: message.into(),
        debuginfo: None,
    };
    (status, Json(body)).into_response()
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
