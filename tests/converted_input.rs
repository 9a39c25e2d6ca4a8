//! Numbers and booleans as Octavia's WSME converts them, over HTTP: integers sent as strings
//! (`"protocol_port": "80"`), floats and booleans for integers, and strings for booleans are
//! stored as integers and booleans on every resource, nested graphs and batch updates included;
//! a value WSME cannot convert gets Octavia's 400, which names the whole body, and changes
//! nothing.

mod common;

use common::{DEFAULT_SUBNET, Db, Options, TestServer};
use serde_json::{Value, json};

/// A server for requests that rely on Octavia's conversions, which the OpenAPI document (typed
/// values only) does not describe; the answers are still checked against it.
async fn start(db: Db) -> TestServer {
    let options = Options {
        requests_follow_document: false,
        ..Options::default()
    };
    TestServer::start_with(db, options).await
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

/// PUT `body` to `path`, expect `status`, return the body.
async fn put(s: &TestServer, path: &str, body: Value, status: u16) -> Value {
    let (got, v) = s.call("PUT", path, Some(body)).await;
    assert_eq!(got.as_u16(), status, "PUT {path}: {v}");
    v
}

async fn string_numbers_are_stored_as_numbers(db: Db) {
    let s = start(db).await;
    let lb_id = id(&s.active_lb("strings").await);

    let listener = s
        .create(
            "/v2/lbaas/listeners",
            "listener",
            json!({"loadbalancer_id": lb_id, "protocol": "HTTP", "protocol_port": "8080",
                   "connection_limit": "-1", "timeout_client_data": "5000",
                   "timeout_member_connect": 3000.0, "timeout_member_data": " 7000 ",
                   "timeout_tcp_inspect": "0", "admin_state_up": "yes"}),
        )
        .await;
    let listener_id = id(&listener);
    s.settle(&lb_id).await;
    let shown = &s.get(&format!("/v2/lbaas/listeners/{listener_id}")).await["listener"];
    assert_eq!(shown["protocol_port"], 8080);
    assert_eq!(shown["connection_limit"], -1);
    assert_eq!(shown["timeout_client_data"], 5000);
    assert_eq!(shown["timeout_member_connect"], 3000);
    assert_eq!(shown["timeout_member_data"], 7000);
    assert_eq!(shown["timeout_tcp_inspect"], 0);
    assert_eq!(shown["admin_state_up"], true);

    let pool = s
        .create(
            "/v2/lbaas/pools",
            "pool",
            json!({"listener_id": listener_id, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                   "admin_state_up": "on", "tls_enabled": "false"}),
        )
        .await;
    let pool_id = id(&pool);
    assert_eq!(pool["admin_state_up"], true);
    assert_eq!(pool["tls_enabled"], false);
    s.settle(&lb_id).await;

    let members = format!("/v2/lbaas/pools/{pool_id}/members");
    let member = s
        .create(
            &members,
            "member",
            json!({"address": "127.0.0.1", "protocol_port": "80", "weight": "5",
                   "monitor_port": "8081", "backup": "false", "admin_state_up": 1}),
        )
        .await;
    let member_id = id(&member);
    s.settle(&lb_id).await;
    let shown = &s.get(&format!("{members}/{member_id}")).await["member"];
    assert_eq!(shown["protocol_port"], 80);
    assert_eq!(shown["weight"], 5);
    assert_eq!(shown["monitor_port"], 8081);
    assert_eq!(shown["backup"], false);
    assert_eq!(shown["admin_state_up"], true);

    let hm = s
        .create(
            "/v2/lbaas/healthmonitors",
            "healthmonitor",
            json!({"pool_id": pool_id, "type": "HTTP", "delay": "10", "timeout": "5",
                   "max_retries": "3", "max_retries_down": "2", "http_version": "1.1"}),
        )
        .await;
    let hm_id = id(&hm);
    s.settle(&lb_id).await;
    let shown = &s.get(&format!("/v2/lbaas/healthmonitors/{hm_id}")).await["healthmonitor"];
    assert_eq!(
        (
            &shown["delay"],
            &shown["timeout"],
            &shown["max_retries"],
            &shown["max_retries_down"],
            &shown["http_version"]
        ),
        (&json!(10), &json!(5), &json!(3), &json!(2), &json!(1.1))
    );

    let policy = s
        .create(
            "/v2/lbaas/l7policies",
            "l7policy",
            json!({"listener_id": listener_id, "action": "REJECT", "position": "1"}),
        )
        .await;
    let policy_id = id(&policy);
    s.settle(&lb_id).await;
    let rule = s
        .create(
            &format!("/v2/lbaas/l7policies/{policy_id}/rules"),
            "rule",
            json!({"type": "PATH", "compare_type": "STARTS_WITH", "value": "/x",
                   "invert": "t", "admin_state_up": "y"}),
        )
        .await;
    assert_eq!(rule["invert"], true);
    s.settle(&lb_id).await;
    let shown = &s.get(&format!("/v2/lbaas/l7policies/{policy_id}")).await["l7policy"];
    assert_eq!(shown["position"], 1);

    // Updates convert the same way; null still resets.
    put(
        &s,
        &format!("/v2/lbaas/listeners/{listener_id}"),
        json!({"listener": {"connection_limit": "100", "timeout_client_data": "6000"}}),
        200,
    )
    .await;
    s.settle(&lb_id).await;
    let shown = &s.get(&format!("/v2/lbaas/listeners/{listener_id}")).await["listener"];
    assert_eq!(shown["connection_limit"], 100);
    assert_eq!(shown["timeout_client_data"], 6000);
    put(
        &s,
        &format!("{members}/{member_id}"),
        json!({"member": {"weight": "7", "monitor_port": null, "backup": "1"}}),
        200,
    )
    .await;
    s.settle(&lb_id).await;
    let shown = &s.get(&format!("{members}/{member_id}")).await["member"];
    assert_eq!(shown["weight"], 7);
    assert!(shown["monitor_port"].is_null(), "{shown}");
    assert_eq!(shown["backup"], true);
    put(
        &s,
        &format!("/v2/lbaas/healthmonitors/{hm_id}"),
        json!({"healthmonitor": {"delay": "20", "max_retries": 4.0}}),
        200,
    )
    .await;
    s.settle(&lb_id).await;
    let shown = &s.get(&format!("/v2/lbaas/healthmonitors/{hm_id}")).await["healthmonitor"];
    assert_eq!(
        (&shown["delay"], &shown["max_retries"]),
        (&json!(20), &json!(4))
    );
    put(
        &s,
        &format!("/v2/lbaas/l7policies/{policy_id}"),
        json!({"l7policy": {"position": "1", "admin_state_up": "false"}}),
        200,
    )
    .await;
    s.settle(&lb_id).await;
    let shown = &s.get(&format!("/v2/lbaas/l7policies/{policy_id}")).await["l7policy"];
    assert_eq!(shown["position"], 1);
    assert_eq!(shown["admin_state_up"], false);

    // The batch member update.
    put(
        &s,
        &members,
        json!({"members": [
            {"address": "127.0.0.1", "protocol_port": "80", "weight": "9"},
            {"address": "127.0.0.2", "protocol_port": "81", "backup": "yes"}
        ]}),
        202,
    )
    .await;
    s.settle(&lb_id).await;
    let listed = s.get(&members).await;
    let mut got: Vec<(Value, Value, Value)> = listed["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["protocol_port"].clone(),
                m["weight"].clone(),
                m["backup"].clone(),
            )
        })
        .collect();
    got.sort_by_key(|(port, _, _)| port.as_i64());
    assert_eq!(
        got,
        vec![
            (json!(80), json!(9), json!(false)),
            (json!(81), json!(1), json!(true))
        ]
    );

    // Quotas.
    let quota = put(
        &s,
        "/v2/lbaas/quotas/p1",
        json!({"quota": {"member": "10", "l7policy": " 5 ", "listener": 3.0, "pool": "-1"}}),
        202,
    )
    .await;
    assert_eq!(quota["quota"]["member"], 10);
    let shown = &s.get("/v2/lbaas/quotas/p1").await["quota"];
    assert_eq!(
        (
            &shown["member"],
            &shown["l7policy"],
            &shown["listener"],
            &shown["pool"]
        ),
        (&json!(10), &json!(5), &json!(3), &json!(-1))
    );
}

async fn graph_with_string_numbers(db: Db) {
    let s = start(db).await;
    let lb = s
        .create(
            "/v2/lbaas/loadbalancers",
            "loadbalancer",
            json!({"name": "graph", "vip_subnet_id": DEFAULT_SUBNET, "admin_state_up": "true",
                "listeners": [{
                    "protocol": "HTTP", "protocol_port": "80", "connection_limit": "50",
                    "default_pool": {
                        "name": "app", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                        "members": [{"address": "127.0.0.1", "protocol_port": "8080", "weight": "3"}],
                        "healthmonitor": {"type": "HTTP", "delay": "5", "timeout": "3",
                                          "max_retries": "2"}
                    },
                    "l7policies": [{"action": "REJECT", "position": "1"}]
                }]
            }),
        )
        .await;
    let lb_id = id(&lb);
    s.settle(&lb_id).await;
    let listener = &lb["listeners"][0];
    assert_eq!(listener["protocol_port"], 80);
    assert_eq!(listener["connection_limit"], 50);
    let pool_id = id(&lb["pools"][0]);
    let member = &s.get(&format!("/v2/lbaas/pools/{pool_id}/members")).await["members"][0];
    assert_eq!(
        (&member["protocol_port"], &member["weight"]),
        (&json!(8080), &json!(3))
    );
    let pool = &s.get(&format!("/v2/lbaas/pools/{pool_id}")).await["pool"];
    let hm = &s
        .get(&format!(
            "/v2/lbaas/healthmonitors/{}",
            pool["healthmonitor_id"].as_str().unwrap()
        ))
        .await["healthmonitor"];
    assert_eq!(
        (&hm["delay"], &hm["timeout"], &hm["max_retries"]),
        (&json!(5), &json!(3), &json!(2))
    );
    let policies = s.get("/v2/lbaas/l7policies").await;
    assert_eq!(policies["l7policies"][0]["position"], 1);
}

/// Every object of the tree as the API shows it, without the operating statuses the observer may
/// change meanwhile.
async fn snapshot(s: &TestServer) -> Vec<Value> {
    let mut all = Vec::new();
    for (path, key) in [
        ("/v2/lbaas/loadbalancers", "loadbalancers"),
        ("/v2/lbaas/listeners", "listeners"),
        ("/v2/lbaas/pools", "pools"),
        ("/v2/lbaas/healthmonitors", "healthmonitors"),
        ("/v2/lbaas/l7policies", "l7policies"),
    ] {
        all.extend(s.get(path).await[key].as_array().unwrap().clone());
    }
    let pools: Vec<String> = s.get("/v2/lbaas/pools").await["pools"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    for pool in pools {
        all.extend(
            s.get(&format!("/v2/lbaas/pools/{pool}/members")).await["members"]
                .as_array()
                .unwrap()
                .clone(),
        );
    }
    all.push(s.get("/v2/lbaas/quotas/p1").await);
    for object in &mut all {
        if let Some(map) = object.as_object_mut() {
            map.remove("operating_status");
        }
    }
    all
}

async fn unconvertible_values_change_nothing(db: Db) {
    let s = start(db).await;
    let lb_id = id(&s.active_lb("keep").await);
    let listener_id = id(&s
        .create(
            "/v2/lbaas/listeners",
            "listener",
            json!({"loadbalancer_id": lb_id, "protocol": "HTTP", "protocol_port": 80}),
        )
        .await);
    s.settle(&lb_id).await;
    let pool_id = id(&s
        .create(
            "/v2/lbaas/pools",
            "pool",
            json!({"listener_id": listener_id, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}),
        )
        .await);
    s.settle(&lb_id).await;
    let members = format!("/v2/lbaas/pools/{pool_id}/members");
    let member_id = id(&s
        .create(
            &members,
            "member",
            json!({"address": "127.0.0.1", "protocol_port": 8080}),
        )
        .await);
    s.settle(&lb_id).await;
    let hm_id = id(&s
        .create(
            "/v2/lbaas/healthmonitors",
            "healthmonitor",
            json!({"pool_id": pool_id, "type": "PING", "delay": 5, "timeout": 3, "max_retries": 2}),
        )
        .await);
    s.settle(&lb_id).await;
    let policy_id = id(&s
        .create(
            "/v2/lbaas/l7policies",
            "l7policy",
            json!({"listener_id": listener_id, "action": "REJECT"}),
        )
        .await);
    s.settle(&lb_id).await;
    let rule_id = id(&s
        .create(
            &format!("/v2/lbaas/l7policies/{policy_id}/rules"),
            "rule",
            json!({"type": "PATH", "compare_type": "STARTS_WITH", "value": "/x"}),
        )
        .await);
    s.settle(&lb_id).await;
    put(
        &s,
        "/v2/lbaas/quotas/p1",
        json!({"quota": {"member": 10}}),
        202,
    )
    .await;
    let before = snapshot(&s).await;

    // The bodies are sent with their keys in alphabetical order, as Python then shows them.
    let invalid = |arg: &str, body: &str, reason: &str| {
        format!("Invalid input for field/attribute {arg}. Value: '{body}'. {reason}")
    };
    let cases: Vec<(&str, String, Value, String)> = vec![
        (
            "POST",
            "/v2/lbaas/listeners".into(),
            json!({"listener": {"loadbalancer_id": lb_id, "protocol": "HTTP", "protocol_port": "eighty"}}),
            invalid(
                "listener_",
                &format!(
                    "{{'listener': {{'loadbalancer_id': '{lb_id}', 'protocol': 'HTTP', \
                     'protocol_port': 'eighty'}}}}"
                ),
                "invalid literal for int() with base 10: 'eighty'",
            ),
        ),
        (
            "PUT",
            format!("/v2/lbaas/listeners/{listener_id}"),
            json!({"listener": {"connection_limit": "lots"}}),
            invalid(
                "listener_",
                "{'listener': {'connection_limit': 'lots'}}",
                "invalid literal for int() with base 10: 'lots'",
            ),
        ),
        (
            "PUT",
            format!("/v2/lbaas/listeners/{listener_id}"),
            json!({"listener": {"admin_state_up": "True"}}),
            invalid(
                "listener_",
                "{'listener': {'admin_state_up': 'True'}}",
                "Value not an unambiguous boolean: True",
            ),
        ),
        (
            "POST",
            members.clone(),
            json!({"member": {"address": "127.0.0.9", "protocol_port": "80", "weight": "heavy"}}),
            invalid(
                "member_",
                "{'member': {'address': '127.0.0.9', 'protocol_port': '80', 'weight': 'heavy'}}",
                "invalid literal for int() with base 10: 'heavy'",
            ),
        ),
        (
            "PUT",
            format!("{members}/{member_id}"),
            json!({"member": {"weight": "5.5"}}),
            invalid(
                "member_",
                "{'member': {'weight': '5.5'}}",
                "invalid literal for int() with base 10: '5.5'",
            ),
        ),
        (
            "PUT",
            members.clone(),
            json!({"members": [{"address": "127.0.0.1", "protocol_port": "x80"}]}),
            invalid(
                "members_",
                "{'members': [{'address': '127.0.0.1', 'protocol_port': 'x80'}]}",
                "invalid literal for int() with base 10: 'x80'",
            ),
        ),
        (
            "POST",
            "/v2/lbaas/healthmonitors".into(),
            json!({"healthmonitor": {"delay": "soon", "max_retries": 3, "pool_id": pool_id,
                                     "timeout": 1, "type": "PING"}}),
            invalid(
                "health_monitor_",
                &format!(
                    "{{'healthmonitor': {{'delay': 'soon', 'max_retries': 3, 'pool_id': \
                     '{pool_id}', 'timeout': 1, 'type': 'PING'}}}}"
                ),
                "invalid literal for int() with base 10: 'soon'",
            ),
        ),
        (
            "PUT",
            format!("/v2/lbaas/healthmonitors/{hm_id}"),
            json!({"healthmonitor": {"delay": "1e3"}}),
            invalid(
                "health_monitor_",
                "{'healthmonitor': {'delay': '1e3'}}",
                "invalid literal for int() with base 10: '1e3'",
            ),
        ),
        (
            "POST",
            "/v2/lbaas/l7policies".into(),
            json!({"l7policy": {"action": "REJECT", "listener_id": listener_id, "position": "first"}}),
            invalid(
                "l7policy_",
                &format!(
                    "{{'l7policy': {{'action': 'REJECT', 'listener_id': '{listener_id}', \
                     'position': 'first'}}}}"
                ),
                "invalid literal for int() with base 10: 'first'",
            ),
        ),
        (
            "PUT",
            format!("/v2/lbaas/l7policies/{policy_id}"),
            json!({"l7policy": {"position": "2nd"}}),
            invalid(
                "l7policy_",
                "{'l7policy': {'position': '2nd'}}",
                "invalid literal for int() with base 10: '2nd'",
            ),
        ),
        (
            "PUT",
            format!("/v2/lbaas/l7policies/{policy_id}/rules/{rule_id}"),
            json!({"rule": {"invert": "maybe"}}),
            invalid(
                "l7rule_",
                "{'rule': {'invert': 'maybe'}}",
                "Value not an unambiguous boolean: maybe",
            ),
        ),
        (
            "PUT",
            format!("/v2/lbaas/pools/{pool_id}"),
            json!({"pool": {"tls_enabled": 2.0}}),
            invalid(
                "pool_",
                "{'pool': {'tls_enabled': 2.0}}",
                "Value not an unambiguous boolean: 2.0",
            ),
        ),
        (
            "PUT",
            "/v2/lbaas/quotas/p1".into(),
            json!({"quota": {"member": "ten"}}),
            invalid(
                "quotas",
                "{'quota': {'member': 'ten'}}",
                "invalid literal for int() with base 10: 'ten'",
            ),
        ),
        (
            "POST",
            "/v2/lbaas/loadbalancers".into(),
            json!({"loadbalancer": {"listeners": [{"protocol": "HTTP", "protocol_port": "http"}],
                                    "vip_subnet_id": DEFAULT_SUBNET}}),
            invalid(
                "load_balancer",
                &format!(
                    "{{'loadbalancer': {{'listeners': [{{'protocol': 'HTTP', 'protocol_port': \
                     'http'}}], 'vip_subnet_id': '{DEFAULT_SUBNET}'}}}}"
                ),
                "invalid literal for int() with base 10: 'http'",
            ),
        ),
        (
            "PUT",
            "/v2/lbaas/quotas/p1".into(),
            json!({"quota": {"pool": "99999999999999999999"}}),
            "Invalid input for field/attribute pool. Value: '99999999999999999999'. Value should \
             be lower or equal to 9223372036854775807"
                .into(),
        ),
    ];
    for (method, path, body, fault) in cases {
        let (status, got) = s.call(method, &path, Some(body.clone())).await;
        assert_eq!(status.as_u16(), 400, "{method} {path} {body}: {got}");
        assert_eq!(got["faultcode"], "Client", "{got}");
        assert_eq!(got["faultstring"], fault.as_str(), "{method} {path} {body}");
    }
    assert_eq!(
        snapshot(&s).await,
        before,
        "no refused request changed anything"
    );
    let lb = s.get(&format!("/v2/lbaas/loadbalancers/{lb_id}")).await;
    assert_eq!(lb["loadbalancer"]["provisioning_status"], "ACTIVE");
}

on_both_databases!(
    string_numbers_are_stored_as_numbers,
    graph_with_string_numbers,
    unconvertible_values_change_nothing,
);
