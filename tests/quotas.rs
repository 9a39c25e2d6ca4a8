//! Quotas over HTTP: the `/v2/lbaas/quotas` API (show, set, list, defaults, reset, the deprecated
//! aliases, bad values) and their enforcement on create, including 20 concurrent creates against
//! a quota of 5.

mod common;

use common::{DEFAULT_SUBNET, Db, Options, TestServer, assert_fault};
use reqwest::StatusCode;
use serde_json::{Value, json};

const QUOTAS: &str = "/v2/lbaas/quotas";

fn quota_path(project: &str) -> String {
    format!("{QUOTAS}/{project}")
}

fn lb_body(name: &str) -> Value {
    json!({"loadbalancer": {"name": name, "vip_subnet_id": DEFAULT_SUBNET}})
}

/// The load balancers of a project, as the project lists them.
async fn lbs_of(s: &TestServer, project: &str) -> usize {
    let (status, v) = s
        .call_as("GET", "/v2/lbaas/loadbalancers", None, Some(project))
        .await;
    assert_eq!(status, 200, "{v}");
    v["loadbalancers"].as_array().unwrap().len()
}

/// Every limit of a quota body, current and deprecated names alike, equals `expected`.
fn assert_limits(quota: &Value, expected: [i64; 7]) {
    let names = [
        ("loadbalancer", Some("load_balancer")),
        ("listener", None),
        ("pool", None),
        ("healthmonitor", Some("health_monitor")),
        ("member", None),
        ("l7policy", None),
        ("l7rule", None),
    ];
    for ((name, alias), want) in names.iter().zip(expected) {
        assert_eq!(quota[*name], want, "{name} of {quota}");
        if let Some(alias) = alias {
            assert_eq!(quota[*alias], want, "{alias} of {quota}");
        }
    }
}

async fn show_set_list_reset(db: Db) {
    let s = TestServer::start(db).await;
    let p = quota_path("p1");
    assert_eq!(
        s.get(QUOTAS).await,
        json!({"quotas": [], "quotas_links": []})
    );
    let shown = s.get(&p).await;
    assert_eq!(shown["quota"]["project_id"], "p1");
    assert_eq!(shown["quota"]["tenant_id"], "p1");
    assert_limits(&shown["quota"], [-1; 7]);
    assert_limits(&s.get(&format!("{p}/default")).await["quota"], [-1; 7]);

    let (status, body) = s
        .call(
            "PUT",
            &p,
            Some(json!({"quota": {"loadbalancer": 10, "listener": 5, "l7rule": 0}})),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_limits(&body["quota"], [10, 5, -1, -1, -1, -1, 0]);
    assert_limits(&s.get(&p).await["quota"], [10, 5, -1, -1, -1, -1, 0]);
    assert_limits(&s.get(&format!("{p}/default")).await["quota"], [-1; 7]);

    // The list holds explicitly set projects only; null means "the default".
    let listed = s.get(QUOTAS).await;
    let quotas = listed["quotas"].as_array().unwrap();
    assert_eq!(quotas.len(), 1, "{listed}");
    assert_eq!(quotas[0]["project_id"], "p1");
    assert_eq!(quotas[0]["loadbalancer"], 10);
    assert!(quotas[0]["pool"].is_null(), "{listed}");

    // Deprecated names are accepted; absent keeps, null returns to the default.
    let (status, body) = s
        .call(
            "PUT",
            &p,
            Some(json!({"quota": {"load_balancer": 3, "health_monitor": 4, "listener": null}})),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_limits(&body["quota"], [3, -1, -1, 4, -1, -1, 0]);

    // The /v2.0 prefix is an alias.
    let v = s.get("/v2.0/lbaas/quotas/p1").await;
    assert_limits(&v["quota"], [3, -1, -1, 4, -1, -1, 0]);

    let (status, body) = s.call("DELETE", &p, None).await;
    assert_eq!(status, 204, "{body}");
    assert_limits(&s.get(&p).await["quota"], [-1; 7]);
    assert_eq!(s.get(QUOTAS).await["quotas"], json!([]));
}

async fn bad_values_change_nothing(db: Db) {
    // A fraction is truncated as Octavia's WSME does, beyond the integers the document states.
    let options = Options {
        requests_follow_document: false,
        ..Options::default()
    };
    let s = TestServer::start_with(db, options).await;
    let p = quota_path("p1");
    let (status, _) = s.call("PUT", &p, Some(json!({"quota": {"pool": 2}}))).await;
    assert_eq!(status, 202);
    for bad in [
        json!({"quota": {"pool": 9, "member": -2}}),
        json!({"quota": {"pool": "x"}}),
        json!({"quota": {"pool": "1.5"}}),
        json!({"quota": {"pool": [1]}}),
        json!({"quota": {"pool": 2000000001}}),
        json!({"quota": {"colour": 1}}),
        json!({"pool": 1}),
    ] {
        let got = s.call("PUT", &p, Some(bad.clone())).await;
        assert_eq!(got.0, 400, "{bad}: {}", got.1);
        assert_eq!(got.1["faultcode"], "Client", "{}", got.1);
    }
    assert_fault(
        &s.call("PUT", &p, Some(json!({"quota": {"member": -2}})))
            .await,
        400,
        "Invalid input for field/attribute member. Value: '-2'.",
    );
    assert_limits(&s.get(&p).await["quota"], [-1, -1, 2, -1, -1, -1, -1]);

    // As in Octavia (WSME's int()), a number with a fraction is truncated, not refused.
    let (status, body) = s
        .call("PUT", &p, Some(json!({"quota": {"pool": 1.5}})))
        .await;
    assert_eq!(status, 202, "{body}");
    assert_limits(&s.get(&p).await["quota"], [-1, -1, 1, -1, -1, -1, -1]);
}

async fn projects_and_admins(db: Db) {
    let s = TestServer::start(db).await;
    // A project reads its own quotas, not others', and changes none.
    let (status, _) = s.call_as("GET", &quota_path("p1"), None, Some("p1")).await;
    assert_eq!(status, 200);
    assert_fault(
        &s.call_as("GET", &quota_path("p2"), None, Some("p1")).await,
        403,
        "Policy does not allow",
    );
    let put = Some(json!({"quota": {"loadbalancer": 100}}));
    assert_fault(
        &s.call_as("PUT", &quota_path("p1"), put.clone(), Some("p1"))
            .await,
        403,
        "Policy does not allow",
    );
    assert_fault(
        &s.call_as("DELETE", &quota_path("p1"), None, Some("p1"))
            .await,
        403,
        "Policy does not allow",
    );
    for project in ["p1", "p2"] {
        let (status, _) = s.call("PUT", &quota_path(project), put.clone()).await;
        assert_eq!(status, 202);
    }
    let (_, mine) = s.call_as("GET", QUOTAS, None, Some("p1")).await;
    assert_eq!(mine["quotas"].as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(mine["quotas"][0]["project_id"], "p1");
    let filtered = s.get(&format!("{QUOTAS}?project_id=p2")).await;
    assert_eq!(
        filtered["quotas"].as_array().unwrap().len(),
        1,
        "{filtered}"
    );
    assert_eq!(filtered["quotas"][0]["project_id"], "p2");
}

async fn configured_defaults(db: Db) {
    let options = Options {
        extra_toml: "[quotas]\ndefault_pool_quota = 7\ndefault_load_balancer_quota = 1\n".into(),
        ..Options::default()
    };
    let s = TestServer::start_with(db, options).await;
    let expected = [1, -1, 7, -1, -1, -1, -1];
    assert_limits(
        &s.get(&format!("{}/default", quota_path("p1"))).await["quota"],
        expected,
    );
    assert_limits(&s.get(&quota_path("p1")).await["quota"], expected);
    assert_eq!(s.get(QUOTAS).await["quotas"], json!([]));
    // The default applies to creates.
    let lbs = "/v2/lbaas/loadbalancers";
    let (status, _) = s.call_as("POST", lbs, Some(lb_body("a")), Some("p1")).await;
    assert_eq!(status, 201);
    assert_fault(
        &s.call_as("POST", lbs, Some(lb_body("b")), Some("p1")).await,
        403,
        "Quota has been met for resources: Load Balancer",
    );
}

async fn load_balancer_quota(db: Db) {
    let s = TestServer::start(db).await;
    let lbs = "/v2/lbaas/loadbalancers";
    let put = json!({"quota": {"loadbalancer": 1}});
    assert_eq!(s.call("PUT", &quota_path("p1"), Some(put)).await.0, 202);
    let (status, body) = s.call_as("POST", lbs, Some(lb_body("a")), Some("p1")).await;
    assert_eq!(status, 201, "{body}");
    assert_fault(
        &s.call_as("POST", lbs, Some(lb_body("b")), Some("p1")).await,
        403,
        "Quota has been met for resources: Load Balancer",
    );
    assert_eq!(lbs_of(&s, "p1").await, 1, "the refused one is not stored");
    // Other projects, and objects without a project, are not limited by p1's quota.
    let (status, _) = s.call_as("POST", lbs, Some(lb_body("c")), Some("p2")).await;
    assert_eq!(status, 201);
    let (status, _) = s.call("POST", lbs, Some(lb_body("d"))).await;
    assert_eq!(status, 201);

    // Deleting frees the quota once the load balancer is gone.
    let id = body["loadbalancer"]["id"].as_str().unwrap().to_string();
    let path = format!("{lbs}/{id}");
    s.wait_for(&path, "loadbalancer", "ACTIVE").await;
    assert_eq!(s.call("DELETE", &path, None).await.0, 204);
    s.wait_for(&path, "loadbalancer", "DELETED").await;
    let (status, _) = s.call_as("POST", lbs, Some(lb_body("e")), Some("p1")).await;
    assert_eq!(status, 201);
}

async fn graph_create_counts_every_object(db: Db) {
    let s = TestServer::start(db).await;
    let lbs = "/v2/lbaas/loadbalancers";
    let put = json!({"quota": {"member": 1}});
    assert_eq!(s.call("PUT", &quota_path("p1"), Some(put)).await.0, 202);
    let graph = json!({"loadbalancer": {
        "name": "graph", "vip_subnet_id": DEFAULT_SUBNET,
        "pools": [{
            "name": "app", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
            "members": [
                {"address": "127.0.0.1", "protocol_port": 8080},
                {"address": "127.0.0.2", "protocol_port": 8080}
            ]
        }]
    }});
    assert_fault(
        &s.call_as("POST", lbs, Some(graph), Some("p1")).await,
        403,
        "Quota has been met for resources: Member",
    );
    assert_eq!(lbs_of(&s, "p1").await, 0, "nothing of the graph is stored");
}

/// A pool of an ACTIVE load balancer of `project`; returns (load balancer id, pool id).
async fn pool_of(s: &TestServer, project: &str) -> (String, String) {
    let (status, lb) = s
        .call_as(
            "POST",
            "/v2/lbaas/loadbalancers",
            Some(lb_body("lb")),
            Some(project),
        )
        .await;
    assert_eq!(status, 201, "{lb}");
    let lb_id = lb["loadbalancer"]["id"].as_str().unwrap().to_string();
    s.settle(&lb_id).await;
    let body = json!({"pool": {"loadbalancer_id": lb_id, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}});
    let (status, pool) = s
        .call_as("POST", "/v2/lbaas/pools", Some(body), Some(project))
        .await;
    assert_eq!(status, 201, "{pool}");
    s.settle(&lb_id).await;
    (lb_id, pool["pool"]["id"].as_str().unwrap().to_string())
}

async fn listener_and_member_quotas(db: Db) {
    let s = TestServer::start(db).await;
    let put = json!({"quota": {"listener": 1, "member": 2, "healthmonitor": 0}});
    assert_eq!(s.call("PUT", &quota_path("p1"), Some(put)).await.0, 202);
    let (lb_id, pool_id) = pool_of(&s, "p1").await;

    let listener = |port: u16| {
        Some(
            json!({"listener": {"loadbalancer_id": lb_id, "protocol": "HTTP", "protocol_port": port}}),
        )
    };
    let (status, body) = s
        .call_as("POST", "/v2/lbaas/listeners", listener(80), Some("p1"))
        .await;
    assert_eq!(status, 201, "{body}");
    s.settle(&lb_id).await;
    assert_fault(
        &s.call_as("POST", "/v2/lbaas/listeners", listener(81), Some("p1"))
            .await,
        403,
        "Quota has been met for resources: Listener",
    );
    let monitor = json!({"healthmonitor": {"pool_id": pool_id, "type": "HTTP", "delay": 5, "timeout": 3, "max_retries": 3}});
    assert_fault(
        &s.call_as(
            "POST",
            "/v2/lbaas/healthmonitors",
            Some(monitor),
            Some("p1"),
        )
        .await,
        403,
        "Quota has been met for resources: Health Monitor",
    );

    let members = format!("/v2/lbaas/pools/{pool_id}/members");
    let member = |ip: &str| json!({"address": ip, "protocol_port": 8080});
    let (status, body) = s
        .call_as(
            "POST",
            &members,
            Some(json!({"member": member("127.0.0.1")})),
            Some("p1"),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    s.settle(&lb_id).await;
    // A batch counts the members it adds: one kept plus two new is one too many.
    let batch = json!({"members": [member("127.0.0.1"), member("127.0.0.2"), member("127.0.0.3")]});
    assert_fault(
        &s.call_as("PUT", &members, Some(batch), Some("p1")).await,
        403,
        "Quota has been met for resources: Member",
    );
    let batch = json!({"members": [member("127.0.0.1"), member("127.0.0.2")]});
    let (status, body) = s.call_as("PUT", &members, Some(batch), Some("p1")).await;
    assert_eq!(status, 202, "{body}");
    s.settle(&lb_id).await;
    assert_fault(
        &s.call_as(
            "POST",
            &members,
            Some(json!({"member": member("127.0.0.4")})),
            Some("p1"),
        )
        .await,
        403,
        "Quota has been met for resources: Member",
    );
    let listed = s.get(&members).await;
    assert_eq!(listed["members"].as_array().unwrap().len(), 2, "{listed}");
}

async fn concurrent_creates_respect_the_quota(db: Db) {
    let s = TestServer::start(db).await;
    let put = json!({"quota": {"loadbalancer": 5}});
    assert_eq!(s.call("PUT", &quota_path("racer"), Some(put)).await.0, 202);
    let url = format!("{}/v2/lbaas/loadbalancers", s.base);
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let http = s.http.clone();
            let url = url.clone();
            tokio::spawn(async move {
                http.post(url)
                    .header("X-Project-Id", "racer")
                    .json(&lb_body(&format!("lb-{i}")))
                    .send()
                    .await
                    .expect("request")
                    .status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("join"));
    }
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::FORBIDDEN)
        .count();
    assert_eq!((created, refused), (5, 15), "{statuses:?}");
    assert_eq!(lbs_of(&s, "racer").await, 5, "exactly the quota is stored");
}

on_both_databases!(
    show_set_list_reset,
    bad_values_change_nothing,
    projects_and_admins,
    configured_defaults,
    load_balancer_quota,
    graph_create_counts_every_object,
    listener_and_member_quotas,
    concurrent_creates_respect_the_quota,
);
