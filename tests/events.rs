//! Events for management are durable: realization errors and failover requests are rows of the
//! outbox, written with the change that caused them, readable after the server is gone.

mod common;

use common::{DEFAULT_SUBNET, Db, Options, TestServer};
use fulcrum_core::events::Event;
use fulcrum_store::{Store, StoreOptions};
use serde_json::json;

async fn outbox(url: &str) -> Vec<Event> {
    let store = Store::connect(&StoreOptions {
        url: url.to_string(),
        max_connections: 1,
    })
    .await
    .expect("the test reads the server's database");
    let events = store.events_after(0, 1000).await.expect("events");
    store.close().await;
    events.into_iter().map(|e| e.event).collect()
}

async fn errors_and_failover_requests_reach_the_outbox(db: Db) {
    let mut s = TestServer::start_with(
        db,
        Options {
            noop_fail: Some(("boom".into(), 0)),
            default_provider: "noop",
            ..Default::default()
        },
    )
    .await;
    let failing = s
        .create(
            "/v2/lbaas/loadbalancers",
            "loadbalancer",
            json!({"name": "boom-1", "vip_subnet_id": DEFAULT_SUBNET}),
        )
        .await;
    let failing_id = failing["id"].as_str().unwrap().to_string();
    s.wait_for(
        &format!("/v2/lbaas/loadbalancers/{failing_id}"),
        "loadbalancer",
        "ERROR",
    )
    .await;
    let healthy = s.active_lb("fine").await;
    let healthy_id = healthy["id"].as_str().unwrap().to_string();
    let (status, body) = s
        .call(
            "PUT",
            &format!("/v2/lbaas/loadbalancers/{healthy_id}/failover"),
            None,
        )
        .await;
    assert_eq!(status.as_u16(), 202, "{body}");
    s.settle(&healthy_id).await;
    // A refused failover (unknown load balancer) records nothing.
    let (status, _) = s
        .call(
            "PUT",
            "/v2/lbaas/loadbalancers/00000000-0000-0000-0000-000000000000/failover",
            None,
        )
        .await;
    assert_eq!(status.as_u16(), 404);

    // Read after the process is gone: the events live in the database, not in its memory.
    assert!(s.terminate(), "clean exit:\n{}", s.log());
    let events = outbox(&s.db.url).await;
    assert!(
        events.iter().any(|e| matches!(e, Event::AlertRaised { load_balancer_id, provider, message, .. }
            if *load_balancer_id == failing_id && provider == "noop" && message.contains("configured to fail"))),
        "{events:?}"
    );
    let failovers: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e, Event::DayTwoRequest { .. }))
        .collect();
    assert_eq!(
        failovers,
        vec![&Event::DayTwoRequest {
            action: "failover".into(),
            load_balancer_id: healthy_id,
        }]
    );
}

on_both_databases!(errors_and_failover_requests_reach_the_outbox);
