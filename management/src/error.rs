//! [`ManagementError`]: the one error type of the management module, and its HTTP answer (the
//! same fault body as the Octavia API, [`Fault`]: `faultcode`, `faultstring`, `debuginfo`).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fulcrum_core::Fault;
use fulcrum_store::StoreError;

/// What can go wrong in management.
#[derive(Debug, thiserror::Error)]
pub enum ManagementError {
    /// The request is malformed or names something impossible; the text says what.
    #[error("{0}")]
    BadRequest(String),
    /// The object named does not exist.
    #[error("{kind} {id} not found.")]
    NotFound {
        /// Its kind (`Device`, `Alert`, ...).
        kind: &'static str,
        /// The id asked for.
        id: String,
    },
    /// The request conflicts with the object's state (a duplicate, a campaign already running).
    #[error("{0}")]
    Conflict(String),
    /// A device refused or failed an operation.
    #[error("device {device}: {message}")]
    Device {
        /// The device.
        device: String,
        /// What happened.
        message: String,
    },
    /// The database failed.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// A database query failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The key that seals secrets could not be had.
    #[error("{0}")]
    Secrets(#[from] crate::secrets::SecretError),
}

impl ManagementError {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            ManagementError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ManagementError::NotFound { .. } => StatusCode::NOT_FOUND,
            ManagementError::Conflict(_) | ManagementError::Store(StoreError::Conflict(_)) => {
                StatusCode::CONFLICT
            }
            ManagementError::Device { .. } => StatusCode::BAD_GATEWAY,
            ManagementError::Store(_)
            | ManagementError::Database(_)
            | ManagementError::Secrets(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ManagementError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "management request failed");
            "Internal server error.".to_owned()
        } else {
            self.to_string()
        };
        (status, Json(Fault::new(status.as_u16(), message))).into_response()
    }
}

/// What the document says of a 502, the answer of an operation a device failed
/// ([`ManagementError::Device`]).
pub const DEVICE_FAILED: &str =
    "Bad gateway: the device could not be reached or failed the operation";

/// The result of a management operation.
pub type ManagementResult<T> = Result<T, ManagementError>;
