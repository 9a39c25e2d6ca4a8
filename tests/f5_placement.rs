//! Placement of new load balancers across several BIG-IP pairs, end to end: the real `fulcrum`
//! server (SQLite and PostgreSQL) with two `[[providers.f5.pairs]]`, each a simulated HA pair in
//! this process. New load balancers are spread over the pairs, each Application declared on its
//! own pair only; a pair with a device that management holds back (`maintenance`, set through
//! `/v1/management/devices/{id}`) takes no new load balancer while those already on it stay and
//! still update; with every pair held back a create is refused and stores nothing; and a
//! restarted server keeps every placement.

mod common;

use std::time::Duration;

use common::f5::{application, start_pair};
use common::{DEFAULT_SUBNET, Db, Options, TestServer, assert_fault};
use fulcrum_core::model::LoadBalancer;
use fulcrum_store::{Store, StoreOptions};
use serde_json::{Value, json};
use simulators::f5::Running;

/// The project the load balancers are made in.
const PROJECT: &str = "placement-project";

/// The host names of the devices of pair 1 and pair 2, as the simulators report them.
const PAIR_1: [&str; 2] = ["bigip-1a.fulcrum.test", "bigip-1b.fulcrum.test"];
const PAIR_2: [&str; 2] = ["bigip-2a.fulcrum.test", "bigip-2b.fulcrum.test"];

/// `[[providers.f5.pairs]]` entry for a simulated pair.
fn pair_section(name: &str, devices: &Running, hostnames: [&str; 2]) -> String {
    let urls = devices.base_urls();
    format!(
        "[[providers.f5.pairs]]\nname = \"{name}\"\ndevices = [\"{}\", \"{}\"]\n\
         hostnames = [\"{}\", \"{}\"]\n",
        urls[0], urls[1], hostnames[0], hostnames[1]
    )
}

/// The pair holding a load balancer's Application: 1 or 2, checked on every device of both
/// pairs (an Application on both, or on none, fails).
fn pair_holding(pairs: [&Running; 2], lb_id: &str) -> usize {
    let holding: Vec<usize> = (0..2)
        .filter(|p| (0..2).any(|d| application(pairs[*p], d, lb_id).is_some()))
        .map(|p| p + 1)
        .collect();
    assert_eq!(holding.len(), 1, "{lb_id} is declared on pairs {holding:?}");
    holding[0]
}

/// Create a load balancer in [`PROJECT`] (answering with its status and body).
async fn create_lb(s: &TestServer, name: &str) -> (reqwest::StatusCode, Value) {
    s.call(
        "POST",
        "/v2/lbaas/loadbalancers",
        Some(
            json!({"loadbalancer": {"name": name, "vip_subnet_id": DEFAULT_SUBNET,
                    "provider": "f5", "project_id": PROJECT}}),
        ),
    )
    .await
}

/// Create a load balancer in [`PROJECT`], wait until it is ACTIVE, and return its id.
async fn active_lb(s: &TestServer, name: &str) -> String {
    let (status, body) = create_lb(s, name).await;
    assert_eq!(status, 201, "{body}");
    let id = body["loadbalancer"]["id"].as_str().unwrap().to_owned();
    s.settle(&id).await;
    id
}

/// Register a BIG-IP reached at `url` in management's inventory; its id.
async fn register(s: &TestServer, name: &str, url: &str) -> String {
    let (status, body) = s
        .call(
            "POST",
            "/v1/management/devices",
            Some(
                json!({"name": name, "kind": "bigip", "provider": "f5", "addresses": [url],
                        "username": "admin", "password": "admin"}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["device"]["id"].as_str().unwrap().to_owned()
}

/// Set a device's maintenance state through management's API.
async fn set_state(s: &TestServer, device_id: &str, state: &str) {
    let (status, body) = s
        .call(
            "PATCH",
            &format!("/v1/management/devices/{device_id}"),
            Some(json!({"state": state})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// The placement stored with each load balancer, read from the server's database.
async fn stored_placements(url: &str, ids: &[String]) -> Vec<Option<String>> {
    let store = Store::connect(&StoreOptions {
        url: url.to_string(),
        max_connections: 1,
    })
    .await
    .expect("the test reads the server's database");
    let mut placements = Vec::new();
    for id in ids {
        let lb: LoadBalancer = store.get(id).await.unwrap().expect("stored");
        placements.push(lb.placement);
    }
    store.close().await;
    placements
}

/// How many load balancers the project has.
async fn count_lbs(s: &TestServer) -> usize {
    let listed = s
        .get(&format!("/v2/lbaas/loadbalancers?project_id={PROJECT}"))
        .await;
    listed["loadbalancers"].as_array().unwrap().len()
}

/// Declarations written to either device of each pair.
fn declarations(pairs: [&Running; 2]) -> u64 {
    pairs
        .iter()
        .map(|p| {
            p.control().calls().declaration_writes(0) + p.control().calls().declaration_writes(1)
        })
        .sum()
}

/// Add an HTTP listener on `port` to a load balancer and wait until it is applied.
async fn add_listener(s: &TestServer, lb_id: &str, port: u16) -> String {
    let listener = s
        .create(
            "/v2/lbaas/listeners",
            "listener",
            json!({"loadbalancer_id": lb_id, "protocol": "HTTP", "protocol_port": port}),
        )
        .await;
    s.settle(lb_id).await;
    listener["id"].as_str().unwrap().to_owned()
}

/// Whether the Application of `lb_id` on the active device of `devices` serves `listener_id`.
fn serves_listener(devices: &Running, lb_id: &str, listener_id: &str) -> bool {
    application(devices, devices.control().active(), lb_id)
        .is_some_and(|(_, app)| app.to_string().contains(listener_id))
}

/// A server whose `f5` provider has two simulated pairs, `pair-1` and `pair-2`; the pairs; and
/// the inventory ids of their devices (1a, 1b, 2a, 2b), registered in management as `ready`.
async fn server_with_two_pairs(db: Db) -> (TestServer, Running, Running, Vec<String>) {
    let pair1 = start_pair(&PAIR_1).await;
    let pair2 = start_pair(&PAIR_2).await;
    let s = TestServer::start_with(
        db,
        Options {
            providers_toml: "enabled = [\"noop\", \"f5\"]\n".into(),
            extra_toml: format!(
                "[providers.f5]\nusername = \"admin\"\npassword = \"admin\"\ntask_poll_ms = 20\n{}{}",
                pair_section("pair-1", &pair1, PAIR_1),
                pair_section("pair-2", &pair2, PAIR_2)
            ),
            ..Options::default()
        },
    )
    .await;
    let mut devices = Vec::new();
    for (names, running) in [(PAIR_1, &pair1), (PAIR_2, &pair2)] {
        for (name, url) in names.iter().zip(running.base_urls()) {
            devices.push(register(&s, name, url).await);
        }
    }
    (s, pair1, pair2, devices)
}

async fn new_load_balancers_are_spread_over_pairs_and_skip_a_pair_held_back(db: Db) {
    let (mut s, pair1, pair2, devices) = server_with_two_pairs(db).await;
    let pairs = [&pair1, &pair2];
    let (standby_1, active_2) = (&devices[1], &devices[2]);

    // Least loaded first, the first configured on a tie: 1, 2, 1, 2.
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(active_lb(&s, &format!("spread-{i}")).await);
    }
    let placed: Vec<usize> = ids.iter().map(|id| pair_holding(pairs, id)).collect();
    assert_eq!(placed, [1, 2, 1, 2]);

    // The standby of pair 1 goes into maintenance: the next load balancers land on pair 2,
    // though pair 1 then holds fewer.
    set_state(&s, standby_1, "maintenance").await;
    for i in 0..2 {
        let id = active_lb(&s, &format!("held-{i}")).await;
        assert_eq!(pair_holding(pairs, &id), 2, "{id}");
        ids.push(id);
    }
    // A load balancer already on pair 1 stays there and still updates.
    let listener = add_listener(&s, &ids[0], 80).await;
    assert_eq!(pair_holding(pairs, &ids[0]), 1);
    assert!(serves_listener(&pair1, &ids[0], &listener));

    // Every pair held back: refused, and nothing stored, counted or declared.
    set_state(&s, active_2, "maintenance").await;
    let (quota_status, quota) = s
        .call(
            "PUT",
            &format!("/v2/lbaas/quotas/{PROJECT}"),
            Some(json!({"quota": {"loadbalancer": 7}})),
        )
        .await;
    assert_eq!(quota_status, 202, "{quota}");
    pair1.control().reset_calls();
    pair2.control().reset_calls();
    let refused = create_lb(&s, "nowhere").await;
    assert_fault(
        &refused,
        500,
        "Provider 'f5' reports error: No BIG-IP pair may take a new load balancer",
    );
    assert!(
        refused.1["faultstring"]
            .as_str()
            .unwrap()
            .contains("pair-1, pair-2"),
        "{}",
        refused.1
    );
    assert_eq!(count_lbs(&s).await, 6);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(declarations(pairs), 0);

    let metrics = s.metrics_text().await;
    for (placement, count) in [("pair-1", 2), ("pair-2", 4), ("none", 1)] {
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with("fulcrum_placements_total{")
                    && l.contains(&format!("placement=\"{placement}\""))
                    && l.ends_with(&format!(" {count}"))),
            "{placement}: {count} in\n{metrics}"
        );
    }

    // A restart keeps every placement, and management's states with them.
    let before = stored_placements(&s.db.url, &ids).await;
    let expected: Vec<Option<String>> = [1, 2, 1, 2, 2, 2]
        .iter()
        .map(|p| Some(format!("pair-{p}")))
        .collect();
    assert_eq!(before, expected);
    s.restart().await;
    assert_eq!(stored_placements(&s.db.url, &ids).await, before);
    assert_fault(&create_lb(&s, "still-nowhere").await, 500, "No BIG-IP pair");
    let listener = add_listener(&s, &ids[1], 81).await;
    assert!(serves_listener(&pair2, &ids[1], &listener));
    let listener = add_listener(&s, &ids[2], 82).await;
    assert!(serves_listener(&pair1, &ids[2], &listener));
    let held: Vec<usize> = ids.iter().map(|id| pair_holding(pairs, id)).collect();
    assert_eq!(held, [1, 2, 1, 2, 2, 2]);

    // Pair 1 back: the next one goes there (the lighter), and the quota the refused creates
    // did not use is there for it.
    set_state(&s, standby_1, "ready").await;
    let id = active_lb(&s, "back").await;
    assert_eq!(pair_holding(pairs, &id), 1);
    assert_fault(
        &create_lb(&s, "over-quota").await,
        403,
        "Quota has been met",
    );
}

/// A load balancer as Octavia's provider driver hands it over.
fn provider_lb(name: &str) -> Value {
    json!({"loadbalancer": {
        "project_id": PROJECT, "name": name, "provider": "f5",
        "vip_address": "203.0.113.10",
        "vip_port_id": "0b9a7c1e-0000-4000-8000-0000000000ff",
        "vip_subnet_id": "0b9a7c1e-0000-4000-8000-0000000000fe",
        "vip_network_id": "0b9a7c1e-0000-4000-8000-0000000000fd"
    }})
}

/// PUT a load balancer through the provider API.
async fn provider_put(s: &TestServer, id: &str, name: &str) -> (reqwest::StatusCode, Value) {
    s.call(
        "PUT",
        &format!("/v2/fulcrum/provider/loadbalancers/{id}"),
        Some(provider_lb(name)),
    )
    .await
}

async fn the_provider_api_places_what_it_creates_and_keeps_what_exists(db: Db) {
    let (s, pair1, pair2, devices) = server_with_two_pairs(db).await;
    let pairs = [&pair1, &pair2];
    let ids = [
        "0b9a7c1e-0000-4000-8000-00000000010a",
        "0b9a7c1e-0000-4000-8000-00000000020a",
        "0b9a7c1e-0000-4000-8000-00000000030a",
    ];
    let (status, body) = provider_put(&s, ids[0], "first").await;
    assert_eq!(status, 202, "{body}");
    s.settle(ids[0]).await;
    assert_eq!(pair_holding(pairs, ids[0]), 1);

    // The active device of pair 1 held back: the next goes to pair 2.
    set_state(&s, &devices[0], "maintenance").await;
    let (status, body) = provider_put(&s, ids[1], "second").await;
    assert_eq!(status, 202, "{body}");
    s.settle(ids[1]).await;
    assert_eq!(pair_holding(pairs, ids[1]), 2);

    // Both held back: a new one is refused and nothing is stored; one that exists updates where
    // it is.
    set_state(&s, &devices[3], "draining").await;
    let refused = provider_put(&s, ids[2], "third").await;
    assert_fault(&refused, 500, "No BIG-IP pair may take a new load balancer");
    let (status, _) = s
        .call("GET", &format!("/v2/lbaas/loadbalancers/{}", ids[2]), None)
        .await;
    assert_eq!(status, 404);
    let (status, body) = provider_put(&s, ids[0], "first-renamed").await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["changed"], true, "{body}");
    s.settle(ids[0]).await;
    let placed = stored_placements(&s.db.url, &[ids[0].to_owned(), ids[1].to_owned()]).await;
    assert_eq!(
        placed,
        [Some("pair-1".to_owned()), Some("pair-2".to_owned())]
    );
    assert_eq!(pair_holding(pairs, ids[0]), 1);
}

on_both_databases!(
    new_load_balancers_are_spread_over_pairs_and_skip_a_pair_held_back,
    the_provider_api_places_what_it_creates_and_keeps_what_exists,
);
