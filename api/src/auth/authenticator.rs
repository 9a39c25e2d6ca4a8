//! The [`Authenticator`] seam: how request headers become the caller's credentials.

use axum::http::HeaderMap;

use crate::policy::Credentials;

/// Why a request could not be authenticated.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    /// No token, or one the identity service does not accept (unknown, expired, revoked).
    #[error("the request you have made requires authentication")]
    Unauthorized,
    /// The identity service could not be asked. The text is for the log, never for the client.
    #[error("identity service unavailable: {0}")]
    Unavailable(String),
}

/// Turns request headers into the caller's credentials.
#[async_trait::async_trait]
pub trait Authenticator: Send + Sync {
    /// Authenticate a request. `is_admin` in the result forces administrator rights (noauth's
    /// unscoped caller); otherwise the policy's `context_is_admin` decides.
    async fn authenticate(&self, headers: &HeaderMap) -> Result<Credentials, AuthError>;

    /// The `WWW-Authenticate` value sent with a 401, if the strategy has one.
    fn www_authenticate(&self) -> Option<String> {
        None
    }
}
