//! Replicas on one PostgreSQL database: the driver never sees two applies of one load balancer at
//! once, even when applies outlast their leases and a replica is killed mid-burst; and the full
//! sync and the observer run on one replica at a time, passing to another when it dies.
//!
//! The noop driver of every replica appends its calls to one shared journal (see the driver's
//! `journal` module), which is what these tests read.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{DEFAULT_SUBNET, Db, Options, TestServer};
use serde_json::{Value, json};

/// One line of the noop driver's journal.
#[derive(Debug, Clone)]
struct Call {
    at_ms: i64,
    pid: u32,
    event: String,
    load_balancer_id: String,
}

fn read_journal(path: &Path) -> Vec<Call> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            assert_eq!(fields.len(), 4, "a journal line of four fields: {line:?}");
            Call {
                at_ms: fields[0].parse().expect("milliseconds"),
                pid: fields[1].parse().expect("process id"),
                event: fields[2].to_string(),
                load_balancer_id: fields[3].to_string(),
            }
        })
        .collect()
}

fn now_ms() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(since.as_millis()).unwrap()
}

/// Options of a replica named `replica` whose noop driver takes `apply_ms` per call and writes to
/// `journal`; it beats every 100 ms and counts others gone after a second of silence.
fn replica_options(replica: &str, journal: &Path, apply_ms: u64, lease_seconds: u64) -> Options {
    Options {
        noop_latency_ms: apply_ms,
        noop_toml: format!("journal = \"{}\"\n", journal.display()),
        lease_seconds,
        sync_interval_seconds: 1,
        extra_toml: format!(
            "replica = \"{replica}\"\nheartbeat_interval_ms = 100\nholder_timeout_ms = 1000\n"
        ),
        ..Default::default()
    }
}

/// One apply of one load balancer by one process: from its begin to its end, or to the moment
/// its process was killed.
#[derive(Debug)]
struct Apply {
    pid: u32,
    begin: i64,
    end: Option<i64>,
}

/// The applies in the journal, by load balancer.
fn applies(calls: &[Call]) -> BTreeMap<String, Vec<Apply>> {
    let mut by_lb: BTreeMap<String, Vec<Apply>> = BTreeMap::new();
    for call in calls.iter().filter(|c| c.event.starts_with("apply-")) {
        let applies = by_lb.entry(call.load_balancer_id.clone()).or_default();
        match call.event.as_str() {
            "apply-begin" => applies.push(Apply {
                pid: call.pid,
                begin: call.at_ms,
                end: None,
            }),
            "apply-end" => {
                let open = applies
                    .iter_mut()
                    .rev()
                    .find(|a| a.pid == call.pid && a.end.is_none())
                    .expect("an apply ends after it began");
                open.end = Some(call.at_ms);
            }
            _ => {}
        }
    }
    by_lb
}

/// Both replicas apply a burst of load balancers, then one is killed mid-apply: every load
/// balancer converges on the other, and no two applies of one load balancer ever overlapped (an
/// apply cut short by the kill counts as running until the kill).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_never_apply_one_load_balancer_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal");
    // A driver call may take half a lease: 3 s.
    let (apply_ms, lease_seconds) = (2500, 6);
    let mut first = TestServer::start_with(
        Db::Postgres,
        replica_options("first", &journal, apply_ms, lease_seconds),
    )
    .await;
    let second = first
        .replica(replica_options("second", &journal, apply_ms, lease_seconds))
        .await;

    // A burst through both replicas: each one's reconciler is woken by its own commits.
    let mut paths = Vec::new();
    for i in 0..12 {
        let server = if i % 2 == 0 { &first } else { &second };
        let lb = server
            .create(
                "/v2/lbaas/loadbalancers",
                "loadbalancer",
                json!({"name": format!("burst-{i}"), "vip_subnet_id": DEFAULT_SUBNET}),
            )
            .await;
        paths.push(format!(
            "/v2/lbaas/loadbalancers/{}",
            lb["id"].as_str().unwrap()
        ));
    }
    // Inside every apply, with both replicas alive and polling for work.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let killed_pid = first.pid();
    let killed_at = now_ms();
    first.kill();
    for path in &paths {
        second.wait_for(path, "loadbalancer", "ACTIVE").await;
    }

    let survivor = second.pid();
    let by_lb = applies(&read_journal(&journal));
    assert_eq!(by_lb.len(), paths.len(), "every load balancer was applied");
    let mut taken_over = 0;
    for (id, applies) in &by_lb {
        let mut spans: Vec<(i64, i64, u32)> = applies
            .iter()
            .map(|a| {
                let end = match a.end {
                    Some(end) => end,
                    None => {
                        assert_eq!(a.pid, killed_pid, "{id}: an apply of {} never ended", a.pid);
                        killed_at
                    }
                };
                (a.begin, end, a.pid)
            })
            .collect();
        spans.sort();
        for pair in spans.windows(2) {
            assert!(
                pair[1].0 >= pair[0].1,
                "{id}: applies overlapped: {:?} and {:?}",
                pair[0],
                pair[1]
            );
        }
        if applies
            .iter()
            .any(|a| a.pid == killed_pid && a.end.is_none())
            && applies.iter().any(|a| a.pid == survivor)
        {
            taken_over += 1;
        }
    }
    assert!(
        taken_over > 0,
        "the survivor took over applies the killed replica had begun: {by_lb:?}"
    );
}

/// The last report of the background task `name` on `server`.
async fn last_report(server: &TestServer, name: &str) -> Value {
    let tasks = server.get("/v1/status/tasks").await;
    tasks["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no task {name}: {tasks}"))["last_report"]
        .clone()
}

/// Of two replicas, one runs the full sync (it asks its driver what it holds) and the other
/// stands by, for the observer as well; killed, the one running it hands it to the other within
/// the holder timeout. (The noop driver counts as a backend every replica shares.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_full_sync_and_the_observer_run_on_one_replica_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal");
    let mut first =
        TestServer::start_with(Db::Postgres, replica_options("first", &journal, 0, 30)).await;
    let mut second = first
        .replica(replica_options("second", &journal, 0, 30))
        .await;
    first.active_lb("synced").await;

    // Full syncs every second on both replicas for three seconds.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let inventories = |since: i64| -> Vec<u32> {
        read_journal(&journal)
            .into_iter()
            .filter(|c| c.event == "inventory" && c.at_ms >= since)
            .map(|c| c.pid)
            .collect()
    };
    let before = inventories(0);
    let syncing: BTreeSet<u32> = before.iter().copied().collect();
    assert_eq!(syncing.len(), 1, "one replica syncs: {before:?}");
    assert!(before.len() >= 3, "it synced every second: {before:?}");
    let holder_pid = before[0];
    let (holder, standby) = if holder_pid == first.pid() {
        (&mut first, &mut second)
    } else {
        (&mut second, &mut first)
    };
    assert_eq!(last_report(standby, "full-sync").await["standby"], 1);
    assert_eq!(last_report(holder, "full-sync").await["standby"], 0);
    // The observer is a duty of its own, which either replica may hold, but only one.
    let observing = [
        last_report(holder, "observer").await["standby"].clone(),
        last_report(standby, "observer").await["standby"].clone(),
    ];
    assert!(
        observing == [json!(0), json!(1)] || observing == [json!(1), json!(0)],
        "one replica observes: {observing:?}"
    );

    let killed_at = now_ms();
    holder.kill();
    // The holder timeout (1 s), then syncs every second.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let after = inventories(killed_at);
    assert!(!after.is_empty(), "the survivor took the full sync over");
    assert!(
        after.iter().all(|pid| *pid == standby.pid()),
        "only the survivor syncs after the kill: {after:?} (survivor {})",
        standby.pid()
    );
    assert_eq!(
        last_report(standby, "full-sync").await["standby"],
        0,
        "{}",
        standby.log()
    );
}
