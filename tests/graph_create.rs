//! Octavia's single-call graph create: `POST /v2/lbaas/loadbalancers` with nested listeners,
//! pools, members, health monitors, L7 policies and rules; the full response, convergence, and
//! invalid graphs that leave nothing behind.

mod common;

use common::{DEFAULT_SUBNET, Db, TestServer, assert_fault};
use serde_json::{Value, json};

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

/// The object of `items` whose `name` is `name`.
fn named<'a>(items: &'a Value, name: &str) -> &'a Value {
    items
        .as_array()
        .expect("array")
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {items}"))
}

/// An HTTP listener on port 80 whose default pool `app` has two members and an HTTP monitor,
/// with a policy sending `/api` to the top-level pool `api`.
fn full_graph() -> Value {
    json!({"loadbalancer": {
        "name": "graph",
        "vip_subnet_id": DEFAULT_SUBNET,
        "listeners": [{
            "name": "web", "protocol": "HTTP", "protocol_port": 80,
            "default_pool": {
                "name": "app", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                "members": [
                    {"address": "127.0.0.1", "protocol_port": 8080},
                    {"address": "127.0.0.2", "protocol_port": 8080, "weight": 3}
                ],
                "healthmonitor": {"type": "HTTP", "delay": 5, "timeout": 3, "max_retries": 2}
            },
            "l7policies": [{
                "name": "to-api", "action": "REDIRECT_TO_POOL", "redirect_pool": {"name": "api"},
                "rules": [{"type": "PATH", "compare_type": "STARTS_WITH", "value": "/api"}]
            }]
        }],
        "pools": [{
            "name": "api", "protocol": "HTTP", "lb_algorithm": "LEAST_CONNECTIONS",
            "members": [{"address": "127.0.0.3", "protocol_port": 9000}]
        }]
    }})
}

/// Check the nested shape of the 201 body; returns (listener, app pool, api pool).
fn check_response(lb: &Value) -> (Value, Value, Value) {
    assert_eq!(lb["provisioning_status"], "PENDING_CREATE");
    assert_eq!(lb["listeners"].as_array().unwrap().len(), 1);
    assert_eq!(lb["pools"].as_array().unwrap().len(), 2);
    let listener = lb["listeners"][0].clone();
    let (app, api) = (
        named(&lb["pools"], "app").clone(),
        named(&lb["pools"], "api").clone(),
    );
    assert_eq!(listener["provisioning_status"], "PENDING_CREATE");
    assert_eq!(listener["default_pool_id"], id(&app).as_str());
    assert!(listener.get("loadbalancers").is_none(), "{listener}");
    let policy = &listener["l7policies"][0];
    assert_eq!(policy["redirect_pool_id"], id(&api).as_str());
    assert_eq!(policy["listener_id"], id(&listener).as_str());
    assert_eq!(policy["position"], 1);
    assert_eq!(policy["rules"][0]["value"], "/api");
    assert_eq!(policy["rules"][0]["provisioning_status"], "PENDING_CREATE");

    assert_eq!(app["members"].as_array().unwrap().len(), 2);
    assert_eq!(named_member(&app, "127.0.0.2")["weight"], 3);
    assert_eq!(
        app["members"][0]["operating_status"], "OFFLINE",
        "pool has a monitor"
    );
    assert_eq!(app["healthmonitor"]["type"], "HTTP");
    assert_eq!(app["healthmonitor"]["url_path"], "/");
    assert!(app["healthmonitor"].get("pools").is_none());
    assert!(app.get("healthmonitor_id").is_none() && app.get("loadbalancers").is_none());
    assert_eq!(app["listeners"], json!([{"id": id(&listener)}]));
    assert!(api["healthmonitor"].is_null());
    assert_eq!(api["members"][0]["operating_status"], "NO_MONITOR");
    assert_eq!(api["listeners"], json!([{"id": id(&listener)}]));
    (listener, app, api)
}

fn named_member<'a>(pool: &'a Value, address: &str) -> &'a Value {
    pool["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["address"] == address)
        .expect("member")
}

async fn full_graph_converges(db: Db) {
    let s = TestServer::start(db).await;
    let (status, body) = s
        .call("POST", "/v2/lbaas/loadbalancers", Some(full_graph()))
        .await;
    assert_eq!(status, 201, "{body}");
    let lb = &body["loadbalancer"];
    let (listener, app, api) = check_response(lb);
    let lb_id = id(lb);
    s.settle(&lb_id).await;

    let shown = s.get(&format!("/v2/lbaas/loadbalancers/{lb_id}")).await;
    assert_eq!(
        shown["loadbalancer"]["listeners"],
        json!([{"id": id(&listener)}])
    );
    assert_eq!(shown["loadbalancer"]["pools"].as_array().unwrap().len(), 2);
    let paths = [
        (format!("/v2/lbaas/listeners/{}", id(&listener)), "listener"),
        (format!("/v2/lbaas/pools/{}", id(&app)), "pool"),
        (format!("/v2/lbaas/pools/{}", id(&api)), "pool"),
        (
            format!("/v2/lbaas/healthmonitors/{}", id(&app["healthmonitor"])),
            "healthmonitor",
        ),
        (
            format!("/v2/lbaas/l7policies/{}", id(&listener["l7policies"][0])),
            "l7policy",
        ),
    ];
    for (path, root) in &paths {
        s.wait_for(path, root, "ACTIVE").await;
    }
    let policy_id = id(&listener["l7policies"][0]);
    let rule_id = id(&listener["l7policies"][0]["rules"][0]);
    s.wait_for(
        &format!("/v2/lbaas/l7policies/{policy_id}/rules/{rule_id}"),
        "rule",
        "ACTIVE",
    )
    .await;
    for m in app["members"].as_array().unwrap() {
        s.wait_for(
            &format!("/v2/lbaas/pools/{}/members/{}", id(&app), id(m)),
            "member",
            "ACTIVE",
        )
        .await;
    }

    let tree = s
        .get(&format!("/v2/lbaas/loadbalancers/{lb_id}/status"))
        .await;
    let root = &tree["statuses"]["loadbalancer"];
    assert_eq!(root["provisioning_status"], "ACTIVE");
    let l = &root["listeners"][0];
    assert_eq!(l["name"], "web");
    assert_eq!(l["provisioning_status"], "ACTIVE");
    let pools = &l["pools"];
    assert_eq!(
        pools.as_array().unwrap().len(),
        2,
        "default and redirect pool"
    );
    let tree_app = named(pools, "app");
    assert_eq!(tree_app["members"].as_array().unwrap().len(), 2);
    assert_eq!(tree_app["health_monitor"]["provisioning_status"], "ACTIVE");
    let tree_api = named(pools, "api");
    assert_eq!(tree_api["members"][0]["address"], "127.0.0.3");
    assert!(tree_api.get("health_monitor").is_none());
}

async fn plain_create_has_empty_children(db: Db) {
    let s = TestServer::start(db).await;
    let lb = s
        .create(
            "/v2/lbaas/loadbalancers",
            "loadbalancer",
            json!({"name": "plain", "vip_subnet_id": DEFAULT_SUBNET}),
        )
        .await;
    assert_eq!(lb["listeners"], json!([]));
    assert_eq!(lb["pools"], json!([]));
    assert_eq!(lb["vip_subnet_id"], DEFAULT_SUBNET);
    s.settle(&id(&lb)).await;
}

/// `full_graph()` with one change applied to its body.
fn graph_with(change: impl FnOnce(&mut Value)) -> Value {
    let mut body = full_graph();
    change(&mut body["loadbalancer"]);
    body
}

/// Nothing of a refused graph is stored.
async fn assert_nothing_stored(s: &TestServer) {
    for (path, plural) in [
        ("/v2/lbaas/loadbalancers", "loadbalancers"),
        ("/v2/lbaas/listeners", "listeners"),
        ("/v2/lbaas/pools", "pools"),
        ("/v2/lbaas/healthmonitors", "healthmonitors"),
        ("/v2/lbaas/l7policies", "l7policies"),
    ] {
        assert_eq!(s.get(path).await[plural], json!([]), "{path}");
    }
}

async fn invalid_graphs_store_nothing(db: Db) {
    let s = TestServer::start(db).await;
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            graph_with(|lb| lb["listeners"][0]["default_pool"]["protocol"] = json!("UDP")),
            400,
            "The pool protocol 'UDP' is invalid while the listener protocol is 'HTTP'.",
        ),
        (
            graph_with(|lb| {
                let second = json!({"protocol": "TCP", "protocol_port": 80});
                lb["listeners"].as_array_mut().unwrap().push(second);
            }),
            409,
            "Another Listener on this Load Balancer is already using protocol HTTP and protocol_port 80",
        ),
        (
            graph_with(|lb| {
                lb["listeners"][0]["l7policies"][0]["redirect_pool"] = json!({"name": "nowhere"})
            }),
            400,
            "Missing details for Pool object: nowhere",
        ),
        (
            graph_with(|lb| {
                lb["listeners"][0]["l7policies"][0]["rules"][0] =
                    json!({"type": "HEADER", "compare_type": "EQUAL_TO", "value": "x"})
            }),
            400,
            "Error parsing L7Rule: Invalid L7 Rule: L7 rule type requires a key",
        ),
        (
            graph_with(|lb| {
                lb["pools"][0]["members"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"address": "127.0.0.3", "protocol_port": 9000}))
            }),
            409,
            "Another member on this pool is already using ip 127.0.0.3 on protocol_port 9000",
        ),
        (
            graph_with(|lb| {
                lb["pools"][0]["lb_algorithm"].take();
            }),
            400,
            "Pool definition for 'api' missing required attribute: lb_algorithm",
        ),
        (
            graph_with(|lb| {
                lb["listeners"][0]["default_pool"]["name"].take();
            }),
            400,
            "Pools must be named when creating a fully populated loadbalancer.",
        ),
        (
            graph_with(|lb| lb["listeners"][0]["default_pool"]["name"] = json!("api")),
            400,
            "Pool names must be unique",
        ),
        (
            graph_with(|lb| {
                lb["listeners"][0]["default_pool"]["healthmonitor"]["type"] = json!("UDP-CONNECT")
            }),
            400,
            "The UDP-CONNECT type is only supported for pools of type UDP/SCTP.",
        ),
    ];
    for (body, status, text) in cases {
        let got = s.call("POST", "/v2/lbaas/loadbalancers", Some(body)).await;
        assert_fault(&got, status, text);
        assert_nothing_stored(&s).await;
    }
}

on_both_databases!(
    full_graph_converges,
    plain_create_has_empty_children,
    invalid_graphs_store_nothing
);
