//! The client of an NSX Manager cluster: every Policy API call the driver makes goes through
//! [`NsxClient`], which
//!
//! - waits on the process's token bucket of the manager it calls (`rate_limit`), so that a
//!   full sync or a burst of changes never floods a manager;
//! - authenticates: basic, a session (`POST /api/session/create`, then the `JSESSIONID`
//!   cookie and `X-XSRF-TOKEN` on each call; a 403 with NSX's `error_code` 98, an expired
//!   session, makes the session again once — any other 403 is a refusal that a new session
//!   would only repeat, returned as it is, see [`super::fault`]), or the client certificate
//!   of the HTTP client (a principal identity), writes carrying `X-Allow-Overwrite: true`
//!   where the configuration says so (`allow_overwrite`), for objects another principal
//!   identity protects;
//! - fails over: a manager that cannot be reached is skipped for the next one of the cluster,
//!   which then serves the following calls;
//! - retries what NSX answers as busy (429, 5xx) or cannot answer, with the kit's jittered
//!   back-off ([`crate::kit::retry`]), never sooner than a `Retry-After`;
//! - walks `cursor` pages for lists and searches.

use std::error::Error as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use fulcrum_core::driver::DriverError;
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use serde_json::Value;
use tokio::sync::Mutex;

use super::config::{AuthMode, NsxtConfig};
use super::fault::{self, NsxFault};
use crate::kit::errors::{self, StatusError};
use crate::kit::http::{HttpClient, HttpClientBuilder};
use crate::kit::rate_limit::TokenBucket;
use crate::kit::retry::{RetryPolicy, retry};

/// The Policy API's root.
pub const POLICY: &str = "/policy/api/v1";

/// The largest page NSX gives.
pub const PAGE_SIZE: usize = 1000;

const SESSION_CREATE: &str = "/api/session/create";
const SESSION_COOKIE: &str = "JSESSIONID";
const XSRF_HEADER: &str = "X-XSRF-TOKEN";
const ALLOW_OVERWRITE: &str = "X-Allow-Overwrite";

/// A session on one manager.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Session {
    cookie: String,
    xsrf_token: String,
}

/// One manager of the cluster and its session, if sessions are used.
#[derive(Debug)]
struct Manager {
    http: HttpClient,
    session: Mutex<Option<Session>>,
}

/// A client of one NSX Manager cluster. Cheap to share.
#[derive(Debug)]
pub struct NsxClient {
    managers: Vec<Manager>,
    current: AtomicUsize,
    auth: AuthMode,
    username: String,
    password: String,
    allow_overwrite: bool,
    retry: RetryPolicy,
}

impl NsxClient {
    /// A client for the managers of `config`, each with its own rate-limit bucket; reads the CA
    /// bundle and client certificate it names.
    pub fn new(config: &NsxtConfig) -> Result<Self, DriverError> {
        let mut managers = Vec::new();
        for address in &config.managers {
            let bucket = Arc::new(TokenBucket::new(config.rate_limit)?);
            let mut builder = HttpClientBuilder::new(address.clone())
                .insecure(config.insecure)
                .request_timeout(config.request_timeout())
                .rate_limit(bucket);
            if let Some(ca) = &config.ca_bundle {
                builder = builder.ca_bundle(ca);
            }
            if config.auth == AuthMode::Certificate
                && let (Some(certificate), Some(key)) =
                    (&config.client_certificate, &config.client_key)
            {
                builder = builder.client_certificate(certificate, key);
            }
            managers.push(Manager {
                http: builder.build()?,
                session: Mutex::new(None),
            });
        }
        Ok(NsxClient {
            managers,
            current: AtomicUsize::new(0),
            auth: config.auth,
            username: config.username.clone().unwrap_or_default(),
            password: config.password.clone().unwrap_or_default(),
            allow_overwrite: config.allow_overwrite,
            retry: RetryPolicy::default(),
        })
    }

    /// The client with another retry policy (tests make it patient or quick).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// GET a Policy path (under [`POLICY`]) with query pairs, as JSON.
    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, DriverError> {
        let body = self.call(Method::GET, path, query, None).await?;
        serde_json::from_slice(&body).map_err(|e| {
            DriverError::rejected(format!("NSX answered {path} with something not JSON: {e}"))
                .with_source(e)
        })
    }

    /// PATCH a Policy path with a JSON body.
    pub async fn patch(
        &self,
        path: &str,
        query: &[(&str, String)],
        body: &Value,
    ) -> Result<(), DriverError> {
        self.call(Method::PATCH, path, query, Some(body))
            .await
            .map(|_| ())
    }

    /// Every result of a list or search, page after page by `cursor`.
    pub async fn list_all(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Vec<Value>, DriverError> {
        let mut results = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut pairs = query.to_vec();
            pairs.push(("page_size", PAGE_SIZE.to_string()));
            if let Some(cursor) = cursor.take() {
                pairs.push(("cursor", cursor));
            }
            let page = self.get(path, &pairs).await?;
            if let Some(items) = page["results"].as_array() {
                results.extend(items.iter().cloned());
            }
            match page["cursor"].as_str() {
                Some(next) if !next.is_empty() => cursor = Some(next.to_string()),
                _ => return Ok(results),
            }
        }
    }

    /// One call, retried while NSX is busy or out of reach.
    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Vec<u8>, DriverError> {
        let path = format!("{POLICY}{path}");
        retry(&self.retry, || {
            self.call_any_manager(&method, &path, query, body)
        })
        .await
    }

    /// The call on the manager that served last, or the next that can be reached.
    async fn call_any_manager(
        &self,
        method: &Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Vec<u8>, DriverError> {
        let first = self.current.load(Ordering::Relaxed);
        let mut unreachable = None;
        for step in 0..self.managers.len() {
            let index = (first + step) % self.managers.len();
            match self.call_manager(index, method, path, query, body).await {
                Ok(answer) => {
                    if step > 0 {
                        tracing::warn!(
                            manager = %self.managers[index].http.base_url(),
                            "NSX manager failover: this manager serves the calls from now on"
                        );
                        self.current.store(index, Ordering::Relaxed);
                    }
                    return Ok(answer);
                }
                Err(e) if is_unreachable(&e) => unreachable = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(unreachable
            .unwrap_or_else(|| DriverError::invalid_configuration("No NSX Manager is configured.")))
    }

    /// The call on one manager, logging in again once if its session is gone.
    async fn call_manager(
        &self,
        index: usize,
        method: &Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Vec<u8>, DriverError> {
        let manager = &self.managers[index];
        let mut logged_in_again = false;
        loop {
            let mut request = manager.http.request(method.clone(), path)?;
            if !query.is_empty() {
                request = request.query(query);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            if self.allow_overwrite && method != Method::GET {
                request = request.header(ALLOW_OVERWRITE, "true");
            }
            let session = match self.auth {
                AuthMode::Basic => {
                    request = request.basic_auth(&self.username, Some(&self.password));
                    None
                }
                AuthMode::Session => {
                    let session = self.session(manager).await?;
                    request = request
                        .header(COOKIE, format!("{SESSION_COOKIE}={}", session.cookie))
                        .header(XSRF_HEADER, &session.xsrf_token);
                    Some(session)
                }
                AuthMode::Certificate => None,
            };
            match manager.http.send(request).await {
                Ok(response) => {
                    let bytes = response.bytes().await.map_err(errors::transport_error)?;
                    return Ok(bytes.to_vec());
                }
                Err(e)
                    if !logged_in_again
                        && NsxFault::of(&e).is_some_and(|f| f.session_expired())
                        && let Some(used) = session =>
                {
                    logged_in_again = true;
                    let mut current = manager.session.lock().await;
                    if current.as_ref() == Some(&used) {
                        *current = None;
                    }
                }
                Err(e) => return Err(fault::refine(e)),
            }
        }
    }

    /// The manager's session, made if there is none.
    async fn session(&self, manager: &Manager) -> Result<Session, DriverError> {
        let mut current = manager.session.lock().await;
        if let Some(session) = current.as_ref() {
            return Ok(session.clone());
        }
        let request = manager
            .http
            .request(Method::POST, SESSION_CREATE)?
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .form(&[
                ("j_username", self.username.as_str()),
                ("j_password", self.password.as_str()),
            ]);
        let response = manager.http.send(request).await?;
        let headers = response.headers();
        let cookie = headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == SESSION_COOKIE)
            .map(|(_, value)| value.to_string());
        let xsrf_token = headers
            .get(XSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let (Some(cookie), Some(xsrf_token)) = (cookie, xsrf_token) else {
            return Err(DriverError::authentication(
                "NSX made a session without a JSESSIONID cookie and an X-XSRF-TOKEN.",
            ));
        };
        let session = Session { cookie, xsrf_token };
        *current = Some(session.clone());
        Ok(session)
    }
}

/// Whether a call got no answer at all (the manager is down or out of reach), so that another
/// manager of the cluster may serve it.
fn is_unreachable(error: &DriverError) -> bool {
    error.is_transient()
        && error
            .source()
            .is_none_or(|source| source.downcast_ref::<StatusError>().is_none())
}
