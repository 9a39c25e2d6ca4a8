//! NSX's error body, and the one error type every Policy API handler answers with.
//!
//! NSX answers every failure with a JSON body of `httpStatus`, `error_code`, `module_name` and
//! `error_message` (and `related_errors` for field-level validation). Drivers classify failures
//! by the status and the code, so the simulator uses the codes NSX uses where they are known.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// NSX's code for a body that fails field-level validation.
pub const FIELD_VALIDATION: i64 = 255;
/// NSX's code for a request body that is not the JSON the operation takes.
pub const INVALID_REQUEST: i64 = 225;
/// NSX's code for a path (in a body or a reference) that names no object.
pub const INVALID_PATH: i64 = 500012;
/// NSX's code for deleting an object that other objects still reference.
pub const STILL_REFERENCED: i64 = 500030;
/// NSX's code for a child of the hierarchical API it cannot place.
pub const INVALID_CHILD: i64 = 500040;
/// NSX's code for an object that does not exist.
pub const NOT_FOUND: i64 = 600;
/// NSX's code for a `_revision` that is not the stored one.
pub const STALE_REVISION: i64 = 604;
/// NSX's code for a session that has expired or is not known (the client logs in again).
pub const SESSION_INVALID: i64 = 98;
/// NSX's code for credentials that are wrong.
pub const BAD_CREDENTIALS: i64 = 403;
/// The code of a 403 for an operation the caller's role does not allow (the simulator's choice:
/// any code but 98 and 403 tells a client that logging in again will not help).
pub const NOT_PERMITTED: i64 = 401;
/// The code of a 403 for a change to an object another principal identity protects (the
/// simulator's choice, distinct from 98 and 403).
pub const PROTECTED_OBJECT: i64 = 520013;
/// NSX's code for a client over its request rate.
pub const TOO_MANY_REQUESTS: i64 = 102;
/// NSX's code for a manager that cannot serve the request now.
pub const SERVICE_UNAVAILABLE: i64 = 101;

/// A failure of a Policy API call, answered as NSX answers it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status} (error_code {error_code}): {message}")]
pub struct NsxError {
    /// The HTTP status.
    pub status: StatusCode,
    /// NSX's error code.
    pub error_code: i64,
    /// The NSX module that reports it.
    pub module: &'static str,
    /// The message.
    pub message: String,
    /// Field-level errors behind a validation failure.
    pub related: Vec<String>,
}

impl NsxError {
    fn new(status: StatusCode, error_code: i64, module: &'static str, message: String) -> Self {
        Self {
            status,
            error_code,
            module,
            message,
            related: Vec::new(),
        }
    }

    /// 400 with a code and message of the policy module.
    pub fn bad_request(error_code: i64, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            error_code,
            "Policy",
            message.into(),
        )
    }

    /// 400 for a body that fails the schema, with one related error per violation.
    pub fn validation(path: &str, violations: Vec<String>) -> Self {
        let first = violations.first().cloned().unwrap_or_default();
        let mut error = Self::new(
            StatusCode::BAD_REQUEST,
            FIELD_VALIDATION,
            "common-services",
            format!("Field level validation errors for {path}: {first}"),
        );
        error.related = violations;
        error
    }

    /// 404 for an object that does not exist.
    pub fn not_found(path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            NOT_FOUND,
            "common-services",
            format!(
                "The requested object : {path} could not be found. Object identifiers are case sensitive."
            ),
        )
    }

    /// 412 for a `_revision` that is not the stored one.
    pub fn stale_revision(path: &str, detail: &str) -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            STALE_REVISION,
            "common-services",
            format!("The object {path} was modified by somebody else ({detail}). Please retry."),
        )
    }

    /// 403 with code 98: the session is unknown or expired.
    pub fn session_invalid() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            SESSION_INVALID,
            "common-services",
            "The session is invalid or has expired; create a new one.".into(),
        )
    }

    /// 403 for wrong or missing credentials.
    pub fn bad_credentials() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            BAD_CREDENTIALS,
            "common-services",
            "The credentials were incorrect or the account specified has been locked.".into(),
        )
    }

    /// 403 for an operation the caller's role does not allow.
    pub fn not_permitted(user: &str, method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            NOT_PERMITTED,
            "common-services",
            format!("The user {user} does not have permission to {method} {path}."),
        )
    }

    /// 403 for a change to an object `owner`, a principal identity, protects.
    pub fn protected(path: &str, owner: &str, user: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            PROTECTED_OBJECT,
            "Policy",
            format!(
                "{user} may not modify or delete {path}: it is owned by the principal identity \
                 {owner}. Send X-Allow-Overwrite: true to change it anyway."
            ),
        )
    }

    /// 429 for a client over the manager's request rate.
    pub fn too_many_requests(rate: f64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            TOO_MANY_REQUESTS,
            "common-services",
            format!("Client has exceeded the request rate of {rate} per second."),
        )
    }

    /// An injected server-side failure with the given 5xx status.
    pub fn injected(status: StatusCode) -> Self {
        Self::new(
            status,
            SERVICE_UNAVAILABLE,
            "common-services",
            "Some appliance components are not functioning properly.".into(),
        )
    }

    /// The JSON body NSX sends with this error.
    pub fn body(&self) -> serde_json::Value {
        let http_status = self
            .status
            .canonical_reason()
            .unwrap_or("UNKNOWN")
            .to_ascii_uppercase()
            .replace(' ', "_");
        let mut body = json!({
            "httpStatus": http_status,
            "error_code": self.error_code,
            "module_name": self.module,
            "error_message": self.message,
        });
        if !self.related.is_empty() {
            body["related_errors"] = self
                .related
                .iter()
                .map(|message| {
                    json!({
                        "error_code": self.error_code,
                        "module_name": self.module,
                        "error_message": message,
                    })
                })
                .collect();
        }
        body
    }
}

impl IntoResponse for NsxError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}
