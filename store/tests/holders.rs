//! Work holders: a lease is free at once when its holder is provably gone (retired by a newer run
//! of its replica, retired at shutdown, or silent past the holder timeout), and stays its
//! holder's while that one beats, however long the lease still runs.

use fulcrum_store::{Store, StoreOptions, WorkAction, WorkHolder};

/// A lease far longer than any test: only a gone holder can free it.
const LEASE_MS: i64 = 600_000;
/// A holder timeout far longer than any test.
const PATIENT_MS: i64 = 600_000;

async fn store_with_work(dir: &std::path::Path, items: &[&str]) -> Store {
    let store = Store::connect(&StoreOptions {
        url: format!("sqlite://{}", dir.join("holders.db").display()),
        max_connections: 2,
    })
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    for id in items {
        tx.enqueue(id, WorkAction::Apply).await.unwrap();
    }
    tx.commit().await.unwrap();
    store
}

async fn claim(store: &Store, holder: &WorkHolder, timeout_ms: i64) -> Vec<String> {
    let mut ids: Vec<String> = store
        .claim(holder.id(), LEASE_MS, timeout_ms, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|item| item.load_balancer_id)
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_new_run_of_a_replica_takes_the_work_of_the_earlier_one_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_work(dir.path(), &["lb-1", "lb-2"]).await;
    let first = WorkHolder::new("replica-a");
    assert_eq!(store.register_holder(&first, PATIENT_MS).await.unwrap(), 0);
    assert_eq!(claim(&store, &first, PATIENT_MS).await, ["lb-1", "lb-2"]);

    // Another replica, alive, cannot take what a live holder holds.
    let other = WorkHolder::new("replica-b");
    store.register_holder(&other, PATIENT_MS).await.unwrap();
    assert!(claim(&store, &other, PATIENT_MS).await.is_empty());

    // The same replica started again: its earlier run is retired and its work free.
    let second = WorkHolder::new("replica-a");
    assert_ne!(first.id(), second.id());
    assert_eq!(store.register_holder(&second, PATIENT_MS).await.unwrap(), 1);
    assert_eq!(claim(&store, &second, PATIENT_MS).await, ["lb-1", "lb-2"]);
    assert!(claim(&store, &other, PATIENT_MS).await.is_empty());

    // The retired run beating again (a second process under the same name) is alive again.
    assert!(!store.heartbeat(&first).await.unwrap());
    assert!(store.heartbeat(&first).await.unwrap());
}

#[tokio::test]
async fn a_silent_holders_work_is_taken_over_and_a_beating_ones_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_work(dir.path(), &["lb-1"]).await;
    let silent = WorkHolder::new("replica-a");
    store.register_holder(&silent, PATIENT_MS).await.unwrap();
    assert_eq!(claim(&store, &silent, PATIENT_MS).await, ["lb-1"]);

    let other = WorkHolder::new("replica-b");
    store.register_holder(&other, PATIENT_MS).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(60)).await;
    // Silent for 60 ms: gone for a 50 ms timeout, alive for a longer one.
    assert!(claim(&store, &other, PATIENT_MS).await.is_empty());
    assert!(store.heartbeat(&silent).await.unwrap());
    assert!(claim(&store, &other, 50).await.is_empty(), "it just beat");
    tokio::time::sleep(std::time::Duration::from_millis(60)).await;
    assert_eq!(claim(&store, &other, 50).await, ["lb-1"]);
}

#[tokio::test]
async fn a_retired_holders_work_is_free_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_work(dir.path(), &["lb-1"]).await;
    let leaving = WorkHolder::new("replica-a");
    store.register_holder(&leaving, PATIENT_MS).await.unwrap();
    assert_eq!(claim(&store, &leaving, PATIENT_MS).await, ["lb-1"]);
    let other = WorkHolder::new("replica-b");
    store.register_holder(&other, PATIENT_MS).await.unwrap();
    assert!(claim(&store, &other, PATIENT_MS).await.is_empty());
    store.retire_holder(&leaving).await.unwrap();
    assert_eq!(claim(&store, &other, PATIENT_MS).await, ["lb-1"]);
}
