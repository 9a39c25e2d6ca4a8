//! The error bodies a BIG-IP answers with, and the one error type every handler returns.
//!
//! iControl REST answers `{"code", "message", "errorStack", "apiError"}`; the REST framework's
//! authentication failures add `"kind": ":resterrorresponse"`; AS3 answers a declaration that
//! fails its schema or reference checks `{"code": 422, "message": "declaration is invalid",
//! "errors": [...]}`, and a busy device `{"code": 503, "message": "Configuration operation in
//! progress on device, please try again in 2 minutes"}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// AS3's message for a device already applying a declaration.
pub const IN_PROGRESS: &str =
    "Configuration operation in progress on device, please try again in 2 minutes";

/// A failed call, answered as a BIG-IP answers it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status}: {body}")]
pub struct F5Error {
    /// The HTTP status.
    pub status: StatusCode,
    /// The body.
    pub body: Value,
}

impl F5Error {
    /// iControl REST's error body.
    pub fn icontrol(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            body: json!({
                "code": status.as_u16(),
                "message": message.into(),
                "errorStack": [],
                "apiError": 3,
            }),
        }
    }

    /// A path the device does not serve.
    pub fn not_found(path: &str) -> Self {
        Self::icontrol(
            StatusCode::NOT_FOUND,
            format!("Public URI path not registered: {path}"),
        )
    }

    /// A body that is not what the call takes.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::icontrol(StatusCode::BAD_REQUEST, message)
    }

    /// Authentication failed.
    pub fn unauthorized(message: &str) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            body: json!({
                "code": 401,
                "message": message,
                "referer": "127.0.0.1",
                "restOperationId": 0,
                "errorStack": [],
                "kind": ":resterrorresponse",
            }),
        }
    }

    /// An error the fault plan injected.
    pub fn injected(status: StatusCode) -> Self {
        Self::icontrol(status, "injected by the simulator's fault plan")
    }

    /// AS3's answer while the device applies another declaration.
    pub fn in_progress() -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            body: json!({ "code": 503, "message": IN_PROGRESS }),
        }
    }

    /// The standby device refusing a declaration.
    pub fn standby(hostname: &str) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            body: json!({
                "code": 503,
                "message": format!(
                    "declaration refused: {hostname} is the standby device of its pair; declare on the active device"
                ),
            }),
        }
    }

    /// AS3's answer to a declaration that fails validation: what is wrong, and where.
    pub fn invalid(errors: Vec<String>) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            body: invalid_body(errors),
        }
    }
}

/// AS3's body for a declaration that fails validation.
pub fn invalid_body(errors: Vec<String>) -> Value {
    json!({
        "code": 422,
        "message": "declaration is invalid",
        "errors": errors,
        "declarationFullId": "",
    })
}

impl IntoResponse for F5Error {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}
