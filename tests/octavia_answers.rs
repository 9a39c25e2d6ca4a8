//! Where Fulcrum answers as Octavia does although another answer might seem tidier: what
//! Octavia's clients and its conformance suite check.

mod common;

use common::{Db, TestServer};
use serde_json::{Value, json};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// Disabled health monitors, L7 policies and L7 rules report OFFLINE, enabled ones ONLINE, as
/// Octavia's controller sets them when the provider reports nothing finer.
async fn disabled_monitors_and_l7_objects_are_offline(db: Db) {
    let s = TestServer::start(db).await;
    let lb = id(&s.active_lb("statuses").await);
    let listener = id(&s
        .create(
            "/v2/lbaas/listeners",
            "listener",
            json!({"loadbalancer_id": lb, "protocol": "HTTP", "protocol_port": 80}),
        )
        .await);
    s.settle(&lb).await;
    let pool = id(&s
        .create(
            "/v2/lbaas/pools",
            "pool",
            json!({"listener_id": listener, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}),
        )
        .await);
    s.settle(&lb).await;
    let monitor = id(&s
        .create(
            "/v2/lbaas/healthmonitors",
            "healthmonitor",
            json!({"pool_id": pool, "type": "HTTP", "delay": 5, "timeout": 3,
                   "max_retries": 3, "admin_state_up": false}),
        )
        .await);
    s.settle(&lb).await;
    let on = id(&s
        .create(
            "/v2/lbaas/l7policies",
            "l7policy",
            json!({"listener_id": listener, "action": "REJECT", "position": 1}),
        )
        .await);
    s.settle(&lb).await;
    let off = id(&s
        .create(
            "/v2/lbaas/l7policies",
            "l7policy",
            json!({"listener_id": listener, "action": "REJECT", "position": 2,
                   "admin_state_up": false}),
        )
        .await);
    s.settle(&lb).await;
    let rule_on = id(&s
        .create(
            &format!("/v2/lbaas/l7policies/{on}/rules"),
            "rule",
            json!({"type": "PATH", "compare_type": "STARTS_WITH", "value": "/a"}),
        )
        .await);
    s.settle(&lb).await;
    let rule_off = id(&s
        .create(
            &format!("/v2/lbaas/l7policies/{on}/rules"),
            "rule",
            json!({"type": "PATH", "compare_type": "STARTS_WITH", "value": "/b",
                   "admin_state_up": false}),
        )
        .await);
    s.settle(&lb).await;

    let status = |path: String, root: &'static str| {
        let s = &s;
        async move { s.get(&path).await[root]["operating_status"].clone() }
    };
    assert_eq!(
        status(
            format!("/v2/lbaas/healthmonitors/{monitor}"),
            "healthmonitor"
        )
        .await,
        "OFFLINE"
    );
    assert_eq!(
        status(format!("/v2/lbaas/l7policies/{on}"), "l7policy").await,
        "ONLINE"
    );
    assert_eq!(
        status(format!("/v2/lbaas/l7policies/{off}"), "l7policy").await,
        "OFFLINE"
    );
    assert_eq!(
        status(format!("/v2/lbaas/l7policies/{on}/rules/{rule_on}"), "rule").await,
        "ONLINE"
    );
    assert_eq!(
        status(
            format!("/v2/lbaas/l7policies/{on}/rules/{rule_off}"),
            "rule"
        )
        .await,
        "OFFLINE"
    );

    let (code, body) = s
        .call(
            "PUT",
            &format!("/v2/lbaas/healthmonitors/{monitor}"),
            Some(json!({"healthmonitor": {"admin_state_up": true}})),
        )
        .await;
    assert_eq!(code.as_u16(), 200, "{body}");
    s.settle(&lb).await;
    assert_eq!(
        status(
            format!("/v2/lbaas/healthmonitors/{monitor}"),
            "healthmonitor"
        )
        .await,
        "ONLINE"
    );
}

/// tempest's `enabled_provider_drivers` option lists `name:description` pairs separated by
/// commas, so a description must not contain one.
async fn provider_descriptions_have_no_commas(db: Db) {
    let s = TestServer::start(db).await;
    let providers = s.get("/v2/lbaas/providers").await;
    let list = providers["providers"].as_array().unwrap();
    assert!(list.len() >= 2, "{providers}");
    for p in list {
        let description = p["description"].as_str().unwrap();
        assert!(!description.contains(','), "{p}");
    }
}

on_both_databases!(
    disabled_monitors_and_l7_objects_are_offline,
    provider_descriptions_have_no_commas
);
