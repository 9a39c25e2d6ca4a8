//! The NSX-T simulator over real HTTP: what a driver sends, what it gets back.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::{Client, Method, Response, StatusCode};
use serde_json::{Value, json};
use simulators::nsxt::{self, CallLog, Config, FaultPlan, Running};

const INFRA: &str = "/policy/api/v1/infra";

/// The vendor definitions, or `None` (with a message saying the test is skipped).
fn vendor_schema(test: &str) -> Option<PathBuf> {
    let path = nsxt::schema::default_path();
    if path.exists() {
        Some(path)
    } else {
        eprintln!(
            "skipping {test}: the NSX schema is not at {} (set {})",
            path.display(),
            nsxt::schema::SCHEMA_ENV
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
        let running = nsxt::start(config).await.expect("the simulator starts");
        Self {
            running,
            http: Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
        }
    }

    /// A simulator without a rate limit or realization delay, validating when it can.
    async fn plain(schema: Option<PathBuf>) -> Self {
        Self::start(Config {
            rate_per_second: 0.0,
            realization_delay: Duration::ZERO,
            schema,
            ..Config::default()
        })
        .await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.base_url())
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        let mut request = self
            .http
            .request(method, self.url(path))
            .basic_auth("admin", Some("admin"));
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("the simulator answers")
    }

    async fn get(&self, path: &str) -> Response {
        self.call(Method::GET, path, None).await
    }

    async fn infra(&self, children: Value) -> Response {
        self.call(
            Method::PATCH,
            INFRA,
            Some(json!({ "resource_type": "Infra", "children": children })),
        )
        .await
    }

    async fn calls(&self) -> CallLog {
        self.http
            .get(self.url("/sim/calls"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

async fn body(response: Response) -> Value {
    response.json().await.expect("a JSON body")
}

fn wrap(wrapper: &str, key: &str, object: Value) -> Value {
    json!({ "resource_type": wrapper, key: object })
}

/// A load balancer as a driver would send it: service, HTTP and TCP virtual servers with their
/// app profiles, a pool with two members and a monitor. The virtual servers come first, so
/// they reference objects created later in the same call.
fn load_balancer(lb: &str) -> Value {
    json!([
        wrap(
            "ChildLBVirtualServer",
            "LBVirtualServer",
            json!({
                "id": format!("{lb}-http"), "ip_address": "10.0.0.10", "ports": ["80"],
                "lb_service_path": format!("/infra/lb-services/{lb}"),
                "pool_path": format!("/infra/lb-pools/{lb}-pool"),
                "application_profile_path": format!("/infra/lb-app-profiles/{lb}-http"),
                "max_concurrent_connections": 1000,
                "tags": [{"scope": "os-lbaas-lb-id", "tag": lb}],
            })
        ),
        wrap(
            "ChildLBVirtualServer",
            "LBVirtualServer",
            json!({
                "id": format!("{lb}-tcp"), "ip_address": "10.0.0.10", "ports": ["8443"],
                "lb_service_path": format!("/infra/lb-services/{lb}"),
                "pool_path": format!("/infra/lb-pools/{lb}-pool"),
                "application_profile_path": format!("/infra/lb-app-profiles/{lb}-tcp"),
                "enabled": false,
            })
        ),
        wrap(
            "ChildLBService",
            "LBService",
            json!({
                "id": lb, "connectivity_path": "/infra/tier-1s/fulcrum-t1", "size": "SMALL",
                "tags": [{"scope": "os-lbaas-lb-id", "tag": lb}],
            })
        ),
        wrap(
            "ChildLBAppProfile",
            "LBAppProfile",
            json!({
                "id": format!("{lb}-http"), "resource_type": "LBHttpProfile", "x_forwarded_for": "INSERT",
            })
        ),
        wrap(
            "ChildLBAppProfile",
            "LBAppProfile",
            json!({
                "id": format!("{lb}-tcp"), "resource_type": "LBFastTcpProfile", "idle_timeout": 1800,
            })
        ),
        wrap(
            "ChildLBMonitorProfile",
            "LBMonitorProfile",
            json!({
                "id": format!("{lb}-monitor"), "resource_type": "LBHttpMonitorProfile",
                "request_url": "/health", "interval": 5, "fall_count": 3, "rise_count": 3,
            })
        ),
        wrap(
            "ChildLBPool",
            "LBPool",
            json!({
                "id": format!("{lb}-pool"), "algorithm": "ROUND_ROBIN",
                "snat_translation": {"type": "LBSnatAutoMap"},
                "active_monitor_paths": [format!("/infra/lb-monitor-profiles/{lb}-monitor")],
                "members": [
                    {"ip_address": "192.168.1.10", "port": "8080", "weight": 2},
                    {"ip_address": "192.168.1.11", "port": "8080", "admin_state": "DISABLED"},
                ],
                "tags": [{"scope": "os-lbaas-lb-id", "tag": lb}],
            })
        ),
    ])
}

#[tokio::test]
async fn a_whole_load_balancer_is_created_in_one_hierarchical_call() {
    let Some(schema) = vendor_schema("a_whole_load_balancer_is_created_in_one_hierarchical_call")
    else {
        return;
    };
    let sim = Sim::plain(Some(schema)).await;
    let created = sim.infra(load_balancer("lb1")).await;
    assert_eq!(created.status(), StatusCode::OK, "{}", body(created).await);

    for path in [
        "/lb-services/lb1",
        "/lb-virtual-servers/lb1-http",
        "/lb-virtual-servers/lb1-tcp",
        "/lb-app-profiles/lb1-http",
        "/lb-app-profiles/lb1-tcp",
        "/lb-monitor-profiles/lb1-monitor",
        "/lb-pools/lb1-pool",
    ] {
        let response = sim.get(&format!("{INFRA}{path}")).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let object = body(response).await;
        assert_eq!(object["path"], format!("/infra{path}"));
        assert_eq!(object["parent_path"], "/infra");
        assert_eq!(object["_revision"], 0);
        assert_eq!(object["_create_user"], "admin");
        assert!(object["_last_modified_time"].as_i64().unwrap() > 0);
    }
    let pool = body(sim.get(&format!("{INFRA}/lb-pools/lb1-pool")).await).await;
    assert_eq!(pool["resource_type"], "LBPool");
    assert_eq!(pool["members"].as_array().unwrap().len(), 2);
    assert_eq!(pool["display_name"], "lb1-pool");

    let calls = sim.calls().await;
    assert_eq!(calls.count("PATCH", INFRA), 1);
    assert_eq!(calls.total, 9, "one PATCH and eight GETs");
}

#[tokio::test]
async fn a_body_that_fails_the_schema_changes_nothing_and_gets_nsx_s_400() {
    let Some(schema) = vendor_schema("a_body_that_fails_the_schema_changes_nothing") else {
        return;
    };
    let sim = Sim::plain(Some(schema)).await;
    let mut tree = load_balancer("lb1");
    tree[6]["LBPool"]["members"][0]["weight"] = json!(1000);
    let refused = sim.infra(tree).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let error = body(refused).await;
    assert_eq!(error["httpStatus"], "BAD_REQUEST");
    assert_eq!(error["error_code"], 255);
    assert!(error["module_name"].is_string());
    let message = error["error_message"].as_str().unwrap();
    assert!(message.contains("/infra/lb-pools/lb1-pool"), "{message}");
    assert!(message.contains("/members/0/weight"), "{message}");
    assert!(!error["related_errors"].as_array().unwrap().is_empty());

    let mut tree = load_balancer("lb1");
    tree[0]["LBVirtualServer"]
        .as_object_mut()
        .unwrap()
        .remove("ip_address");
    assert_eq!(sim.infra(tree).await.status(), StatusCode::BAD_REQUEST);

    // A subtype chosen by a discriminator is checked as that subtype: an IP-pool SNAT needs
    // its addresses.
    let mut tree = load_balancer("lb1");
    tree[6]["LBPool"]["snat_translation"] = json!({"type": "LBSnatIpPool"});
    assert_eq!(sim.infra(tree).await.status(), StatusCode::BAD_REQUEST);

    // An app profile of a type that is not one.
    let mut tree = load_balancer("lb1");
    tree[3]["LBAppProfile"]["resource_type"] = json!("LBHttpsProfile");
    assert_eq!(sim.infra(tree).await.status(), StatusCode::BAD_REQUEST);

    assert_eq!(
        sim.running.control().objects("/infra/lb-"),
        Vec::<Value>::new()
    );
    assert_eq!(
        sim.infra(load_balancer("lb1")).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_unknown_reference_changes_nothing() {
    let sim = Sim::plain(None).await;
    let mut tree = load_balancer("lb1");
    tree[0]["LBVirtualServer"]["pool_path"] = json!("/infra/lb-pools/missing");
    let refused = sim.infra(tree).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let error = body(refused).await;
    assert_eq!(error["error_code"], 500012);
    assert!(
        error["error_message"]
            .as_str()
            .unwrap()
            .contains("/infra/lb-pools/missing")
    );
    assert!(sim.running.control().objects("/infra/lb-").is_empty());

    // A reference to an object of the wrong kind is refused too.
    let mut tree = load_balancer("lb1");
    tree[2]["LBService"]["connectivity_path"] = json!("/infra/lb-pools/lb1-pool");
    assert_eq!(sim.infra(tree).await.status(), StatusCode::BAD_REQUEST);

    // A single-object write is checked the same way.
    let pool = sim
        .call(
            Method::PATCH,
            &format!("{INFRA}/lb-pools/p"),
            Some(json!({"active_monitor_paths": ["/infra/lb-monitor-profiles/none"]})),
        )
        .await;
    assert_eq!(pool.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        sim.get(&format!("{INFRA}/lb-pools/p")).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_stale_revision_gets_412() {
    let sim = Sim::plain(None).await;
    let path = format!("{INFRA}/lb-pools/p");
    let created = sim
        .call(
            Method::PATCH,
            &path,
            Some(json!({"algorithm": "ROUND_ROBIN"})),
        )
        .await;
    assert_eq!(created.status(), StatusCode::OK);
    let current = body(sim.get(&path).await).await;
    assert_eq!(current["_revision"], 0);

    let mut update = current.clone();
    update["algorithm"] = json!("LEAST_CONNECTION");
    let updated = sim.call(Method::PUT, &path, Some(update.clone())).await;
    assert_eq!(updated.status(), StatusCode::OK);
    assert_eq!(body(updated).await["_revision"], 1);

    // The same revision again is stale now.
    update["algorithm"] = json!("IP_HASH");
    let stale = sim.call(Method::PUT, &path, Some(update)).await;
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
    let error = body(stale).await;
    assert_eq!(error["httpStatus"], "PRECONDITION_FAILED");
    assert_eq!(error["error_code"], 604);
    assert_eq!(
        body(sim.get(&path).await).await["algorithm"],
        "LEAST_CONNECTION"
    );

    let stale_patch = sim
        .call(
            Method::PATCH,
            &path,
            Some(json!({"_revision": 0, "algorithm": "IP_HASH"})),
        )
        .await;
    assert_eq!(stale_patch.status(), StatusCode::PRECONDITION_FAILED);
    let put_without_revision = sim
        .call(Method::PUT, &path, Some(json!({"algorithm": "IP_HASH"})))
        .await;
    assert_eq!(
        put_without_revision.status(),
        StatusCode::PRECONDITION_FAILED
    );

    // The hierarchical API checks revisions only when asked to.
    let stale_child = json!({"resource_type": "Infra", "children": [wrap("ChildLBPool", "LBPool",
        json!({"id": "p", "_revision": 0, "algorithm": "IP_HASH"}))]});
    let enforced = sim
        .call(
            Method::PATCH,
            &format!("{INFRA}?enforce_revision_check=true"),
            Some(stale_child.clone()),
        )
        .await;
    assert_eq!(enforced.status(), StatusCode::PRECONDITION_FAILED);
    let unenforced = sim.call(Method::PATCH, INFRA, Some(stale_child)).await;
    assert_eq!(unenforced.status(), StatusCode::OK);
    let stored = body(sim.get(&path).await).await;
    assert_eq!(
        (stored["algorithm"].as_str(), stored["_revision"].as_i64()),
        (Some("IP_HASH"), Some(2))
    );
}

#[tokio::test]
async fn above_the_rate_the_manager_answers_429_and_serves_again_after_a_wait() {
    let sim = Sim::start(Config {
        rate_per_second: 2.0,
        ..Config::default()
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(sim.get("/api/v1/node/version").await.status());
    }
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(refused >= 8, "{statuses:?}");
    let error = body(sim.get("/api/v1/node/version").await).await;
    assert_eq!(error["error_code"], 102);
    assert_eq!(error["httpStatus"], "TOO_MANY_REQUESTS");

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let served = sim.get("/api/v1/node/version").await;
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(body(served).await["product_version"], "3.1.0.0.0.17107167");
    assert_eq!(sim.calls().await.with_status(429) as usize, refused + 1);
}

#[tokio::test]
async fn pagination_walks_every_object_once() {
    let sim = Sim::plain(None).await;
    let pools: Vec<Value> = (0..25)
        .map(|i| {
            wrap(
                "ChildLBPool",
                "LBPool",
                json!({"id": format!("pool-{i:02}")}),
            )
        })
        .collect();
    assert_eq!(
        sim.infra(Value::Array(pools)).await.status(),
        StatusCode::OK
    );

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = format!("{INFRA}/lb-pools?page_size=10");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let page = body(sim.get(&path).await).await;
        pages += 1;
        assert_eq!(page["result_count"], 25);
        seen.extend(
            page["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_str().unwrap().to_owned()),
        );
        match page["cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let expected: Vec<String> = (0..25).map(|i| format!("pool-{i:02}")).collect();
    assert_eq!((pages, seen), (3, expected));

    let too_big = sim.get(&format!("{INFRA}/lb-pools?page_size=1001")).await;
    assert_eq!(too_big.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn sessions_log_in_and_log_in_again_after_403_with_code_98() {
    let sim = Sim::plain(None).await;
    let login = |password: &'static str| {
        sim.http
            .post(sim.url("/api/session/create"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("j_username=admin&j_password={password}"))
            .send()
    };
    let wrong = login("nope").await.unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);

    let session = |response: &Response| {
        let cookie = response.headers()["set-cookie"].to_str().unwrap();
        let id = cookie.split(';').next().unwrap().to_owned();
        let token = response.headers()["x-xsrf-token"]
            .to_str()
            .unwrap()
            .to_owned();
        (id, token)
    };
    let with = |(cookie, token): &(String, String), xsrf: bool| {
        let request = sim
            .http
            .get(sim.url(&format!("{INFRA}/tier-1s/fulcrum-t1")))
            .header("cookie", cookie.as_str());
        if xsrf {
            request.header("x-xsrf-token", token.as_str())
        } else {
            request
        }
        .send()
    };

    let first = session(&login("admin").await.unwrap());
    assert!(first.0.starts_with("JSESSIONID="));
    assert_eq!(with(&first, true).await.unwrap().status(), StatusCode::OK);
    let no_token = with(&first, false).await.unwrap();
    assert_eq!(no_token.status(), StatusCode::FORBIDDEN);
    assert_eq!(body(no_token).await["error_code"], 98);

    sim.running.control().expire_sessions();
    let expired = with(&first, true).await.unwrap();
    assert_eq!(expired.status(), StatusCode::FORBIDDEN);
    assert_eq!(body(expired).await["error_code"], 98);

    let second = session(&login("admin").await.unwrap());
    assert_eq!(with(&second, true).await.unwrap().status(), StatusCode::OK);

    let bad_basic = sim
        .http
        .get(sim.url("/api/v1/node/version"))
        .basic_auth("admin", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_basic.status(), StatusCode::FORBIDDEN);
    assert_eq!(body(bad_basic).await["error_code"], 403);
    let anonymous = sim
        .http
        .get(sim.url("/api/v1/node/version"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_auditor_reads_and_its_writes_are_refused_with_another_code_than_98() {
    let sim = Sim::start(Config {
        rate_per_second: 0.0,
        auditor: Some(nsxt::Credentials {
            username: "auditor".into(),
            password: "look".into(),
        }),
        ..Config::default()
    })
    .await;
    let tier1 = format!("{INFRA}/tier-1s/fulcrum-t1");
    let as_auditor = |method: Method, body: Option<Value>| {
        let mut request = sim
            .http
            .request(method, sim.url(&tier1))
            .basic_auth("auditor", Some("look"));
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send()
    };
    assert_eq!(
        as_auditor(Method::GET, None).await.unwrap().status(),
        StatusCode::OK
    );
    let before = body(sim.get(&tier1).await).await;
    let refused = as_auditor(
        Method::PATCH,
        Some(json!({"resource_type": "Tier1", "description": "changed"})),
    )
    .await
    .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let refusal = body(refused).await;
    assert_eq!(refusal["httpStatus"], "FORBIDDEN");
    assert_ne!(refusal["error_code"], 98);
    assert_ne!(refusal["error_code"], 403);
    assert!(
        refusal["error_message"]
            .as_str()
            .unwrap()
            .contains("does not have permission"),
        "{refusal}"
    );
    assert_eq!(body(sim.get(&tier1).await).await, before);

    // The same user through a session: the session is made, the write refused alike.
    let login = sim
        .http
        .post(sim.url("/api/session/create"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("j_username=auditor&j_password=look")
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let cookie = login.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let token = login.headers()["x-xsrf-token"].to_str().unwrap().to_owned();
    let refused = sim
        .http
        .delete(sim.url(&tier1))
        .header("cookie", cookie)
        .header("x-xsrf-token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(body(refused).await["error_code"], refusal["error_code"]);
    assert_eq!(body(sim.get(&tier1).await).await, before);
}

async fn realized(sim: &Sim, path: &str) -> Value {
    let list = body(
        sim.get(&format!(
            "{INFRA}/realized-state/realized-entities?intent_path={path}"
        ))
        .await,
    )
    .await;
    list["results"][0].clone()
}

#[tokio::test]
async fn objects_realize_after_the_delay_or_report_an_injected_error() {
    let sim = Sim::start(Config {
        rate_per_second: 0.0,
        realization_delay: Duration::from_millis(1000),
        ..Config::default()
    })
    .await;
    assert_eq!(
        sim.infra(load_balancer("lb1")).await.status(),
        StatusCode::OK
    );
    let service = "/infra/lb-services/lb1";
    let pool = "/infra/lb-pools/lb1-pool";
    let entity = realized(&sim, service).await;
    assert_eq!(entity["state"], "UNREALIZED");
    assert_eq!(entity["intent_paths"][0], service);

    sim.http
        .put(sim.url("/sim/realization-errors"))
        .json(&json!({"path": pool, "message": "No edge cluster can host this pool."}))
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1050)).await;
    assert_eq!(realized(&sim, service).await["state"], "REALIZED");
    let failed = realized(&sim, pool).await;
    assert_eq!(failed["state"], "ERROR");
    assert_eq!(
        failed["alarms"][0]["message"],
        "No edge cluster can host this pool."
    );
    let status = body(
        sim.get(&format!("{INFRA}/realized-state/status?intent_path={pool}"))
            .await,
    )
    .await;
    assert_eq!(
        status["consolidated_status"]["consolidated_status"],
        "ERROR"
    );

    // A change starts realization again.
    let changed = sim
        .call(
            Method::PATCH,
            &format!("{INFRA}/lb-services/lb1"),
            Some(json!({"size": "MEDIUM"})),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert_eq!(realized(&sim, service).await["state"], "UNREALIZED");

    let none = body(
        sim.get(&format!(
            "{INFRA}/realized-state/realized-entities?intent_path=/infra/lb-pools/x"
        ))
        .await,
    )
    .await;
    assert_eq!(none["result_count"], 0);
}

#[tokio::test]
async fn marked_for_delete_removes_and_a_referenced_object_stays() {
    let sim = Sim::plain(None).await;
    assert_eq!(
        sim.infra(load_balancer("lb1")).await.status(),
        StatusCode::OK
    );
    let delete = |wrapper: &str, key: &str, id: &str| json!({"resource_type": wrapper, "marked_for_delete": true, key: {"id": id}});

    let refused = sim
        .infra(json!([delete("ChildLBPool", "LBPool", "lb1-pool")]))
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body(refused).await["error_code"], 500030);
    assert_eq!(
        sim.get(&format!("{INFRA}/lb-pools/lb1-pool"))
            .await
            .status(),
        StatusCode::OK
    );
    let single = sim
        .call(
            Method::DELETE,
            &format!("{INFRA}/lb-monitor-profiles/lb1-monitor"),
            None,
        )
        .await;
    assert_eq!(single.status(), StatusCode::BAD_REQUEST);

    let removed = sim
        .infra(json!([
            delete("ChildLBVirtualServer", "LBVirtualServer", "lb1-http"),
            delete("ChildLBVirtualServer", "LBVirtualServer", "lb1-tcp"),
            delete("ChildLBPool", "LBPool", "lb1-pool"),
            delete("ChildLBMonitorProfile", "LBMonitorProfile", "lb1-monitor"),
            delete("ChildLBAppProfile", "LBAppProfile", "lb1-http"),
            delete("ChildLBAppProfile", "LBAppProfile", "lb1-tcp"),
            delete("ChildLBService", "LBService", "lb1"),
        ]))
        .await;
    assert_eq!(removed.status(), StatusCode::OK);
    assert!(sim.running.control().objects("/infra/lb-").is_empty());
    assert_eq!(
        sim.get(&format!("{INFRA}/lb-pools/lb1-pool"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    // Deleting what is gone already succeeds, as in NSX.
    let again = sim
        .infra(json!([delete("ChildLBService", "LBService", "lb1")]))
        .await;
    assert_eq!(again.status(), StatusCode::OK);
}

/// 40 calls under a 30% error rate with seed 42: their statuses.
async fn seeded_run(sim: &Sim) -> Vec<u16> {
    let plan = json!({"seed": 42, "error_rate": 0.3});
    let set = sim
        .http
        .put(sim.url("/sim/faults"))
        .json(&plan)
        .send()
        .await;
    assert_eq!(set.unwrap().status(), StatusCode::NO_CONTENT);
    let mut statuses = Vec::new();
    for _ in 0..40 {
        statuses.push(sim.get("/api/v1/node/version").await.status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn faults_are_injected_on_a_seeded_share_of_calls() {
    let sim = Sim::plain(None).await;
    let set = |plan: Value| sim.http.put(sim.url("/sim/faults")).json(&plan).send();
    assert_eq!(
        set(json!({"error_rate": 1.0})).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    let failed = sim.get("/api/v1/node/version").await;
    assert_eq!(failed.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body(failed).await["httpStatus"], "SERVICE_UNAVAILABLE");

    let first = seeded_run(&sim).await;
    assert_eq!(
        first,
        seeded_run(&sim).await,
        "the same seed fails the same calls"
    );
    let failed = first.iter().filter(|s| **s == 503).count();
    assert!((4..=24).contains(&failed), "{failed} of 40 failed");
    let report: Value = body(sim.http.get(sim.url("/sim/faults")).send().await.unwrap()).await;
    assert_eq!(report["errors_injected"], failed);

    assert_eq!(
        set(json!({"error_rate": 2.0})).await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    sim.http
        .delete(sim.url("/sim/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        sim.get("/api/v1/node/version").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_held_call_times_the_client_out_and_is_still_served() {
    let sim = Sim::plain(None).await;
    sim.running
        .control()
        .set_faults(FaultPlan {
            hold_rate: 1.0,
            hold_ms: 400,
            methods: vec!["PATCH".into()],
            ..FaultPlan::default()
        })
        .unwrap();
    let timed_out = sim
        .http
        .patch(sim.url(&format!("{INFRA}/lb-pools/held")))
        .basic_auth("admin", Some("admin"))
        .timeout(Duration::from_millis(100))
        .json(&json!({}))
        .send()
        .await;
    assert!(timed_out.unwrap_err().is_timeout());
    sim.running.control().clear_faults();
    let mut found = StatusCode::NOT_FOUND;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        found = sim.get(&format!("{INFRA}/lb-pools/held")).await.status();
        if found == StatusCode::OK {
            break;
        }
    }
    assert_eq!(
        found,
        StatusCode::OK,
        "the held write is made after the hold"
    );
}

#[tokio::test]
async fn objects_change_and_vanish_behind_the_driver_s_back() {
    let sim = Sim::plain(None).await;
    assert_eq!(
        sim.infra(load_balancer("lb1")).await.status(),
        StatusCode::OK
    );
    let pool_url = format!("{INFRA}/lb-pools/lb1-pool");
    let read = body(sim.get(&pool_url).await).await;

    let changed = sim
        .http
        .patch(sim.url("/sim/objects?path=/infra/lb-pools/lb1-pool"))
        .json(&json!({"algorithm": "IP_HASH"}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    let stale = sim
        .call(
            Method::PATCH,
            &pool_url,
            Some(json!({"_revision": read["_revision"], "algorithm": "ROUND_ROBIN"})),
        )
        .await;
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);

    let deleted = sim
        .http
        .delete(sim.url("/sim/objects?path=/infra/lb-virtual-servers/lb1-http"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = sim
        .get(&format!("{INFRA}/lb-virtual-servers/lb1-http"))
        .await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    assert_eq!(body(gone).await["error_code"], 600);

    // The driver's next apply recreates it.
    assert_eq!(
        sim.infra(load_balancer("lb1")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        sim.get(&format!("{INFRA}/lb-virtual-servers/lb1-http"))
            .await
            .status(),
        StatusCode::OK
    );

    let listed: Value = body(
        sim.http
            .get(sim.url("/sim/objects?prefix=/infra/lb-pools/"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(listed["result_count"], 1);
    // Control calls are not counted as NSX calls.
    assert!(
        sim.calls()
            .await
            .by_path
            .keys()
            .all(|k| !k.contains("/sim/"))
    );
}

#[tokio::test]
async fn detailed_status_and_statistics_follow_the_stored_objects() {
    let sim = Sim::plain(None).await;
    assert_eq!(
        sim.infra(load_balancer("lb1")).await.status(),
        StatusCode::OK
    );
    let status = body(
        sim.get(&format!("{INFRA}/lb-services/lb1/detailed-status"))
            .await,
    )
    .await;
    let service = &status["results"][0];
    assert_eq!(service["service_status"], "UP");
    let pool = &service["pools"][0];
    assert_eq!(pool["pool_path"], "/infra/lb-pools/lb1-pool");
    assert_eq!(pool["status"], "PARTIALLY_UP", "one member is disabled");
    assert_eq!(pool["members"][1]["status"], "DISABLED");
    let vs_status = |path: &str| {
        service["virtual_servers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|vs| vs["virtual_server_path"] == path)
            .map(|vs| vs["status"].clone())
    };
    assert_eq!(
        vs_status("/infra/lb-virtual-servers/lb1-tcp"),
        Some(json!("DISABLED"))
    );
    assert_eq!(
        vs_status("/infra/lb-virtual-servers/lb1-http"),
        Some(json!("PARTIALLY_UP"))
    );

    sim.running.control().set_member_status(
        "/infra/lb-pools/lb1-pool",
        "192.168.1.10",
        "8080",
        "DOWN",
    );
    let status = body(
        sim.get(&format!("{INFRA}/lb-services/lb1/detailed-status"))
            .await,
    )
    .await;
    assert_eq!(status["results"][0]["pools"][0]["status"], "DOWN");

    let stats = body(
        sim.get(&format!("{INFRA}/lb-services/lb1/statistics"))
            .await,
    )
    .await;
    let service = &stats["results"][0];
    assert_eq!(service["virtual_servers"].as_array().unwrap().len(), 2);
    assert!(
        service["pools"][0]["statistics"]["bytes_in"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert_eq!(
        sim.get(&format!("{INFRA}/lb-services/none/statistics"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn search_finds_objects_by_type_and_tag() {
    let sim = Sim::plain(None).await;
    assert_eq!(
        sim.infra(load_balancer("lb1")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        sim.infra(load_balancer("lb2")).await.status(),
        StatusCode::OK
    );
    let found = body(
        sim.get("/policy/api/v1/search/query?query=resource_type:LBPool%20AND%20tags.scope:os-lbaas-lb-id%20AND%20tags.tag:lb2")
            .await,
    )
    .await;
    assert_eq!(found["result_count"], 1);
    assert_eq!(found["results"][0]["id"], "lb2-pool");
    let tagged = body(
        sim.get("/policy/api/v1/search/query?query=tags.tag:lb1")
            .await,
    )
    .await;
    assert_eq!(tagged["result_count"], 3);
    let unsupported = sim.get("/policy/api/v1/search/query?query=owner:me").await;
    assert_eq!(unsupported.status(), StatusCode::BAD_REQUEST);
}

fn assert_nsx_error(body: &Value, error_code: i64, message: &str) {
    assert_eq!(body["error_code"], error_code, "{body}");
    assert!(body["httpStatus"].is_string(), "{body}");
    assert!(body["module_name"].is_string(), "{body}");
    let said = body["error_message"].as_str().unwrap_or_default();
    assert!(said.contains(message), "{message:?} not in {body}");
}

/// The version `GET /api/v1/node` reports.
async fn node(sim: &Sim) -> Value {
    body(sim.get("/api/v1/node").await).await["product_version"].clone()
}

/// The upgrade coordinator's steps take time and must come in order: a plan started before the
/// coordinator was upgraded is a 400 in NSX's body; once the plan has run the node reports the
/// bundle's version; a failed plan leaves the version as it was.
#[tokio::test]
async fn an_upgrade_goes_through_the_coordinator_s_steps_in_order() {
    let sim = Sim::start(Config {
        upgrade_step: Duration::from_millis(200),
        ..Config::default()
    })
    .await;
    let bundle = "https://repo.test/VMware-NSX-upgrade-bundle-3.2.0.0.0.19067070.mub";
    assert_eq!(node(&sim).await, "3.1.0.0.0.17107167");

    let early = sim
        .call(Method::POST, "/api/v1/upgrade/plan?action=start", None)
        .await;
    assert_eq!(early.status(), StatusCode::BAD_REQUEST);
    assert_nsx_error(&body(early).await, 7000, "has not been upgraded");
    let wrong = sim
        .call(
            Method::POST,
            "/api/v1/upgrade/bundles",
            Some(json!({"url": "https://repo.test/nsx.iso"})),
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert_nsx_error(&body(wrong).await, 225, "is not an NSX upgrade bundle");

    let fetched = sim
        .call(
            Method::POST,
            "/api/v1/upgrade/bundles",
            Some(json!({"url": bundle})),
        )
        .await;
    assert_eq!(fetched.status(), StatusCode::OK);
    let id = body(fetched).await["bundle_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let status = format!("/api/v1/upgrade/bundles/{id}/upload-status");
    assert_eq!(body(sim.get(&status).await).await["status"], "UPLOADING");
    let too_soon = sim
        .call(Method::POST, "/api/v1/upgrade?action=upgrade_uc", None)
        .await;
    assert_eq!(too_soon.status(), StatusCode::BAD_REQUEST);
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(body(sim.get(&status).await).await["status"], "SUCCESS");
    let missing = sim.get("/api/v1/upgrade/bundles/nope/upload-status").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_nsx_error(&body(missing).await, 600, "could not be found");

    sim.running.control().fail_upgrades(true);
    for path in [
        "/api/v1/upgrade?action=upgrade_uc",
        "/api/v1/upgrade/plan?action=start",
    ] {
        let answer = sim.call(Method::POST, path, None).await;
        assert_eq!(answer.status(), StatusCode::OK, "{path}");
    }
    let summary = body(sim.get("/api/v1/upgrade/status-summary").await).await;
    assert_eq!(summary["overall_upgrade_status"], "IN_PROGRESS");
    tokio::time::sleep(Duration::from_millis(250)).await;
    let summary = body(sim.get("/api/v1/upgrade/status-summary").await).await;
    assert_eq!(summary["overall_upgrade_status"], "FAILED", "{summary}");
    assert_eq!(node(&sim).await, "3.1.0.0.0.17107167");

    sim.running.control().fail_upgrades(false);
    let again = sim
        .call(Method::POST, "/api/v1/upgrade/plan?action=start", None)
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(250)).await;
    let summary = body(sim.get("/api/v1/upgrade/status-summary").await).await;
    assert_eq!(summary["overall_upgrade_status"], "SUCCESS", "{summary}");
    assert_eq!(node(&sim).await, "3.2.0.0.0.19067070");
    assert_eq!(
        body(sim.get("/api/v1/node/version").await).await["product_version"],
        "3.2.0.0.0.19067070"
    );
}

/// A license key is refused unless it is well formed, issued and not expired; an installed key
/// reports `is_expired` once its expiry passes; deleting a key not installed is a 404.
#[tokio::test]
async fn licenses_are_validated_and_expire() {
    let sim = Sim::plain(None).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let key = "AAAAA-BBBBB-CCCCC-DDDDD-EEEEE";
    let old = "AAAAA-BBBBB-CCCCC-DDDDD-00000";
    sim.running.control().issue_license(key, now + 60_000);
    sim.running.control().issue_license(old, now - 1);
    for (bad, why) in [
        (json!({}), "Field license_key is required"),
        (json!({"license_key": "ABC"}), "is not a valid license key"),
        (
            json!({"license_key": "ZZZZZ-BBBBB-CCCCC-DDDDD-EEEEE"}),
            "is not a valid license key",
        ),
        (json!({"license_key": old}), "is expired"),
    ] {
        let answer = sim
            .call(Method::POST, "/api/v1/licenses", Some(bad.clone()))
            .await;
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "{bad}");
        let said = body(answer).await;
        assert!(
            said["error_message"].as_str().unwrap().contains(why),
            "{said}"
        );
    }
    let listed = body(sim.get("/api/v1/licenses").await).await;
    assert_eq!(listed["result_count"], 0, "nothing installed: {listed}");

    let installed = sim
        .call(
            Method::POST,
            "/api/v1/licenses",
            Some(json!({"license_key": key})),
        )
        .await;
    assert_eq!(installed.status(), StatusCode::OK);
    assert_eq!(body(installed).await["is_expired"], false);
    sim.running.control().issue_license(key, now - 1);
    let listed = body(sim.get("/api/v1/licenses").await).await;
    assert_eq!(listed["results"][0]["is_expired"], true, "{listed}");

    let delete = "/api/v1/licenses?action=delete";
    let removed = sim
        .call(Method::POST, delete, Some(json!({"license_key": key})))
        .await;
    assert_eq!(removed.status(), StatusCode::OK);
    let again = sim
        .call(Method::POST, delete, Some(json!({"license_key": key})))
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    assert_nsx_error(&body(again).await, 600, "*****-EEEEE");
}
