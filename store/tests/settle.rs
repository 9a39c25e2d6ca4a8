//! [`Store::complete_all`]: a batch of finished items settles in one transaction, each as it
//! would alone: a converged create turns ACTIVE, a converged delete removes its tree, a failed one
//! goes to ERROR, and an item a newer write superseded is released for another claim.

use fulcrum_core::driver::fixtures;
use fulcrum_core::model::{Kind, LoadBalancer, ProvisioningStatus};
use fulcrum_store::{Completion, Outcome, Store, StoreOptions, WorkAction};

#[tokio::test]
async fn a_batch_settles_each_item_as_it_would_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&StoreOptions {
        url: format!("sqlite://{}", dir.path().join("settle.db").display()),
        max_connections: 2,
    })
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let cases = [
        ("created", WorkAction::Apply),
        ("superseded", WorkAction::Apply),
        ("deleted", WorkAction::Delete),
        ("failed", WorkAction::Apply),
    ];
    let mut tx = store.begin().await.unwrap();
    for (i, (id, action)) in cases.iter().enumerate() {
        let mut lb = fixtures::load_balancer(id);
        lb.vip_address = format!("127.0.0.{}", i + 1);
        tx.insert(&lb).await.unwrap();
        tx.set_status(Kind::LoadBalancer, id, ProvisioningStatus::PendingCreate)
            .await
            .unwrap();
        tx.enqueue(id, *action).await.unwrap();
    }
    tx.commit().await.unwrap();
    let claimed = store.claim("worker", 60_000, 60_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 4);
    // A newer write to one of them while it is being worked on.
    let mut tx = store.begin().await.unwrap();
    tx.enqueue("superseded", WorkAction::Apply).await.unwrap();
    tx.commit().await.unwrap();

    let mut completions = Vec::new();
    for (id, _) in &cases {
        let item = claimed
            .iter()
            .find(|item| item.load_balancer_id == *id)
            .unwrap()
            .clone();
        completions.push(Completion {
            item,
            tree: store.tree(id).await.unwrap().unwrap(),
            outcome: if *id == "failed" {
                Outcome::Failed
            } else {
                Outcome::Converged
            },
            observation: None,
            refused: Default::default(),
            events: Vec::new(),
        });
    }
    let settled = store.complete_all("worker", &completions).await.unwrap();
    assert_eq!(settled, [true, false, true, true]);

    let status = |lb: Option<LoadBalancer>| lb.map(|lb| lb.provisioning_status);
    assert_eq!(
        status(store.get("created").await.unwrap()),
        Some(ProvisioningStatus::Active)
    );
    assert_eq!(
        status(store.get("superseded").await.unwrap()),
        Some(ProvisioningStatus::PendingCreate)
    );
    assert_eq!(status(store.get("deleted").await.unwrap()), None);
    assert_eq!(
        status(store.get("failed").await.unwrap()),
        Some(ProvisioningStatus::Error)
    );
    // Only the superseded item is left, released: another claim takes it at once.
    let again = store.claim("next", 60_000, 60_000, 10).await.unwrap();
    let ids: Vec<&str> = again.iter().map(|i| i.load_balancer_id.as_str()).collect();
    assert_eq!(ids, ["superseded"]);
}
