//! One BIG-IP as the driver talks to it: authentication (basic, or a token renewed when the
//! device refuses it), its failover state, AS3 declarations sent in async mode and polled to
//! the end, and reads of what it holds.

use std::time::Duration;

use fulcrum_core::driver::{DriverError, DriverErrorKind};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::config::{AuthMode, F5Config};
use crate::kit::HttpClient;

/// AS3's declare path.
const DECLARE: &str = "/mgmt/shared/appsvcs/declare";

/// A device's name and failover state, as it reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failover {
    /// Its host name.
    pub name: String,
    /// `active`, `standby`, or another state BIG-IP reports (`offline`, `forced-offline`).
    pub state: String,
}

impl Failover {
    /// Whether the device takes declarations.
    pub fn is_active(&self) -> bool {
        self.state == "active"
    }
}

/// One device.
#[derive(Debug)]
pub struct Device {
    url: String,
    hostname: String,
    /// The host name it last reported, when that differs from `hostname`.
    reported: std::sync::Mutex<Option<String>>,
    http: HttpClient,
    auth: AuthMode,
    username: String,
    password: String,
    token: Mutex<Option<String>>,
    poll: Duration,
    task_timeout: Duration,
}

impl Device {
    /// The device at `url`, named `hostname` (as it names itself), reached through `http`,
    /// logging in as `config` says.
    pub fn new(url: &str, hostname: &str, http: HttpClient, config: &F5Config) -> Self {
        Self {
            url: url.to_owned(),
            hostname: hostname.to_owned(),
            reported: std::sync::Mutex::new(None),
            http,
            auth: config.auth,
            username: config.username.clone(),
            password: config.password.clone(),
            token: Mutex::new(None),
            poll: Duration::from_millis(config.task_poll_ms),
            task_timeout: Duration::from_secs(config.task_timeout_s),
        }
    }

    /// Its management URL, as configured.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The names management may know it by: its configured host name, and the one it last
    /// reported when that differs.
    pub fn names(&self) -> Vec<String> {
        let mut names = vec![self.hostname.clone()];
        let reported = self.reported.lock().unwrap_or_else(|e| e.into_inner());
        names.extend(reported.iter().filter(|r| **r != self.hostname).cloned());
        names
    }

    async fn token(&self) -> Result<String, DriverError> {
        let mut token = self.token.lock().await;
        if let Some(token) = token.as_ref() {
            return Ok(token.clone());
        }
        let request = self
            .http
            .request(Method::POST, "/mgmt/shared/authn/login")?
            .json(&json!({
                "username": self.username,
                "password": self.password,
                "loginProviderName": "tmos",
            }));
        let answer: Value = self.http.send_json(request).await?;
        let fresh = answer["token"]["token"]
            .as_str()
            .ok_or_else(|| DriverError::rejected("The device's login answer holds no token."))?
            .to_owned();
        *token = Some(fresh.clone());
        Ok(fresh)
    }

    /// Send a call, authenticated; with tokens, a refused token is renewed once.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<reqwest::Response, DriverError> {
        let mut renewed = false;
        loop {
            let mut request = self.http.request(method.clone(), path)?;
            request = match self.auth {
                AuthMode::Basic => request.basic_auth(&self.username, Some(&self.password)),
                AuthMode::Token => request.header("X-F5-Auth-Token", self.token().await?),
            };
            if let Some(body) = body {
                request = request.json(body);
            }
            match self.http.send(request).await {
                Err(e)
                    if e.kind() == DriverErrorKind::Authentication
                        && self.auth == AuthMode::Token
                        && !renewed =>
                {
                    *self.token.lock().await = None;
                    renewed = true;
                }
                other => return other,
            }
        }
    }

    async fn json(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Option<Value>, DriverError> {
        let response = self.call(method, path, body).await?;
        if response.status() == StatusCode::NO_CONTENT {
            return Ok(None);
        }
        let bytes = response
            .bytes()
            .await
            .map_err(crate::kit::errors::transport_error)?;
        serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            DriverError::rejected(format!(
                "The device's answer is not what Fulcrum expects: {e}"
            ))
            .with_source(e)
        })
    }

    /// This device as it describes itself in `/mgmt/tm/cm/device`: its name and failover
    /// state (a single device is active).
    pub async fn failover(&self) -> Result<Failover, DriverError> {
        let devices = self
            .json(Method::GET, "/mgmt/tm/cm/device", None)
            .await?
            .unwrap_or_default();
        let me = devices["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|d| d["selfDevice"] == "true")
            .ok_or_else(|| {
                DriverError::rejected("The device does not say which of its devices it is.")
            })?;
        let text = |key: &str| me[key].as_str().unwrap_or_default().to_owned();
        let failover = Failover {
            name: text("hostname"),
            state: text("failoverState"),
        };
        if !failover.name.is_empty() {
            *self.reported.lock().unwrap_or_else(|e| e.into_inner()) = Some(failover.name.clone());
        }
        Ok(failover)
    }

    /// Whether this device is the active one of its pair (a single device is).
    pub async fn is_active(&self) -> Result<bool, DriverError> {
        Ok(self.failover().await?.is_active())
    }

    /// The version of AS3 the device runs (`/mgmt/shared/appsvcs/info`).
    pub async fn as3_version(&self) -> Result<String, DriverError> {
        let info = self
            .json(Method::GET, "/mgmt/shared/appsvcs/info", None)
            .await?
            .unwrap_or_default();
        info["version"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| DriverError::rejected("The device's AS3 info names no version."))
    }

    /// The tenants the device holds (every one, or one), by name.
    pub async fn tenants(
        &self,
        tenant: Option<&str>,
    ) -> Result<serde_json::Map<String, Value>, DriverError> {
        let path = match tenant {
            Some(tenant) => format!("{DECLARE}/{tenant}"),
            None => DECLARE.to_owned(),
        };
        let declaration = self.json(Method::GET, &path, None).await?;
        Ok(declaration
            .and_then(|d| d.as_object().cloned())
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, v)| v.get("class").and_then(Value::as_str) == Some("Tenant"))
            .collect())
    }

    /// Declare one tenant (AS3 removes a tenant declared without Applications) and wait for
    /// the device to apply it. A 503 (another declaration in progress) is transient; a result
    /// other than success is a rejection quoting AS3.
    pub async fn declare(&self, tenant: &str, body: &Value) -> Result<(), DriverError> {
        let accepted = self
            .json(
                Method::POST,
                &format!("{DECLARE}/{tenant}?async=true"),
                Some(body),
            )
            .await?
            .unwrap_or_default();
        let Some(id) = accepted["id"].as_str() else {
            return results(&accepted);
        };
        let deadline = Instant::now() + self.task_timeout;
        loop {
            let task = self
                .json(
                    Method::GET,
                    &format!("/mgmt/shared/appsvcs/task/{id}"),
                    None,
                )
                .await?
                .unwrap_or_default();
            if task["results"][0]["code"] != 0 {
                return results(&task);
            }
            if Instant::now() >= deadline {
                return Err(DriverError::transient(format!(
                    "The device did not finish the declaration of {tenant} in time."
                )));
            }
            tokio::time::sleep(self.poll).await;
        }
    }

    /// The statistics of a table (`virtual` or `pool`).
    pub async fn stats(&self, table: &str) -> Result<Value, DriverError> {
        Ok(self
            .json(Method::GET, &format!("/mgmt/tm/ltm/{table}/stats"), None)
            .await?
            .unwrap_or_default())
    }
}

/// The outcome of a declaration's results.
fn results(answer: &Value) -> Result<(), DriverError> {
    let results = answer["results"].as_array().cloned().unwrap_or_default();
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !matches!(r["code"].as_u64(), Some(200)))
        .map(|r| {
            let detail = r
                .get("response")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| r.get("errors").map(Value::to_string))
                .unwrap_or_default();
            format!(
                "{} {}: {detail}",
                r["code"],
                r["message"].as_str().unwrap_or("")
            )
        })
        .collect();
    if results.is_empty() {
        return Err(DriverError::rejected(format!(
            "The device's answer to a declaration holds no results: {answer}"
        )));
    }
    if failed.is_empty() {
        return Ok(());
    }
    let transient = results.iter().any(|r| r["code"] == 503);
    let message = format!("AS3 refused the declaration: {}", failed.join("; "));
    Err(if transient {
        DriverError::transient(message)
    } else {
        DriverError::rejected(message)
    })
}
