//! [`Store::census`]: objects of every kind by provider and status, the work queue by state, and
//! the outbox consumers' lag, on a fresh SQLite file and a fresh PostgreSQL database each.

mod common;

use fulcrum_core::driver::fixtures;
use fulcrum_core::events::Event;
use fulcrum_core::model::{Kind, ListenerProtocol};
use fulcrum_store::{Census, ObjectCount, Store, WorkAction, WorkHolder};

/// How long a work holder may stay silent before its leases count as gone.
const HOLDER_TIMEOUT_MS: i64 = 60_000;

fn count(census: &Census, kind: Kind, provider: &str) -> u64 {
    census
        .objects
        .iter()
        .filter(|c| c.kind == kind && c.provider == provider)
        .map(|c| c.count)
        .sum()
}

async fn census_counts_what_the_store_holds(store: Store) {
    let empty = store.census(HOLDER_TIMEOUT_MS).await.unwrap();
    assert!(empty.objects.is_empty());
    assert_eq!(empty.work.queued + empty.work.in_flight, 0);
    assert_eq!(empty.work.oldest_queued_at_ms, None);
    assert_eq!(empty.outbox.last_id, 0);

    let mut tx = store.begin().await.unwrap();
    tx.insert(&fixtures::load_balancer("a")).await.unwrap();
    tx.insert(&fixtures::listener("a-80", "a", ListenerProtocol::Http, 80))
        .await
        .unwrap();
    tx.insert(&fixtures::listener("a-81", "a", ListenerProtocol::Http, 81))
        .await
        .unwrap();
    let mut other = fixtures::load_balancer("b");
    other.provider = "other".into();
    other.vip_address = "127.0.0.2".into();
    tx.insert(&other).await.unwrap();
    for id in ["a", "b", "c"] {
        tx.enqueue(id, WorkAction::Apply).await.unwrap();
    }
    tx.commit().await.unwrap();
    let before = fulcrum_core::timestamp::now_millis();

    let me = WorkHolder::new("me");
    store.register_holder(&me, HOLDER_TIMEOUT_MS).await.unwrap();
    let claimed = store
        .claim(me.id(), 60_000, HOLDER_TIMEOUT_MS, 2)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    store
        .retry_later(&claimed[0], me.id(), 60_000, "busy")
        .await
        .unwrap();
    let events: Vec<Event> = (0..3)
        .map(|i| Event::DayTwoRequest {
            action: format!("failover {i}"),
            load_balancer_id: "a".into(),
        })
        .collect();
    store.append_events(&events).await.unwrap();
    store.advance_event_cursor("management", 1).await.unwrap();
    store.advance_event_cursor("caught-up", 3).await.unwrap();

    let census = store.census(HOLDER_TIMEOUT_MS).await.unwrap();
    assert_eq!(count(&census, Kind::LoadBalancer, "noop"), 1);
    assert_eq!(count(&census, Kind::LoadBalancer, "other"), 1);
    assert_eq!(count(&census, Kind::Listener, "noop"), 2);
    assert_eq!(count(&census, Kind::Pool, "noop"), 0);
    assert!(census.objects.contains(&ObjectCount {
        kind: Kind::Listener,
        provider: "noop".into(),
        provisioning_status: "ACTIVE".into(),
        operating_status: "ONLINE".into(),
        count: 2,
    }));
    let work = census.work;
    assert_eq!((work.queued, work.retrying, work.in_flight), (1, 1, 1));
    let oldest = work.oldest_queued_at_ms.expect("an oldest item");
    assert!(
        oldest <= before && before - oldest < 60_000,
        "{oldest} {before}"
    );
    assert_eq!(census.outbox.last_id, 3);
    let positions: Vec<(&str, i64, bool)> = census
        .outbox
        .consumers
        .iter()
        .map(|c| (c.consumer.as_str(), c.last_id, c.oldest_unread_at.is_some()))
        .collect();
    assert_eq!(
        positions,
        [("caught-up", 3, false), ("management", 1, true)]
    );

    // The holder gone (retired), its unexpired lease is no longer work in flight: it waits for
    // another claim.
    store.retire_holder(&me).await.unwrap();
    let work = store.census(HOLDER_TIMEOUT_MS).await.unwrap().work;
    assert_eq!((work.queued, work.retrying, work.in_flight), (1, 2, 0));
    store.ping().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    common::on_sqlite(census_counts_what_the_store_holds).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    common::on_postgres(census_counts_what_the_store_holds).await;
}
