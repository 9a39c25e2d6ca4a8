//! Who is calling: HTTP basic authentication, or a token from `POST /mgmt/shared/authn/login`
//! sent as `X-F5-Auth-Token`.
//!
//! A token belongs to the device that issued it and lives for its timeout (configurable; 1200 s
//! on a BIG-IP), which `PATCH /mgmt/shared/authz/tokens/{token}` `{"timeout": s}` can extend.
//! An unknown or expired token is answered 401, as iControl REST answers it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;

/// The header that carries a token.
pub const TOKEN_HEADER: &str = "x-f5-auth-token";

/// A user name and password the simulated devices accept.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
}

/// Why a call is not authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No credentials, or wrong ones.
    BadCredentials,
    /// A token that is not known to this device, or that has expired.
    TokenInvalid,
}

#[derive(Debug)]
struct Token {
    device: usize,
    expires: Instant,
}

/// A new token.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// The token.
    pub token: String,
    /// Its lifetime in seconds.
    pub timeout: u64,
}

/// The accepted credentials and the live tokens.
#[derive(Debug)]
pub struct Authenticator {
    credentials: Credentials,
    lifetime: Duration,
    tokens: HashMap<String, Token>,
}

impl Authenticator {
    /// Accept `credentials`; tokens last `lifetime` unless extended.
    pub fn new(credentials: Credentials, lifetime: Duration) -> Self {
        Self {
            credentials,
            lifetime,
            tokens: HashMap::new(),
        }
    }

    /// Log in to `device`.
    pub fn login(
        &mut self,
        device: usize,
        username: &str,
        password: &str,
        now: Instant,
    ) -> Result<NewToken, AuthError> {
        if username != self.credentials.username || password != self.credentials.password {
            return Err(AuthError::BadCredentials);
        }
        let token = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
        self.tokens.insert(
            token.clone(),
            Token {
                device,
                expires: now + self.lifetime,
            },
        );
        Ok(NewToken {
            token,
            timeout: self.lifetime.as_secs(),
        })
    }

    /// Give a live token of `device` a new lifetime from now.
    pub fn extend(
        &mut self,
        device: usize,
        token: &str,
        timeout: Duration,
        now: Instant,
    ) -> Result<(), AuthError> {
        let token = self
            .tokens
            .get_mut(token)
            .filter(|t| t.device == device && t.expires > now)
            .ok_or(AuthError::TokenInvalid)?;
        token.expires = now + timeout;
        Ok(())
    }

    /// The user a call to `device` comes from: a live token, else basic credentials.
    pub fn authenticate(
        &mut self,
        device: usize,
        headers: &HeaderMap,
        now: Instant,
    ) -> Result<String, AuthError> {
        if let Some(token) = headers.get(TOKEN_HEADER) {
            self.tokens.retain(|_, t| t.expires > now);
            let known = token
                .to_str()
                .ok()
                .and_then(|token| self.tokens.get(token))
                .is_some_and(|t| t.device == device);
            return if known {
                Ok(self.credentials.username.clone())
            } else {
                Err(AuthError::TokenInvalid)
            };
        }
        let expected = format!(
            "Basic {}",
            base64(
                format!(
                    "{}:{}",
                    self.credentials.username, self.credentials.password
                )
                .as_bytes()
            )
        );
        match headers.get(AUTHORIZATION) {
            Some(value) if value.as_bytes() == expected.as_bytes() => {
                Ok(self.credentials.username.clone())
            }
            _ => Err(AuthError::BadCredentials),
        }
    }
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn authenticator() -> Authenticator {
        Authenticator::new(
            Credentials {
                username: "admin".into(),
                password: "secret".into(),
            },
            Duration::from_secs(60),
        )
    }

    #[test]
    fn basic_credentials_are_checked() {
        assert_eq!(base64(b"admin:secret"), "YWRtaW46c2VjcmV0");
        let mut auth = authenticator();
        let mut headers = HeaderMap::new();
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_static("Basic YWRtaW46c2VjcmV0"),
        );
        assert!(auth.authenticate(0, &headers, Instant::now()).is_ok());
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_static("Basic YWRtaW46YWRtaW4="),
        );
        assert_eq!(
            auth.authenticate(0, &headers, Instant::now()),
            Err(AuthError::BadCredentials)
        );
    }

    #[test]
    fn a_token_works_on_its_device_until_it_expires() {
        let mut auth = authenticator();
        let now = Instant::now();
        let token = auth.login(0, "admin", "secret", now).unwrap().token;
        let mut headers = HeaderMap::new();
        headers.insert(TOKEN_HEADER, HeaderValue::from_str(&token).unwrap());
        assert!(auth.authenticate(0, &headers, now).is_ok());
        assert_eq!(
            auth.authenticate(1, &headers, now),
            Err(AuthError::TokenInvalid)
        );
        let later = now + Duration::from_secs(61);
        assert_eq!(
            auth.authenticate(0, &headers, later),
            Err(AuthError::TokenInvalid)
        );
    }
}
