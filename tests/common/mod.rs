//! The integration test harness: the real `fulcrum` binary on a random port, over real HTTP, on
//! its own SQLite file or its own PostgreSQL database (created here, dropped afterwards).

#![allow(dead_code)]

pub mod cli;
pub mod contract;
pub mod f5;
pub mod haproxy;
pub mod keystone;
pub mod nsxt;
pub mod pki;
pub mod sync;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    /// A fresh SQLite file.
    Sqlite,
    /// A fresh PostgreSQL database on 127.0.0.1:5432.
    Postgres,
}

/// Generate one test per database for an `async fn(Db)`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::common::Db::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::common::Db::Postgres).await
            }
        }
    )*};
}

/// A database for one test; PostgreSQL databases are dropped with it.
pub struct TestDb {
    /// Its URL.
    pub url: String,
    pg_name: Option<String>,
}

fn psql(sql: &str) {
    let out = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-qc",
            sql,
        ])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl TestDb {
    /// Let connections to this PostgreSQL database in (`true`), or refuse new ones and end the
    /// open ones (`false`), as a database that goes away and comes back; the PostgreSQL server
    /// itself keeps serving every other database.
    pub fn set_reachable(&self, reachable: bool) {
        let name = self.pg_name.as_deref().expect("a PostgreSQL database");
        psql(&format!(
            "ALTER DATABASE {name} ALLOW_CONNECTIONS {reachable}"
        ));
        if !reachable {
            psql(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            ));
        }
    }

    fn new(kind: Db, dir: &std::path::Path) -> TestDb {
        match kind {
            Db::Sqlite => TestDb {
                url: format!("sqlite://{}", dir.join("fulcrum.db").display()),
                pg_name: None,
            },
            Db::Postgres => {
                let name = format!("fulcrum_test_{}", uuid::Uuid::new_v4().simple());
                psql(&format!("CREATE DATABASE {name}"));
                TestDb {
                    url: format!("postgres://postgres@127.0.0.1:5432/{name}"),
                    pg_name: Some(name),
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name {
            psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// How to run the server under test.
#[derive(Debug, Clone)]
pub struct Options {
    /// Extra TOML appended to the generated configuration.
    pub extra_toml: String,
    /// Milliseconds the noop driver takes per apply.
    pub noop_latency_ms: u64,
    /// Noop failure marker and transient count.
    pub noop_fail: Option<(String, u32)>,
    /// Extra TOML lines of the `[providers.noop]` section.
    pub noop_toml: String,
    /// Reconciler lease, seconds.
    pub lease_seconds: u64,
    /// Provider of load balancers created without one.
    pub default_provider: &'static str,
    /// Seconds between full syncs.
    pub sync_interval_seconds: u64,
    /// Seconds between SIGTERM and the closing of the listener.
    pub shutdown_delay_seconds: u64,
    /// Extra TOML lines of the `[server]` section.
    pub server_toml: String,
    /// Extra TOML lines of the `[providers]` section (e.g. `enabled`).
    pub providers_toml: String,
    /// Whether the request bodies the test sends are meant to follow the OpenAPI document
    /// (false for tests of what Octavia accepts beyond it, like `"80"` for 80); the answers are
    /// checked against the document either way ([`contract`]).
    pub requests_follow_document: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            extra_toml: String::new(),
            noop_latency_ms: 0,
            noop_fail: None,
            noop_toml: String::new(),
            lease_seconds: 30,
            default_provider: "noop",
            sync_interval_seconds: 60,
            shutdown_delay_seconds: 0,
            server_toml: String::new(),
            providers_toml: String::new(),
            requests_follow_document: true,
        }
    }
}

/// A running `fulcrum serve`. Killed (SIGKILL) when dropped: no process outlives a test.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// `http://127.0.0.1:PORT` of `/metrics` when `[metrics] listen` gives it an address.
    pub metrics_base: Option<String>,
    /// The HTTP client.
    pub http: reqwest::Client,
    child: Option<Child>,
    config_path: PathBuf,
    requests_follow_document: bool,
    /// The key file sealing management's secrets, shared by the server's replicas.
    key_file: PathBuf,
    /// Kept last so the database outlives the process.
    pub db: TestDb,
    dir: tempfile::TempDir,
}

impl TestServer {
    /// Start a server on a fresh database.
    pub async fn start(db: Db) -> TestServer {
        Self::start_with(db, Options::default()).await
    }

    /// Start a server on a fresh database with options.
    pub async fn start_with(db: Db, options: Options) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = TestDb::new(db, dir.path());
        let key_file = dir.path().join("management.key");
        fulcrum_management::secrets::SecretBox::load_or_create(&key_file).expect("key file");
        Self::start_on(db, dir, key_file, options).await
    }

    /// Start another process on this server's database (a replica), with a directory and
    /// options of its own. The database stays this server's: it is dropped with this one.
    pub async fn replica(&self, options: Options) -> TestServer {
        let db = TestDb {
            url: self.db.url.clone(),
            pg_name: None,
        };
        let dir = tempfile::tempdir().expect("temp dir");
        Self::start_on(db, dir, self.key_file.clone(), options).await
    }

    async fn start_on(
        db: TestDb,
        dir: tempfile::TempDir,
        key_file: PathBuf,
        options: Options,
    ) -> TestServer {
        let mut fail = match &options.noop_fail {
            Some((marker, transient)) => {
                format!("fail_name_marker = \"{marker}\"\ntransient_failures = {transient}\n")
            }
            None => String::new(),
        };
        fail.push_str(&options.noop_toml);
        let config = format!(
            "[server]\nbind = \"127.0.0.1:0\"\nshutdown_grace_seconds = 10\n\
             shutdown_delay_seconds = {}\n{}\
             [database]\nurl = \"{}\"\nmax_connections = 4\n\
             [log]\nlevel = \"info,sqlx=warn\"\n\
             [providers]\ndefault = \"{}\"\ncertificates_dir = \"{}\"\n{}\
             [providers.haproxy]\nbinary = \"/usr/sbin/haproxy\"\nstate_dir = \"{}\"\n\
             [providers.noop]\nlatency_ms = {}\n{fail}\
             [reconciler]\nlease_seconds = {}\npoll_interval_ms = 100\nretry_base_ms = 50\n\
             observe_interval_seconds = 1\nsync_interval_seconds = {}\n{}",
            options.shutdown_delay_seconds,
            options.server_toml,
            db.url,
            options.default_provider,
            dir.path().join("certs").display(),
            options.providers_toml,
            dir.path().join("haproxy").display(),
            options.noop_latency_ms,
            options.lease_seconds,
            options.sync_interval_seconds,
            options.extra_toml
        );
        let config_path = dir.path().join("fulcrum.toml");
        std::fs::write(&config_path, config).expect("write config");
        let mut server = TestServer {
            base: String::new(),
            metrics_base: None,
            http: reqwest::Client::new(),
            child: None,
            config_path,
            requests_follow_document: options.requests_follow_document,
            key_file,
            db,
            dir,
        };
        server.spawn().await;
        server
    }

    async fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))
            .expect("log file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_fulcrum"))
            .args(["--config", self.config_path.to_str().unwrap(), "serve"])
            .env("FULCRUM__MANAGEMENT__SECRET_KEY_FILE", &self.key_file)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start fulcrum");
        let stdout = child.stdout.take().expect("stdout");
        // Lines up to the API's address, which is the last one the server prints.
        let lines = tokio::task::spawn_blocking(move || {
            let mut reader = BufReader::new(stdout);
            let mut lines = Vec::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line)? == 0 {
                    return Ok::<_, std::io::Error>(lines);
                }
                let last = line.starts_with("fulcrum listening on ");
                lines.push(line.trim().to_string());
                if last {
                    return Ok(lines);
                }
            }
        })
        .await
        .expect("join")
        .expect("read stdout");
        self.child = Some(child);
        let address = |prefix: &str| {
            lines
                .iter()
                .find_map(|line| line.strip_prefix(prefix))
                .map(str::to_string)
        };
        self.base = address("fulcrum listening on ")
            .unwrap_or_else(|| panic!("server did not start: {lines:?}; log:\n{}", self.log()));
        self.metrics_base = address("fulcrum metrics listening on ");
    }

    /// The process id of the running server.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the server runs").id()
    }

    /// The configuration file the server runs with.
    pub fn config_path(&self) -> &std::path::Path {
        &self.config_path
    }

    /// The test's private directory (certificates under `certs/`, HAProxy state under `haproxy/`).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Kill the process with SIGKILL (no graceful anything).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stop with SIGTERM and wait for a clean exit; returns whether it exited successfully.
    pub fn terminate(&mut self) -> bool {
        self.send_sigterm();
        self.wait_for_exit()
    }

    /// Send SIGTERM without waiting: the server begins its shutdown.
    pub fn send_sigterm(&self) {
        if let Some(child) = &self.child {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        }
    }

    /// Wait up to 20 s for the process to exit (killing it after that); returns whether it
    /// exited successfully.
    pub fn wait_for_exit(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Start the process again on the same database and configuration.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().await;
    }

    /// Send a request; returns the status and the JSON body (`Null` when empty).
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call_as(method, path, body, None).await
    }

    /// Send a request as a project (`X-Project-Id`).
    pub async fn call_as(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        project: Option<&str>,
    ) -> (StatusCode, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(p) = project {
            req = req.header("X-Project-Id", p);
        }
        if let Some(b) = &body {
            req = req.json(b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        let exchange = contract::Exchange {
            method: method.as_str(),
            path,
            request: body.as_ref().filter(|_| self.requests_follow_document),
            status: status.as_u16(),
            response: &value,
        };
        let violations = self.contract().await.violations(&exchange);
        assert!(
            violations.is_empty(),
            "{} {path} breaks the OpenAPI document: {violations:#?}\nrequest: {}\nanswer: {status} {value}",
            method,
            body.unwrap_or_default()
        );
        (status, value)
    }

    /// The contract of the OpenAPI document as `fulcrum openapi` prints it, which is what a
    /// server serves with the management module enabled (`tests/openapi.rs` checks that they
    /// are the same; with the module disabled, a server serves it without management's
    /// routes): read once per test binary, and kept with the validators compiled from it.
    pub async fn contract(&self) -> &'static contract::Contract {
        static CONTRACT: tokio::sync::OnceCell<contract::Contract> =
            tokio::sync::OnceCell::const_new();
        CONTRACT
            .get_or_init(|| async {
                let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_fulcrum"))
                    .arg("openapi")
                    .output()
                    .await
                    .expect("fulcrum openapi runs");
                assert!(out.status.success(), "fulcrum openapi: {out:?}");
                contract::Contract::new(
                    serde_json::from_slice(&out.stdout).expect("the document is JSON"),
                )
            })
            .await
    }

    /// The text of `/metrics` on the API port.
    pub async fn metrics_text(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .expect("scrape")
            .text()
            .await
            .expect("metrics text")
    }

    /// GET and expect 200.
    pub async fn get(&self, path: &str) -> Value {
        let (s, v) = self.call("GET", path, None).await;
        assert_eq!(s, StatusCode::OK, "GET {path}: {v}");
        v
    }

    /// POST, expect 201, return the object under `root`.
    pub async fn create(&self, path: &str, root: &str, body: Value) -> Value {
        let (s, v) = self.call("POST", path, Some(json!({ root: body }))).await;
        assert_eq!(s, StatusCode::CREATED, "POST {path}: {v}");
        v[root].clone()
    }

    /// Poll `path` until `root.provisioning_status` is `status` (or the object is gone when
    /// `status` is "DELETED"); panics after 20 s.
    pub async fn wait_for(&self, path: &str, root: &str, status: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (s, v) = self.call("GET", path, None).await;
            if status == "DELETED" && s == StatusCode::NOT_FOUND {
                return Value::Null;
            }
            if s == StatusCode::OK && v[root]["provisioning_status"] == status {
                return v[root].clone();
            }
            assert!(
                Instant::now() < deadline,
                "{path} never reached {status}: last {s} {v}\nlog:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Create a load balancer on the default subnet and wait until it is ACTIVE.
    pub async fn active_lb(&self, name: &str) -> Value {
        let lb = self
            .create(
                "/v2/lbaas/loadbalancers",
                "loadbalancer",
                json!({ "name": name, "vip_subnet_id": DEFAULT_SUBNET }),
            )
            .await;
        let id = lb["id"].as_str().unwrap().to_string();
        self.wait_for(
            &format!("/v2/lbaas/loadbalancers/{id}"),
            "loadbalancer",
            "ACTIVE",
        )
        .await
    }

    /// Wait until the load balancer `id` is ACTIVE again.
    pub async fn settle(&self, lb_id: &str) -> Value {
        self.wait_for(
            &format!("/v2/lbaas/loadbalancers/{lb_id}"),
            "loadbalancer",
            "ACTIVE",
        )
        .await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
        stop_haproxies(&self.dir.path().join("haproxy"));
    }
}

/// Stop every HAProxy a test left running under `state_dir`, so that no process outlives it: every
/// process whose command line names the (unique) state directory, including one that was still
/// daemonizing when the server was killed, hence the second pass.
pub fn stop_haproxies(state_dir: &std::path::Path) {
    for pass in 0..2 {
        let _ = Command::new("pkill")
            .args(["-KILL", "-f"])
            .arg(state_dir)
            .status();
        if pass == 0 {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The subnet the default configuration declares.
pub const DEFAULT_SUBNET: &str = "5f3a0c6e-6a0e-4c59-9a55-000000000002";
/// The network the default configuration declares.
pub const DEFAULT_NETWORK: &str = "5f3a0c6e-6a0e-4c59-9a55-000000000001";

/// Assert an Octavia fault: status, faultcode and a faultstring containing `text`.
/// `fulcrum --config <config> check-config`, run to its end.
pub fn check_config(config: &std::path::Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_fulcrum"))
        .arg("--config")
        .arg(config)
        .arg("check-config")
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("fulcrum check-config runs")
}

pub fn assert_fault(got: &(StatusCode, Value), status: u16, text: &str) {
    assert_eq!(got.0.as_u16(), status, "status of {}", got.1);
    let code = if status < 500 { "Client" } else { "Server" };
    assert_eq!(got.1["faultcode"], code, "{}", got.1);
    assert!(got.1["debuginfo"].is_null(), "{}", got.1);
    let s = got.1["faultstring"].as_str().unwrap_or_default();
    assert!(s.contains(text), "faultstring {s:?} lacks {text:?}");
}
