//! What management's crate tests share: a fresh database (a SQLite file, or a PostgreSQL
//! database on 127.0.0.1:5432 dropped afterwards), the module opened on it and its routes served
//! over real HTTP on 127.0.0.1.

#![allow(dead_code)]

use std::sync::Arc;

use async_trait::async_trait;
use fulcrum_core::tasks::Duties;
use fulcrum_management::{Management, ManagementConfig};
use fulcrum_store::Store;
use reqwest::StatusCode;
use serde_json::Value;

/// The fresh databases the store's own tests run on.
#[path = "../../../store/tests/common/mod.rs"]
mod databases;

pub use databases::{on_postgres, on_sqlite};

/// Two tests from one `async fn(Store)`: on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! on_both_databases {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                $crate::common::on_sqlite(super::$name).await;
            }

            #[tokio::test]
            async fn postgres() {
                $crate::common::on_postgres(super::$name).await;
            }
        }
    };
}

/// This process performs every duty, as a single replica does.
pub struct Alone;

#[async_trait]
impl Duties for Alone {
    async fn performs(&self, _: &str) -> Result<bool, String> {
        Ok(true)
    }
}

/// The module opened on a store, its routes served on 127.0.0.1.
pub struct Served {
    /// The module.
    pub management: Arc<Management>,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// A client.
    pub http: reqwest::Client,
    _keys: tempfile::TempDir,
}

impl Served {
    /// Open the module on `store` with `config` (its key file, when not set, in a directory of
    /// the test's own) and serve its routes.
    pub async fn start(store: &Store, mut config: ManagementConfig) -> Served {
        let keys = tempfile::tempdir().unwrap();
        if config.secret_key_file.is_none() {
            config.secret_key_file = Some(key_file(keys.path()));
        }
        let management = Management::open(store, config).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = management.routes();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Served {
            management,
            base,
            http: reqwest::Client::new(),
            _keys: keys,
        }
    }

    /// `method path` with an optional JSON body: the status and the body (JSON, or the text as
    /// a JSON string, or null when empty).
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, body)
    }

    /// `GET path`, which must answer 200.
    pub async fn get(&self, path: &str) -> Value {
        let (status, body) = self.call("GET", path, None).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }
}

/// A new key file in `dir` (`management.key`), its path as configuration names it.
pub fn key_file(dir: &std::path::Path) -> String {
    let path = dir.join("management.key");
    fulcrum_management::secrets::SecretBox::load_or_create(&path).unwrap();
    path.display().to_string()
}

/// Assert a fault answer: the status, `Client`/`Server`, and the text.
pub fn assert_fault(answer: &(StatusCode, Value), status: u16, faultstring: &str) {
    let (got, body) = answer;
    assert_eq!(got.as_u16(), status, "{body}");
    assert_eq!(body["faultstring"], faultstring, "{body}");
    let code = if status < 500 { "Client" } else { "Server" };
    assert_eq!(body["faultcode"], code, "{body}");
    assert!(body["debuginfo"].is_null(), "{body}");
}
