//! The provider API (`/v2/fulcrum/provider/...`) that Octavia's provider driver for Fulcrum
//! calls, over real HTTP against the real server: idempotent upserts and deletes by Octavia's
//! ids, and the status feed that the driver's agent resumes from a cursor.

mod common;

use std::time::{Duration, Instant};

use common::{Db, TestServer, assert_fault};
use reqwest::StatusCode;
use serde_json::{Value, json};

const LB: &str = "0b9a7c1e-0000-4000-8000-00000000000a";
const LISTENER: &str = "0b9a7c1e-0000-4000-8000-0000000000a1";
const POOL: &str = "0b9a7c1e-0000-4000-8000-0000000000b1";
const MEMBER_1: &str = "0b9a7c1e-0000-4000-8000-0000000000c1";
const MEMBER_2: &str = "0b9a7c1e-0000-4000-8000-0000000000c2";
const MONITOR: &str = "0b9a7c1e-0000-4000-8000-0000000000d1";
const POLICY: &str = "0b9a7c1e-0000-4000-8000-0000000000e1";
const RULE: &str = "0b9a7c1e-0000-4000-8000-0000000000f1";
const PROJECT: &str = "5e1f0c3a9b2d4e6f8a7b6c5d4e3f2a1b";

/// A load balancer as Octavia hands it over on a create with its whole graph.
fn whole_tree() -> Value {
    json!({"loadbalancer": {
        "project_id": PROJECT,
        "name": "web",
        "vip_address": "203.0.113.10",
        "vip_port_id": "0b9a7c1e-0000-4000-8000-0000000000ff",
        "vip_subnet_id": "0b9a7c1e-0000-4000-8000-0000000000fe",
        "vip_network_id": "0b9a7c1e-0000-4000-8000-0000000000fd",
        "pools": [{
            "id": POOL,
            "pool": {"loadbalancer_id": LB, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"},
            "members": [
                {"id": MEMBER_1, "member": {"address": "192.0.2.11", "protocol_port": 8080}},
                {"id": MEMBER_2, "member": {"address": "192.0.2.12", "protocol_port": 8080}}
            ],
            "healthmonitor": {"id": MONITOR, "healthmonitor": {
                "pool_id": POOL, "type": "HTTP", "delay": 5, "timeout": 3, "max_retries": 3}}
        }],
        "listeners": [{
            "id": LISTENER,
            "listener": {"loadbalancer_id": LB, "protocol": "HTTP", "protocol_port": 80,
                         "default_pool_id": POOL},
            "l7policies": [{
                "id": POLICY,
                "l7policy": {"listener_id": LISTENER, "action": "REJECT", "position": 1},
                "rules": [{"id": RULE, "rule": {"type": "PATH", "compare_type": "STARTS_WITH",
                                                 "value": "/admin"}}]
            }]
        }]
    }})
}

fn provider(path: &str) -> String {
    format!("/v2/fulcrum/provider{path}")
}

async fn put(s: &TestServer, path: &str, body: Value) -> (StatusCode, Value) {
    s.call("PUT", &provider(path), Some(body)).await
}

/// Every feed entry after `after`, read in pages of two to exercise the cursor.
async fn feed_after(s: &TestServer, mut after: i64) -> Vec<Value> {
    let mut entries = Vec::new();
    loop {
        let page = s
            .get(&provider(&format!("/status?after={after}&limit=2")))
            .await;
        let got = page["entries"].as_array().unwrap().clone();
        if got.is_empty() {
            assert_eq!(page["cursor"], after, "an empty page keeps the cursor");
            return entries;
        }
        for e in &got {
            let cursor = e["cursor"].as_i64().unwrap();
            assert_eq!(cursor, after + 1, "cursors follow each other without holes");
            after = cursor;
        }
        assert_eq!(page["cursor"], after);
        entries.extend(got);
    }
}

/// The last cursor of the feed.
async fn feed_end(s: &TestServer) -> i64 {
    feed_after(s, 0)
        .await
        .last()
        .map_or(0, |e| e["cursor"].as_i64().unwrap())
}

/// Every object status the feed gives after `after`, in feed order.
async fn objects_after(s: &TestServer, after: i64) -> Vec<Value> {
    let mut objects = Vec::new();
    for entry in feed_after(s, after).await {
        for list in entry["status"]
            .as_object()
            .into_iter()
            .flat_map(|m| m.values())
        {
            objects.extend(list.as_array().unwrap().iter().cloned());
        }
    }
    objects
}

/// The provisioning status the feed last gave each object id, after `after`.
async fn reported(s: &TestServer, after: i64) -> std::collections::HashMap<String, String> {
    let mut last = std::collections::HashMap::new();
    for object in objects_after(s, after).await {
        if let Some(p) = object["provisioning_status"].as_str() {
            last.insert(object["id"].as_str().unwrap().to_string(), p.to_string());
        }
    }
    last
}

/// The ids of every object the feed names after `after`.
async fn mentioned(s: &TestServer, after: i64) -> std::collections::BTreeSet<String> {
    objects_after(s, after)
        .await
        .iter()
        .map(|object| object["id"].as_str().unwrap().to_string())
        .collect()
}

/// Wait until the feed, after `after`, has reported each of `ids` as `status`.
async fn wait_reported(s: &TestServer, after: i64, ids: &[&str], status: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let last = reported(s, after).await;
        if ids
            .iter()
            .all(|id| last.get(*id).map(String::as_str) == Some(status))
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the feed never reported {ids:?} {status}: {last:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const TREE: [&str; 7] = [LB, LISTENER, POOL, MEMBER_1, MEMBER_2, MONITOR, POLICY];

async fn create_tree(s: &TestServer) {
    let (status, body) = put(s, &format!("/loadbalancers/{LB}"), whole_tree()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body, json!({"loadbalancer_id": LB, "changed": true}));
    s.settle(LB).await;
    wait_reported(s, 0, &TREE, "ACTIVE").await;
}

async fn upsert_twice_changes_nothing(db: Db) {
    let s = TestServer::start(db).await;
    create_tree(&s).await;
    let listener = s.get(&format!("/v2/lbaas/listeners/{LISTENER}")).await;
    assert_eq!(listener["listener"]["default_pool_id"], POOL);
    assert_eq!(listener["listener"]["l7policies"], json!([{"id": POLICY}]));
    let rules = s.get(&format!("/v2/lbaas/l7policies/{POLICY}/rules")).await;
    assert_eq!(rules["rules"][0]["id"], RULE);
    let members = s.get(&format!("/v2/lbaas/pools/{POOL}/members")).await;
    assert_eq!(members["members"].as_array().unwrap().len(), 2);
    let before = s.get(&format!("/v2/lbaas/loadbalancers/{LB}/status")).await;
    let lb_before = s.get(&format!("/v2/lbaas/loadbalancers/{LB}")).await;
    let cursor = feed_end(&s).await;

    let (status, body) = put(&s, &format!("/loadbalancers/{LB}"), whole_tree()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["changed"], false);
    let (status, body) = put(
        &s,
        &format!("/listeners/{LISTENER}"),
        json!({"listener": {"loadbalancer_id": LB, "protocol": "HTTP", "protocol_port": 80,
                            "default_pool_id": POOL}}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["changed"], false);

    assert_eq!(
        s.get(&format!("/v2/lbaas/loadbalancers/{LB}/status")).await,
        before,
        "statuses did not move"
    );
    assert_eq!(
        s.get(&format!("/v2/lbaas/loadbalancers/{LB}")).await,
        lb_before,
        "nothing was written"
    );
    // Octavia still waits to hear where its objects stand: the feed says it again.
    wait_reported(&s, cursor, &[LB, LISTENER], "ACTIVE").await;
}

async fn an_update_by_octavia_id_converges(db: Db) {
    let s = TestServer::start(db).await;
    create_tree(&s).await;
    let cursor = feed_end(&s).await;
    let (status, body) = put(
        &s,
        &format!("/listeners/{LISTENER}"),
        json!({"listener": {"loadbalancer_id": LB, "protocol": "HTTP", "protocol_port": 8080,
                            "name": "renamed", "default_pool_id": POOL}}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body, json!({"loadbalancer_id": LB, "changed": true}));
    let listener = s
        .wait_for(
            &format!("/v2/lbaas/listeners/{LISTENER}"),
            "listener",
            "ACTIVE",
        )
        .await;
    assert_eq!(listener["name"], "renamed");
    assert_eq!(listener["protocol_port"], 8080);
    assert_eq!(
        listener["l7policies"],
        json!([{"id": POLICY}]),
        "children stay"
    );
    wait_reported(&s, cursor, &[LB, LISTENER], "ACTIVE").await;
    // Octavia stamps `updated_at` on every object it is told about: the objects the change did
    // not touch are left out, as Octavia's own providers leave them.
    assert_eq!(
        mentioned(&s, cursor).await,
        [LB, LISTENER].map(String::from).into()
    );

    // A member change: Octavia held its pool and the pool's listener pending with it, and
    // hears of them again; the other member, the monitor and the policy stay out.
    let cursor = feed_end(&s).await;
    let (status, body) = put(
        &s,
        &format!("/pools/{POOL}/members/{MEMBER_2}"),
        json!({"member": {"address": "192.0.2.12", "protocol_port": 8080, "weight": 5}}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    wait_reported(&s, cursor, &[LB, LISTENER, POOL, MEMBER_2], "ACTIVE").await;
    assert_eq!(
        mentioned(&s, cursor).await,
        [LB, LISTENER, POOL, MEMBER_2].map(String::from).into()
    );

    // Octavia's member batch update: one member replaced by another.
    let cursor = feed_end(&s).await;
    let member_3 = "0b9a7c1e-0000-4000-8000-0000000000c3";
    let (status, body) = put(
        &s,
        &format!("/pools/{POOL}/members"),
        json!({"members": [
            {"id": MEMBER_1, "member": {"address": "192.0.2.11", "protocol_port": 8080}},
            {"id": member_3, "member": {"address": "192.0.2.13", "protocol_port": 8080}}
        ]}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    s.settle(LB).await;
    wait_reported(&s, cursor, &[member_3], "ACTIVE").await;
    wait_reported(&s, cursor, &[MEMBER_2], "DELETED").await;
    let members = s.get(&format!("/v2/lbaas/pools/{POOL}/members")).await;
    let mut ids: Vec<&str> = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, [MEMBER_1, member_3]);
}

async fn delete_cascades(db: Db) {
    let s = TestServer::start(db).await;
    create_tree(&s).await;
    // A member Fulcrum never held: nothing changes, and Octavia hears it is gone and where the
    // load balancer stands.
    let cursor = feed_end(&s).await;
    let never = "0b9a7c1e-0000-4000-8000-0000000000c9";
    let (status, body) = s
        .call(
            "DELETE",
            &provider(&format!("/pools/{POOL}/members/{never}")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body, json!({"loadbalancer_id": LB, "changed": false}));
    wait_reported(&s, cursor, &[never], "DELETED").await;
    wait_reported(&s, cursor, &[LB, MEMBER_1], "ACTIVE").await;

    let cursor = feed_end(&s).await;
    let (status, body) = s
        .call("DELETE", &provider(&format!("/pools/{POOL}")), None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    s.settle(LB).await;
    wait_reported(&s, cursor, &[POOL, MEMBER_1, MEMBER_2, MONITOR], "DELETED").await;
    let listener = s.get(&format!("/v2/lbaas/listeners/{LISTENER}")).await;
    assert_eq!(
        listener["listener"]["default_pool_id"],
        Value::Null,
        "the listener lost its default pool"
    );
    let (status, _) = s
        .call("GET", &format!("/v2/lbaas/pools/{POOL}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let cursor = feed_end(&s).await;
    let (status, body) = s
        .call("DELETE", &provider(&format!("/loadbalancers/{LB}")), None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    s.wait_for(
        &format!("/v2/lbaas/loadbalancers/{LB}"),
        "loadbalancer",
        "DELETED",
    )
    .await;
    wait_reported(&s, cursor, &[LB, LISTENER, POLICY, RULE], "DELETED").await;
    for path in [
        format!("/v2/lbaas/listeners/{LISTENER}"),
        format!("/v2/lbaas/l7policies/{POLICY}"),
    ] {
        let (status, _) = s.call("GET", &path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }

    // Deleting again is answered, changes nothing, and tells Octavia the load balancer is gone.
    let cursor = feed_end(&s).await;
    let (status, body) = s
        .call("DELETE", &provider(&format!("/loadbalancers/{LB}")), None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["changed"], false);
    wait_reported(&s, cursor, &[LB], "DELETED").await;
    let (status, body) = s
        .call("DELETE", &provider(&format!("/listeners/{LISTENER}")), None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body, json!({"loadbalancer_id": null, "changed": false}));
}

async fn the_feed_resumes_after_a_restart(db: Db) {
    let mut s = TestServer::start(db).await;
    create_tree(&s).await;
    let before_restart = feed_after(&s, 0).await;
    let cursor = before_restart.last().unwrap()["cursor"].as_i64().unwrap();
    let (status, body) = put(
        &s,
        &format!("/l7policies/{POLICY}"),
        json!({"l7policy": {"listener_id": LISTENER, "action": "REJECT", "position": 1,
                            "name": "deny-admin"}}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    s.settle(LB).await;
    wait_reported(&s, cursor, &[POLICY], "ACTIVE").await;

    s.restart().await;
    let after_restart = feed_after(&s, 0).await;
    assert_eq!(
        after_restart[..before_restart.len()],
        before_restart[..],
        "every entry is still there, unchanged"
    );
    let resumed = reported(&s, cursor).await;
    assert_eq!(resumed.get(POLICY).map(String::as_str), Some("ACTIVE"));

    // A change after the restart continues the sequence.
    let end = feed_end(&s).await;
    let (status, _) = s
        .call(
            "DELETE",
            &provider(&format!("/l7policies/{POLICY}/rules/{RULE}")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    wait_reported(&s, end, &[RULE], "DELETED").await;
    assert!(feed_after(&s, end).await[0]["cursor"].as_i64().unwrap() == end + 1);
}

async fn a_non_admin_is_refused(db: Db) {
    let s = TestServer::start(db).await;
    let (status, body) = s
        .call_as(
            "PUT",
            &provider(&format!("/loadbalancers/{LB}")),
            Some(whole_tree()),
            Some(PROJECT),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = s
        .call_as("GET", &provider("/status"), None, Some(PROJECT))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = s
        .call("GET", &format!("/v2/lbaas/loadbalancers/{LB}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing was stored");
    assert_eq!(feed_end(&s).await, 0);
}

async fn bad_input_is_refused_and_changes_nothing(db: Db) {
    let s = TestServer::start(db).await;
    // What Fulcrum's backend cannot do is refused with the driver's message, before anything
    // is stored.
    let mut sctp = whole_tree();
    sctp["loadbalancer"]["provider"] = json!("haproxy");
    sctp["loadbalancer"]["listeners"][0]["listener"]["protocol"] = json!("SCTP");
    sctp["loadbalancer"]["listeners"][0]["listener"]["default_pool_id"] = Value::Null;
    sctp["loadbalancer"]["listeners"][0]["l7policies"] = json!([]);
    let got = put(&s, &format!("/loadbalancers/{LB}"), sctp).await;
    assert_fault(&got, 501, "SCTP protocol listeners are not supported.");
    let (status, _) = s
        .call("GET", &format!("/v2/lbaas/loadbalancers/{LB}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing was stored");

    create_tree(&s).await;
    let tree_before = s.get(&format!("/v2/lbaas/loadbalancers/{LB}/status")).await;
    let listener_before = s.get(&format!("/v2/lbaas/listeners/{LISTENER}")).await;
    let cursor = feed_end(&s).await;

    let got = put(
        &s,
        &format!("/listeners/{LISTENER}"),
        json!({"listener": {"loadbalancer_id": LB, "protocol": "HTTP", "protocol_port": 80,
                            "colour": "blue"}}),
    )
    .await;
    assert_fault(&got, 400, "Unknown attribute for argument listener: colour");
    let got = put(
        &s,
        &format!("/listeners/{LISTENER}"),
        json!({"listener": {"loadbalancer_id": LB, "protocol": "HTTP", "protocol_port": 0}}),
    )
    .await;
    assert_eq!(got.0, StatusCode::BAD_REQUEST, "{}", got.1);
    let got = put(
        &s,
        "/listeners/0b9a7c1e-0000-4000-8000-0000000000a2",
        json!({"listener": {"loadbalancer_id": LB, "protocol": "TCP", "protocol_port": 80}}),
    )
    .await;
    assert_eq!(got.0, StatusCode::CONFLICT, "port 80 is taken: {}", got.1);
    let got = put(
        &s,
        "/pools/0b9a7c1e-0000-4000-8000-00000000dead/members/0b9a7c1e-0000-4000-8000-0000000000c9",
        json!({"member": {"address": "192.0.2.20", "protocol_port": 80}}),
    )
    .await;
    assert_eq!(got.0, StatusCode::NOT_FOUND, "{}", got.1);
    let got = put(
        &s,
        "/loadbalancers/0b9a7c1e-0000-4000-8000-00000000000b",
        json!({"loadbalancer": {"vip_address": "not-an-address"}}),
    )
    .await;
    assert_eq!(got.0, StatusCode::BAD_REQUEST, "{}", got.1);
    let got = s.call("GET", &provider("/status?after=-1"), None).await;
    assert_eq!(got.0, StatusCode::BAD_REQUEST, "{}", got.1);

    assert_eq!(
        s.get(&format!("/v2/lbaas/loadbalancers/{LB}/status")).await,
        tree_before
    );
    assert_eq!(
        s.get(&format!("/v2/lbaas/listeners/{LISTENER}")).await,
        listener_before
    );
    let (status, _) = s
        .call(
            "GET",
            "/v2/lbaas/loadbalancers/0b9a7c1e-0000-4000-8000-00000000000b",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(feed_end(&s).await, cursor, "the feed did not move");
}

/// Octavia's `validate_flavor` and `validate_availability_zone` of the provider driver: the
/// backend's driver judges the metadata by its own rules, and nothing is stored.
async fn metadata_is_judged_by_the_backends_driver(db: Db) {
    let s = TestServer::start_with(
        db,
        common::Options {
            providers_toml: "enabled = [\"noop\", \"haproxy\"]\n".into(),
            ..Default::default()
        },
    )
    .await;
    // Like Octavia's noop provider, Fulcrum's noop takes any metadata.
    let noop_az = json!({"compute_zone": "az1", "management_network": "n-1"});
    let (status, _) = check(&s, "noop", "availability_zone_metadata", noop_az).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = check(&s, "noop", "flavor_metadata", json!({"anything": 1})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // HAProxy takes its own keys with valid values, and says why it refuses the rest.
    let (status, _) = check(&s, "haproxy", "flavor_metadata", json!({"nbthread": 2})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_fault(
        &check(&s, "haproxy", "flavor_metadata", json!({"no_such_key": 1})).await,
        501,
        "Provider 'haproxy' does not support a requested option: Unsupported flavor metadata \
         key(s): no_such_key",
    );
    assert_fault(
        &check(
            &s,
            "haproxy",
            "availability_zone_metadata",
            json!({"compute_zone": "a"}),
        )
        .await,
        501,
        "Unsupported availability zone metadata key(s): compute_zone",
    );
    // Malformed requests and unknown providers are the client's error.
    let path = provider_path("noop", "flavor_metadata");
    let (status, body) = s.call("POST", &path, Some(json!({"nbthread": 2}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = s
        .call("POST", &path, Some(json!({"flavor_metadata": [1]})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = check(&s, "nonesuch", "flavor_metadata", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // Only administrators and services may ask.
    let (status, _) = s
        .call_as(
            "POST",
            &path,
            Some(json!({"flavor_metadata": {}})),
            Some(PROJECT),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let flavor_profiles = s.get("/v2/lbaas/flavorprofiles").await;
    assert_eq!(
        flavor_profiles["flavorprofiles"],
        json!([]),
        "nothing was stored"
    );
}

/// POST `{kind: metadata}` to `provider`'s check of `kind` metadata.
async fn check(s: &TestServer, provider: &str, kind: &str, metadata: Value) -> (StatusCode, Value) {
    let body = json!({ kind: metadata });
    s.call("POST", &provider_path(provider, kind), Some(body))
        .await
}

fn provider_path(provider: &str, kind: &str) -> String {
    format!("/v2/fulcrum/provider/providers/{provider}/{kind}")
}

on_both_databases!(
    metadata_is_judged_by_the_backends_driver,
    upsert_twice_changes_nothing,
    an_update_by_octavia_id_converges,
    delete_cascades,
    the_feed_resumes_after_a_restart,
    a_non_admin_is_refused,
    bad_input_is_refused_and_changes_nothing,
);
