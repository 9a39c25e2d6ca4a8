//! The events outbox end to end: producers in transactions with state changes and on their own,
//! consumers that stop, restart and run in two replicas, rollbacks and pruning. Each test runs on
//! a fresh SQLite file and on a fresh PostgreSQL database on 127.0.0.1:5432 (created with `psql`
//! as user `postgres`, dropped afterwards); the replica test runs on PostgreSQL only.

use std::collections::HashSet;
use std::process::Command;
use std::time::Duration;

use fulcrum_core::driver::Observation;
use fulcrum_core::events::Event;
use fulcrum_core::model::{LoadBalancer, OperatingStatus, ProvisioningStatus};
use fulcrum_store::{EventConsumer, Outcome, Store, StoreOptions, StoredEvent, WorkAction};
use tokio::sync::watch;
use tokio::task::JoinSet;

macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(super::Db::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(super::Db::Postgres).await
            }
        }
    )*};
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Db {
    Sqlite,
    Postgres,
}

/// A database of one test: a SQLite file in a temporary directory, or a PostgreSQL database
/// dropped with it.
struct TestDb {
    url: String,
    pg_name: Option<String>,
    _dir: tempfile::TempDir,
}

fn psql(sql: &str) {
    let out = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres"])
        .args(["-v", "ON_ERROR_STOP=1", "-qc", sql])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl TestDb {
    fn new(db: Db) -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        match db {
            Db::Sqlite => TestDb {
                url: format!("sqlite://{}", dir.path().join("outbox.db").display()),
                pg_name: None,
                _dir: dir,
            },
            Db::Postgres => {
                let name = format!("fulcrum_outbox_{}", uuid::Uuid::new_v4().simple());
                psql(&format!("CREATE DATABASE {name}"));
                TestDb {
                    url: format!("postgres://postgres@127.0.0.1:5432/{name}"),
                    pg_name: Some(name),
                    _dir: dir,
                }
            }
        }
    }

    /// A new connection to it (a restarted process, or another replica).
    async fn connect(&self) -> Store {
        let store = Store::connect(&StoreOptions {
            url: self.url.clone(),
            max_connections: 8,
        })
        .await
        .unwrap();
        store.migrate().await.unwrap();
        store
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name {
            psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// The `i`th event of producer `p`, of a kind that depends on `i`; its key names it.
fn event(p: usize, i: usize) -> Event {
    let load_balancer_id = format!("lb-{p}-{i}");
    match i % 4 {
        0 => Event::AlertRaised {
            key: format!("{p}/{i}"),
            load_balancer_id,
            provider: "noop".into(),
            message: "down".into(),
        },
        1 => Event::AlertCleared {
            key: format!("{p}/{i}"),
            load_balancer_id,
        },
        2 => Event::DayTwoRequest {
            action: format!("failover {p}/{i}"),
            load_balancer_id,
        },
        _ => Event::DeviceSeen {
            provider: "noop".into(),
            device_id: format!("{p}/{i}"),
            load_balancer_id: None,
        },
    }
}

fn fingerprint(event: &Event) -> String {
    serde_json::to_string(event).unwrap()
}

/// Write `count` events as producer `p`, in turn: with a work item in one transaction, alone, in
/// batches of three, and in a transaction with a work item that rolls back (its events are not
/// counted, and must never be seen). With `linger`, some transactions wait a little between
/// their events and their commit, so that concurrent writers overlap. Returns what was committed.
async fn produce(store: Store, p: usize, count: usize, linger: bool) -> Vec<Event> {
    let mut committed = Vec::new();
    let mut step = 0;
    while committed.len() < count {
        let i = committed.len();
        match step % 4 {
            0 => {
                let mut tx = store.begin().await.unwrap();
                tx.enqueue(&format!("lb-{p}-{i}"), WorkAction::Apply)
                    .await
                    .unwrap();
                let e = event(p, i);
                tx.append_event(&e).await.unwrap();
                if linger && i % 8 == 0 {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                tx.commit().await.unwrap();
                committed.push(e);
            }
            1 => {
                let e = event(p, i);
                store.append_events(std::slice::from_ref(&e)).await.unwrap();
                committed.push(e);
            }
            2 => {
                let batch: Vec<Event> = (i..(i + 3).min(count)).map(|i| event(p, i)).collect();
                store.append_events(&batch).await.unwrap();
                committed.extend(batch);
            }
            _ => {
                let mut tx = store.begin().await.unwrap();
                tx.enqueue(&format!("rolled-back-{p}-{i}"), WorkAction::Apply)
                    .await
                    .unwrap();
                tx.append_event(&Event::AlertRaised {
                    key: format!("rolled back {p}/{i}"),
                    load_balancer_id: "none".into(),
                    provider: "noop".into(),
                    message: "never seen".into(),
                })
                .await
                .unwrap();
                if linger {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                drop(tx);
            }
        }
        step += 1;
    }
    committed
}

/// Run `producers` concurrent producers of `each` events over `stores` (round robin).
fn spawn_producers(
    stores: &[Store],
    producers: usize,
    each: usize,
    linger: bool,
) -> JoinSet<Vec<Event>> {
    let mut set = JoinSet::new();
    for p in 0..producers {
        set.spawn(produce(stores[p % stores.len()].clone(), p, each, linger));
    }
    set
}

async fn all_produced(mut set: JoinSet<Vec<Event>>) -> HashSet<String> {
    let mut out = HashSet::new();
    while let Some(events) = set.join_next().await {
        out.extend(events.unwrap().iter().map(fingerprint));
    }
    out
}

/// Poll `consumer` in batches of `batch`, committing each, until `count` events were read (no
/// producer runs meanwhile).
async fn consume(consumer: &mut EventConsumer, count: usize, batch: i64) -> Vec<StoredEvent> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while seen.len() < count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} saw only {} of {count} events",
            consumer.name(),
            seen.len()
        );
        let events = consumer.poll(batch).await.unwrap();
        match events.last() {
            Some(last) => consumer.commit(last.id).await.unwrap(),
            None => tokio::time::sleep(Duration::from_millis(1)).await,
        }
        seen.extend(events);
    }
    seen
}

/// Poll `consumer` in batches of `batch`, committing each, while producers run; once `stop` turns
/// true (every producer is done), read until nothing is left.
async fn consume_until_drained(
    consumer: &mut EventConsumer,
    batch: i64,
    mut stop: watch::Receiver<bool>,
) -> Vec<StoredEvent> {
    let mut seen = Vec::new();
    loop {
        let stopped = *stop.borrow_and_update();
        let events = consumer.poll(batch).await.unwrap();
        match events.last() {
            Some(last) => consumer.commit(last.id).await.unwrap(),
            None if stopped => return seen,
            None => tokio::time::sleep(Duration::from_millis(1)).await,
        }
        seen.extend(events);
    }
}

/// `seen` is exactly the ids `first..first + len`, in order, and exactly the `expected` events.
fn assert_exactly_once(seen: &[StoredEvent], first: i64, expected: &HashSet<String>) {
    let ids: Vec<i64> = seen.iter().map(|e| e.id).collect();
    let want: Vec<i64> = (first..first + expected.len() as i64).collect();
    if let Some(at) = ids.iter().zip(&want).position(|(got, want)| got != want) {
        panic!(
            "event {at} seen has id {}, not {}: ids out of order or missing",
            ids[at], want[at]
        );
    }
    assert_eq!(ids.len(), want.len(), "events seen");
    let got: HashSet<String> = seen.iter().map(|e| fingerprint(&e.event)).collect();
    assert_eq!(got.len(), seen.len(), "an event was seen twice");
    assert!(
        got == *expected,
        "the events seen are not the events produced"
    );
}

async fn a_restarted_consumer_sees_what_was_produced_while_it_was_stopped_exactly_once(db: Db) {
    let db = TestDb::new(db);
    let before = db.connect().await;
    let early: Vec<Event> = (0..10).map(|i| event(99, i)).collect();
    before.append_events(&early).await.unwrap();
    let mut consumer = EventConsumer::new(before.clone(), "management");
    let handled = consume(&mut consumer, early.len(), 4).await;
    assert_exactly_once(&handled, 1, &early.iter().map(fingerprint).collect());
    drop(consumer);
    before.close().await;

    let producers = db.connect().await;
    let produced = all_produced(spawn_producers(
        std::slice::from_ref(&producers),
        4,
        250,
        false,
    ))
    .await;
    assert_eq!(produced.len(), 1000);

    // The consumer comes back on a new connection, and once more halfway through.
    let after = db.connect().await;
    let mut consumer = EventConsumer::new(after.clone(), "management");
    let mut seen = consume(&mut consumer, 500, 64).await;
    drop(consumer);
    after.close().await;
    let again = db.connect().await;
    let mut consumer = EventConsumer::new(again.clone(), "management");
    seen.extend(consume(&mut consumer, 1000 - seen.len(), 64).await);
    assert!(consumer.poll(64).await.unwrap().is_empty());

    assert_exactly_once(&seen, 11, &produced);
    assert_eq!(again.event_cursor("management").await.unwrap(), 1010);
    assert_eq!(again.last_event_id().await.unwrap(), 1010);
}

/// Two replicas on one PostgreSQL database, each producing and each consuming under its own name
/// while the other writes: both see every event, with no id missing in between.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_see_every_event_of_either_without_gaps() {
    let db = TestDb::new(Db::Postgres);
    let replicas = [db.connect().await, db.connect().await];
    let (stop, stopped) = watch::channel(false);
    let mut consumers = JoinSet::new();
    for (n, store) in replicas.iter().enumerate() {
        let mut consumer = EventConsumer::new(store.clone(), format!("replica-{n}"));
        let stopped = stopped.clone();
        consumers.spawn(async move { consume_until_drained(&mut consumer, 16, stopped).await });
    }
    let producers = spawn_producers(&replicas, 4, 250, true);
    let produced = all_produced(producers).await;
    assert_eq!(produced.len(), 1000);
    stop.send(true).unwrap();
    while let Some(seen) = consumers.join_next().await {
        assert_exactly_once(&seen.unwrap(), 1, &produced);
    }
    for (n, store) in replicas.iter().enumerate() {
        assert_eq!(
            store.event_cursor(&format!("replica-{n}")).await.unwrap(),
            1000
        );
    }
}

async fn an_event_of_a_rolled_back_transaction_is_never_seen(db: Db) {
    let db = TestDb::new(db);
    let store = db.connect().await;
    let mut tx = store.begin().await.unwrap();
    tx.enqueue("lb", WorkAction::Apply).await.unwrap();
    assert_eq!(tx.append_event(&event(0, 0)).await.unwrap(), 1);
    drop(tx);

    let kept = event(0, 1);
    assert_eq!(
        store
            .append_events(std::slice::from_ref(&kept))
            .await
            .unwrap(),
        [1],
        "the rolled-back id is given out again: ids have no holes"
    );
    let mut consumer = EventConsumer::new(store.clone(), "management");
    let seen = consumer.poll(10).await.unwrap();
    assert_eq!(seen.iter().map(|e| &e.event).collect::<Vec<_>>(), [&kept]);
    assert!(
        store
            .claim("worker", 60_000, 60_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.last_event_id().await.unwrap(), 1);
}

async fn prune_removes_only_events_older_than_the_retention(db: Db) {
    let db = TestDb::new(db);
    let store = db.connect().await;
    let ids = store
        .append_events(&[event(0, 0), event(0, 1), event(0, 2)])
        .await
        .unwrap();
    let mut consumer = EventConsumer::new(store.clone(), "management");
    consumer.poll(1).await.unwrap();
    consumer.commit(ids[0]).await.unwrap();

    // Backdate the first two events: two hours and thirty minutes old.
    let ago =
        |d: time::Duration| fulcrum_core::timestamp::format(time::OffsetDateTime::now_utc() - d);
    let raw = sqlx::AnyPool::connect(&db.url).await.unwrap();
    for (id, created_at) in [
        (ids[0], ago(time::Duration::hours(2))),
        (ids[1], ago(time::Duration::minutes(30))),
    ] {
        sqlx::query("UPDATE events SET created_at = $1 WHERE id = $2")
            .bind(created_at)
            .bind(id)
            .execute(&raw)
            .await
            .unwrap();
    }
    raw.close().await;

    assert_eq!(
        store.prune_events(Duration::from_secs(3600)).await.unwrap(),
        1
    );
    let left: Vec<i64> = store
        .events_after(0, 10)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(left, [ids[1], ids[2]]);
    assert_eq!(
        store.prune_events(Duration::from_secs(3600)).await.unwrap(),
        0
    );
    assert_eq!(store.prune_events(Duration::MAX).await.unwrap(), 0);
    assert_eq!(
        store.prune_events(Duration::from_secs(600)).await.unwrap(),
        1
    );
    assert_eq!(store.last_event_id().await.unwrap(), ids[2]);
    let seen = consumer.poll(10).await.unwrap();
    assert_eq!(seen.iter().map(|e| e.id).collect::<Vec<_>>(), [ids[2]]);
}

async fn a_cursor_starts_at_zero_never_moves_back_nor_past_the_last_event(db: Db) {
    let db = TestDb::new(db);
    let store = db.connect().await;
    assert_eq!(store.event_cursor("nobody").await.unwrap(), 0);
    store
        .append_events(&(0..5).map(|i| event(0, i)).collect::<Vec<_>>())
        .await
        .unwrap();
    store.advance_event_cursor("c", 3).await.unwrap();
    store.advance_event_cursor("c", 2).await.unwrap();
    assert_eq!(store.event_cursor("c").await.unwrap(), 3);
    store.advance_event_cursor("c", 50).await.unwrap();
    assert_eq!(store.event_cursor("c").await.unwrap(), 5);

    // A consumer commits only what it was handed.
    let mut consumer = EventConsumer::new(store.clone(), "d");
    consumer.commit(4).await.unwrap();
    assert_eq!(store.event_cursor("d").await.unwrap(), 0);
    let batch = consumer.poll(2).await.unwrap();
    assert_eq!(batch.iter().map(|e| e.id).collect::<Vec<_>>(), [1, 2]);
    consumer.commit(4).await.unwrap();
    assert_eq!(store.event_cursor("d").await.unwrap(), 2);
    let rest = consumer.poll(10).await.unwrap();
    assert_eq!(rest.iter().map(|e| e.id).collect::<Vec<_>>(), [3, 4, 5]);

    // Uncommitted events are handed out again to a new consumer of the same name.
    let mut restarted = EventConsumer::new(store.clone(), "d");
    let again = restarted.poll(10).await.unwrap();
    assert_eq!(again.iter().map(|e| e.id).collect::<Vec<_>>(), [3, 4, 5]);
    assert_eq!(again[0].event, event(0, 2));
}

fn load_balancer(id: &str) -> LoadBalancer {
    LoadBalancer {
        id: id.into(),
        project_id: None,
        name: None,
        description: None,
        admin_state_up: true,
        provisioning_status: ProvisioningStatus::PendingCreate,
        operating_status: OperatingStatus::Offline,
        vip_address: "10.0.0.1".into(),
        vip_port_id: "port".into(),
        vip_subnet_id: "subnet".into(),
        vip_network_id: "net".into(),
        vip_qos_policy_id: None,
        vip_router_id: None,
        placement: None,
        additional_vips: vec![],
        provider: "noop".into(),
        flavor_id: None,
        availability_zone: None,
        tags: vec![],
        created_at: "2024-01-01T00:00:00".into(),
        updated_at: None,
    }
}

async fn completion_and_observation_write_their_events_with_their_changes(db: Db) {
    let db = TestDb::new(db);
    let store = db.connect().await;
    let mut tx = store.begin().await.unwrap();
    tx.insert(&load_balancer("lb")).await.unwrap();
    tx.enqueue("lb", WorkAction::Apply).await.unwrap();
    tx.commit().await.unwrap();

    // Superseded: the item is released, the events are still written.
    let item = store.claim("w", 60_000, 60_000, 1).await.unwrap().remove(0);
    let mut tx = store.begin().await.unwrap();
    tx.enqueue("lb", WorkAction::Apply).await.unwrap();
    tx.commit().await.unwrap();
    let tree = store.tree("lb").await.unwrap().unwrap();
    let raised = event(0, 0);
    assert!(
        !store
            .complete(
                &item,
                "w",
                &tree,
                Outcome::Converged,
                None,
                std::slice::from_ref(&raised)
            )
            .await
            .unwrap()
    );

    let item = store.claim("w", 60_000, 60_000, 1).await.unwrap().remove(0);
    let cleared = event(0, 1);
    assert!(
        store
            .complete(
                &item,
                "w",
                &tree,
                Outcome::Converged,
                None,
                std::slice::from_ref(&cleared)
            )
            .await
            .unwrap()
    );
    let lb: LoadBalancer = store.get("lb").await.unwrap().unwrap();
    assert_eq!(lb.provisioning_status, ProvisioningStatus::Active);

    let tree = store.tree("lb").await.unwrap().unwrap();
    let mut observation = Observation::default();
    observation
        .operating_status
        .insert("lb".into(), OperatingStatus::Online);
    let device = event(0, 3);
    store
        .record_observation(&tree, &observation, std::slice::from_ref(&device))
        .await
        .unwrap();
    let lb: LoadBalancer = store.get("lb").await.unwrap().unwrap();
    assert_eq!(lb.operating_status, OperatingStatus::Online);

    let stored = store.events_after(0, 10).await.unwrap();
    assert_eq!(
        stored.iter().map(|e| (e.id, &e.event)).collect::<Vec<_>>(),
        [(1, &raised), (2, &cleared), (3, &device)]
    );
    assert!(
        stored
            .iter()
            .all(|e| e.created_at.len() == "2024-01-01T00:00:00".len())
    );
}

on_both_databases!(
    a_restarted_consumer_sees_what_was_produced_while_it_was_stopped_exactly_once,
    an_event_of_a_rolled_back_transaction_is_never_seen,
    prune_removes_only_events_older_than_the_retention,
    a_cursor_starts_at_zero_never_moves_back_nor_past_the_last_event,
    completion_and_observation_write_their_events_with_their_changes,
);
