//! What a provider cannot realize is refused in the request, before anything is stored; and an
//! object in ERROR can always be updated or deleted. The first part runs on the HAProxy provider
//! with real HAProxy processes; the second on the noop provider told to fail.

mod common;

use std::time::{Duration, Instant};

use common::{Db, Options, TestServer, assert_fault};
use serde_json::{Value, json};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

const REFUSED: &str = "Provider 'haproxy' does not support a requested option: ";

/// An ACTIVE HAProxy load balancer with an HTTP listener, a pool and a REJECT policy with one
/// rule; returns (load balancer, listener, pool, policy) ids.
async fn l7_tree(s: &TestServer) -> (String, String, String, String) {
    let lb = id(&s.active_lb("v").await);
    let listener = s
        .create(
            "/v2/lbaas/listeners",
            "listener",
            json!({"loadbalancer_id": lb, "protocol": "HTTP", "protocol_port": free_port()}),
        )
        .await;
    s.settle(&lb).await;
    let pool = s
        .create(
            "/v2/lbaas/pools",
            "pool",
            json!({"loadbalancer_id": lb, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}),
        )
        .await;
    s.settle(&lb).await;
    let policy = s
        .create(
            "/v2/lbaas/l7policies",
            "l7policy",
            json!({"listener_id": id(&listener), "action": "REJECT", "rules": [
                {"type": "PATH", "compare_type": "STARTS_WITH", "value": "/admin"}]}),
        )
        .await;
    s.settle(&lb).await;
    (lb, id(&listener), id(&pool), id(&policy))
}

/// Every object of the load balancer's status tree is ACTIVE (nothing was left pending or in
/// ERROR by a refused request).
async fn all_active(s: &TestServer, lb: &str) {
    let tree = s
        .get(&format!("/v2/lbaas/loadbalancers/{lb}/status"))
        .await
        .to_string();
    for status in ["PENDING", "ERROR"] {
        assert!(!tree.contains(status), "{tree}");
    }
}

async fn refused_before_anything_is_stored(db: Db) {
    let s = TestServer::start_with(
        db,
        Options {
            default_provider: "haproxy",
            ..Default::default()
        },
    )
    .await;
    let (lb, listener, pool, policy) = l7_tree(&s).await;
    let rules_url = format!("/v2/lbaas/l7policies/{policy}/rules");
    let rules_before = s.get(&rules_url).await;

    // A cookie name Octavia's API accepts but HAProxy cannot take as a fetch argument.
    let got = s
        .call(
            "POST",
            &rules_url,
            Some(
                json!({"rule": {"type": "COOKIE", "key": "a'b", "compare_type": "EQUAL_TO",
                "value": "x"}}),
            ),
        )
        .await;
    assert_fault(
        &got,
        501,
        &format!("{REFUSED}COOKIE rule key \"a'b\" is not supported."),
    );
    assert_eq!(s.get(&rules_url).await, rules_before);
    all_active(&s, &lb).await;

    // Changing a stored rule into one HAProxy refuses leaves it as it was.
    let rule = &rules_before["rules"][0];
    let got = s
        .call(
            "PUT",
            &format!("{rules_url}/{}", id(rule)),
            Some(json!({"rule": {"type": "HEADER", "key": "X#Y", "value": "v"}})),
        )
        .await;
    assert_fault(&got, 501, "HEADER rule key \"X#Y\" is not supported.");
    assert_eq!(s.get(&rules_url).await, rules_before);

    // A disabled policy is checked as the tree it joins, rules included.
    let got = s
        .call(
            "POST",
            "/v2/lbaas/l7policies",
            Some(
                json!({"l7policy": {"listener_id": listener, "action": "REJECT",
                "admin_state_up": false, "rules": [{"type": "HEADER", "key": "a b",
                "compare_type": "EQUAL_TO", "value": "x", "admin_state_up": false}]}}),
            ),
        )
        .await;
    assert_eq!(got.0.as_u16(), 400, "Octavia's own rule first: {}", got.1);
    let got = s
        .call(
            "POST",
            "/v2/lbaas/l7policies",
            Some(
                json!({"l7policy": {"listener_id": listener, "action": "REJECT",
                "admin_state_up": false, "rules": [{"type": "COOKIE", "key": "a%b",
                "compare_type": "EQUAL_TO", "value": "x"}]}}),
            ),
        )
        .await;
    assert_fault(&got, 501, "COOKIE rule key \"a%b\" is not supported.");
    let policies = s
        .get(&format!("/v2/lbaas/l7policies?listener_id={listener}"))
        .await;
    assert_eq!(policies["l7policies"].as_array().unwrap().len(), 1);

    // A health monitor delay beyond HAProxy's timers.
    let got = s
        .call(
            "POST",
            "/v2/lbaas/healthmonitors",
            Some(
                json!({"healthmonitor": {"pool_id": pool, "type": "TCP", "delay": 3_000_000,
                "timeout": 5, "max_retries": 3}}),
            ),
        )
        .await;
    assert_fault(
        &got,
        501,
        "A health monitor delay over 2147483 seconds is not supported.",
    );
    assert_eq!(
        s.get("/v2/lbaas/healthmonitors").await["healthmonitors"],
        json!([])
    );

    // A regular expression PCRE2 cannot compile.
    let got = s
        .call(
            "POST",
            &rules_url,
            Some(json!({"rule": {"type": "PATH", "compare_type": "REGEX",
                "value": "^/a{70000}$"}})),
        )
        .await;
    assert_fault(&got, 501, "Regular expression \"^/a{70000}$\"");

    // A whole graph with one refused option stores nothing at all.
    let lbs_before = s.get("/v2/lbaas/loadbalancers").await;
    let got = s
        .call(
            "POST",
            "/v2/lbaas/loadbalancers",
            Some(json!({"loadbalancer": {"name": "graph",
                "vip_subnet_id": common::DEFAULT_SUBNET,
                "listeners": [{"protocol": "HTTP", "protocol_port": free_port(),
                    "l7policies": [{"action": "REJECT", "rules": [{"type": "COOKIE",
                        "key": "a'b", "compare_type": "EQUAL_TO", "value": "x"}]}]}]}})),
        )
        .await;
    assert_fault(&got, 501, "COOKIE rule key \"a'b\" is not supported.");
    assert_eq!(s.get("/v2/lbaas/loadbalancers").await, lbs_before);

    // The same options on the noop provider, which realizes anything, are taken.
    let noop = s
        .create(
            "/v2/lbaas/loadbalancers",
            "loadbalancer",
            json!({"name": "n", "vip_subnet_id": common::DEFAULT_SUBNET, "provider": "noop"}),
        )
        .await;
    s.settle(&id(&noop)).await;
    let noop_listener = s
        .create(
            "/v2/lbaas/listeners",
            "listener",
            json!({"loadbalancer_id": id(&noop), "protocol": "HTTP", "protocol_port": 80}),
        )
        .await;
    s.settle(&id(&noop)).await;
    s.create(
        "/v2/lbaas/l7policies",
        "l7policy",
        json!({"listener_id": id(&noop_listener), "action": "REJECT", "rules": [
            {"type": "COOKIE", "key": "a'b", "compare_type": "EQUAL_TO", "value": "x"}]}),
    )
    .await;
    s.settle(&id(&noop)).await;

    // The HAProxy load balancer still takes what it can realize.
    s.create(
        &rules_url,
        "rule",
        json!({"type": "COOKIE", "key": "session", "compare_type": "EQUAL_TO", "value": "x"}),
    )
    .await;
    s.settle(&lb).await;
    // Expected codes with the spaces Octavia allows after a comma.
    s.create(
        "/v2/lbaas/healthmonitors",
        "healthmonitor",
        json!({"pool_id": pool, "type": "HTTP", "delay": 5, "timeout": 5, "max_retries": 3,
            "expected_codes": "200, 202"}),
    )
    .await;
    s.settle(&lb).await;
    all_active(&s, &lb).await;
    let config = std::fs::read_to_string(s.dir().join("haproxy").join(&lb).join("haproxy.cfg"))
        .expect("the configuration HAProxy runs");
    assert!(config.contains("req.cook(session)"), "{config}");
    assert!(
        config.contains("http-check expect status 200,202"),
        "{config}"
    );
}

/// Poll an object until its provisioning status is `status`.
async fn until(s: &TestServer, path: &str, root: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (code, v) = s.call("GET", path, None).await;
        if code.is_success() && v[root]["provisioning_status"] == status {
            return v[root].clone();
        }
        assert!(Instant::now() < deadline, "{path} never {status}: {v}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// One object of every kind, each left in ERROR by a provider that fails every apply.
struct Failed {
    lb: String,
    /// (URL, root key) of each object below the load balancer, parents first.
    objects: Vec<(String, &'static str)>,
}

/// Create an object below a load balancer whose every apply fails and wait until it is in
/// ERROR; returns its id and URL.
async fn failed(s: &TestServer, collection: &str, root: &str, body: Value) -> (String, String) {
    let created = s
        .create(&format!("/v2/lbaas/{collection}"), root, body)
        .await;
    let url = format!("/v2/lbaas/{collection}/{}", id(&created));
    until(s, &url, root, "ERROR").await;
    (id(&created), url)
}

async fn fail_everything(s: &TestServer) -> Failed {
    let lb = s
        .create(
            "/v2/lbaas/loadbalancers",
            "loadbalancer",
            json!({"name": "lb-FAIL", "vip_subnet_id": common::DEFAULT_SUBNET}),
        )
        .await;
    let lb = id(&lb);
    until(
        s,
        &format!("/v2/lbaas/loadbalancers/{lb}"),
        "loadbalancer",
        "ERROR",
    )
    .await;
    let (listener, listener_url) = failed(
        s,
        "listeners",
        "listener",
        json!({"loadbalancer_id": lb, "protocol": "HTTP", "protocol_port": 80}),
    )
    .await;
    let (pool, pool_url) = failed(
        s,
        "pools",
        "pool",
        json!({"loadbalancer_id": lb, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}),
    )
    .await;
    let (_, member_url) = failed(
        s,
        &format!("pools/{pool}/members"),
        "member",
        json!({"address": "10.0.0.1", "protocol_port": 80}),
    )
    .await;
    let (_, monitor_url) = failed(
        s,
        "healthmonitors",
        "healthmonitor",
        json!({"pool_id": pool, "type": "TCP", "delay": 5, "timeout": 3, "max_retries": 3}),
    )
    .await;
    let (policy, policy_url) = failed(
        s,
        "l7policies",
        "l7policy",
        json!({"listener_id": listener, "action": "REJECT"}),
    )
    .await;
    let (_, rule_url) = failed(
        s,
        &format!("l7policies/{policy}/rules"),
        "rule",
        json!({"type": "PATH", "compare_type": "STARTS_WITH", "value": "/"}),
    )
    .await;
    Failed {
        lb,
        objects: vec![
            (listener_url, "listener"),
            (pool_url, "pool"),
            (member_url, "member"),
            (monitor_url, "healthmonitor"),
            (policy_url, "l7policy"),
            (rule_url, "rule"),
        ],
    }
}

async fn objects_in_error_can_be_updated_and_deleted(db: Db) {
    let s = TestServer::start_with(
        db,
        Options {
            noop_fail: Some(("FAIL".into(), 0)),
            ..Default::default()
        },
    )
    .await;
    let failed = fail_everything(&s).await;
    let lb_url = format!("/v2/lbaas/loadbalancers/{}", failed.lb);

    // The load balancer itself goes to ERROR when a change of its own fails.
    let (code, v) = s
        .call(
            "PUT",
            &lb_url,
            Some(json!({"loadbalancer": {"description": "d"}})),
        )
        .await;
    assert_eq!(code.as_u16(), 200, "{v}");
    until(&s, &lb_url, "loadbalancer", "ERROR").await;

    for (url, root) in &failed.objects {
        let (code, v) = s
            .call(
                "PUT",
                url,
                Some(json!({ *root: {"admin_state_up": false} })),
            )
            .await;
        assert_eq!(code.as_u16(), 200, "PUT {url}: {v}");
        assert_eq!(v[*root]["provisioning_status"], "PENDING_UPDATE", "{v}");
        until(&s, url, root, "ERROR").await;
    }
    for (url, root) in failed.objects.iter().rev() {
        let (code, v) = s.call("DELETE", url, None).await;
        assert_eq!(code.as_u16(), 204, "DELETE {url}: {v}");
        until(&s, &lb_url, "loadbalancer", "ACTIVE").await;
        let (code, v) = s.call("GET", url, None).await;
        assert!(
            code.as_u16() == 404 || v[*root]["provisioning_status"] == "ERROR",
            "{url}: {code} {v}"
        );
    }

    // Once its provider can realize it, the load balancer converges again, and what failed to
    // be deleted is deleted for good.
    let (code, v) = s
        .call(
            "PUT",
            &lb_url,
            Some(json!({"loadbalancer": {"name": "lb-fixed"}})),
        )
        .await;
    assert_eq!(code.as_u16(), 200, "{v}");
    until(&s, &lb_url, "loadbalancer", "ACTIVE").await;
    for (url, _) in &failed.objects[..2] {
        let (code, v) = s.call("DELETE", url, None).await;
        assert_eq!(code.as_u16(), 204, "DELETE {url}: {v}");
        s.settle(&failed.lb).await;
    }
    for (url, _) in &failed.objects {
        assert_eq!(s.call("GET", url, None).await.0.as_u16(), 404, "{url}");
    }
}

on_both_databases!(objects_in_error_can_be_updated_and_deleted);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_before_anything_is_stored_on_haproxy() {
    refused_before_anything_is_stored(Db::Sqlite).await
}
