//! What the full sync reads and queues, on a fresh SQLite file and a fresh PostgreSQL database
//! each: every load balancer with its provider and status, and sync work for a list of ids (more
//! than one statement's worth) that only converged load balancers without pending work get.

mod common;

use fulcrum_core::driver::fixtures;
use fulcrum_core::model::ProvisioningStatus;
use fulcrum_store::{Store, WorkAction};

/// The status the `i`th load balancer is stored with.
fn status(i: usize) -> ProvisioningStatus {
    match i % 4 {
        0 | 1 => ProvisioningStatus::Active,
        2 => ProvisioningStatus::Error,
        _ => ProvisioningStatus::PendingUpdate,
    }
}

async fn only_converged_load_balancers_without_work_are_queued(store: Store) {
    const COUNT: usize = 1_200;
    let ids: Vec<String> = (0..COUNT).map(|i| format!("lb-{i:04}")).collect();
    let mut tx = store.begin().await.unwrap();
    for (i, id) in ids.iter().enumerate() {
        let mut lb = fixtures::load_balancer(id);
        lb.provisioning_status = status(i);
        tx.insert(&lb).await.unwrap();
    }
    // One converged load balancer already has work.
    tx.enqueue(&ids[0], WorkAction::Apply).await.unwrap();
    tx.commit().await.unwrap();

    let mut candidates = store.sync_candidates().await.unwrap();
    candidates.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(candidates.len(), COUNT);
    for (i, c) in candidates.iter().enumerate() {
        assert_eq!(
            (c.id.as_str(), c.provider.as_str()),
            (ids[i].as_str(), "noop")
        );
        assert_eq!(c.provisioning_status, status(i));
    }

    let mut asked = ids.clone();
    asked.push("not-in-the-store".into());
    let converged = (0..COUNT).filter(|i| !status(*i).is_pending()).count();
    assert_eq!(
        store.enqueue_sync(&asked).await.unwrap(),
        converged as u64 - 1
    );
    assert_eq!(
        store.enqueue_sync(&asked).await.unwrap(),
        0,
        "all have work"
    );
    assert_eq!(store.enqueue_sync(&[]).await.unwrap(), 0);
    let census = store.census(60_000).await.unwrap();
    assert_eq!(census.work.queued, converged as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    common::on_sqlite(only_converged_load_balancers_without_work_are_queued).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    common::on_postgres(only_converged_load_balancers_without_work_are_queued).await;
}
