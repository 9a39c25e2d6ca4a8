//! [`NsxApi`]: calls to an NSX Manager's API with HTTP basic authentication and the TLS settings
//! of a device's registration, its refusals read from NSX's error body (`error_message`). The NSX
//! Manager's and the NSX Edge's operations both go through it: an Edge is reached through its
//! manager.

use reqwest::Method;
use serde_json::Value;

use super::client::{Endpoint, answer, endpoint, unreachable};
use super::model::Device;
use super::ops::OpsError;

/// An NSX Manager's API, as one device's registration reaches it.
pub struct NsxApi {
    http: reqwest::Client,
    base: String,
    username: String,
    password: String,
}

impl std::fmt::Debug for NsxApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NsxApi")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl NsxApi {
    /// The manager at `device`'s first address, with its credentials.
    pub fn new(device: &Device) -> Result<Self, OpsError> {
        let connection = &device.connection;
        let Endpoint { base, http } = endpoint(device)?;
        Ok(NsxApi {
            http,
            base,
            username: connection.username.clone().unwrap_or_default(),
            password: connection.password.clone().unwrap_or_default(),
        })
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, OpsError> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .basic_auth(&self.username, Some(&self.password));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(unreachable)?;
        answer(response, "error_message").await
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Result<Value, OpsError> {
        self.call(Method::GET, path, None).await
    }

    /// `GET path`, `None` when the manager answers 404 (it knows no such object).
    pub async fn get_if_found(&self, path: &str) -> Result<Option<Value>, OpsError> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .basic_auth(&self.username, Some(&self.password))
            .send()
            .await
            .map_err(unreachable)?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        answer(response, "error_message").await.map(Some)
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: Value) -> Result<Value, OpsError> {
        self.call(Method::POST, path, Some(body)).await
    }
}

/// The `results` of an NSX list.
pub fn results(list: &Value) -> &[Value] {
    list["results"].as_array().map_or(&[], Vec::as_slice)
}
