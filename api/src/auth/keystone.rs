//! Keystone token validation, as keystonemiddleware's `auth_token` does it for Octavia.
//!
//! Every request's `X-Auth-Token` is validated with `GET /v3/auth/tokens` (`X-Subject-Token`),
//! authenticated with Fulcrum's own service token, which is obtained with the configured
//! password and obtained again before it expires or when Keystone stops accepting it. Validations
//! are cached (by a SHA-256 of the token) until the token expires or `cache_seconds` pass; so are
//! tokens Keystone refuses, for `cache_seconds`, as keystonemiddleware caches invalid tokens, so
//! that a client retrying a bad token costs Keystone one validation per window. A
//! Keystone that cannot be reached is [`AuthError::Unavailable`] (503), never an open door. The
//! service password is sent to Keystone only and never logged.
//!
//! A slow or hung Keystone must not make requests wait for each other: validations of different
//! tokens run concurrently (at most `max_concurrent_validations` at once; a request that cannot
//! get a turn within `timeout_seconds` is 503), requests with the same token share one
//! validation, and all requests share one request for the service token, whatever its outcome.
//! So every request is answered within about two timeouts, however many arrive together.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use tokio::sync::Semaphore;

use super::authenticator::{AuthError, Authenticator};
use super::single_flight::SingleFlight;
use crate::policy::Credentials;

/// `[auth.keystone]`: where Keystone is and who Fulcrum is to it.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeystoneConfig {
    /// Keystone's v3 endpoint, e.g. `http://keystone:5000/v3`.
    pub auth_url: String,
    /// What 401 answers send clients to (`WWW-Authenticate: Keystone uri="..."`); defaults to
    /// `auth_url`.
    #[serde(default)]
    pub www_authenticate_uri: Option<String>,
    /// Fulcrum's service user (it needs the `service` or `admin` role to validate tokens).
    pub username: String,
    /// Its password.
    pub password: String,
    /// The project its token is scoped to.
    pub project_name: String,
    /// The user's domain.
    #[serde(default = "default_domain")]
    pub user_domain_name: String,
    /// The project's domain.
    #[serde(default = "default_domain")]
    pub project_domain_name: String,
    /// Longest a validated token is trusted without asking Keystone again (never past its
    /// expiry).
    #[serde(default = "default_cache_seconds")]
    pub cache_seconds: u64,
    /// Timeout of each call to Keystone.
    #[serde(default = "default_timeout_seconds")]
    pub timeout_seconds: u64,
    /// Most token validations sent to Keystone at once.
    #[serde(default = "default_max_concurrent_validations")]
    pub max_concurrent_validations: usize,
}

fn default_domain() -> String {
    "Default".into()
}

fn default_cache_seconds() -> u64 {
    300
}

fn default_timeout_seconds() -> u64 {
    5
}

fn default_max_concurrent_validations() -> usize {
    32
}

impl std::fmt::Debug for KeystoneConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeystoneConfig")
            .field("auth_url", &self.auth_url)
            .field("www_authenticate_uri", &self.www_authenticate_uri)
            .field("username", &self.username)
            .field("password", &"***")
            .field("project_name", &self.project_name)
            .field("user_domain_name", &self.user_domain_name)
            .field("project_domain_name", &self.project_domain_name)
            .field("cache_seconds", &self.cache_seconds)
            .field("timeout_seconds", &self.timeout_seconds)
            .field(
                "max_concurrent_validations",
                &self.max_concurrent_validations,
            )
            .finish()
    }
}

/// Most validated tokens kept at once.
const CACHE_CAPACITY: usize = 10_000;

/// A service token is renewed this long before it expires, or after half its lifetime if that
/// is sooner (as keystoneauth does), so that no validation is sent with a token about to expire.
const RENEW_MARGIN: Duration = Duration::from_secs(120);

#[derive(Clone)]
struct ServiceToken {
    token: String,
    renew_at: Instant,
}

/// What a validation found: the caller and how long the token lives.
type Validation = Result<(Credentials, Duration), AuthError>;

/// What the cache remembers of a token until `until`: its credentials, or `None` for a token
/// Keystone said it does not know (unknown, expired or revoked).
struct Cached {
    creds: Option<Credentials>,
    until: Instant,
}

/// The Keystone strategy.
pub struct Keystone {
    config: KeystoneConfig,
    base: String,
    http: reqwest::Client,
    timeout: Duration,
    /// The service token in use.
    service: std::sync::Mutex<Option<ServiceToken>>,
    /// The one request for a service token in flight.
    service_request: SingleFlight<(), Result<String, AuthError>>,
    cache: std::sync::Mutex<HashMap<[u8; 32], Cached>>,
    /// Validations in flight, by token digest.
    validations: SingleFlight<[u8; 32], Validation>,
    /// Turns to validate with Keystone.
    turns: Semaphore,
}

impl std::fmt::Debug for Keystone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keystone")
            .field("config", &self.config)
            .finish()
    }
}

#[derive(Deserialize)]
struct TokenBody {
    token: TokenData,
}

#[derive(Deserialize)]
struct TokenData {
    expires_at: String,
    #[serde(default)]
    user: Option<Named>,
    #[serde(default)]
    project: Option<Named>,
    #[serde(default)]
    roles: Vec<Named>,
}

#[derive(Deserialize)]
struct Named {
    id: Option<String>,
    name: Option<String>,
}

impl Keystone {
    /// A validator for `config`.
    pub fn new(config: KeystoneConfig) -> Result<Keystone, String> {
        let timeout = Duration::from_secs(config.timeout_seconds.max(1));
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let base = config.auth_url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(format!(
                "auth.keystone.auth_url {base:?} is not an http(s) URL"
            ));
        }
        Ok(Keystone {
            turns: Semaphore::new(config.max_concurrent_validations.max(1)),
            config,
            base,
            http,
            timeout,
            service: std::sync::Mutex::new(None),
            service_request: SingleFlight::default(),
            cache: std::sync::Mutex::new(HashMap::new()),
            validations: SingleFlight::default(),
        })
    }

    /// Fulcrum's own token, obtained again when `stale` (Keystone refused it) or about to expire,
    /// by one request that every caller meanwhile shares.
    async fn service_token(&self, stale: Option<&str>) -> Result<String, AuthError> {
        if let Some(current) = self.service_slot().as_ref() {
            let refused = stale == Some(current.token.as_str());
            if !refused && Instant::now() < current.renew_at {
                return Ok(current.token.clone());
            }
        }
        self.service_request
            .run((), || async {
                let fresh = self.request_service_token().await?;
                *self.service_slot() = Some(fresh.clone());
                Ok(fresh.token)
            })
            .await
    }

    fn service_slot(&self) -> std::sync::MutexGuard<'_, Option<ServiceToken>> {
        self.service.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Ask Keystone for a service token.
    async fn request_service_token(&self) -> Result<ServiceToken, AuthError> {
        let c = &self.config;
        let body = serde_json::json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": c.username,
                "domain": {"name": c.user_domain_name},
                "password": c.password,
            }}},
            "scope": {"project": {
                "name": c.project_name,
                "domain": {"name": c.project_domain_name},
            }},
        }});
        let request = self
            .http
            .post(format!("{}/auth/tokens?nocatalog", self.base))
            .json(&body);
        let response = timed(SERVICE_TOKEN, request)
            .await
            .map_err(|e| unavailable("requesting a service token", &e))?;
        let status = response.status();
        if status.as_u16() == 401 || status.as_u16() == 403 {
            return Err(AuthError::Unavailable(format!(
                "Keystone refused the service credentials of user {:?} in project {:?} ({status})",
                c.username, c.project_name
            )));
        }
        if !status.is_success() {
            return Err(AuthError::Unavailable(format!(
                "Keystone answered {status} to a service token request"
            )));
        }
        let token = response
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| AuthError::Unavailable("service token response has no token".into()))?;
        let parsed: TokenBody = response
            .json()
            .await
            .map_err(|e| unavailable("reading a service token", &e))?;
        let lifetime = remaining(&parsed.token.expires_at)
            .ok_or_else(|| AuthError::Unavailable("service token has no valid expiry".into()))?;
        let margin = RENEW_MARGIN.min(lifetime / 2);
        Ok(ServiceToken {
            token,
            renew_at: Instant::now() + lifetime - margin,
        })
    }

    /// Ask Keystone about a token once it is this validation's turn (503 if no turn comes within
    /// the timeout).
    async fn validate(&self, token: &str) -> Validation {
        let _turn = tokio::time::timeout(self.timeout, self.turns.acquire())
            .await
            .map_err(|_| {
                AuthError::Unavailable(format!(
                    "no turn to validate a token within {:?}: {} validations in flight",
                    self.timeout, self.config.max_concurrent_validations
                ))
            })?
            .map_err(|closed| AuthError::Unavailable(closed.to_string()))?;
        self.ask_keystone(token).await
    }

    /// Ask Keystone about a token.
    async fn ask_keystone(&self, token: &str) -> Validation {
        let mut refused: Option<String> = None;
        for _ in 0..2 {
            let service = self.service_token(refused.as_deref()).await?;
            let request = self
                .http
                .get(format!("{}/auth/tokens?nocatalog", self.base))
                .header("X-Auth-Token", &service)
                .header("X-Subject-Token", token);
            let response = timed(VALIDATE_TOKEN, request)
                .await
                .map_err(|e| unavailable("validating a token", &e))?;
            match response.status().as_u16() {
                200 => {
                    let body: TokenBody = response
                        .json()
                        .await
                        .map_err(|e| unavailable("reading a token", &e))?;
                    let lifetime =
                        remaining(&body.token.expires_at).ok_or(AuthError::Unauthorized)?;
                    return Ok((credentials_of(body.token), lifetime));
                }
                // Unknown, expired or revoked.
                404 => return Err(AuthError::Unauthorized),
                // Fulcrum's own token was not accepted (expired, revoked): get a new one once.
                401 if refused.is_none() => refused = Some(service),
                status => {
                    return Err(AuthError::Unavailable(format!(
                        "Keystone answered {status} to a token validation"
                    )));
                }
            }
        }
        Err(AuthError::Unavailable(
            "Keystone keeps refusing Fulcrum's service token".into(),
        ))
    }

    /// What the cache holds for a token: `Some(Ok(..))` its credentials, `Some(Err(..))` that
    /// Keystone refused it; `None` when nothing current is cached.
    fn cached(&self, key: &[u8; 32]) -> Option<Result<Credentials, AuthError>> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(key)
            .filter(|c| Instant::now() < c.until)
            .map(|c| c.creds.clone().ok_or(AuthError::Unauthorized))
    }

    fn remember(&self, key: [u8; 32], creds: Option<Credentials>, lifetime: Duration) {
        let ttl = lifetime.min(Duration::from_secs(self.config.cache_seconds));
        if ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_CAPACITY {
            cache.retain(|_, c| now < c.until);
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
        }
        cache.insert(
            key,
            Cached {
                creds,
                until: now + ttl,
            },
        );
    }
}

#[async_trait::async_trait]
impl Authenticator for Keystone {
    async fn authenticate(&self, headers: &HeaderMap) -> Result<Credentials, AuthError> {
        let token = headers
            .get("x-auth-token")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::Unauthorized)?;
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(outcome) = self.cached(&key) {
            metrics::counter!(CACHE_LOOKUPS, "result" => "hit").increment(1);
            return outcome;
        }
        metrics::counter!(CACHE_LOOKUPS, "result" => "miss").increment(1);
        let (creds, _) = self
            .validations
            .run(key, || async {
                match self.validate(token).await {
                    Ok((creds, lifetime)) => {
                        self.remember(key, Some(creds.clone()), lifetime);
                        Ok((creds, lifetime))
                    }
                    Err(AuthError::Unauthorized) => {
                        self.remember(key, None, Duration::MAX);
                        Err(AuthError::Unauthorized)
                    }
                    Err(other) => Err(other),
                }
            })
            .await?;
        Ok(creds)
    }

    fn www_authenticate(&self) -> Option<String> {
        let uri = self
            .config
            .www_authenticate_uri
            .as_deref()
            .unwrap_or(&self.config.auth_url);
        Some(format!("Keystone uri=\"{uri}\""))
    }
}

/// Token validations answered from the cache (`hit`) or not (`miss`).
const CACHE_LOOKUPS: &str = "fulcrum_keystone_token_cache_lookups_total";
/// Seconds each call to Keystone took, by request and status.
const REQUEST_DURATION: &str = "fulcrum_keystone_request_duration_seconds";
/// The request label of a token validation (`GET /v3/auth/tokens`).
const VALIDATE_TOKEN: &str = "validate_token";
/// The request label of Fulcrum's own token request (`POST /v3/auth/tokens`).
const SERVICE_TOKEN: &str = "service_token";

/// Send a request to Keystone, timing it by `request` label and the status of its answer
/// (`unreachable` when there was none).
async fn timed(
    request: &'static str,
    builder: reqwest::RequestBuilder,
) -> Result<reqwest::Response, reqwest::Error> {
    let started = Instant::now();
    let result = builder.send().await;
    let status = match &result {
        Ok(response) => response.status().as_u16().to_string(),
        Err(_) => "unreachable".to_string(),
    };
    metrics::histogram!(REQUEST_DURATION, "request" => request, "status" => status)
        .record(started.elapsed().as_secs_f64());
    result
}

/// Describe the Keystone metrics, for the exposition's `HELP`.
pub fn describe_metrics() {
    metrics::describe_counter!(
        CACHE_LOOKUPS,
        "Token validations answered from the cache (result=hit) or sent to Keystone (result=miss)."
    );
    metrics::describe_histogram!(
        REQUEST_DURATION,
        metrics::Unit::Seconds,
        "Seconds each call to Keystone took, by request (validate_token, service_token) and status."
    );
}

fn unavailable(doing: &str, e: &reqwest::Error) -> AuthError {
    // reqwest's errors name the URL and the cause, never a request body.
    AuthError::Unavailable(format!("{doing}: {e}"))
}

/// Time left until an ISO 8601 `expires_at`; `None` if unparseable or past.
fn remaining(expires_at: &str) -> Option<Duration> {
    let at = OffsetDateTime::parse(expires_at, &Rfc3339).ok()?;
    let left = at - OffsetDateTime::now_utc();
    left.is_positive().then(|| left.unsigned_abs())
}

fn credentials_of(token: TokenData) -> Credentials {
    Credentials {
        project_id: token.project.and_then(|p| p.id),
        user_id: token.user.and_then(|u| u.id),
        roles: token.roles.into_iter().filter_map(|r| r.name).collect(),
        is_admin: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_parsing() {
        assert!(remaining("2000-01-01T00:00:00.000000Z").is_none());
        assert!(remaining("not a date").is_none());
        let later = (OffsetDateTime::now_utc() + time::Duration::hours(1))
            .format(&Rfc3339)
            .unwrap();
        let left = remaining(&later).unwrap();
        assert!(left > Duration::from_secs(3500) && left <= Duration::from_secs(3600));
    }

    #[test]
    fn the_password_is_not_in_debug_output() {
        let config = KeystoneConfig {
            auth_url: "http://127.0.0.1:1/v3".into(),
            www_authenticate_uri: None,
            username: "fulcrum".into(),
            password: "s3cr3t-value".into(),
            project_name: "service".into(),
            user_domain_name: default_domain(),
            project_domain_name: default_domain(),
            cache_seconds: 300,
            timeout_seconds: 5,
            max_concurrent_validations: 32,
        };
        let keystone = Keystone::new(config).unwrap();
        assert!(!format!("{keystone:?}").contains("s3cr3t-value"));
        assert_eq!(
            keystone.www_authenticate().as_deref(),
            Some("Keystone uri=\"http://127.0.0.1:1/v3\"")
        );
    }

    #[tokio::test]
    async fn an_unreachable_keystone_is_unavailable_not_open() {
        let config = KeystoneConfig {
            auth_url: "http://127.0.0.1:9/v3".into(),
            www_authenticate_uri: None,
            username: "fulcrum".into(),
            password: "pw-never-shown".into(),
            project_name: "service".into(),
            user_domain_name: default_domain(),
            project_domain_name: default_domain(),
            cache_seconds: 300,
            timeout_seconds: 2,
            max_concurrent_validations: 32,
        };
        let keystone = Keystone::new(config).unwrap();
        let mut headers = HeaderMap::new();
        assert!(matches!(
            keystone.authenticate(&headers).await,
            Err(AuthError::Unauthorized)
        ));
        headers.insert("x-auth-token", "abc".parse().unwrap());
        match keystone.authenticate(&headers).await {
            Err(AuthError::Unavailable(reason)) => assert!(!reason.contains("pw-never-shown")),
            other => panic!("expected unavailable, got {other:?}"),
        }
    }
}
