//! Chaos: Fulcrum and its HAProxy masters killed with SIGKILL, and HAProxy state directories
//! deleted, at random moments of a burst of mixed writes, on SQLite and on PostgreSQL. Afterwards nothing is lost, nothing stays pending
//! past a few seconds after the last restart, no HAProxy runs without a load balancer and every
//! VIP serves exactly the members the store holds.
//!
//! The run is seeded (`FULCRUM_CHAOS_SEED`, printed on failure) so that a failing sequence of
//! operations and kills can be replayed.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::haproxy::masters_by_load_balancer;
use common::{Db, Options, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// How long after the last restart any object may still be `PENDING_*`.
const SETTLE_BOUND: Duration = Duration::from_secs(5);
/// Backends the members are drawn from.
const BACKENDS: usize = 4;
/// Load balancers created at the start.
const LOAD_BALANCERS: usize = 3;
/// Operations in the burst.
const OPERATIONS: usize = 60;

/// An HTTP backend answering every request with its name.
async fn backend(name: String) -> SocketAddr {
    let app = axum::Router::new().fallback(move || {
        let name = name.clone();
        async move { name }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What the store must hold for one load balancer after the run.
#[derive(Debug)]
struct Expected {
    vip: String,
    port: u16,
    pool: String,
    /// Backend index → member id.
    members: BTreeMap<usize, String>,
}

/// A request that may meet a server being killed: `None` when the connection failed.
async fn try_call(
    s: &TestServer,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Option<(StatusCode, Value)> {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = s
        .http
        .request(method, format!("{}{path}", s.base))
        .timeout(Duration::from_secs(10));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.ok()?;
    let status = resp.status();
    let text = resp.text().await.ok()?;
    Some((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// The backend names that answer through `url` in `n` requests (other outcomes as text).
async fn served_by(url: &str, n: usize) -> BTreeSet<String> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut seen = BTreeSet::new();
    for _ in 0..n {
        match http.get(url).send().await {
            Ok(resp) if resp.status() == 200 => {
                seen.insert(resp.text().await.unwrap_or_default());
            }
            Ok(resp) => {
                seen.insert(format!("status {}", resp.status().as_u16()));
            }
            Err(e) => {
                seen.insert(format!("error {e}"));
            }
        }
    }
    seen
}

/// One load balancer with an HTTP listener, a round-robin pool and one member, built step by step.
async fn build_lb(s: &TestServer, name: &str, backend: (usize, SocketAddr)) -> (String, Expected) {
    let lb = s.active_lb(name).await;
    let id = lb["id"].as_str().unwrap().to_string();
    let port = free_port();
    let listener = s
        .create(
            "/v2/lbaas/listeners",
            "listener",
            json!({"loadbalancer_id": id, "protocol": "HTTP", "protocol_port": port}),
        )
        .await;
    s.settle(&id).await;
    let pool = s
        .create(
            "/v2/lbaas/pools",
            "pool",
            json!({"listener_id": listener["id"], "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}),
        )
        .await;
    let pool = pool["id"].as_str().unwrap().to_string();
    s.settle(&id).await;
    let member = s
        .create(
            &format!("/v2/lbaas/pools/{pool}/members"),
            "member",
            json!({"address": backend.1.ip().to_string(), "protocol_port": backend.1.port()}),
        )
        .await;
    s.settle(&id).await;
    let expected = Expected {
        vip: lb["vip_address"].as_str().unwrap().to_string(),
        port,
        pool,
        members: BTreeMap::from([(backend.0, member["id"].as_str().unwrap().to_string())]),
    };
    (id, expected)
}

async fn kills_during_a_burst(db: Db) {
    let seed: u64 = std::env::var("FULCRUM_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_f00d);
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut s = TestServer::start_with(
        db,
        Options {
            default_provider: "haproxy",
            // A lease far longer than the bound: work interrupted by a kill must be taken back by
            // the restarted process, not waited out.
            lease_seconds: 60,
            sync_interval_seconds: 60,
            ..Default::default()
        },
    )
    .await;
    let state_dir = s.dir().join("haproxy");
    let mut backends = Vec::new();
    for i in 0..BACKENDS {
        backends.push(backend(format!("b{i}")).await);
    }
    let mut lbs: BTreeMap<String, Expected> = BTreeMap::new();
    for i in 0..LOAD_BALANCERS {
        let (id, expected) = build_lb(
            &s,
            &format!("chaos-{i}"),
            (i % BACKENDS, backends[i % BACKENDS]),
        )
        .await;
        lbs.insert(id, expected);
    }
    let mut deleted: Vec<(String, Expected)> = Vec::new();
    let mut kills = (0, 0, 0);

    for step in 0..OPERATIONS {
        let context = format!("seed {seed}, step {step}");
        let ids: Vec<String> = lbs.keys().cloned().collect();
        if ids.is_empty() {
            break;
        }
        let lb = ids[rng.usize(..ids.len())].clone();
        match rng.u32(..100) {
            // Add a member from a backend the pool does not have yet.
            0..=34 => {
                let expected = &lbs[&lb];
                let free: Vec<usize> = (0..BACKENDS)
                    .filter(|b| !expected.members.contains_key(b))
                    .collect();
                if let Some(&b) = free.get(rng.usize(..free.len().max(1))) {
                    let addr = backends[b];
                    let path = format!("/v2/lbaas/pools/{}/members", expected.pool);
                    let body = json!({"member": {"address": addr.ip().to_string(), "protocol_port": addr.port()}});
                    if let Some((status, v)) = try_call(&s, "POST", &path, Some(body)).await {
                        if status == StatusCode::CREATED {
                            let id = v["member"]["id"].as_str().unwrap().to_string();
                            lbs.get_mut(&lb).unwrap().members.insert(b, id);
                        } else {
                            assert_eq!(status, StatusCode::CONFLICT, "{context}: {v}");
                        }
                    }
                }
            }
            // Remove a member, keeping at least one.
            35..=64 => {
                let expected = &lbs[&lb];
                if expected.members.len() > 1 {
                    let keys: Vec<usize> = expected.members.keys().copied().collect();
                    let b = keys[rng.usize(..keys.len())];
                    let path = format!(
                        "/v2/lbaas/pools/{}/members/{}",
                        expected.pool, expected.members[&b]
                    );
                    if let Some((status, v)) = try_call(&s, "DELETE", &path, None).await {
                        if status == StatusCode::NO_CONTENT {
                            lbs.get_mut(&lb).unwrap().members.remove(&b);
                        } else {
                            assert_eq!(status, StatusCode::CONFLICT, "{context}: {v}");
                        }
                    }
                }
            }
            // Rename the load balancer (a reload-free change that still goes through the driver).
            65..=79 => {
                let path = format!("/v2/lbaas/loadbalancers/{lb}");
                let body = json!({"loadbalancer": {"name": format!("chaos-step-{step}")}});
                if let Some((status, v)) = try_call(&s, "PUT", &path, Some(body)).await {
                    assert!(
                        status == StatusCode::OK || status == StatusCode::CONFLICT,
                        "{context}: {status} {v}"
                    );
                }
            }
            // Kill Fulcrum and start it again.
            80..=89 => {
                s.kill();
                s.restart().await;
                kills.0 += 1;
            }
            // Delete one load balancer's HAProxy state directory behind Fulcrum's back.
            90..=94 => {
                let _ = std::fs::remove_dir_all(state_dir.join(&lb));
                kills.2 += 1;
            }
            // Kill one load balancer's HAProxy master.
            _ => {
                if let Some(pids) = masters_by_load_balancer(&state_dir).get(&lb) {
                    for pid in pids {
                        let _ = std::process::Command::new("kill")
                            .args(["-KILL", &pid.to_string()])
                            .status();
                    }
                    kills.1 += 1;
                }
            }
        }
        // Now and then delete a whole load balancer (at most one) and create a fresh one.
        if step == OPERATIONS / 2 {
            let victim = ids[rng.usize(..ids.len())].clone();
            let path = format!("/v2/lbaas/loadbalancers/{victim}?cascade=true");
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                match try_call(&s, "DELETE", &path, None).await {
                    Some((StatusCode::NO_CONTENT, _)) => break,
                    Some((StatusCode::CONFLICT, _)) | None => {}
                    Some((status, v)) => panic!("{context}: delete {status} {v}"),
                }
                assert!(
                    Instant::now() < deadline,
                    "{context}: delete never accepted"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            deleted.push((victim.clone(), lbs.remove(&victim).unwrap()));
            let b = rng.usize(..BACKENDS);
            let (id, expected) = build_lb(&s, "chaos-late", (b, backends[b])).await;
            lbs.insert(id, expected);
        }
        tokio::time::sleep(Duration::from_millis(rng.u64(0..150))).await;
    }

    // The last restart: from here on everything must settle within the bound.
    s.kill();
    s.restart().await;
    let restarted = Instant::now();
    let context = format!(
        "seed {seed}: {} kills of fulcrum, {} of haproxy masters, {} state directories deleted",
        kills.0, kills.1, kills.2
    );
    loop {
        let listed = s.get("/v2/lbaas/loadbalancers").await;
        let pending: Vec<String> = listed["loadbalancers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|lb| {
                lb["provisioning_status"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("PENDING_")
            })
            .map(|lb| format!("{} {}", lb["id"], lb["provisioning_status"]))
            .collect();
        if pending.is_empty() {
            break;
        }
        assert!(
            restarted.elapsed() < SETTLE_BOUND,
            "{context}: still pending {:?} after the last restart: {pending:?}\nlog:\n{}",
            restarted.elapsed(),
            s.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Nothing lost: every load balancer is ACTIVE with exactly the members written, and the
    // deleted one is gone.
    for (id, expected) in &lbs {
        let lb = s.get(&format!("/v2/lbaas/loadbalancers/{id}")).await;
        assert_eq!(
            lb["loadbalancer"]["provisioning_status"], "ACTIVE",
            "{context}: {lb}"
        );
        let members = s
            .get(&format!("/v2/lbaas/pools/{}/members", expected.pool))
            .await;
        let mut got: Vec<String> = members["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_string())
            .collect();
        got.sort();
        let mut want: Vec<String> = expected.members.values().cloned().collect();
        want.sort();
        assert_eq!(got, want, "{context}: members of {id}");
    }
    for (id, _) in &deleted {
        let (status, v) = s
            .call("GET", &format!("/v2/lbaas/loadbalancers/{id}"), None)
            .await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{context}: deleted {id}: {v}"
        );
    }

    // Exactly one HAProxy master per load balancer, none without one. The observer restarts a
    // killed master within its period, so give it a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found = masters_by_load_balancer(&state_dir);
        let one_each = lbs
            .keys()
            .all(|id| found.get(id).is_some_and(|p| p.len() == 1));
        let strays: Vec<&String> = found.keys().filter(|id| !lbs.contains_key(*id)).collect();
        if one_each && strays.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{context}: masters by load balancer {found:?}, expected one for each of {:?}\nlog:\n{}",
            lbs.keys().collect::<Vec<_>>(),
            s.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Every VIP serves exactly its members; the deleted load balancer's VIP does not answer.
    for (id, expected) in &lbs {
        let want: BTreeSet<String> = expected.members.keys().map(|b| format!("b{b}")).collect();
        let url = format!("http://{}:{}", expected.vip, expected.port);
        let got = served_by(&url, 8 * expected.members.len()).await;
        assert_eq!(got, want, "{context}: traffic through {id}");
    }
    for (id, expected) in &deleted {
        let addr = format!("{}:{}", expected.vip, expected.port);
        assert!(
            tokio::net::TcpStream::connect(&addr).await.is_err(),
            "{context}: the VIP of deleted {id} still answers at {addr}"
        );
    }
}

on_both_databases!(kills_during_a_burst);
