//! The full sync re-applies what drifted and nothing else: once every load balancer is applied,
//! a full sync applies none of them again.

mod common;

use common::sync::{after_full_syncs, applies};
use common::{Db, Options, TestServer};

async fn an_idle_full_sync_applies_nothing(db: Db) {
    let mut s = TestServer::start_with(
        db,
        Options {
            sync_interval_seconds: 1,
            ..Default::default()
        },
    )
    .await;
    for name in ["a", "b", "c"] {
        s.active_lb(name).await;
    }
    // A restarted process knows nothing it applied: its first sync re-applies every one.
    s.restart().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while applies(&s, "noop").await < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the first sync re-applied nothing:\n{}",
            s.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    after_full_syncs(&s, 1).await;
    let before = applies(&s, "noop").await;
    let report = after_full_syncs(&s, 2).await;
    assert_eq!(report["queued"], 0, "{report}");
    assert_eq!(report["in_sync"], 3, "{report}");
    assert_eq!(
        applies(&s, "noop").await,
        before,
        "idle full syncs applied again"
    );
}

on_both_databases!(an_idle_full_sync_applies_nothing);
