//! A real Keystone for the tests of Keystone authentication and Octavia's RBAC: Keystone (from the
//! repository's `.venv`, served by gunicorn) on a free loopback port with its own SQLite database
//! and fernet keys, helpers over its REST API, and requests to Fulcrum with `X-Auth-Token`.
//!
//! The launcher `tests/keystone/run_keystone.py` stops Keystone when its standard input reaches
//! end of file. This side holds the write end of that pipe, so Keystone ends with the [`Keystone`]
//! value, or with the test process however it ends: no process outlives a test binary.
//!
//! Tests share one Keystone per binary ([`Keystone::shared`]) and keep out of each other's way by
//! naming every project, user, region and service uniquely ([`unique`]).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use super::TestServer;

/// The password of Keystone's bootstrap user `admin` (project `admin`, role `admin`).
pub const ADMIN_PASSWORD: &str = "Keystone-Admin-Pa55";
/// Fulcrum's service user, as a deployment names Octavia's: role `service` on project `service`.
pub const SERVICE_USER: &str = "fulcrum";
/// Its project.
pub const SERVICE_PROJECT: &str = "service";
/// Its password: distinctive, so a test can look for it where it must not appear.
pub const SERVICE_PASSWORD: &str = "Fulcrum-Svc-S3cret-9f27c1";
/// The password every user made by [`Admin::user_with_roles`] gets.
pub const USER_PASSWORD: &str = "User-Pa55word";

const LAUNCHER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/keystone/run_keystone.py"
);

/// The Python of the virtual environment that has Keystone and gunicorn: `.venv` of the
/// repository (`.ci/run` creates it), or `FULCRUM_TEST_PYTHON`.
pub fn python() -> PathBuf {
    std::env::var_os("FULCRUM_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python")))
}

/// A name nobody else uses: `prefix` and 12 random hex digits.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A running Keystone. Stopped (and its launcher reaped) when dropped.
pub struct Keystone {
    /// Its v3 endpoint, `http://127.0.0.1:PORT/v3`.
    pub url: String,
    /// Its port.
    pub port: u16,
    state: PathBuf,
    child: Option<Child>,
    /// The state directory of a server started with [`Keystone::start`]; removed after it stops.
    owned: Option<tempfile::TempDir>,
}

static SHARED: OnceLock<Keystone> = OnceLock::new();

impl Keystone {
    /// Start a Keystone on a fresh database (bootstrapped with user `admin`, password
    /// [`ADMIN_PASSWORD`]) in its own temporary directory.
    pub async fn start() -> Keystone {
        tokio::task::spawn_blocking(|| {
            let dir = tempfile::tempdir().expect("temp dir");
            let mut k = Keystone::launch(dir.path(), None, false);
            k.owned = Some(dir);
            k
        })
        .await
        .expect("join")
    }

    /// The Keystone all tests of this test binary share, started by the first caller. It stops
    /// when the test process exits (its launcher sees end of file), and removes its state then.
    pub async fn shared() -> &'static Keystone {
        tokio::task::spawn_blocking(|| {
            SHARED.get_or_init(|| {
                let dir = tempfile::tempdir().expect("temp dir").keep();
                Keystone::launch(&dir, None, true)
            })
        })
        .await
        .expect("join")
    }

    /// Start another Keystone on this one's database and fernet keys (no bootstrap: it knows the
    /// same users and validates the same tokens), on its own port; tokens it issues expire after
    /// `token_expiration_seconds` (default one hour). Stop it with [`Keystone::stop`] to make
    /// Keystone unreachable for a Fulcrum pointed at it.
    pub async fn second(&self, token_expiration_seconds: Option<u64>) -> Keystone {
        let state = self.state.clone();
        tokio::task::spawn_blocking(move || {
            Keystone::launch(&state, token_expiration_seconds, false)
        })
        .await
        .expect("join")
    }

    fn launch(state: &Path, expiration: Option<u64>, remove_state: bool) -> Keystone {
        let python = python();
        assert!(
            python.exists(),
            "no Python with Keystone at {}: run .ci/run (it creates .venv with keystone and \
             gunicorn), or set FULCRUM_TEST_PYTHON",
            python.display()
        );
        // A port picked here can be taken before gunicorn binds it; the launcher then fails
        // (it only reports ready for its own gunicorn) and another port is tried.
        let mut failures = Vec::new();
        for _ in 0..3 {
            let port = free_port();
            match Keystone::spawn(&python, state, port, expiration, remove_state) {
                Ok(child) => {
                    return Keystone {
                        url: format!("http://127.0.0.1:{port}/v3"),
                        port,
                        state: state.to_path_buf(),
                        child: Some(child),
                        owned: None,
                    };
                }
                Err(e) => failures.push(e),
            }
        }
        panic!("Keystone did not start:\n{}", failures.join("\n---\n"));
    }

    fn spawn(
        python: &Path,
        state: &Path,
        port: u16,
        expiration: Option<u64>,
        remove_state: bool,
    ) -> Result<Child, String> {
        let launcher_log = state.join(format!("launcher-{port}.log"));
        std::fs::create_dir_all(state).expect("state dir");
        let stderr = std::fs::File::create(&launcher_log).expect("launcher log");
        let mut cmd = Command::new(python);
        cmd.arg(LAUNCHER)
            .arg("--state-dir")
            .arg(state)
            .args(["--port", &port.to_string()])
            .args(["--admin-password", ADMIN_PASSWORD]);
        if let Some(seconds) = expiration {
            cmd.args(["--token-expiration", &seconds.to_string()]);
        }
        if remove_state {
            cmd.arg("--remove-state");
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("{} {LAUNCHER}: {e}", python.display()))?;
        // The launcher prints one line; the reader thread keeps draining its output so that a
        // later line never meets a closed pipe.
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next().and_then(Result::ok).unwrap_or_default();
            let _ = tx.send(first);
            for _ in lines {}
        });
        let line = rx
            .recv_timeout(Duration::from_secs(180))
            .unwrap_or_default();
        if line.trim() == "keystone ready" {
            return Ok(child);
        }
        stop_child(&mut child);
        let read = |name: String| std::fs::read_to_string(state.join(name)).unwrap_or_default();
        Err(format!(
            "port {port}: {line:?}\nlauncher:\n{}\ngunicorn:\n{}\nkeystone:\n{}",
            read(format!("launcher-{port}.log")),
            read(format!("gunicorn-{port}.log")),
            tail(&read(format!("keystone-{port}.log")), 40),
        ))
    }

    /// Stop this server (its launcher stops gunicorn on end of input) and wait until it is gone;
    /// afterwards nothing listens on its port. The shared server cannot be stopped.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop_child(&mut child);
        }
    }

    /// The logs of this server, Keystone's and gunicorn's (for failure messages).
    pub fn log(&self) -> String {
        let read =
            |name: String| std::fs::read_to_string(self.state.join(name)).unwrap_or_default();
        format!(
            "{}\n--- gunicorn:\n{}",
            read(format!("keystone-{}.log", self.port)),
            read(format!("gunicorn-{}.log", self.port))
        )
    }

    /// An admin session (the bootstrap user `admin`, scoped to project `admin`).
    pub async fn admin(&self) -> Admin {
        let http = reqwest::Client::new();
        let body = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"id": "default"}, "password": ADMIN_PASSWORD}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}
        }});
        let token = self.issue(&http, body).await;
        Admin {
            url: self.url.clone(),
            http,
            token,
        }
    }

    /// A project-scoped token for `user` on its project (the user's password authenticates).
    pub async fn token(&self, user: &User) -> String {
        self.token_for(user, &user.project_id).await
    }

    /// A token for `user` scoped to `project_id` (the user needs a role there).
    pub async fn token_for(&self, user: &User, project_id: &str) -> String {
        let body = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "id": user.id, "password": user.password}}},
            "scope": {"project": {"id": project_id}}
        }});
        self.issue(&reqwest::Client::new(), body).await
    }

    async fn issue(&self, http: &reqwest::Client, body: Value) -> String {
        let mut attempt = 0;
        let resp = loop {
            let resp = http
                .post(format!("{}/auth/tokens", self.url))
                .json(&body)
                .send()
                .await
                .expect("POST /v3/auth/tokens");
            attempt += 1;
            if !retry(resp.status(), attempt).await {
                break resp;
            }
        };
        let status = resp.status();
        let token = resp
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = resp.text().await.unwrap_or_default();
        assert_eq!(
            status,
            StatusCode::CREATED,
            "token request to {}: {text}\nKeystone log:\n{}",
            self.url,
            tail(&self.log(), 60)
        );
        token.expect("X-Subject-Token")
    }

    /// The TOML Fulcrum needs to authenticate against this Keystone (`[auth]`, `[auth.keystone]`
    /// with the service user of [`Admin::service_user`], and `[policy]`).
    pub fn fulcrum_toml(&self, auth: &FulcrumAuth) -> String {
        let mut toml = format!(
            "[auth]\nstrategy = \"keystone\"\n[auth.keystone]\nauth_url = \"{}\"\n\
             username = \"{SERVICE_USER}\"\npassword = \"{SERVICE_PASSWORD}\"\n\
             project_name = \"{SERVICE_PROJECT}\"\nuser_domain_name = \"Default\"\n\
             project_domain_name = \"Default\"\ncache_seconds = {}\ntimeout_seconds = {}\n",
            self.url, auth.cache_seconds, auth.timeout_seconds
        );
        if let Some(uri) = &auth.www_authenticate_uri {
            toml.push_str(&format!("www_authenticate_uri = \"{uri}\"\n"));
        }
        toml.push_str(&format!(
            "[policy]\nenforce_new_defaults = {}\n",
            auth.enforce_new_defaults
        ));
        if let Some(file) = &auth.policy_file {
            toml.push_str(&format!("file = \"{}\"\n", file.display()));
        }
        toml
    }
}

impl Drop for Keystone {
    fn drop(&mut self) {
        self.stop();
        // `owned` (the state directory) goes after the process.
    }
}

/// Close the launcher's input (it stops gunicorn and exits), wait for it, and kill it if it takes
/// too long.
fn stop_child(child: &mut Child) {
    drop(child.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether to send a Keystone request again: a 500 (SQLite's "database is locked" when the two
/// servers sharing a database write at once; the transaction did not happen) is retried a few
/// times after a pause.
async fn retry(status: StatusCode, attempt: u32) -> bool {
    if status.is_server_error() && attempt < 5 {
        tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
        return true;
    }
    false
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// How a Fulcrum under test authenticates against Keystone (see [`Keystone::fulcrum_toml`]).
#[derive(Debug, Clone)]
pub struct FulcrumAuth {
    /// `cache_seconds`: how long a validated token is trusted.
    pub cache_seconds: u64,
    /// `timeout_seconds` of each call to Keystone.
    pub timeout_seconds: u64,
    /// `www_authenticate_uri`, when it is to differ from `auth_url`.
    pub www_authenticate_uri: Option<String>,
    /// `[policy] file`.
    pub policy_file: Option<PathBuf>,
    /// `[policy] enforce_new_defaults`.
    pub enforce_new_defaults: bool,
}

impl Default for FulcrumAuth {
    fn default() -> Self {
        FulcrumAuth {
            cache_seconds: 300,
            // Generous: the tests share two cores with everything else, and Keystone (one
            // gunicorn worker) can take seconds to answer under that load. Tests of a slow
            // Keystone set their own.
            timeout_seconds: 30,
            www_authenticate_uri: None,
            policy_file: None,
            enforce_new_defaults: false,
        }
    }
}

/// A Keystone project.
#[derive(Debug, Clone)]
pub struct Project {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
}

/// A Keystone user with a password, and the project its tokens are scoped to.
#[derive(Debug, Clone)]
pub struct User {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its password.
    pub password: String,
    /// The project [`Keystone::token`] scopes its tokens to.
    pub project_id: String,
}

/// An admin session on Keystone's REST API (the bootstrap admin's token).
pub struct Admin {
    /// Keystone's v3 endpoint.
    pub url: String,
    /// The admin token; Fulcrum accepts it too (role `admin` on project `admin`).
    pub token: String,
    http: reqwest::Client,
}

impl Admin {
    /// Send a request with the admin token; returns the status and the JSON body (`Null` when
    /// empty).
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut attempt = 0;
        loop {
            let mut req = self
                .http
                .request(method.clone(), format!("{}{path}", self.url))
                .header("X-Auth-Token", &self.token);
            if let Some(b) = &body {
                req = req.json(b);
            }
            let resp = req.send().await.expect("Keystone request");
            let status = resp.status();
            attempt += 1;
            if retry(status, attempt).await {
                continue;
            }
            let text = resp.text().await.unwrap_or_default();
            return (status, serde_json::from_str(&text).unwrap_or(Value::Null));
        }
    }

    /// Send a request and expect `status`; returns the body.
    async fn expect(&self, status: u16, method: &str, path: &str, body: Option<Value>) -> Value {
        let (got, v) = self.call(method, path, body).await;
        assert_eq!(got.as_u16(), status, "Keystone {method} {path}: {v}");
        v
    }

    /// The id of the first `kind` (e.g. "roles") listed by `query`, if any.
    async fn find(&self, kind: &str, query: &str) -> Option<String> {
        let v = self
            .expect(200, "GET", &format!("/{kind}?{query}"), None)
            .await;
        v[kind][0]["id"].as_str().map(str::to_owned)
    }

    /// Create `root` at `/kind`, or (409: it exists, perhaps made by a concurrent test) find it.
    async fn create_or_find(&self, kind: &str, root: &str, body: Value, query: &str) -> String {
        let (status, v) = self
            .call("POST", &format!("/{kind}"), Some(json!({ root: body })))
            .await;
        match status.as_u16() {
            201 => v[root]["id"].as_str().expect("id").to_owned(),
            409 => self
                .find(kind, query)
                .await
                .unwrap_or_else(|| panic!("{root} {body} conflicts but is not found")),
            _ => panic!("Keystone POST /{kind}: {status} {v}"),
        }
    }

    /// Create a project named `prefix-<random>` in the default domain.
    pub async fn create_project(&self, prefix: &str) -> Project {
        let name = unique(prefix);
        let v = self
            .expect(
                201,
                "POST",
                "/projects",
                Some(json!({"project": {"name": name, "domain_id": "default"}})),
            )
            .await;
        Project {
            id: v["project"]["id"].as_str().expect("id").to_owned(),
            name,
        }
    }

    /// The id of the role `name`, created if it does not exist yet.
    pub async fn ensure_role(&self, name: &str) -> String {
        if let Some(id) = self.find("roles", &format!("name={name}")).await {
            return id;
        }
        self.create_or_find(
            "roles",
            "role",
            json!({ "name": name }),
            &format!("name={name}"),
        )
        .await
    }

    /// Create a user `name` with `password` in the default domain; its tokens are scoped to
    /// `project` (give it a role there with [`Admin::assign_role`]).
    pub async fn create_user(&self, name: &str, password: &str, project: &Project) -> User {
        let v = self
            .expect(
                201,
                "POST",
                "/users",
                Some(json!({"user": {"name": name, "password": password,
                                     "domain_id": "default", "default_project_id": project.id}})),
            )
            .await;
        User {
            id: v["user"]["id"].as_str().expect("id").to_owned(),
            name: name.to_owned(),
            password: password.to_owned(),
            project_id: project.id.clone(),
        }
    }

    /// Give `user` the role `role` (created if missing) on `project_id`.
    pub async fn assign_role(&self, project_id: &str, user_id: &str, role: &str) {
        let role_id = self.ensure_role(role).await;
        self.expect(
            204,
            "PUT",
            &format!("/projects/{project_id}/users/{user_id}/roles/{role_id}"),
            None,
        )
        .await;
    }

    /// A new user (named after its first role) with the roles `roles` on `project` and the
    /// password [`USER_PASSWORD`].
    pub async fn user_with_roles(&self, project: &Project, roles: &[&str]) -> User {
        let user = self
            .create_user(
                &unique(roles.first().copied().unwrap_or("user")),
                USER_PASSWORD,
                project,
            )
            .await;
        for role in roles {
            self.assign_role(&project.id, &user.id, role).await;
        }
        user
    }

    /// Fulcrum's service user ([`SERVICE_USER`] with [`SERVICE_PASSWORD`], role `service` on
    /// project [`SERVICE_PROJECT`], as a deployment sets up Octavia's user), made if missing;
    /// [`Keystone::fulcrum_toml`] configures Fulcrum with it.
    pub async fn service_user(&self) -> User {
        let project_id = self
            .create_or_find(
                "projects",
                "project",
                json!({"name": SERVICE_PROJECT, "domain_id": "default"}),
                &format!("name={SERVICE_PROJECT}&domain_id=default"),
            )
            .await;
        let user_id = self
            .create_or_find(
                "users",
                "user",
                json!({"name": SERVICE_USER, "password": SERVICE_PASSWORD,
                       "domain_id": "default", "default_project_id": project_id}),
                &format!("name={SERVICE_USER}&domain_id=default"),
            )
            .await;
        self.assign_role(&project_id, &user_id, "service").await;
        User {
            id: user_id,
            name: SERVICE_USER.to_owned(),
            password: SERVICE_PASSWORD.to_owned(),
            project_id,
        }
    }

    /// Revoke `token` (`DELETE /v3/auth/tokens`).
    pub async fn revoke_token(&self, token: &str) {
        let resp = self
            .http
            .delete(format!("{}/auth/tokens", self.url))
            .header("X-Auth-Token", &self.token)
            .header("X-Subject-Token", token)
            .send()
            .await
            .expect("DELETE /v3/auth/tokens");
        assert_eq!(resp.status(), StatusCode::NO_CONTENT, "revoke token");
    }

    /// Create the region `region` if it does not exist.
    pub async fn ensure_region(&self, region: &str) {
        let (status, v) = self
            .call("POST", "/regions", Some(json!({"region": {"id": region}})))
            .await;
        assert!(
            status == StatusCode::CREATED || status == StatusCode::CONFLICT,
            "Keystone POST /regions: {status} {v}"
        );
    }

    /// Register a service of `service_type` named `name`; returns its id.
    pub async fn create_service(&self, service_type: &str, name: &str) -> String {
        let v = self
            .expect(
                201,
                "POST",
                "/services",
                Some(json!({"service": {"type": service_type, "name": name}})),
            )
            .await;
        v["service"]["id"].as_str().expect("id").to_owned()
    }

    /// Register a public endpoint `url` of `service_id` in `region` (created if missing).
    pub async fn create_endpoint(&self, service_id: &str, region: &str, url: &str) {
        self.ensure_region(region).await;
        self.expect(
            201,
            "POST",
            "/endpoints",
            Some(
                json!({"endpoint": {"service_id": service_id, "interface": "public",
                                     "url": url, "region_id": region}}),
            ),
        )
        .await;
    }

    /// Register a service with its public endpoint in `region`, in one go.
    pub async fn register(&self, service_type: &str, region: &str, url: &str) {
        let id = self
            .create_service(service_type, &unique(service_type))
            .await;
        self.create_endpoint(&id, region, url).await;
    }
}

/// A response of Fulcrum: status, headers and the JSON body (`Null` when empty).
#[derive(Debug)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body as JSON, a JSON string when it is not JSON, or `Null` when empty.
    pub body: Value,
}

/// Send a request to `server` with `X-Auth-Token: token` (none when `token` is `None`).
pub async fn call_with_token(
    server: &TestServer,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Reply {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = server
        .http
        .request(method, format!("{}{path}", server.base));
    if let Some(t) = token {
        req = req.header("X-Auth-Token", t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap_or_default();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Reply {
        status,
        headers,
        body,
    }
}

/// Poll `path` with `token` until `root.provisioning_status` is `status` (or the object is gone
/// when `status` is "DELETED"); panics after 20 s.
pub async fn wait_for_as(
    server: &TestServer,
    token: &str,
    path: &str,
    root: &str,
    status: &str,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = call_with_token(server, Some(token), "GET", path, None).await;
        if status == "DELETED" && r.status == StatusCode::NOT_FOUND {
            return Value::Null;
        }
        if r.status == StatusCode::OK && r.body[root]["provisioning_status"] == status {
            return r.body[root].clone();
        }
        assert!(
            Instant::now() < deadline,
            "{path} never reached {status}: last {} {}\nlog:\n{}",
            r.status,
            r.body,
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Wait (with `token`) until the load balancer `lb_id` is ACTIVE.
pub async fn settle_as(server: &TestServer, token: &str, lb_id: &str) -> Value {
    wait_for_as(
        server,
        token,
        &format!("/v2/lbaas/loadbalancers/{lb_id}"),
        "loadbalancer",
        "ACTIVE",
    )
    .await
}

/// POST `{root: body}` to `path` with `token`, expect 201 and return the object.
pub async fn create_as(
    server: &TestServer,
    token: &str,
    path: &str,
    root: &str,
    body: Value,
) -> Value {
    let r = call_with_token(
        server,
        Some(token),
        "POST",
        path,
        Some(json!({ root: body })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "POST {path}: {}", r.body);
    r.body[root].clone()
}
