//! Calls to Neutron: the endpoint (configured, or found in the Keystone catalog once), Fulcrum's
//! service token (obtained again when Neutron answers 401), timeouts, and Neutron's answers turned
//! into [`NeutronError`].

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;

use super::config::NeutronConfig;
use super::wire::ErrorBody;
use crate::auth::keystone::Keystone;

/// How Fulcrum authenticates to Neutron.
#[derive(Clone)]
pub enum NeutronAuth {
    /// No token: Neutron runs with `auth_strategy = noauth`.
    NoAuth,
    /// Fulcrum's service token from Keystone (`[auth] strategy = "keystone"`).
    Keystone(Arc<Keystone>),
}

/// What went wrong calling Neutron.
#[derive(Debug, thiserror::Error)]
pub enum NeutronError {
    /// Neutron (or Keystone, for its endpoint or a token) could not be asked.
    #[error("Neutron is unavailable: {0}")]
    Unavailable(String),
    /// Neutron answered with an error.
    #[error("Neutron answered {status} ({kind}): {message}")]
    Refused {
        /// The HTTP status.
        status: StatusCode,
        /// Neutron's error type, e.g. `IpAddressAlreadyAllocated`.
        kind: String,
        /// Neutron's message.
        message: String,
    },
}

impl NeutronError {
    /// Whether Neutron answered 404 (no such object).
    pub fn is_not_found(&self) -> bool {
        matches!(self, NeutronError::Refused { status, .. } if *status == StatusCode::NOT_FOUND)
    }
}

/// A Neutron client.
pub struct NeutronClient {
    config: NeutronConfig,
    http: reqwest::Client,
    auth: NeutronAuth,
    endpoint: OnceCell<String>,
}

impl NeutronClient {
    /// A client for `config`, authenticating with `auth`.
    pub fn new(config: NeutronConfig, auth: NeutronAuth) -> Result<Self, String> {
        if config.endpoint.is_none() && matches!(auth, NeutronAuth::NoAuth) {
            return Err(
                "network.neutron.endpoint is needed without Keystone (auth.strategy = \"noauth\")"
                    .into(),
            );
        }
        if let Some(endpoint) = &config.endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            return Err(format!(
                "network.neutron.endpoint {endpoint:?} is not an http(s) URL"
            ));
        }
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_seconds.max(1)))
            .user_agent(concat!("fulcrum/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &config.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| format!("network.neutron.ca_file {}: {e}", path.display()))?;
            for cert in reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| format!("network.neutron.ca_file {}: {e}", path.display()))?
            {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder
            .build()
            .map_err(|e| format!("Neutron HTTP client: {e}"))?;
        let endpoint = OnceCell::new_with(config.endpoint.clone());
        Ok(NeutronClient {
            config,
            http,
            auth,
            endpoint,
        })
    }

    /// The configured settings.
    pub fn config(&self) -> &NeutronConfig {
        &self.config
    }

    async fn endpoint(&self) -> Result<&str, NeutronError> {
        let url = self
            .endpoint
            .get_or_try_init(|| async {
                match &self.auth {
                    NeutronAuth::Keystone(keystone) => keystone
                        .catalog_endpoint(
                            "network",
                            &self.config.interface,
                            self.config.region.as_deref(),
                        )
                        .await
                        .map_err(|e| NeutronError::Unavailable(e.to_string())),
                    NeutronAuth::NoAuth => Err(NeutronError::Unavailable(
                        "no Neutron endpoint configured".into(),
                    )),
                }
            })
            .await?;
        Ok(url.trim_end_matches('/'))
    }

    /// Send `method path` (with a JSON body) and read the answer as `T`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<T, NeutronError> {
        let bytes = self.send(method, path, body).await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| NeutronError::Unavailable(format!("unreadable answer to {path}: {e}")))
    }

    /// Send `method path` (with a JSON body) and return the body of a successful answer.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Vec<u8>, NeutronError> {
        let url = format!("{}{path}", self.endpoint().await?);
        let mut refused: Option<String> = None;
        loop {
            let token = match &self.auth {
                NeutronAuth::NoAuth => None,
                NeutronAuth::Keystone(keystone) => Some(
                    keystone
                        .token_for_services(refused.as_deref())
                        .await
                        .map_err(|e| NeutronError::Unavailable(e.to_string()))?,
                ),
            };
            let mut request = self.http.request(method.clone(), &url);
            if let Some(token) = &token {
                request = request.header("X-Auth-Token", token);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request
                .send()
                .await
                .map_err(|e| NeutronError::Unavailable(format!("{method} {url}: {e}")))?;
            let status = response.status();
            let bytes = response
                .bytes()
                .await
                .map_err(|e| NeutronError::Unavailable(format!("{method} {url}: {e}")))?;
            if status.is_success() {
                return Ok(bytes.to_vec());
            }
            if status == StatusCode::UNAUTHORIZED && refused.is_none() && token.is_some() {
                refused = token;
                continue;
            }
            let (kind, message) = match serde_json::from_slice::<ErrorBody>(&bytes) {
                Ok(e) => (e.error.kind, e.error.message),
                Err(_) => (
                    String::new(),
                    String::from_utf8_lossy(&bytes).chars().take(300).collect(),
                ),
            };
            return Err(NeutronError::Refused {
                status,
                kind,
                message,
            });
        }
    }
}
