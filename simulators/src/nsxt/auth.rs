//! Who is calling: HTTP basic authentication, or a session made by `POST /api/session/create`.
//!
//! A session is a `JSESSIONID` cookie plus the `X-XSRF-TOKEN` header the creating response
//! carried; both must come with each call. An unknown or expired session is answered 403 with
//! `error_code` 98, which tells an NSX client to log in again.
//!
//! Besides the administrator, an auditor may be configured: NSX's read-only role, whose writes
//! are refused with a 403 of another code, so that a client can be seen telling a refused
//! operation from an expired session.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, COOKIE};

use super::error::NsxError;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "JSESSIONID";
/// The header that carries a session's anti-forgery token.
pub const XSRF_HEADER: &str = "x-xsrf-token";

/// A user name and password the simulated manager accepts.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
}

#[derive(Debug)]
struct Session {
    xsrf_token: String,
    user: User,
    expires: Instant,
}

/// Who a request comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The user name.
    pub name: String,
    /// Whether the user has the auditor role: reads only.
    pub read_only: bool,
}

/// A new session: the cookie value and the token to send with it.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The `JSESSIONID` value.
    pub id: String,
    /// The `X-XSRF-TOKEN` value.
    pub xsrf_token: String,
}

/// The accepted credentials and the live sessions.
#[derive(Debug)]
pub struct Authenticator {
    credentials: Credentials,
    auditor: Option<Credentials>,
    lifetime: Duration,
    sessions: HashMap<String, Session>,
}

impl Authenticator {
    /// Accept `credentials` and, read-only, `auditor`; sessions last `lifetime`.
    pub fn new(credentials: Credentials, auditor: Option<Credentials>, lifetime: Duration) -> Self {
        Self {
            credentials,
            auditor,
            lifetime,
            sessions: HashMap::new(),
        }
    }

    /// The user these credentials are, if they are right.
    fn user(&self, username: &str, password: &str) -> Option<User> {
        let matches = |c: &Credentials| c.username == username && c.password == password;
        if matches(&self.credentials) {
            return Some(User {
                name: username.to_owned(),
                read_only: false,
            });
        }
        self.auditor.as_ref().filter(|c| matches(c)).map(|_| User {
            name: username.to_owned(),
            read_only: true,
        })
    }

    /// Log in with a user name and password (the form fields `j_username`, `j_password`).
    pub fn create_session(
        &mut self,
        username: &str,
        password: &str,
    ) -> Result<NewSession, NsxError> {
        let user = self
            .user(username, password)
            .ok_or_else(NsxError::bad_credentials)?;
        let session = NewSession {
            id: uuid::Uuid::new_v4().simple().to_string(),
            xsrf_token: uuid::Uuid::new_v4().to_string(),
        };
        self.sessions.insert(
            session.id.clone(),
            Session {
                xsrf_token: session.xsrf_token.clone(),
                user,
                expires: Instant::now() + self.lifetime,
            },
        );
        Ok(session)
    }

    /// End every session now, as a manager restart or an idle timeout does.
    pub fn expire_all(&mut self) {
        self.sessions.clear();
    }

    /// The user a request comes from: basic credentials, else a live session.
    pub fn authenticate(&mut self, headers: &HeaderMap) -> Result<User, NsxError> {
        if let Some(authorization) = headers.get(AUTHORIZATION) {
            let basic = |c: &Credentials| {
                format!(
                    "Basic {}",
                    base64(format!("{}:{}", c.username, c.password).as_bytes())
                )
            };
            return std::iter::once(&self.credentials)
                .chain(&self.auditor)
                .find(|c| authorization.as_bytes() == basic(c).as_bytes())
                .and_then(|c| self.user(&c.username, &c.password))
                .ok_or_else(NsxError::bad_credentials);
        }
        let Some(id) = session_cookie(headers) else {
            return Err(NsxError::bad_credentials());
        };
        let now = Instant::now();
        self.sessions.retain(|_, session| session.expires > now);
        let session = self
            .sessions
            .get(id)
            .ok_or_else(NsxError::session_invalid)?;
        let token = headers.get(XSRF_HEADER).and_then(|v| v.to_str().ok());
        if token != Some(session.xsrf_token.as_str()) {
            return Err(NsxError::session_invalid());
        }
        Ok(session.user.clone())
    }
}

fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
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
    use super::*;

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64(b"admin:admin"), "YWRtaW46YWRtaW4=");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
    }
}
