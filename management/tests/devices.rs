//! The device inventory over real HTTP, on a fresh SQLite file and a fresh PostgreSQL database:
//! registration and maintenance states through `/v1/management/devices`, facts read from the
//! BIG-IP simulator (an HA pair, in process) and from the real `haproxy` binary, backups of an
//! HAProxy host's directory restored, devices that stop answering marked unreachable and back,
//! and orchestration's events (devices seen, a failover request) acted on.

use std::process::Command;
use std::sync::Arc;

use async_trait::async_trait;
use fulcrum_core::events::Event;
use fulcrum_core::tasks::{BackgroundTask, Duties};
use fulcrum_management::config::{DevicesConfig, SecretKeyText};
use fulcrum_management::devices::model::{Connection, DeviceKind, Registration};
use fulcrum_management::devices::ops::{DeviceOps, LicenseOrder, Software};
use fulcrum_management::devices::{haproxy_host::HaproxyHost, ops_for};
use fulcrum_management::events::EventsTask;
use fulcrum_management::{Management, ManagementConfig};
use fulcrum_store::{Store, StoreOptions};
use reqwest::StatusCode;
use serde_json::{Value, json};
use simulators::f5::{self as sim, FaultPlan};

macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(super::Db::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(super::Db::Postgres).await
            }
        }
    )*};
}

#[derive(Debug, Clone, Copy)]
enum Db {
    Sqlite,
    Postgres,
}

fn psql(sql: &str) {
    let out = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres"])
        .args(["-v", "ON_ERROR_STOP=1", "-qc", sql])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The management module served on a free port, over its own database.
struct Served {
    base: String,
    http: reqwest::Client,
    management: Arc<Management>,
    store: Store,
    pg_name: Option<String>,
    key_file: String,
    dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name {
            psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// Duties that this process always performs (a single replica).
struct Alone;

#[async_trait]
impl Duties for Alone {
    async fn performs(&self, _duty: &str) -> Result<bool, String> {
        Ok(true)
    }
}

/// A new key file in `dir`, its path as configuration names it.
fn new_key_file(dir: &std::path::Path, name: &str) -> String {
    let path = dir.join(name);
    fulcrum_management::secrets::SecretBox::load_or_create(&path).unwrap();
    path.display().to_string()
}

async fn serve(db: Db, devices: DevicesConfig) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let key_file = new_key_file(dir.path(), "management.key");
    let (url, pg_name) = match db {
        Db::Sqlite => (
            format!("sqlite://{}", dir.path().join("fulcrum.db").display()),
            None,
        ),
        Db::Postgres => {
            let name = format!("fulcrum_devices_{}", uuid::Uuid::new_v4().simple());
            psql(&format!("CREATE DATABASE {name}"));
            (
                format!("postgres://postgres@127.0.0.1:5432/{name}"),
                Some(name),
            )
        }
    };
    let store = Store::connect(&StoreOptions {
        url,
        max_connections: 4,
    })
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let config = ManagementConfig {
        devices,
        secret_key_file: Some(key_file.clone()),
        ..ManagementConfig::default()
    };
    let management = Management::open(&store, config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = management.routes();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Served {
        base,
        http: reqwest::Client::new(),
        management,
        store,
        pg_name,
        key_file,
        dir,
    }
}

impl Served {
    /// The module opened again on the same database with the key in `key_file`, served on a
    /// port of its own (as a restart, or another replica, would).
    async fn reopen(&self, key_file: &str) -> Served {
        let config = ManagementConfig {
            secret_key_file: Some(key_file.to_owned()),
            ..ManagementConfig::default()
        };
        let management = Management::open(&self.store, config).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = management.routes();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Served {
            base,
            http: reqwest::Client::new(),
            management,
            store: self.store.clone(),
            pg_name: None,
            key_file: key_file.to_owned(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// The password column of the device `id`, as stored.
    async fn stored_password(&self, id: &str) -> String {
        use sqlx::Row;
        sqlx::query("SELECT password FROM mgmt_devices WHERE id = $1")
            .bind(id)
            .fetch_one(self.management.db.reader())
            .await
            .unwrap()
            .get("password")
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn register(&self, body: Value) -> Value {
        let (status, answer) = self
            .call("POST", "/v1/management/devices", Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        answer["device"].clone()
    }

    async fn device(&self, id: &str) -> Value {
        let (status, body) = self
            .call("GET", &format!("/v1/management/devices/{id}"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["device"].clone()
    }

    async fn names(&self, query: &str) -> Vec<String> {
        let (status, body) = self
            .call("GET", &format!("/v1/management/devices{query}"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["devices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap().to_owned())
            .collect()
    }

    async fn audit(&self, action: &str) -> Vec<Value> {
        let (_, body) = self
            .call(
                "GET",
                &format!("/v1/management/audit?action={action}"),
                None,
            )
            .await;
        body["audit"].as_array().unwrap().clone()
    }
}

fn assert_fault(answer: &(StatusCode, Value), status: u16, text: &str) {
    assert_eq!(answer.0.as_u16(), status, "{}", answer.1);
    let fault = answer.1["faultstring"].as_str().unwrap_or_default();
    assert!(fault.contains(text), "{text:?} not in {}", answer.1);
    assert!(answer.1.get("debuginfo").is_some(), "{}", answer.1);
}

fn bigip(name: &str, url: &str, peer: Option<&str>) -> Value {
    json!({
        "name": name, "kind": "bigip", "provider": "f5", "addresses": [url],
        "username": "admin", "password": "admin", "ha_peer": peer,
    })
}

async fn simulated_pair() -> sim::Running {
    sim::start(sim::Config::ha_pair()).await.unwrap()
}

/// Registration, listing with filters, maintenance transitions and deletion; the password never
/// comes back; bad requests change nothing; every action is audited.
async fn devices_are_registered_and_put_in_maintenance(db: Db) {
    let s = serve(db, DevicesConfig::default()).await;
    let body = json!({
        "name": "bigip-a", "kind": "bigip", "addresses": ["https://10.0.0.5"],
        "username": "admin", "password": "s3cret-Pa55",
    });
    let device = s.register(body.clone()).await;
    let id = device["id"].as_str().unwrap().to_owned();
    assert_eq!(device["state"], "ready");
    assert_eq!(device["source"], "api");
    assert_eq!(device["has_password"], true);
    assert_eq!(device["verify_tls"], true);
    s.register(json!({"name": "edge-1", "kind": "nsx_edge"}))
        .await;

    let (_, listed) = s.call("GET", "/v1/management/devices", None).await;
    assert!(
        !listed.to_string().contains("s3cret-Pa55"),
        "the password is never returned: {listed}"
    );
    assert_eq!(s.names("").await, ["bigip-a", "edge-1"]);
    assert_eq!(s.names("?kind=nsx_edge").await, ["edge-1"]);

    // Refusals: each names the problem and changes nothing.
    let duplicate = s.call("POST", "/v1/management/devices", Some(body)).await;
    assert_fault(&duplicate, 409, "already registered");
    let no_password = s
        .call(
            "POST",
            "/v1/management/devices",
            Some(
                json!({"name": "b", "kind": "bigip", "addresses": ["https://x"], "username": "u"}),
            ),
        )
        .await;
    assert_fault(&no_password, 400, "needs a username and a password");
    let bad_kind = s
        .call(
            "POST",
            "/v1/management/devices",
            Some(json!({"name": "c", "kind": "router"})),
        )
        .await;
    assert_fault(&bad_kind, 400, "router");
    let bad_filter = s
        .call("GET", "/v1/management/devices?state=asleep", None)
        .await;
    assert_fault(&bad_filter, 400, "asleep");
    assert_eq!(s.names("").await, ["bigip-a", "edge-1"]);

    let path = format!("/v1/management/devices/{id}");
    let (status, moved) = s
        .call("PATCH", &path, Some(json!({"state": "maintenance"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["device"]["state"], "maintenance");
    assert_eq!(s.names("?state=maintenance").await, ["bigip-a"]);
    assert_eq!(s.names("?state=ready").await, ["edge-1"]);

    let impossible = s
        .call("PATCH", &path, Some(json!({"state": "draining"})))
        .await;
    assert_fault(&impossible, 409, "cannot go from maintenance to draining");
    let not_an_operator_state = s
        .call("PATCH", &path, Some(json!({"state": "unreachable"})))
        .await;
    assert_fault(&not_an_operator_state, 400, "set by Fulcrum");
    let unknown_field = s
        .call("PATCH", &path, Some(json!({"state": "ready", "colour": 1})))
        .await;
    assert_fault(&unknown_field, 400, "colour");
    assert_eq!(s.device(&id).await["state"], "maintenance");

    // Availability for placement follows the state; unknown devices may take work.
    let availability = s.management.device_availability();
    assert!(!availability.may_place("f5", "bigip-a").await);
    assert!(availability.may_place("nsxt", "edge-1").await);
    assert!(availability.may_place("f5", "never-registered").await);

    let registered = s.audit("device.register").await;
    assert_eq!(registered.len(), 2, "{registered:?}");
    let maintenance = s.audit("device.maintenance").await;
    assert_eq!(
        maintenance.len(),
        1,
        "only the change made: {maintenance:?}"
    );
    assert_eq!(maintenance[0]["target"], id.as_str());
    assert_eq!(maintenance[0]["detail"], "ready -> maintenance");

    let (status, _) = s.call("DELETE", &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_fault(&s.call("GET", &path, None).await, 404, "not found");
    assert_eq!(s.audit("device.delete").await.len(), 1);
}

on_both_databases!(devices_are_registered_and_put_in_maintenance);

/// Devices of the configuration are in the inventory at start, kept up to date on restart, and
/// cannot be deleted through the API.
async fn configured_devices_are_registered(db: Db) {
    let devices = DevicesConfig {
        registered: vec![Registration {
            name: "lb-host-1".into(),
            kind: DeviceKind::HaproxyHost,
            provider: Some("haproxy".into()),
            ha_peer: None,
            connection: Connection {
                config_dir: Some("/etc/haproxy".into()),
                ..Connection::default()
            },
        }],
        ..DevicesConfig::default()
    };
    let s = serve(db, devices.clone()).await;
    let (_, listed) = s.call("GET", "/v1/management/devices", None).await;
    let device = &listed["devices"][0];
    assert_eq!(device["name"], "lb-host-1");
    assert_eq!(device["source"], "config");
    assert_eq!(device["config_dir"], "/etc/haproxy");

    let mut changed = devices.clone();
    changed.registered[0].connection.config_dir = Some("/srv/haproxy".into());
    let config = ManagementConfig {
        devices: changed,
        secret_key_file: Some(s.key_file.clone()),
        ..ManagementConfig::default()
    };
    Management::open(&s.store, config).await.unwrap();
    let again = s.device(device["id"].as_str().unwrap()).await;
    assert_eq!(again["config_dir"], "/srv/haproxy");

    let delete = s
        .call(
            "DELETE",
            &format!("/v1/management/devices/{}", device["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_fault(&delete, 409, "registered in the configuration");
    assert_eq!(s.names("").await, ["lb-host-1"]);
}

on_both_databases!(configured_devices_are_registered);

/// A device's password as the simulator accepts it, found nowhere in the database.
const DEVICE_PASSWORD: &str = "Zq7-sealed-Pa55word";

async fn bigip_with_password() -> sim::Running {
    sim::start(sim::Config {
        credentials: sim::Credentials {
            username: "admin".into(),
            password: DEVICE_PASSWORD.into(),
        },
        ..sim::Config::default()
    })
    .await
    .unwrap()
}

fn bigip_body(name: &str, url: &str) -> Value {
    json!({
        "name": name, "kind": "bigip", "addresses": [url],
        "username": "admin", "password": DEVICE_PASSWORD,
    })
}

/// A registered password is stored sealed (never in the database's bytes), and opened again to
/// log in to the device.
async fn passwords_are_sealed_at_rest(db: Db) {
    let device = bigip_with_password().await;
    let s = serve(db, DevicesConfig::default()).await;
    let a = s
        .register(bigip_body("bigip-a", device.base_urls()[0]))
        .await;
    let id = a["id"].as_str().unwrap();

    let stored = s.stored_password(id).await;
    assert!(stored.starts_with("sealed:v1:"), "{stored}");
    assert!(!stored.contains(DEVICE_PASSWORD), "{stored}");
    if let Db::Sqlite = db {
        let mut files = 0;
        for entry in std::fs::read_dir(s.dir.path()).unwrap() {
            let path = entry.unwrap().path();
            if path.to_string_lossy().contains("fulcrum.db") {
                let bytes = std::fs::read(&path).unwrap();
                let found = bytes
                    .windows(DEVICE_PASSWORD.len())
                    .any(|w| w == DEVICE_PASSWORD.as_bytes());
                assert!(!found, "the password is in {}", path.display());
                files += 1;
            }
        }
        assert!(files >= 1, "the database file was read");
    }

    let (status, body) = s
        .call(
            "POST",
            &format!("/v1/management/devices/{id}/refresh"),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the device takes the password: {body}"
    );
    assert_eq!(body["device"]["facts"]["version"], "17.1.1");
    assert!(body["device"]["credentials_error"].is_null(), "{body}");
}

on_both_databases!(passwords_are_sealed_at_rest);

/// A password stored in plain text before sealing is still used, and sealed when the module
/// opens.
async fn a_password_stored_in_plain_text_is_sealed_at_open(db: Db) {
    let device = bigip_with_password().await;
    let s = serve(db, DevicesConfig::default()).await;
    let a = s
        .register(bigip_body("bigip-a", device.base_urls()[0]))
        .await;
    let id = a["id"].as_str().unwrap();
    sqlx::query("UPDATE mgmt_devices SET password = $1 WHERE id = $2")
        .bind(DEVICE_PASSWORD)
        .bind(id)
        .execute(s.management.db.writer())
        .await
        .unwrap();
    let refresh = format!("/v1/management/devices/{id}/refresh");
    let (status, body) = s.call("POST", &refresh, None).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a plain password still logs in: {body}"
    );

    let restarted = s.reopen(&s.key_file).await;
    let stored = restarted.stored_password(id).await;
    assert!(stored.starts_with("sealed:v1:"), "sealed at open: {stored}");
    let (status, body) = restarted.call("POST", &refresh, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["device"]["facts"]["version"], "17.1.1");
}

on_both_databases!(a_password_stored_in_plain_text_is_sealed_at_open);

/// Under another key a sealed password does not open (a database whose replicas sealed with
/// keys of their own before the shared key was checked): the device is still listed, its
/// operations are refused naming the key file (audited), the facts job reads it no more but does
/// not mark it unreachable; the key it was sealed with still opens it. A key file that holds no
/// key stops the module from opening, by name.
async fn a_password_sealed_under_another_key_fails_the_devices_operations(db: Db) {
    let device = bigip_with_password().await;
    let s = serve(db, DevicesConfig::default()).await;
    let a = s
        .register(bigip_body("bigip-a", device.base_urls()[0]))
        .await;
    let id = a["id"].as_str().unwrap();

    sqlx::query("DELETE FROM mgmt_secret_key_check")
        .execute(s.management.db.writer())
        .await
        .unwrap();
    let other_key = new_key_file(s.dir.path(), "other.key");
    let other = s.reopen(&other_key).await;
    let shown = other.device(id).await;
    assert_eq!(shown["has_password"], true, "{shown}");
    let why = shown["credentials_error"].as_str().unwrap_or_default();
    assert!(why.contains(&other_key), "{shown}");

    let refresh = format!("/v1/management/devices/{id}/refresh");
    let answer = other.call("POST", &refresh, None).await;
    assert_fault(
        &answer,
        409,
        &format!("device bigip-a: the stored secret does not open with the key in {other_key}"),
    );
    assert!(!answer.1.to_string().contains(DEVICE_PASSWORD));
    let audited = other.audit("device.refresh").await;
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert_eq!(audited[0]["result"], "failure");

    let task = fulcrum_management::devices::facts_task::FactsTask::new(
        other.management.devices.clone(),
        1,
        Arc::new(Alone),
    );
    let report = task.activate().await.unwrap();
    assert_eq!(report.get("credentials"), Some(&1), "{report:?}");
    let after = other.device(id).await;
    assert_eq!(after["state"], "ready", "{after}");
    assert_eq!(after["consecutive_failures"], 0, "{after}");
    assert_eq!(
        device
            .control()
            .calls()
            .count("POST", "/mgmt/shared/authn/login"),
        0,
        "the device was not called"
    );

    let (status, body) = s.call("POST", &refresh, None).await;
    assert_eq!(status, StatusCode::OK, "its own key opens it: {body}");

    let junk = s.dir.path().join("junk.key");
    std::fs::write(&junk, "not a key\n").unwrap();
    let config = ManagementConfig {
        secret_key_file: Some(junk.display().to_string()),
        ..ManagementConfig::default()
    };
    let error = Management::open(&s.store, config).await.unwrap_err();
    assert!(
        error.to_string().contains(&junk.display().to_string()),
        "{error}"
    );
    let missing = s.dir.path().join("missing.key").display().to_string();
    let config = ManagementConfig {
        secret_key_file: Some(missing.clone()),
        ..ManagementConfig::default()
    };
    let error = Management::open(&s.store, config).await.unwrap_err();
    assert!(error.to_string().contains(&missing), "{error}");
    assert!(
        !std::path::Path::new(&missing).exists(),
        "a named key file is never made up"
    );
}

on_both_databases!(a_password_sealed_under_another_key_fails_the_devices_operations);

/// The sealed check value of the key, as stored.
async fn stored_key_check(s: &Served) -> String {
    use sqlx::Row;
    sqlx::query("SELECT sealed FROM mgmt_secret_key_check")
        .fetch_one(s.management.db.reader())
        .await
        .unwrap()
        .get("sealed")
}

/// Two replicas on one database: the second, with a key of its own, refuses to start, naming its
/// key file and saying to share the key, and changes nothing; with a copy of the first one's key
/// it starts and opens the secrets the first sealed, as with the key itself in the configuration.
async fn replicas_on_one_database_must_share_the_key(db: Db) {
    let device = bigip_with_password().await;
    let s = serve(db, DevicesConfig::default()).await;
    let a = s
        .register(bigip_body("bigip-a", device.base_urls()[0]))
        .await;
    let id = a["id"].as_str().unwrap();
    let check = stored_key_check(&s).await;
    let password = s.stored_password(id).await;

    let own_key = new_key_file(s.dir.path(), "replica-2.key");
    let config = ManagementConfig {
        secret_key_file: Some(own_key.clone()),
        ..ManagementConfig::default()
    };
    let error = Management::open(&s.store, config)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&format!(
            "the secret key in {own_key} is not the key this database's secrets are sealed with"
        )),
        "{error}"
    );
    assert!(error.contains("the same key"), "{error}");
    assert!(!error.contains(DEVICE_PASSWORD), "{error}");
    assert_eq!(stored_key_check(&s).await, check, "the check is kept");
    assert_eq!(s.stored_password(id).await, password);

    let shared = s.dir.path().join("replica-2-shared.key");
    std::fs::copy(&s.key_file, &shared).unwrap();
    let second = s.reopen(&shared.display().to_string()).await;
    let shown = second.device(id).await;
    assert_eq!(shown["has_password"], true, "{shown}");
    assert!(shown["credentials_error"].is_null(), "{shown}");
    let refresh = format!("/v1/management/devices/{id}/refresh");
    let (status, body) = second.call("POST", &refresh, None).await;
    assert_eq!(status, StatusCode::OK, "the shared key opens it: {body}");

    let own = std::fs::read_to_string(&own_key).unwrap();
    let config = ManagementConfig {
        secret_key: Some(SecretKeyText(own)),
        ..ManagementConfig::default()
    };
    let error = Management::open(&s.store, config)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("the secret key in [management] secret_key is not the key"),
        "{error}"
    );
    let shared = std::fs::read_to_string(&s.key_file).unwrap();
    let config = ManagementConfig {
        secret_key: Some(SecretKeyText(shared.clone())),
        secret_key_file: Some(s.key_file.clone()),
        ..ManagementConfig::default()
    };
    let error = Management::open(&s.store, config).await.unwrap_err();
    assert!(error.to_string().contains("set one of them"), "{error}");
    let config = ManagementConfig {
        secret_key: Some(SecretKeyText(shared)),
        ..ManagementConfig::default()
    };
    let third = Management::open(&s.store, config).await.unwrap();
    let listed = third.devices.by_name("bigip-a").await.unwrap().unwrap();
    assert!(listed.credentials_error.is_none(), "{listed:?}");
    assert_eq!(stored_key_check(&s).await, check);
}

on_both_databases!(replicas_on_one_database_must_share_the_key);

/// Facts of a BIG-IP HA pair, read from the simulator through token login: version, role, peer,
/// license.
async fn bigip_facts_come_from_the_device(db: Db) {
    let pair = simulated_pair().await;
    let urls = pair.base_urls();
    pair.control().set_license_end(1, "2020/01/31");
    let s = serve(db, DevicesConfig::default()).await;
    let a = s.register(bigip("bigip-a", urls[0], Some("bigip-b"))).await;
    let b = s.register(bigip("bigip-b", urls[1], Some("bigip-a"))).await;

    for (device, role, peer) in [
        (&a, "active", "bigip2.fulcrum.test"),
        (&b, "standby", "bigip1.fulcrum.test"),
    ] {
        let path = format!(
            "/v1/management/devices/{}/refresh",
            device["id"].as_str().unwrap()
        );
        let (status, body) = s.call("POST", &path, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let facts = &body["device"]["facts"];
        assert_eq!(facts["version"], "17.1.1", "{facts}");
        assert_eq!(facts["build"], "0.0.4");
        assert_eq!(facts["ha_role"], role);
        assert_eq!(facts["ha_peer"], peer);
        assert_eq!(facts["health"], "ok");
        assert_eq!(facts["details"]["active_volume"], "HD1.1");
        assert!(body["device"]["last_seen"].is_string(), "{body}");
    }
    let b = s.device(b["id"].as_str().unwrap()).await;
    assert_eq!(b["facts"]["license_state"], "expired");
    assert_eq!(b["facts"]["license_expiry"], "2020-01-31");
    let logins = pair
        .control()
        .calls()
        .count("POST", "/mgmt/shared/authn/login");
    assert_eq!(logins, 2, "one token login per device");

    let refreshed = s.audit("device.refresh").await;
    assert_eq!(refreshed.len(), 2);
    assert!(refreshed.iter().all(|e| e["result"] == "success"));
}

on_both_databases!(bigip_facts_come_from_the_device);

/// A BIG-IP whose CA bundle cannot be read is not called at all: its refresh is refused with
/// the reason, and it is never called with TLS checked against nothing.
#[tokio::test]
async fn a_bigip_with_an_unreadable_ca_bundle_is_refused_by_name() {
    let pair = simulated_pair().await;
    let s = serve(Db::Sqlite, DevicesConfig::default()).await;
    let mut body = bigip("bigip-a", pair.base_urls()[0], None);
    body["ca_bundle"] = json!("/nonexistent/ca.pem");
    let device = s.register(body).await;
    let refused = s
        .call(
            "POST",
            &format!(
                "/v1/management/devices/{}/refresh",
                device["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_fault(
        &refused,
        400,
        "the CA bundle /nonexistent/ca.pem cannot be read",
    );
    assert_eq!(pair.control().calls().total, 0, "the device was not called");
}

/// Facts of an HAProxy host from the real binary; a host whose binary does not run answers 502
/// and the failure is recorded; device work the host does not do is refused by name.
async fn haproxy_host_facts_come_from_the_binary(db: Db) {
    let s = serve(db, DevicesConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let host = s
        .register(json!({
            "name": "host-1", "kind": "haproxy_host",
            "config_dir": dir.path().display().to_string(),
        }))
        .await;
    let path = format!(
        "/v1/management/devices/{}/refresh",
        host["id"].as_str().unwrap()
    );
    let (status, body) = s.call("POST", &path, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let facts = &body["device"]["facts"];
    let expected = Command::new("/usr/sbin/haproxy")
        .arg("-v")
        .output()
        .unwrap();
    let expected = String::from_utf8_lossy(&expected.stdout).to_string();
    let version = facts["version"].as_str().unwrap();
    assert!(
        expected.contains(&format!("HAProxy version {version} ")),
        "{version} from {expected}"
    );
    assert_eq!(facts["health"], "ok");
    assert_eq!(facts["license_state"], "none");
    assert!(
        facts["details"]["build_target"]
            .as_str()
            .unwrap()
            .starts_with("linux")
    );
    assert!(
        facts["details"]["features"]
            .as_str()
            .unwrap()
            .contains("OPENSSL")
    );

    let broken = s
        .register(json!({
            "name": "host-2", "kind": "haproxy_host",
            "config_dir": dir.path().display().to_string(),
            "haproxy_binary": "/nonexistent/haproxy",
        }))
        .await;
    let id = broken["id"].as_str().unwrap();
    let failed = s
        .call(
            "POST",
            &format!("/v1/management/devices/{id}/refresh"),
            None,
        )
        .await;
    assert_fault(&failed, 502, "/nonexistent/haproxy does not run");
    let broken = s.device(id).await;
    assert_eq!(broken["consecutive_failures"], 1);
    assert!(broken["facts"].is_null());
    let audit = s.audit("device.refresh").await;
    assert_eq!(audit[0]["result"], "failure", "{audit:?}");

    let device = s
        .management
        .devices
        .get(host["id"].as_str().unwrap())
        .await
        .unwrap();
    let ops = ops_for(&device).unwrap();
    let install = ops
        .install(&Software::Hotfix("Hotfix-1.iso".into()), "HD1.2")
        .await
        .unwrap_err();
    assert_eq!(
        install.to_string(),
        "install is not supported for haproxy_host devices."
    );
    assert!(ops.failover().await.is_err());
    let license = ops.license(&LicenseOrder::Show).await.unwrap();
    assert_eq!(license.state, "none");
    let install = ops
        .license(&LicenseOrder::Install("ABCDE-FGHIJ".into()))
        .await
        .unwrap_err();
    assert_eq!(
        install.to_string(),
        "licensing (an HAProxy host needs no license) is not supported for haproxy_host devices."
    );
}

on_both_databases!(haproxy_host_facts_come_from_the_binary);

/// A backup of an HAProxy host's directory restores it exactly: changed files back, removed ones
/// again, added ones gone; the restored configuration is valid for the real binary.
#[tokio::test]
async fn an_haproxy_host_backup_restores_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let config = "global\n    maxconn 100\ndefaults\n    mode http\n    timeout connect 5s\n    \
                  timeout client 5s\n    timeout server 5s\nfrontend www\n    bind 127.0.0.1:18080\n    \
                  default_backend app\nbackend app\n    server a 127.0.0.1:9 check\n";
    std::fs::write(dir.path().join("haproxy.cfg"), config).unwrap();
    std::fs::create_dir(dir.path().join("certs")).unwrap();
    std::fs::write(dir.path().join("certs/site.pem"), [0u8, 159, 146, 150]).unwrap();
    let device = fulcrum_management::devices::model::Device {
        id: "h".into(),
        name: "host".into(),
        kind: DeviceKind::HaproxyHost,
        source: fulcrum_management::devices::model::DeviceSource::Api,
        provider: None,
        ha_peer: None,
        connection: Connection {
            config_dir: Some(dir.path().display().to_string()),
            ..Connection::default()
        },
        state: fulcrum_management::devices::model::MaintenanceState::Ready,
        resume_state: None,
        failures: 0,
        last_error: None,
        facts: None,
        last_seen_ms: None,
        created_ms: 0,
        credentials_error: None,
    };
    let host = HaproxyHost::new(&device).unwrap();
    let backup = host.backup().await.unwrap();
    assert!(backup.name.starts_with("haproxy-host-") && backup.name.ends_with(".json"));

    std::fs::write(dir.path().join("haproxy.cfg"), "broken\n").unwrap();
    std::fs::remove_file(dir.path().join("certs/site.pem")).unwrap();
    std::fs::write(dir.path().join("stray.cfg"), "x").unwrap();
    host.restore(&backup.bytes).await.unwrap();

    assert_eq!(
        std::fs::read_to_string(dir.path().join("haproxy.cfg")).unwrap(),
        config
    );
    assert_eq!(
        std::fs::read(dir.path().join("certs/site.pem")).unwrap(),
        [0u8, 159, 146, 150]
    );
    assert!(!dir.path().join("stray.cfg").exists());
    let check = Command::new("/usr/sbin/haproxy")
        .args(["-c", "-f"])
        .arg(dir.path().join("haproxy.cfg"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    let refused = host.restore(br#"{"format": "other", "files": {}}"#).await;
    assert_eq!(
        refused.unwrap_err().to_string(),
        "this is not an HAProxy host backup"
    );
    let escaping = br#"{"format": "fulcrum-haproxy-host/1", "files": {"../escape": "eA=="}}"#;
    assert!(host.restore(escaping).await.is_err());
    assert!(!dir.path().parent().unwrap().join("escape").exists());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("haproxy.cfg")).unwrap(),
        config,
        "a refused backup changes nothing"
    );
}

/// A device that fails its facts `unreachable_after` times in a row is unreachable (placement
/// skips it); when it answers it goes back to the state it was in.
async fn a_device_that_stops_answering_is_unreachable_until_it_answers(db: Db) {
    let pair = simulated_pair().await;
    let devices = DevicesConfig {
        unreachable_after: 2,
        ..DevicesConfig::default()
    };
    let s = serve(db, devices).await;
    let a = s
        .register(bigip("bigip-a", pair.base_urls()[0], None))
        .await;
    let id = a["id"].as_str().unwrap();
    let (status, _) = s
        .call(
            "PATCH",
            &format!("/v1/management/devices/{id}"),
            Some(json!({"state": "draining"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let task = fulcrum_management::devices::facts_task::FactsTask::new(
        s.management.devices.clone(),
        2,
        Arc::new(Alone),
    );

    pair.control()
        .set_faults(FaultPlan {
            error_rate: 1.0,
            device: Some(0),
            ..FaultPlan::default()
        })
        .unwrap();
    let report = task.activate().await.unwrap();
    assert_eq!(report.get("failed"), Some(&1));
    assert_eq!(
        s.device(id).await["state"],
        "draining",
        "one failure is not enough"
    );
    task.activate().await.unwrap();
    let down = s.device(id).await;
    assert_eq!(down["state"], "unreachable", "{down}");
    assert_eq!(down["resume_state"], "draining");
    assert!(
        down["last_error"].as_str().unwrap().contains("503"),
        "{down}"
    );
    assert!(
        !s.management
            .device_availability()
            .may_place("f5", "bigip-a")
            .await
    );

    pair.control().clear_faults();
    let report = task.activate().await.unwrap();
    assert_eq!(report.get("answered"), Some(&1));
    let back = s.device(id).await;
    assert_eq!(back["state"], "draining", "{back}");
    assert_eq!(back["consecutive_failures"], 0);
    assert!(back["resume_state"].is_null());
}

on_both_databases!(a_device_that_stops_answering_is_unreachable_until_it_answers);

/// Orchestration's events through management's reader: a device seen carrying a load balancer is
/// recorded (a new one as discovered), and a failover request for that load balancer fails the
/// BIG-IP pair over, once, audited under no user.
async fn events_record_devices_and_fail_pairs_over(db: Db) {
    let pair = simulated_pair().await;
    let urls = pair.base_urls();
    let s = serve(db, DevicesConfig::default()).await;
    let a = s.register(bigip("bigip-a", urls[0], Some("bigip-b"))).await;
    s.register(bigip("bigip-b", urls[1], Some("bigip-a"))).await;
    let lb = "8a1f0c2e-0000-4000-8000-00000000000a";
    s.store
        .append_events(&[
            Event::DeviceSeen {
                provider: "f5".into(),
                device_id: "bigip-a".into(),
                load_balancer_id: Some(lb.into()),
            },
            Event::DeviceSeen {
                provider: "haproxy".into(),
                device_id: "amphora-host-9".into(),
                load_balancer_id: Some("other-lb".into()),
            },
            Event::DayTwoRequest {
                action: "failover".into(),
                load_balancer_id: lb.into(),
            },
            Event::DayTwoRequest {
                action: "failover".into(),
                load_balancer_id: "other-lb".into(),
            },
        ])
        .await
        .unwrap();
    let reader = EventsTask::new(
        s.store.clone(),
        vec![fulcrum_management::devices::from_events::DeviceEvents::new(
            s.management.devices.clone(),
            s.management.audit.clone(),
        )],
        Arc::new(Alone),
    );
    assert_eq!(pair.control().active(), 0);
    let report = reader.activate().await.unwrap();
    assert_eq!(report.get("handled"), Some(&4));
    assert_eq!(pair.control().active(), 1, "the pair failed over");

    let (_, carried) = s
        .call(
            "GET",
            &format!(
                "/v1/management/devices/{}/loadbalancers",
                a["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(carried["loadbalancers"], json!([lb]));
    let (_, listed) = s
        .call("GET", "/v1/management/devices?kind=haproxy_host", None)
        .await;
    let found = &listed["devices"][0];
    assert_eq!(found["name"], "amphora-host-9");
    assert_eq!(found["source"], "discovered");
    assert_eq!(found["provider"], "haproxy");

    let failovers = s.audit("device.failover").await;
    assert_eq!(failovers.len(), 2, "{failovers:?}");
    let done = failovers.iter().find(|e| e["target"] == a["id"]).unwrap();
    assert_eq!(done["result"], "success");
    assert!(done["user_id"].is_null());
    // A load balancer on a device that is no HA pair (and not operable) is reported, not retried.
    let refused = failovers
        .iter()
        .find(|e| e["target"] == "other-lb")
        .unwrap();
    assert_eq!(refused["result"], "failure");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("amphora-host-9"),
        "{refused}"
    );

    // The same request handled again (a batch read twice) does not fail the pair back.
    let handler = fulcrum_management::devices::from_events::DeviceEvents::new(
        s.management.devices.clone(),
        s.management.audit.clone(),
    );
    let again = s.store.events_after(0, 10).await.unwrap();
    for event in &again {
        fulcrum_management::events::EventHandler::handle(handler.as_ref(), event)
            .await
            .unwrap();
    }
    assert_eq!(pair.control().active(), 1);
    assert_eq!(s.audit("device.failover").await.len(), 2);
}

on_both_databases!(events_record_devices_and_fail_pairs_over);

/// Day-2 work on a BIG-IP through its `DeviceOps`, against the simulator: a UCS backup saved and
/// loaded back, a hotfix installed to a new volume and activated by rebooting into it (the pair
/// fails over while the active device reboots), and the facts then report the new version.
#[tokio::test]
async fn a_bigip_is_backed_up_patched_and_rebooted_through_its_operations() {
    let pair = simulated_pair().await;
    let urls = pair.base_urls();
    let s = serve(Db::Sqlite, DevicesConfig::default()).await;
    let a = s.register(bigip("bigip-a", urls[0], Some("bigip-b"))).await;
    let device = s
        .management
        .devices
        .get(a["id"].as_str().unwrap())
        .await
        .unwrap();
    let ops = ops_for(&device).unwrap();

    let backup = ops.backup().await.unwrap();
    assert!(backup.name.starts_with("fulcrum-") && backup.name.ends_with(".ucs"));
    let saved: Value = reqwest::Client::new()
        .get(format!("{}/mgmt/tm/sys/ucs", urls[0]))
        .basic_auth("admin", Some("admin"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let file = format!("/var/local/ucs/{}", backup.name);
    assert_eq!(saved["items"][0]["apiRawValues"]["filename"], file.as_str());
    ops.restore(&backup.bytes).await.unwrap();
    assert_eq!(
        ops.restore(b"not a backup").await.unwrap_err().to_string(),
        "this is not a BIG-IP backup"
    );

    let hotfix = "Hotfix-BIGIP-17.1.1.1-0.0.2-ENG.iso";
    let uploaded = reqwest::Client::new()
        .post(format!(
            "{}/mgmt/shared/file-transfer/uploads/{hotfix}",
            urls[0]
        ))
        .basic_auth("admin", Some("admin"))
        .body(vec![0u8; 1024])
        .send()
        .await
        .unwrap();
    assert!(uploaded.status().is_success());
    let missing = ops
        .install(&Software::Hotfix("Hotfix-none.iso".into()), "HD1.2")
        .await
        .unwrap_err();
    assert!(missing.to_string().contains("answered 400"), "{missing}");
    ops.install(&Software::Hotfix(hotfix.into()), "HD1.2")
        .await
        .unwrap();
    let early = ops.activate("HD1.2").await.unwrap_err();
    assert!(
        early.to_string().contains("answered 400"),
        "not installed yet: {early}"
    );
    pair.control()
        .advance_clock(std::time::Duration::from_secs(61));
    ops.activate("HD1.2").await.unwrap();
    assert_eq!(
        pair.control().active(),
        1,
        "the rebooting active device handed over"
    );
    pair.control()
        .advance_clock(std::time::Duration::from_secs(121));

    let facts = ops.facts().await.unwrap();
    assert_eq!(facts.version.as_deref(), Some("17.1.1.1"));
    assert_eq!(facts.ha_role.as_deref(), Some("standby"));
    assert_eq!(facts.details["active_volume"], "HD1.2");
    assert_eq!(facts.hotfixes, [hotfix]);
    assert_eq!(facts.license_state.as_deref(), Some("valid"));
    let installed = ops
        .license(&LicenseOrder::Install("ABCDE-FGHIJ".into()))
        .await
        .unwrap();
    assert_eq!(installed.registration_key.as_deref(), Some("ABCDE-FGHIJ"));
    let revoked = ops.license(&LicenseOrder::Revoke).await.unwrap();
    assert_eq!(revoked.state, "none");
    assert_eq!(revoked.registration_key, None);
}
