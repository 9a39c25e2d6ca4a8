//! [`Client`]: HTTP calls to the management API, with its faults turned into [`CliError`]s that
//! say what the server said.

use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The URL or the token cannot be used.
    #[error("{0}")]
    Usage(String),
    /// The server could not be reached.
    #[error("cannot reach Fulcrum at {url}: {reason}")]
    Unreachable {
        /// The URL called.
        url: String,
        /// Why.
        reason: String,
    },
    /// The server refused or failed the request.
    #[error("{status}: {message}")]
    Refused {
        /// The HTTP status.
        status: StatusCode,
        /// The fault's text.
        message: String,
    },
    /// The answer was not what the API sends.
    #[error("unexpected answer: {0}")]
    Unexpected(String),
    /// What was followed stopped short of its end (a campaign paused or aborted).
    #[error("{0}")]
    Unfinished(String),
}

/// A client of one Fulcrum.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Client {
    /// A client of the Fulcrum at `url`, sending `token` as `X-Auth-Token` when given.
    pub fn new(url: &str, token: Option<&str>) -> Result<Self, CliError> {
        let base = url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(CliError::Usage(format!(
                "--url must be an http:// or https:// address, not {url:?}"
            )));
        }
        let http = reqwest::Client::builder()
            .build()
            .map_err(|e| CliError::Usage(format!("cannot make an HTTP client: {e}")))?;
        Ok(Client {
            base,
            token: token.map(str::to_owned),
            http,
        })
    }

    /// `GET path` with the query parameters that are set.
    pub async fn get(&self, path: &str, query: &[(&str, Option<&str>)]) -> Result<Value, CliError> {
        let query: Vec<(&str, &str)> = query
            .iter()
            .filter_map(|(name, value)| value.map(|v| (*name, v)))
            .collect();
        self.send(Method::GET, path, &query, None).await
    }

    /// `method path` with a JSON body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value, CliError> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method, &url).query(query);
        if let Some(token) = &self.token {
            request = request.header("X-Auth-Token", token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| CliError::Unreachable {
            url: url.clone(),
            reason: e.to_string(),
        })?;
        let status = response.status();
        let text = response.text().await.map_err(|e| CliError::Unreachable {
            url,
            reason: e.to_string(),
        })?;
        let value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if status.is_success() {
            Ok(value)
        } else {
            Err(CliError::Refused {
                status,
                message: fault_text(&value),
            })
        }
    }
}

/// The message of an error body: Octavia's `faultstring`, keystonemiddleware's
/// `error.message`, pecan's `description`, or the body itself.
fn fault_text(body: &Value) -> String {
    body.get("faultstring")
        .or_else(|| body.pointer("/error/message"))
        .or_else(|| body.get("description"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| match body {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn faults_are_read_in_each_shape_the_api_answers() {
        assert_eq!(fault_text(&json!({"faultstring": "No."})), "No.");
        assert_eq!(
            fault_text(&json!({"error": {"code": 401, "message": "Who?"}})),
            "Who?"
        );
        assert_eq!(fault_text(&json!({"description": "Gone"})), "Gone");
        assert_eq!(fault_text(&json!("plain")), "plain");
    }

    #[test]
    fn an_address_that_is_not_http_is_refused() {
        let error = Client::new("127.0.0.1:9876", None).unwrap_err();
        assert!(error.to_string().contains("http://"), "{error}");
    }
}
