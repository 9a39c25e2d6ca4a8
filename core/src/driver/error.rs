//! [`DriverError`]: how a driver call failed, in kinds a caller can act on.
//!
//! The reconciler decides from the kind alone: [`DriverErrorKind::Transient`] is retried with
//! back-off (never sooner than the backend's `Retry-After`), every other kind leaves the objects
//! in ERROR with the message as their fault. The message is written for the user who owns the
//! load balancer; the source error, when there is one, is for the operator's log.

use std::sync::Arc;
use std::time::Duration;

/// What kind of failure a driver reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriverErrorKind {
    /// Worth retrying: the backend is busy, timed out, refused the connection or rate-limited
    /// the call. `retry_after` is the backend's own hint, when it gave one.
    Transient {
        /// The earliest moment a retry makes sense, as the backend said (`Retry-After`).
        retry_after: Option<Duration>,
    },
    /// The backend cannot realize an option of the tree (Octavia's `UnsupportedOptionError`).
    Unsupported,
    /// The backend refused the driver's credentials.
    Authentication,
    /// Something the driver needs on the backend does not exist.
    NotFound,
    /// The backend holds a conflicting object (revision mismatch, name taken by another owner).
    Conflict,
    /// The driver's own configuration, or metadata handed to it (flavor, availability zone),
    /// is not usable.
    InvalidConfiguration,
    /// The backend refused the configuration it was asked to hold.
    Rejected,
}

impl DriverErrorKind {
    /// A short name for logs and metrics labels.
    pub fn as_str(&self) -> &'static str {
        match self {
            DriverErrorKind::Transient { .. } => "transient",
            DriverErrorKind::Unsupported => "unsupported",
            DriverErrorKind::Authentication => "authentication",
            DriverErrorKind::NotFound => "not_found",
            DriverErrorKind::Conflict => "conflict",
            DriverErrorKind::InvalidConfiguration => "invalid_configuration",
            DriverErrorKind::Rejected => "rejected",
        }
    }
}

/// A failed driver call: its kind, a message a user can read, and the source error for logs.
#[derive(Debug, Clone)]
pub struct DriverError {
    kind: DriverErrorKind,
    message: String,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl DriverError {
    /// An error of `kind` with a user-readable `message`.
    pub fn new(kind: DriverErrorKind, message: impl Into<String>) -> Self {
        DriverError {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// A transient failure without a retry hint.
    pub fn transient(message: impl Into<String>) -> Self {
        Self::new(DriverErrorKind::Transient { retry_after: None }, message)
    }

    /// The backend refused the configuration.
    pub fn rejected(message: impl Into<String>) -> Self {
        Self::new(DriverErrorKind::Rejected, message)
    }

    /// The backend cannot realize a requested option.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(DriverErrorKind::Unsupported, message)
    }

    /// The backend refused the driver's credentials.
    pub fn authentication(message: impl Into<String>) -> Self {
        Self::new(DriverErrorKind::Authentication, message)
    }

    /// Something the driver needs on the backend does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(DriverErrorKind::NotFound, message)
    }

    /// The backend holds a conflicting object (a stale revision, a name another owner holds).
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(DriverErrorKind::Conflict, message)
    }

    /// The driver's configuration or the metadata handed to it is not usable.
    pub fn invalid_configuration(message: impl Into<String>) -> Self {
        Self::new(DriverErrorKind::InvalidConfiguration, message)
    }

    /// The same error, remembering the error that caused it.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// The same error with the backend's retry hint (transient errors only).
    pub fn with_retry_after(mut self, after: Option<Duration>) -> Self {
        if let DriverErrorKind::Transient { retry_after } = &mut self.kind {
            *retry_after = after;
        }
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> DriverErrorKind {
        self.kind
    }

    /// The user-readable message (what the object's fault says).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether a retry may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self.kind, DriverErrorKind::Transient { .. })
    }

    /// The backend's hint of when to retry, for transient errors that carried one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self.kind {
            DriverErrorKind::Transient { retry_after } => retry_after,
            _ => None,
        }
    }
}

impl std::fmt::Display for DriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            DriverErrorKind::Transient { .. } => {
                write!(f, "transient backend error: {}", self.message)
            }
            _ => write!(f, "{}", self.message),
        }
    }
}

impl std::error::Error for DriverError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl PartialEq for DriverError {
    /// Two errors are equal when kind and message are; sources are for logs only.
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.message == other.message
    }
}

impl Eq for DriverError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_hints_belong_to_transient_errors_only() {
        let hint = Some(Duration::from_secs(3));
        let t = DriverError::transient("busy").with_retry_after(hint);
        assert!(t.is_transient());
        assert_eq!(t.retry_after(), hint);
        let r = DriverError::rejected("bad").with_retry_after(hint);
        assert!(!r.is_transient());
        assert_eq!(r.retry_after(), None);
    }

    #[test]
    fn the_source_is_kept_for_logs_and_the_message_for_users() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = DriverError::transient("the backend cannot be reached").with_source(io);
        assert_eq!(e.message(), "the backend cannot be reached");
        assert_eq!(
            std::error::Error::source(&e).map(|s| s.to_string()),
            Some("refused".to_string())
        );
        assert_eq!(e.kind().as_str(), "transient");
    }
}
