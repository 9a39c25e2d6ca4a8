//! The BIG-IP simulator over real HTTP: what an AS3 driver and the management module send,
//! what they get back.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::{Client, Method, Response, StatusCode};
use serde_json::{Value, json};
use simulators::f5::{self, BadObjects, Config, FaultPlan, Role, Running};

const DECLARE: &str = "/mgmt/shared/appsvcs/declare";

/// The vendor schema, or `None` (with a message saying what is not validated).
fn vendor_schema(test: &str) -> Option<PathBuf> {
    let path = f5::schema::default_path();
    if path.exists() {
        Some(path)
    } else {
        eprintln!(
            "{test}: the AS3 schema is not at {} (set {}); schema validation is skipped",
            path.display(),
            f5::schema::SCHEMA_ENV
        );
        None
    }
}

struct Sim {
    running: Running,
    http: Client,
}

impl Sim {
    async fn start(config: Config) -> Self {
        let running = f5::start(config).await.expect("the simulator starts");
        Self {
            running,
            http: Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
        }
    }

    /// One device applying declarations at once, validating when it can.
    async fn single(test: &str) -> Self {
        Self::start(Config {
            schema: vendor_schema(test),
            apply_delay: Duration::ZERO,
            ..Config::default()
        })
        .await
    }

    /// An HA pair.
    async fn pair(test: &str) -> Self {
        Self::start(Config {
            schema: vendor_schema(test),
            apply_delay: Duration::ZERO,
            ..Config::ha_pair()
        })
        .await
    }

    fn control(&self) -> &f5::Control {
        self.running.control()
    }

    fn url(&self, device: usize, path: &str) -> String {
        format!("{}{path}", self.running.base_urls()[device])
    }

    async fn call_on(
        &self,
        device: usize,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Response {
        let mut request = self
            .http
            .request(method, self.url(device, path))
            .basic_auth("admin", Some("admin"));
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("the simulator answers")
    }

    /// The `failoverState` a device reports for itself in `/mgmt/tm/cm/device`.
    async fn failover_state(&self, device: usize) -> String {
        let (_, devices) = json_of(
            self.call_on(device, Method::GET, "/mgmt/tm/cm/device", None)
                .await,
        )
        .await;
        devices["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["selfDevice"] == "true")
            .unwrap()["failoverState"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn get(&self, path: &str) -> Response {
        self.call_on(0, Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Response {
        self.call_on(0, Method::POST, path, Some(body)).await
    }
}

async fn json_of(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    };
    (status, body)
}

/// An application as a driver declares a load balancer: HTTP and HTTPS services, TLS, a pool
/// with a monitor.
fn application(address: &str) -> Value {
    json!({
        "class": "Application",
        "template": "generic",
        "listener_1": { "class": "Service_HTTP", "virtualAddresses": ["10.0.0.10"],
                        "virtualPort": 80, "pool": "pool_1", "connectionLimit": 100 },
        "listener_2": { "class": "Service_HTTPS", "virtualAddresses": ["10.0.0.10"],
                        "virtualPort": 443, "pool": "pool_1", "serverTLS": "tls_1",
                        "redirect80": false },
        "tls_1": { "class": "TLS_Server", "certificates": [{ "certificate": "cert_1" }] },
        "cert_1": { "class": "Certificate",
                    "certificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
                    "privateKey": "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----" },
        "pool_1": { "class": "Pool", "loadBalancingMode": "round-robin",
                    "monitors": [{ "use": "monitor_1" }],
                    "members": [{ "servicePort": 8080, "serverAddresses": [address],
                                  "ratio": 2, "priorityGroup": 0, "adminState": "enable" }] },
        "monitor_1": { "class": "Monitor", "monitorType": "http", "interval": 5, "timeout": 16 }
    })
}

/// An AS3 request declaring `tenants` (name → application).
fn declaration(tenants: &[(&str, Value)]) -> Value {
    let mut adc = json!({ "class": "ADC", "schemaVersion": "3.56.0", "id": "fulcrum" });
    for (name, app) in tenants {
        adc[*name] = json!({ "class": "Tenant", "lb_1": app });
    }
    json!({ "class": "AS3", "action": "deploy", "persist": true, "declaration": adc })
}

#[tokio::test]
async fn info_and_version_answer_as_a_big_ip() {
    let sim = Sim::single("info_and_version_answer_as_a_big_ip").await;
    let (status, info) = json_of(sim.get("/mgmt/shared/appsvcs/info").await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["version"], "3.56.0");
    let (_, version) = json_of(sim.get("/mgmt/tm/sys/version").await).await;
    let entries =
        &version["entries"]["https://localhost/mgmt/tm/sys/version/0"]["nestedStats"]["entries"];
    assert_eq!(entries["Version"]["description"], "17.1.1");
    assert_eq!(entries["Product"]["description"], "BIG-IP");
    let unknown = sim.get("/mgmt/tm/no/such").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_token_works_until_it_expires_and_wrong_credentials_get_401() {
    let sim = Sim::single("tokens").await;
    let login = |password: &'static str| {
        sim.http
            .post(sim.url(0, "/mgmt/shared/authn/login"))
            .json(&json!({ "username": "admin", "password": password,
                           "loginProviderName": "tmos" }))
            .send()
    };
    let refused = login("wrong").await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let (status, body) = json_of(login("admin").await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let token = body["token"]["token"].as_str().unwrap().to_owned();
    assert_eq!(body["token"]["timeout"], 1200);
    let with_token = || {
        sim.http
            .get(sim.url(0, "/mgmt/tm/sys/version"))
            .header("X-F5-Auth-Token", &token)
            .send()
    };
    assert_eq!(with_token().await.unwrap().status(), StatusCode::OK);

    sim.control().advance_clock(Duration::from_secs(1100));
    let extended = sim
        .http
        .patch(sim.url(0, &format!("/mgmt/shared/authz/tokens/{token}")))
        .header("X-F5-Auth-Token", &token)
        .json(&json!({ "timeout": 3600 }))
        .send()
        .await
        .unwrap();
    assert_eq!(extended.status(), StatusCode::OK);
    sim.control().advance_clock(Duration::from_secs(1000));
    assert_eq!(with_token().await.unwrap().status(), StatusCode::OK);

    sim.control().advance_clock(Duration::from_secs(3600));
    let (status, body) = json_of(with_token().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["message"], "X-F5-Auth-Token does not exist.");
    let anonymous = sim
        .http
        .get(sim.url(0, "/mgmt/tm/sys/version"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_tenant_is_declared_read_back_and_removed() {
    let sim = Sim::single("a_tenant_is_declared_read_back_and_removed").await;
    assert_eq!(sim.get(DECLARE).await.status(), StatusCode::NO_CONTENT);
    let body = declaration(&[("tenant_a", application("192.0.2.10"))]);
    let (status, answer) =
        json_of(sim.post(&format!("{DECLARE}/tenant_a"), body.clone()).await).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["results"][0]["tenant"], "tenant_a");
    assert_eq!(answer["results"][0]["message"], "success");
    assert_eq!(
        answer["declaration"]["tenant_a"]["lb_1"]["pool_1"]["class"],
        "Pool"
    );

    let (status, again) = json_of(sim.post(&format!("{DECLARE}/tenant_a"), body).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["results"][0]["message"], "no change");

    let (status, current) = json_of(sim.get(&format!("{DECLARE}/tenant_a")).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(current["class"], "ADC");
    assert_eq!(
        current["tenant_a"]["lb_1"]["listener_1"]["virtualAddresses"],
        json!(["10.0.0.10"])
    );

    let removed = sim
        .call_on(0, Method::DELETE, &format!("{DECLARE}/tenant_a"), None)
        .await;
    assert_eq!(removed.status(), StatusCode::OK);
    assert!(sim.control().tenants(0).is_empty());
    assert_eq!(
        sim.get(&format!("{DECLARE}/tenant_a")).await.status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn a_body_that_does_not_validate_gets_422_and_changes_nothing() {
    let Some(schema) = vendor_schema("a_body_that_does_not_validate_gets_422") else {
        return;
    };
    let sim = Sim::start(Config {
        schema: Some(schema),
        apply_delay: Duration::ZERO,
        ..Config::default()
    })
    .await;
    let good = declaration(&[("tenant_a", application("192.0.2.10"))]);
    assert_eq!(
        sim.post(&format!("{DECLARE}/tenant_a"), good)
            .await
            .status(),
        StatusCode::OK
    );
    let before = sim.control().tenants(0);

    let mut app = application("192.0.2.99");
    app["listener_1"]["virtualPort"] = json!("eighty");
    let bad = declaration(&[("tenant_a", app)]);
    let (status, answer) = json_of(sim.post(&format!("{DECLARE}/tenant_a"), bad).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer["code"], 422);
    assert_eq!(answer["message"], "declaration is invalid");
    let errors = answer["errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| e
            .as_str()
            .unwrap()
            .starts_with("/tenant_a/lb_1/listener_1/virtualPort: ")),
        "the error says where: {answer}"
    );
    assert_eq!(sim.control().tenants(0), before, "nothing changed");

    let times = sim.control().validation_times();
    assert_eq!(times.count, 2);
    println!(
        "AS3 schema: compiled in {:.1} ms; {} validations, {:.2} ms on average, {:.2} ms at most",
        times.compile_ms,
        times.count,
        times.total_ms / times.count as f64,
        times.max_ms
    );
}

#[tokio::test]
async fn a_reference_to_a_missing_pool_or_certificate_gets_422() {
    let sim = Sim::single("a_reference_to_a_missing_pool_or_certificate_gets_422").await;
    let mut app = application("192.0.2.10");
    app["listener_1"]["pool"] = json!("pool_9");
    app["tls_1"]["certificates"][0]["certificate"] = json!("cert_9");
    let (status, answer) = json_of(
        sim.post(
            &format!("{DECLARE}/tenant_a"),
            declaration(&[("tenant_a", app)]),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let errors = answer["errors"].as_array().unwrap();
    assert!(errors.contains(&json!(
        "/tenant_a/lb_1/listener_1/pool: contains path to non-existent object pool_9"
    )));
    assert!(errors.contains(&json!(
        "/tenant_a/lb_1/tls_1/certificates: contains path to non-existent object cert_9"
    )));
    assert!(sim.control().tenants(0).is_empty());
}

#[tokio::test]
async fn a_bad_member_or_certificate_fails_only_its_tenant_and_is_named() {
    let sim = Sim::single("a_bad_member_or_certificate_fails_only_its_tenant").await;
    sim.control().set_bad_objects(BadObjects {
        addresses: ["192.0.2.66".to_owned()].into(),
        ..BadObjects::default()
    });
    let body = declaration(&[
        ("tenant_a", application("192.0.2.10")),
        ("tenant_b", application("192.0.2.66")),
    ]);
    let (status, answer) = json_of(sim.post(DECLARE, body).await).await;
    assert_eq!(status, StatusCode::MULTI_STATUS, "{answer}");
    let results = answer["results"].as_array().unwrap();
    let of = |tenant: &str| results.iter().find(|r| r["tenant"] == tenant).unwrap();
    assert_eq!(of("tenant_a")["code"], 200);
    assert_eq!(of("tenant_b")["code"], 422);
    let why = of("tenant_b")["response"].as_str().unwrap();
    assert!(
        why.contains("192.0.2.66") && why.contains("/tenant_b/lb_1/pool_1"),
        "{why}"
    );
    assert_eq!(
        sim.control().tenants(0).keys().collect::<Vec<_>>(),
        ["tenant_a"]
    );

    sim.control().set_bad_objects(BadObjects {
        certificates: ["cert_1".to_owned()].into(),
        ..BadObjects::default()
    });
    let body = declaration(&[("tenant_c", application("192.0.2.11"))]);
    let (status, answer) = json_of(sim.post(&format!("{DECLARE}/tenant_c"), body).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        answer["results"][0]["response"]
            .as_str()
            .unwrap()
            .contains("/tenant_c/lb_1/cert_1")
    );
}

#[tokio::test]
async fn an_async_declaration_is_polled_to_completion() {
    let sim = Sim::start(Config {
        schema: vendor_schema("an_async_declaration_is_polled_to_completion"),
        apply_delay: Duration::from_millis(300),
        ..Config::default()
    })
    .await;
    let body = declaration(&[("tenant_a", application("192.0.2.10"))]);
    let (status, accepted) = json_of(
        sim.post(&format!("{DECLARE}/tenant_a?async=true"), body.clone())
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let id = accepted["id"].as_str().unwrap().to_owned();
    let task = format!("/mgmt/shared/appsvcs/task/{id}");

    let (_, polled) = json_of(sim.get(&task).await).await;
    assert_eq!(polled["results"][0]["message"], "in progress");
    let (status, busy) = json_of(sim.post(&format!("{DECLARE}/tenant_a"), body).await).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(busy["message"], f5::error::IN_PROGRESS);

    let done = loop {
        let (_, polled) = json_of(sim.get(&task).await).await;
        if polled["results"][0]["code"] != 0 {
            break polled;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(done["results"][0]["code"], 200);
    assert_eq!(done["results"][0]["tenant"], "tenant_a");
    assert!(sim.control().tenants(0).contains_key("tenant_a"));
    let unknown = sim.get("/mgmt/shared/appsvcs/task/nope").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_busy_device_answers_503_until_it_is_free() {
    let sim = Sim::single("a_busy_device_answers_503").await;
    sim.control().occupy(0, Duration::from_secs(30));
    let body = declaration(&[("tenant_a", application("192.0.2.10"))]);
    let (status, answer) =
        json_of(sim.post(&format!("{DECLARE}/tenant_a"), body.clone()).await).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer["code"], 503);
    assert!(sim.control().tenants(0).is_empty());
    sim.control().advance_clock(Duration::from_secs(31));
    assert_eq!(
        sim.post(&format!("{DECLARE}/tenant_a"), body)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_active_device_syncs_to_the_standby_which_refuses_writes() {
    let sim = Sim::pair("the_active_device_syncs_to_the_standby").await;
    assert_eq!(sim.failover_state(0).await, "active");
    assert_eq!(sim.failover_state(1).await, "standby");

    let body = declaration(&[("tenant_a", application("192.0.2.10"))]);
    let declared = sim
        .call_on(
            0,
            Method::POST,
            &format!("{DECLARE}/tenant_a"),
            Some(body.clone()),
        )
        .await;
    assert_eq!(declared.status(), StatusCode::OK);
    assert!(
        sim.control().tenants(1).contains_key("tenant_a"),
        "config-synced"
    );
    assert!(sim.control().calls().writes_to_standby().is_empty());

    let refused = sim
        .call_on(
            1,
            Method::POST,
            &format!("{DECLARE}/tenant_a"),
            Some(body.clone()),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    let calls = sim.control().calls();
    let to_standby = calls.writes_to_standby();
    assert_eq!(to_standby.len(), 1);
    assert_eq!(to_standby[0].device, 1);

    let forced = sim
        .call_on(
            0,
            Method::POST,
            "/mgmt/tm/sys/failover",
            Some(json!({ "command": "run", "standby": true })),
        )
        .await;
    assert_eq!(forced.status(), StatusCode::OK);
    assert_eq!(sim.failover_state(0).await, "standby");
    assert_eq!(sim.failover_state(1).await, "active");
    assert_eq!(sim.control().active(), 1);
    let removed = sim
        .call_on(1, Method::DELETE, &format!("{DECLARE}/tenant_a"), None)
        .await;
    assert_eq!(removed.status(), StatusCode::OK);
    assert!(sim.control().tenants(0).is_empty(), "synced back");

    assert!(sim.control().failover());
    assert_eq!(sim.control().devices()[0].role, Role::Active);
    let (_, raw) = json_of(sim.get("/mgmt/tm/sys/failover").await).await;
    assert!(
        raw["apiRawValues"]["apiAnonymous"]
            .as_str()
            .unwrap()
            .starts_with("Failover active")
    );
}

#[tokio::test]
async fn stats_list_declared_objects_with_counters_the_control_sets() {
    let sim = Sim::single("stats").await;
    let body = declaration(&[("tenant_a", application("192.0.2.10"))]);
    sim.post(&format!("{DECLARE}/tenant_a"), body).await;
    sim.control().set_stats(
        "/tenant_a/lb_1/listener_1",
        json!({ "clientside.bitsIn": 800, "status.availabilityState": "offline" })
            .as_object()
            .unwrap()
            .clone(),
    );
    let (_, virtuals) = json_of(sim.get("/mgmt/tm/ltm/virtual/stats").await).await;
    let entries = virtuals["entries"].as_object().unwrap();
    assert_eq!(entries.len(), 2, "two services");
    let listener = &entries["https://localhost/mgmt/tm/ltm/virtual/~tenant_a~lb_1~listener_1/stats"]
        ["nestedStats"]["entries"];
    assert_eq!(listener["clientside.bitsIn"]["value"], 800);
    assert_eq!(
        listener["status.availabilityState"]["description"],
        "offline"
    );
    assert_eq!(
        listener["tmName"]["description"],
        "/tenant_a/lb_1/listener_1"
    );

    let (_, pools) = json_of(sim.get("/mgmt/tm/ltm/pool/stats").await).await;
    let pool = &pools["entries"]["https://localhost/mgmt/tm/ltm/pool/~tenant_a~lb_1~pool_1/stats"]
        ["nestedStats"]["entries"];
    assert_eq!(pool["activeMemberCnt"]["value"], 1);
    assert_eq!(pool["serverside.totConns"]["value"], 0);

    let refused = sim
        .http
        .put(sim.url(0, "/sim/stats"))
        .json(&json!({ "path": "/tenant_a/lb_1/pool_1", "values": { "serverside.totConns": -1 } }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_hotfix_is_uploaded_installed_and_booted() {
    let sim = Sim::single("software").await;
    let iso = "Hotfix-BIGIP-17.1.1.1-0.0.2-ENG.iso";
    let uploaded = sim
        .http
        .post(sim.url(0, &format!("/mgmt/shared/file-transfer/uploads/{iso}")))
        .basic_auth("admin", Some("admin"))
        .header("Content-Range", "0-9/10")
        .body(vec![0u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::OK);
    let (_, hotfixes) = json_of(sim.get("/mgmt/tm/sys/software/hotfix").await).await;
    assert_eq!(hotfixes["items"][0]["version"], "17.1.1.1");

    let install = json!({ "command": "install", "name": iso, "volume": "HD1.2" });
    let (status, _) = json_of(sim.post("/mgmt/tm/sys/software/hotfix", install).await).await;
    assert_eq!(status, StatusCode::OK);
    let volume = |volumes: &Value| {
        volumes["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "HD1.2")
            .unwrap()["status"]
            .clone()
    };
    let (_, volumes) = json_of(sim.get("/mgmt/tm/sys/software/volume").await).await;
    assert_eq!(volume(&volumes), "installing");
    let reboot = json!({ "command": "reboot", "volume": "HD1.2" });
    let early = sim.post("/mgmt/tm/sys", reboot.clone()).await;
    assert_eq!(early.status(), StatusCode::BAD_REQUEST);

    sim.control().advance_clock(Duration::from_secs(61));
    let (_, volumes) = json_of(sim.get("/mgmt/tm/sys/software/volume").await).await;
    assert_eq!(volume(&volumes), "complete");
    assert_eq!(
        sim.post("/mgmt/tm/sys", reboot).await.status(),
        StatusCode::OK
    );
    assert_eq!(sim.control().devices()[0].version, "17.1.1.1");
    assert_eq!(
        sim.get("/mgmt/tm/sys/version").await.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "rebooting"
    );
    sim.control().advance_clock(Duration::from_secs(121));
    let (_, version) = json_of(sim.get("/mgmt/tm/sys/version").await).await;
    assert_eq!(
        version["entries"]["https://localhost/mgmt/tm/sys/version/0"]["nestedStats"]["entries"]["Version"]
            ["description"],
        "17.1.1.1"
    );

    let missing = json!({ "command": "install", "name": "BIGIP-0-0.iso", "volume": "HD1.3" });
    assert_eq!(
        sim.post("/mgmt/tm/sys/software/image", missing)
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn a_ucs_saved_then_loaded_restores_the_tenants() {
    let sim = Sim::single("ucs").await;
    let body = declaration(&[("tenant_a", application("192.0.2.10"))]);
    sim.post(&format!("{DECLARE}/tenant_a"), body).await;
    let save = json!({ "command": "save", "name": "before" });
    assert_eq!(
        sim.post("/mgmt/tm/sys/ucs", save).await.status(),
        StatusCode::OK
    );
    sim.call_on(0, Method::DELETE, DECLARE, None).await;
    assert!(sim.control().tenants(0).is_empty());

    let (_, list) = json_of(sim.get("/mgmt/tm/sys/ucs").await).await;
    assert_eq!(
        list["items"][0]["apiRawValues"]["filename"],
        "/var/local/ucs/before.ucs"
    );
    let load = json!({ "command": "load", "name": "before.ucs" });
    assert_eq!(
        sim.post("/mgmt/tm/sys/ucs", load).await.status(),
        StatusCode::OK
    );
    assert!(sim.control().tenants(0).contains_key("tenant_a"));
    let missing = json!({ "command": "load", "name": "never" });
    assert_eq!(
        sim.post("/mgmt/tm/sys/ucs", missing).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_license_end_date_is_what_the_control_set() {
    let sim = Sim::single("license").await;
    assert!(sim.control().set_license_end(0, "2026/12/31"));
    let (_, license) = json_of(sim.get("/mgmt/tm/sys/license").await).await;
    let entries =
        &license["entries"]["https://localhost/mgmt/tm/sys/license/0"]["nestedStats"]["entries"];
    assert_eq!(entries["licenseEndDate"]["description"], "2026/12/31");
    assert!(!sim.control().set_license_end(5, "2026/12/31"));
}

/// A registration key is installed only when the control accepts it (others get 400 with the
/// device's message and change nothing); a revoke leaves the device unlicensed.
#[tokio::test]
async fn a_license_key_is_installed_when_accepted_and_revoked() {
    let sim = Sim::single("license-install").await;
    let entries = |license: &Value| {
        license["entries"]["https://localhost/mgmt/tm/sys/license/0"]["nestedStats"]["entries"]
            .clone()
    };
    sim.control()
        .set_accepted_license_keys(Some(["AAAAA-BBBBB".to_owned()].into()));
    let refused = sim
        .post(
            "/mgmt/tm/sys/license",
            json!({"command": "install", "registrationKey": "ZZZZZ-ZZZZZ"}),
        )
        .await;
    let (status, body) = json_of(refused).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"].as_str().unwrap().contains("not valid"),
        "{body}"
    );
    let (_, license) = json_of(sim.get("/mgmt/tm/sys/license").await).await;
    assert_eq!(
        entries(&license)["registrationKey"]["description"],
        "FULCR-SIMUL-ATEDB-IGIP1-DEVICE"
    );

    let installed = sim
        .post(
            "/mgmt/tm/sys/license",
            json!({"command": "install", "registrationKey": "AAAAA-BBBBB"}),
        )
        .await;
    assert_eq!(installed.status(), StatusCode::OK);
    let (_, license) = json_of(sim.get("/mgmt/tm/sys/license").await).await;
    assert_eq!(
        entries(&license)["registrationKey"]["description"],
        "AAAAA-BBBBB"
    );

    let revoked = sim
        .post("/mgmt/tm/sys/license", json!({"command": "revoke"}))
        .await;
    assert_eq!(revoked.status(), StatusCode::OK);
    let (_, license) = json_of(sim.get("/mgmt/tm/sys/license").await).await;
    assert!(entries(&license)["registrationKey"].is_null(), "{license}");
    assert!(entries(&license)["licenseEndDate"].is_null(), "{license}");
}

#[tokio::test]
async fn injected_faults_hit_only_their_paths_and_are_counted() {
    let sim = Sim::single("faults").await;
    sim.control()
        .set_faults(FaultPlan {
            error_rate: 1.0,
            error_status: 500,
            path_prefix: Some(DECLARE.into()),
            ..FaultPlan::default()
        })
        .unwrap();
    let body = declaration(&[("tenant_a", application("192.0.2.10"))]);
    let failed = sim.post(&format!("{DECLARE}/tenant_a"), body).await;
    assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(sim.control().tenants(0).is_empty());
    assert_eq!(
        sim.get("/mgmt/tm/sys/version").await.status(),
        StatusCode::OK
    );
    assert_eq!(sim.control().faults().errors_injected, 1);
    assert!(
        sim.control()
            .set_faults(FaultPlan {
                error_rate: 2.0,
                ..FaultPlan::default()
            })
            .is_err()
    );
    let calls = sim.control().calls();
    assert_eq!(calls.count("POST", &format!("{DECLARE}/tenant_a")), 1);
}

#[tokio::test]
async fn a_complete_declaration_removes_the_tenants_it_leaves_out() {
    let sim = Sim::single("complete_declaration").await;
    let both = declaration(&[
        ("tenant_a", application("192.0.2.10")),
        ("tenant_b", application("192.0.2.11")),
    ]);
    assert_eq!(sim.post(DECLARE, both).await.status(), StatusCode::OK);
    let mut only_b = declaration(&[("tenant_b", application("192.0.2.11"))]);
    only_b["declaration"]["updateMode"] = json!("complete");
    let (status, answer) = json_of(sim.post(DECLARE, only_b).await).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        sim.control().tenants(0).keys().collect::<Vec<_>>(),
        ["tenant_b"]
    );
}

#[tokio::test]
async fn the_control_api_answers_over_http() {
    let sim = Sim::pair("control_api").await;
    let occupied = sim
        .http
        .post(sim.url(1, "/sim/occupy"))
        .json(&json!({ "device": 7, "ms": 10 }))
        .send()
        .await
        .unwrap();
    assert_eq!(occupied.status(), StatusCode::NOT_FOUND);
    let swapped = sim
        .http
        .post(sim.url(1, "/sim/failover"))
        .send()
        .await
        .unwrap();
    assert_eq!(swapped.status(), StatusCode::NO_CONTENT);
    let (_, devices) = json_of(
        sim.http
            .get(sim.url(0, "/sim/devices"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(devices[0]["role"], "standby");
    assert_eq!(devices[1]["role"], "active");
    let bad = sim
        .http
        .put(sim.url(0, "/sim/faults"))
        .json(&json!({ "error_status": 404, "error_rate": 1.0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        sim.get("/mgmt/tm/sys/version").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn rebooting_the_active_device_fails_over_to_its_peer() {
    let sim = Sim::start(Config {
        install_delay: Duration::ZERO,
        ..Config::ha_pair()
    })
    .await;
    let iso = "BIGIP-17.1.2-0.0.8.iso";
    let uploaded = sim
        .call_on(
            0,
            Method::POST,
            &format!("/mgmt/shared/file-transfer/uploads/{iso}"),
            Some(json!("bytes")),
        )
        .await;
    assert_eq!(uploaded.status(), StatusCode::OK);
    let install = json!({ "command": "install", "name": iso, "volume": "HD1.2" });
    let installed = sim
        .call_on(
            0,
            Method::POST,
            "/mgmt/tm/sys/software/image",
            Some(install),
        )
        .await;
    assert_eq!(installed.status(), StatusCode::OK);
    let reboot = json!({ "command": "reboot", "volume": "HD1.2" });
    let rebooted = sim
        .call_on(0, Method::POST, "/mgmt/tm/sys", Some(reboot))
        .await;
    assert_eq!(rebooted.status(), StatusCode::OK);
    assert_eq!(sim.control().active(), 1);
    assert_eq!(sim.failover_state(1).await, "active");
    let down = sim
        .call_on(0, Method::GET, "/mgmt/tm/cm/device", None)
        .await;
    assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
}
