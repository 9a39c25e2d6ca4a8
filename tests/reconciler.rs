//! The reconciler's guarantees: nothing stays PENDING after a crash, transient errors are retried,
//! permanent ones end in ERROR, objects are locked while pending, shutdown finishes in-flight work.

mod common;

use std::time::Duration;

use common::{DEFAULT_SUBNET, Db, Options, TestServer, assert_fault};
use serde_json::json;

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
    transient_errors_are_retried,
    permanent_errors_end_in_error,
    pending_objects_are_immutable,
    graceful_shutdown_finishes_in_flight_work
);
