//! Cluster duties: one holder performs a duty at a time, keeps it while it lives, and loses it as
//! soon as it is provably gone; on SQLite and on PostgreSQL.

mod common;

use std::time::Duration;

use common::{on_postgres, on_sqlite};
use fulcrum_store::{Store, WorkHolder};

/// A holder timeout far longer than any test.
const PATIENT_MS: i64 = 600_000;

async fn registered(store: &Store, replica: &str) -> WorkHolder {
    let holder = WorkHolder::new(replica);
    store.register_holder(&holder, PATIENT_MS).await.unwrap();
    holder
}

async fn one_holder_performs_a_duty_until_it_retires(store: Store) {
    let first = registered(&store, "first").await;
    let second = registered(&store, "second").await;

    assert!(store.hold_duty("sync", &first, PATIENT_MS).await.unwrap());
    assert!(!store.hold_duty("sync", &second, PATIENT_MS).await.unwrap());
    assert!(store.hold_duty("sync", &first, PATIENT_MS).await.unwrap());
    assert_eq!(
        store.duty_holder("sync").await.unwrap().as_deref(),
        Some(first.id())
    );
    // Another duty is free for the other holder.
    assert!(
        store
            .hold_duty("observe", &second, PATIENT_MS)
            .await
            .unwrap()
    );

    // Retired (a clean shutdown), its duty passes on at the next request, and stays there.
    store.retire_holder(&first).await.unwrap();
    assert!(store.hold_duty("sync", &second, PATIENT_MS).await.unwrap());
    assert!(!store.hold_duty("sync", &first, PATIENT_MS).await.unwrap());
    assert_eq!(
        store.duty_holder("sync").await.unwrap().as_deref(),
        Some(second.id())
    );
}

async fn a_silent_holder_loses_its_duty(store: Store) {
    let first = registered(&store, "first").await;
    let second = registered(&store, "second").await;
    assert!(store.hold_duty("sync", &first, PATIENT_MS).await.unwrap());
    tokio::time::sleep(Duration::from_millis(300)).await;
    store.heartbeat(&second).await.unwrap();
    // Silent for longer than a 200 ms timeout: the first counts as gone, the second beat just now.
    assert!(store.hold_duty("sync", &second, 200).await.unwrap());
    assert!(!store.hold_duty("sync", &first, 200).await.unwrap());
}

async fn a_new_run_of_the_replica_takes_the_duty_at_once(store: Store) {
    let first = registered(&store, "replica-a").await;
    let other = registered(&store, "replica-b").await;
    assert!(store.hold_duty("sync", &first, PATIENT_MS).await.unwrap());
    // The same replica started again retires its earlier run; the duty is free.
    let restarted = registered(&store, "replica-a").await;
    assert!(
        store
            .hold_duty("sync", &restarted, PATIENT_MS)
            .await
            .unwrap()
    );
    assert!(!store.hold_duty("sync", &other, PATIENT_MS).await.unwrap());
}

#[tokio::test]
async fn one_holder_performs_a_duty_until_it_retires_sqlite() {
    on_sqlite(one_holder_performs_a_duty_until_it_retires).await;
}

#[tokio::test]
async fn one_holder_performs_a_duty_until_it_retires_postgres() {
    on_postgres(one_holder_performs_a_duty_until_it_retires).await;
}

#[tokio::test]
async fn a_silent_holder_loses_its_duty_sqlite() {
    on_sqlite(a_silent_holder_loses_its_duty).await;
}

#[tokio::test]
async fn a_silent_holder_loses_its_duty_postgres() {
    on_postgres(a_silent_holder_loses_its_duty).await;
}

#[tokio::test]
async fn a_new_run_of_the_replica_takes_the_duty_at_once_sqlite() {
    on_sqlite(a_new_run_of_the_replica_takes_the_duty_at_once).await;
}

#[tokio::test]
async fn a_new_run_of_the_replica_takes_the_duty_at_once_postgres() {
    on_postgres(a_new_run_of_the_replica_takes_the_duty_at_once).await;
}

/// Of many holders asking for a free duty at the same moment, on separate connections of
/// PostgreSQL, exactly one gets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_holders_asking_at_once_exactly_one_gets_the_duty() {
    on_postgres(|store| async move {
        let mut holders = Vec::new();
        for i in 0..8 {
            holders.push(registered(&store, &format!("replica-{i}")).await);
        }
        let asks = holders.into_iter().map(|holder| {
            let store = store.clone();
            tokio::spawn(async move { store.hold_duty("sync", &holder, PATIENT_MS).await })
        });
        let mut granted = 0;
        for ask in asks {
            if ask.await.unwrap().unwrap() {
                granted += 1;
            }
        }
        assert_eq!(granted, 1);
    })
    .await;
}
