//! The provider feed: entries written with the settling of a delegated load balancer's work and
//! with what its observation changed, none for other load balancers or for an observation that
//! changed nothing, and pruning past the retention; on a fresh SQLite file and a fresh
//! PostgreSQL database each.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use fulcrum_core::driver::{Observation, fixtures};
use fulcrum_core::model::{Kind, ListenerProtocol, OperatingStatus, ProvisioningStatus, Stats};
use fulcrum_store::{Outcome, Store, WorkAction};

/// Store a load balancer with one listener, queued for apply; delegated if asked.
async fn stored(store: &Store, id: &str, delegated: bool) {
    let mut lb = fixtures::load_balancer(id);
    let mut listener = fixtures::listener(&format!("{id}-l"), id, ListenerProtocol::Http, 80);
    // As a create stores them: pending until their work settles.
    lb.provisioning_status = ProvisioningStatus::PendingCreate;
    listener.provisioning_status = ProvisioningStatus::PendingCreate;
    let mut tx = store.begin().await.unwrap();
    tx.insert(&lb).await.unwrap();
    tx.insert(&listener).await.unwrap();
    if delegated {
        tx.delegate_to_provider(id).await.unwrap();
    }
    tx.enqueue(id, WorkAction::Apply).await.unwrap();
    tx.commit().await.unwrap();
}

async fn settle(store: &Store, observation: Option<&Observation>) {
    for item in store.claim("w", 60_000, 60_000, 10).await.unwrap() {
        let tree = store.tree(&item.load_balancer_id).await.unwrap().unwrap();
        let done = store
            .complete(&item, "w", &tree, Outcome::Converged, observation, &[])
            .await
            .unwrap();
        assert!(done);
    }
}

async fn feed_follows_delegated_load_balancers_only(store: Store) {
    stored(&store, "delegated", true).await;
    stored(&store, "standalone", false).await;
    settle(&store, None).await;
    let entries = store.provider_feed_after(0, 100).await.unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0];
    assert_eq!(entry.cursor, 1);
    assert_eq!(entry.load_balancer_id, "delegated");
    let status = entry.status.as_ref().unwrap();
    assert_eq!(status["loadbalancers"][0]["id"], "delegated");
    assert_eq!(status["loadbalancers"][0]["provisioning_status"], "ACTIVE");
    assert_eq!(status["listeners"][0]["id"], "delegated-l");
    assert_eq!(status["listeners"][0]["provisioning_status"], "ACTIVE");

    // An observation: a new operating status and counters are an entry; the same again is not.
    let tree = store.tree("delegated").await.unwrap().unwrap();
    let mut observation = Observation::default();
    observation
        .operating_status
        .insert("delegated-l".into(), OperatingStatus::Degraded);
    observation.listener_stats = HashMap::from([(
        "delegated-l".to_string(),
        Stats {
            bytes_in: 10,
            ..Stats::default()
        },
    )]);
    store
        .record_observation(&tree, &observation, &[])
        .await
        .unwrap();
    let tree = store.tree("delegated").await.unwrap().unwrap();
    store
        .record_observation(&tree, &observation, &[])
        .await
        .unwrap();
    let entries = store.provider_feed_after(1, 100).await.unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let status = entries[0].status.as_ref().unwrap();
    assert_eq!(status["listeners"][0]["operating_status"], "DEGRADED");
    assert!(status["listeners"][0].get("provisioning_status").is_none());
    let statistics = entries[0].statistics.as_ref().unwrap();
    assert_eq!(statistics["listeners"][0]["bytes_in"], 10);

    // A deleted tree is reported DELETED, and is no longer followed.
    let mut tx = store.begin().await.unwrap();
    tx.mark_subtree(
        Kind::LoadBalancer,
        "delegated",
        fulcrum_core::model::ProvisioningStatus::PendingDelete,
    )
    .await
    .unwrap();
    tx.enqueue("delegated", WorkAction::Delete).await.unwrap();
    tx.commit().await.unwrap();
    settle(&store, None).await;
    let entries = store.provider_feed_after(2, 100).await.unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let status = entries[0].status.as_ref().unwrap();
    assert_eq!(status["loadbalancers"][0]["provisioning_status"], "DELETED");
    assert_eq!(status["listeners"][0]["provisioning_status"], "DELETED");
    stored(&store, "delegated", false).await;
    settle(&store, None).await;
    assert_eq!(store.last_provider_cursor().await.unwrap(), 3);
}

async fn pruning_keeps_the_cursor_going(store: Store) {
    for id in ["a", "b"] {
        let mut tx = store.begin().await.unwrap();
        tx.feed_deleted(id, &[(Kind::LoadBalancer, id)])
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    assert_eq!(store.prune_provider_feed(Duration::MAX).await.unwrap(), 0);
    assert_eq!(
        store
            .prune_provider_feed(Duration::from_secs(3600))
            .await
            .unwrap(),
        0
    );
    // Timestamps have whole seconds.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(store.prune_provider_feed(Duration::ZERO).await.unwrap(), 2);
    assert!(store.provider_feed_after(0, 10).await.unwrap().is_empty());
    let mut tx = store.begin().await.unwrap();
    tx.feed_deleted("c", &[(Kind::LoadBalancer, "c")])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let entries = store.provider_feed_after(0, 10).await.unwrap();
    assert_eq!(entries.iter().map(|e| e.cursor).collect::<Vec<_>>(), [3]);
}

#[tokio::test]
async fn feed_follows_delegated_load_balancers_only_sqlite() {
    common::on_sqlite(feed_follows_delegated_load_balancers_only).await;
}

#[tokio::test]
async fn feed_follows_delegated_load_balancers_only_postgres() {
    common::on_postgres(feed_follows_delegated_load_balancers_only).await;
}

#[tokio::test]
async fn pruning_keeps_the_cursor_going_sqlite() {
    common::on_sqlite(pruning_keeps_the_cursor_going).await;
}

#[tokio::test]
async fn pruning_keeps_the_cursor_going_postgres() {
    common::on_postgres(pruning_keeps_the_cursor_going).await;
}
