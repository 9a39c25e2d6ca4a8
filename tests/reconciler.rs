//! The reconciler's guarantees: nothing stays PENDING after a crash, transient errors are retried,
//! permanent ones end in ERROR, objects are locked while pending, shutdown finishes in-flight work.

mod common;

use std::time::{Duration, Instant};

use common::{DEFAULT_SUBNET, Db, Options, TestServer, assert_fault};
use serde_json::{Value, json};

async fn killed_mid_apply_loses_nothing(db: Db) {
    let mut s = TestServer::start_with(
        db,
        Options {
            // Applies take 800 ms, well inside half the 3 s lease, so killing at 300 ms is mid-apply.
            noop_latency_ms: 800,
            lease_seconds: 3,
            ..Default::default()
        },
    )
    .await;
    let mut ids = Vec::new();
    for i in 0..6 {
        let lb = s
            .create(
                "/v2/lbaas/loadbalancers",
                "loadbalancer",
                json!({"name": format!("crash-{i}"), "vip_subnet_id": DEFAULT_SUBNET}),
            )
            .await;
        ids.push(lb["id"].as_str().unwrap().to_string());
    }
    // Let the reconciler claim the work and start applying, then kill it mid-apply.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let listed = s.get("/v2/lbaas/loadbalancers").await;
    assert!(
        listed["loadbalancers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|lb| lb["provisioning_status"] == "PENDING_CREATE"),
        "work was still in flight when killed: {listed}"
    );
    s.kill();
    s.restart().await;
    // Mark one for deletion right away to prove deletes converge after the restart too.
    for id in &ids {
        s.wait_for(
            &format!("/v2/lbaas/loadbalancers/{id}"),
            "loadbalancer",
            "ACTIVE",
        )
        .await;
    }
    let path = format!("/v2/lbaas/loadbalancers/{}", ids[0]);
    assert_eq!(s.call("DELETE", &path, None).await.0, 204);
    s.kill();
    s.restart().await;
    s.wait_for(&path, "loadbalancer", "DELETED").await;
    let listed = s.get("/v2/lbaas/loadbalancers").await;
    let lbs = listed["loadbalancers"].as_array().unwrap();
    assert_eq!(lbs.len(), 5);
    assert!(
        lbs.iter().all(|lb| lb["provisioning_status"] == "ACTIVE"),
        "{listed}"
    );
}

/// A lease far longer than any of these tests may take: only a holder known to be gone frees it.
const LONG_LEASE_SECONDS: u64 = 60;

/// Options for a process that claims work as `replica`, beats every 100 ms and counts others as
/// gone after a second of silence, with applies that take `apply_ms` and a lease of a minute.
fn replica_options(replica: &str, apply_ms: u64) -> Options {
    Options {
        noop_latency_ms: apply_ms,
        lease_seconds: LONG_LEASE_SECONDS,
        extra_toml: format!(
            "replica = \"{replica}\"\nheartbeat_interval_ms = 100\nholder_timeout_ms = 1000\n"
        ),
        ..Default::default()
    }
}

/// Create `count` load balancers through `server`; their paths.
async fn create_load_balancers(server: &TestServer, count: usize) -> Vec<String> {
    let mut paths = Vec::new();
    for i in 0..count {
        let lb = server
            .create(
                "/v2/lbaas/loadbalancers",
                "loadbalancer",
                json!({"name": format!("held-{i}"), "vip_subnet_id": DEFAULT_SUBNET}),
            )
            .await;
        paths.push(format!(
            "/v2/lbaas/loadbalancers/{}",
            lb["id"].as_str().unwrap()
        ));
    }
    paths
}

/// Assert that every load balancer is still being created: its work is held, mid-apply.
async fn assert_in_flight(server: &TestServer, paths: &[String]) {
    for path in paths {
        let got: Value = server.get(path).await;
        assert_eq!(
            got["loadbalancer"]["provisioning_status"], "PENDING_CREATE",
            "work still in flight: {got}"
        );
    }
}

/// Wait until every load balancer is ACTIVE on `server`; how long that took from `since`.
async fn all_active(server: &TestServer, paths: &[String], since: Instant) -> Duration {
    for path in paths {
        server.wait_for(path, "loadbalancer", "ACTIVE").await;
    }
    since.elapsed()
}

/// Killed mid-apply and started again under the same replica name, a process takes back at once
/// the work its earlier run held, instead of waiting out the minute-long lease.
async fn a_restarted_process_takes_its_work_back_at_once(db: Db) {
    let apply = Duration::from_millis(1500);
    let mut s = TestServer::start_with(db, replica_options("solo", apply.as_millis() as u64)).await;
    let paths = create_load_balancers(&s, 3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_in_flight(&s, &paths).await;
    s.kill();
    s.restart().await;
    let took = all_active(&s, &paths, Instant::now()).await;
    println!("ACTIVE {took:?} after the restart, an apply taking {apply:?}");
    // Far inside the lease: the work was taken back when the process started, not at expiry.
    assert!(
        took < Duration::from_secs(LONG_LEASE_SECONDS / 6),
        "took {took:?}\n{}",
        s.log()
    );
}

/// Of two replicas, the one left takes over the work the killed one held within seconds (its
/// heartbeat stops), instead of waiting out the minute-long lease.
async fn a_dead_replicas_work_is_taken_over_in_seconds(db: Db) {
    let apply = Duration::from_millis(3000);
    let mut first =
        TestServer::start_with(db, replica_options("first", apply.as_millis() as u64)).await;
    let paths = create_load_balancers(&first, 3).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The second starts once the first holds all the work, so that it can only take it over.
    let second = first
        .replica(replica_options("second", apply.as_millis() as u64))
        .await;
    assert_in_flight(&second, &paths).await;
    first.kill();
    let took = all_active(&second, &paths, Instant::now()).await;
    println!("ACTIVE {took:?} after the kill, an apply taking {apply:?}");
    assert!(
        took < Duration::from_secs(LONG_LEASE_SECONDS / 6),
        "took {took:?}\n{}",
        second.log()
    );
}

async fn transient_errors_are_retried(db: Db) {
    let s = TestServer::start_with(
        db,
        Options {
            noop_fail: Some(("flaky".into(), 2)),
            ..Default::default()
        },
    )
    .await;
    let lb = s.active_lb("flaky-one").await;
    assert_eq!(lb["provisioning_status"], "ACTIVE");
}

async fn permanent_errors_end_in_error(db: Db) {
    let s = TestServer::start_with(
        db,
        Options {
            noop_fail: Some(("broken".into(), 0)),
            ..Default::default()
        },
    )
    .await;
    let lb = s
        .create(
            "/v2/lbaas/loadbalancers",
            "loadbalancer",
            json!({"name": "broken-lb", "vip_subnet_id": DEFAULT_SUBNET}),
        )
        .await;
    let path = format!("/v2/lbaas/loadbalancers/{}", lb["id"].as_str().unwrap());
    s.wait_for(&path, "loadbalancer", "ERROR").await;
    // An ERROR load balancer can be deleted.
    assert_eq!(s.call("DELETE", &path, None).await.0, 204);
    s.wait_for(&path, "loadbalancer", "DELETED").await;
}

async fn pending_objects_are_immutable(db: Db) {
    let s = TestServer::start_with(
        db,
        Options {
            noop_latency_ms: 800,
            ..Default::default()
        },
    )
    .await;
    let lb = s
        .create(
            "/v2/lbaas/loadbalancers",
            "loadbalancer",
            json!({"vip_subnet_id": DEFAULT_SUBNET}),
        )
        .await;
    let id = lb["id"].as_str().unwrap();
    let path = format!("/v2/lbaas/loadbalancers/{id}");
    let got = s
        .call("PUT", &path, Some(json!({"loadbalancer": {"name": "x"}})))
        .await;
    assert_fault(
        &got,
        409,
        &format!("Invalid state PENDING_CREATE of loadbalancer resource {id}"),
    );
    let got = s
        .call(
            "POST",
            "/v2/lbaas/listeners",
            Some(json!({"listener": {"loadbalancer_id": id, "protocol": "HTTP", "protocol_port": 80}})),
        )
        .await;
    assert_fault(
        &got,
        409,
        &format!("Load Balancer {id} is immutable and cannot be updated."),
    );
    assert_fault(
        &s.call("DELETE", &path, None).await,
        409,
        "Invalid state PENDING_CREATE",
    );
    let settled = s.settle(id).await;
    assert_eq!(settled["name"], "", "the refused update changed nothing");
    assert_eq!(s.get("/v2/lbaas/listeners").await["listeners"], json!([]));
}

async fn graceful_shutdown_finishes_in_flight_work(db: Db) {
    let mut s = TestServer::start_with(
        db,
        Options {
            noop_latency_ms: 700,
            ..Default::default()
        },
    )
    .await;
    let lb = s
        .create(
            "/v2/lbaas/loadbalancers",
            "loadbalancer",
            json!({"vip_subnet_id": DEFAULT_SUBNET}),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(s.terminate(), "clean exit on SIGTERM:\n{}", s.log());
    // The work finished before the process exited: straight after restart it is ACTIVE already.
    s.restart().await;
    let got = s
        .get(&format!(
            "/v2/lbaas/loadbalancers/{}",
            lb["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        got["loadbalancer"]["provisioning_status"],
        "ACTIVE",
        "{}",
        s.log()
    );
}

on_both_databases!(
    killed_mid_apply_loses_nothing,
    a_restarted_process_takes_its_work_back_at_once,
    transient_errors_are_retried,
    permanent_errors_end_in_error,
    pending_objects_are_immutable,
    graceful_shutdown_finishes_in_flight_work
);

mod a_dead_replicas_work_is_taken_over_in_seconds {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::a_dead_replicas_work_is_taken_over_in_seconds(crate::common::Db::Postgres).await
    }
}
