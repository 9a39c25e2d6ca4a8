//! NSX-T driver benchmark, against the NSX Policy API simulator in this process (over HTTP on
//! 127.0.0.1) at the simulator's defaults: 100 requests/s before 429, realization 500 ms after a
//! change, bodies validated against the vendor definitions when they are found.
//!
//! 1. Creates: 1,000 load balancers (two HTTP listeners, one pool, four members each) applied by
//!    the driver (its default realization poll), 32 at a time as the reconciler does by
//!    default, until every one is realized:
//!    total time, NSX calls per load balancer, calls refused with 429. Three runs, each on a fresh
//!    simulator.
//! 2. Resync: 10,000 such load balancers held by the manager (created by the same driver with the
//!    rate limits off, so that its record of what it applied is there), then, with the manager at
//!    100 requests/s again, what a full sync asks of the driver when nothing drifted
//!    (`realized_fingerprints`): calls and time, three runs; and the resident memory of the
//!    process before and after the setup (`VmRSS`: the driver and its record of what it applied,
//!    and the simulator, which runs in the same process and holds the 10,000 load balancers'
//!    objects), then what the driver's record alone adds, rebuilt apart (the driver's only state
//!    per load balancer).
//!
//! Run with `cargo bench --bench nsxt`. `FULCRUM_BENCH_NSXT_CREATES` and
//! `FULCRUM_BENCH_NSXT_RESYNC` change the two counts (0 skips a part),
//! `FULCRUM_BENCH_NSXT_CONCURRENCY` how many load balancers are applied at once (default 32).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fulcrum_core::driver::fixtures;
use fulcrum_core::driver::{Driver, LoadBalancerGraph};
use fulcrum_core::model::{
    LbAlgorithm, Listener, ListenerProtocol, PoolProtocol, ProvisioningStatus,
};
use fulcrum_core::secrets::NoopCertificates;
use fulcrum_drivers::nsxt::render::{self, Placement};
use fulcrum_drivers::nsxt::{NsxtConfig, NsxtDriver, drift};
use serde_json::json;
use simulators::nsxt::{self, Config, Running};
use tokio::sync::Semaphore;

/// Load balancers applied at once by default, as `[reconciler] concurrency` by default.
const CONCURRENCY: usize = 32;

fn count(variable: &str, default: usize) -> usize {
    std::env::var(variable)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A load balancer being created: two HTTP listeners in front of one pool of four members.
fn tree(i: usize) -> LoadBalancerGraph {
    let lb = format!("bench-{i:05}");
    let pool = format!("{lb}-pool");
    let mut graph = fixtures::graph(fixtures::load_balancer(&lb));
    graph.load_balancer.provisioning_status = ProvisioningStatus::PendingCreate;
    graph.load_balancer.vip_address = format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256);
    for port in [80, 8080] {
        graph.listeners.push(Listener {
            default_pool_id: Some(pool.clone()),
            ..fixtures::listener(&format!("{lb}-{port}"), &lb, ListenerProtocol::Http, port)
        });
    }
    graph.pools.push(fixtures::pool(
        &pool,
        &lb,
        PoolProtocol::Http,
        LbAlgorithm::RoundRobin,
    ));
    for m in 0..4 {
        graph.members.push(fixtures::member(
            &format!("{lb}-m{m}"),
            &lb,
            &pool,
            &format!("192.168.{}.{m}", i % 256),
            8000,
        ));
    }
    graph
}

async fn simulator(rate_per_second: f64, realization_delay: Duration, validate: bool) -> Running {
    let schema = nsxt::schema::default_path();
    let schema = (validate && schema.exists()).then_some(schema);
    nsxt::start(Config {
        rate_per_second,
        realization_delay,
        schema,
        ..Config::default()
    })
    .await
    .expect("the simulator starts")
}

/// A driver of the simulator checking realization every `realization_poll_ms` (`None`: the
/// driver's default), sending at most `per_second` requests a second.
fn driver(sim: &Running, realization_poll_ms: Option<u64>, per_second: f64) -> Arc<NsxtDriver> {
    let mut section = json!({
        "rate_limit": {"per_second": per_second, "burst": 20},
        "managers": [sim.base_url()],
        "username": "admin",
        "password": "admin",
        "tier1_path": "/infra/tier-1s/fulcrum-t1",
    });
    if let Some(poll) = realization_poll_ms {
        section["realization_poll_ms"] = json!(poll);
    }
    let config = NsxtConfig::parse(&section).expect("a valid section");
    Arc::new(NsxtDriver::new(config, Arc::new(NoopCertificates)).expect("a driver"))
}

/// Apply trees `0..total`, `concurrency` at a time.
async fn apply_all(driver: &Arc<NsxtDriver>, total: usize, concurrency: usize) {
    let slots = Arc::new(Semaphore::new(concurrency));
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        let permit = slots.clone().acquire_owned().await.expect("open");
        let driver = driver.clone();
        tasks.push(tokio::spawn(async move {
            let applied = driver.apply(&tree(i)).await;
            drop(permit);
            applied
        }));
    }
    for task in tasks {
        task.await.expect("joined").expect("applied");
    }
}

fn range(values: &[f64], unit: &str) -> String {
    let min = values.iter().cloned().fold(f64::INFINITY, f64::min);
    let max = values.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    format!("{min:.2}–{max:.2} {unit}")
}

async fn creates(total: usize, concurrency: usize) {
    let mut seconds = Vec::new();
    let mut per_lb = Vec::new();
    let mut refused = Vec::new();
    for _ in 0..3 {
        let sim = simulator(100.0, Duration::from_millis(500), true).await;
        let driver = driver(&sim, None, 100.0);
        let start = Instant::now();
        apply_all(&driver, total, concurrency).await;
        seconds.push(start.elapsed().as_secs_f64());
        let calls = sim.control().calls();
        per_lb.push(calls.total as f64 / total as f64);
        refused.push(calls.with_status(429) as f64);
        sim.stop().await;
    }
    println!(
        "creates: {total} load balancers (2 listeners, 1 pool, 4 members), {concurrency} at a time, \
         manager at 100 req/s, realization after 500 ms"
    );
    println!("  time until all realized: {}", range(&seconds, "s"));
    println!("  NSX calls per load balancer: {}", range(&per_lb, ""));
    println!("  calls refused with 429: {}", range(&refused, ""));
}

/// The resident memory of this process, in MiB (`VmRSS` of `/proc/self/status`), if known.
fn resident_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

fn mib(value: Option<f64>) -> String {
    value.map_or_else(|| "unknown".to_string(), |v| format!("{v:.0} MiB"))
}

/// What the driver's record of what it applied to `total` load balancers adds to the resident
/// memory, built apart as the driver builds it after each apply.
fn record_mib(total: usize) -> Option<f64> {
    let placement = Placement {
        tier1_path: "/infra/tier-1s/fulcrum-t1".into(),
        default_size: "SMALL",
        share_lb_service: false,
    };
    let before = resident_mib()?;
    let records: HashMap<String, drift::Applied> = (0..total)
        .map(|i| {
            let graph = tree(i);
            let desired = render::render(&graph, &placement, None).expect("renders");
            (graph.load_balancer.id.clone(), drift::Applied::of(&desired))
        })
        .collect();
    let after = resident_mib()?;
    drop(records);
    Some(after - before)
}

async fn resync(total: usize) {
    // Set up fast: neither the manager nor the driver limits the rate while the load balancers
    // are created; the manager's 100 requests/s hold again for the resync.
    let before = resident_mib();
    let sim = simulator(0.0, Duration::ZERO, false).await;
    let driver = driver(&sim, Some(1), 100_000.0);
    let start = Instant::now();
    apply_all(&driver, total, 64).await;
    println!(
        "resync: {total} load balancers set up in {:.1} s (rate limits off)",
        start.elapsed().as_secs_f64()
    );
    println!(
        "  resident memory of the process (driver and simulator): {} before, {} after the setup",
        mib(before),
        mib(resident_mib())
    );
    println!(
        "  the driver's record of what it applied, built apart: {}",
        mib(record_mib(total))
    );
    sim.control().set_rate(100.0);
    let mut seconds = Vec::new();
    let mut calls = Vec::new();
    for _ in 0..3 {
        sim.control().reset_calls();
        let start = Instant::now();
        let realized = driver.realized_fingerprints().await.expect("read");
        seconds.push(start.elapsed().as_secs_f64());
        calls.push(sim.control().calls().total as f64);
        assert_eq!(realized.len(), total, "every load balancer is found");
        assert!(realized.iter().all(|r| r.in_sync()), "nothing drifted");
    }
    println!("  full resync, no drift, manager at 100 req/s:");
    println!("  NSX calls: {}", range(&calls, ""));
    println!("  time: {}", range(&seconds, "s"));
    sim.stop().await;
}

#[tokio::main]
async fn main() {
    let concurrency = count("FULCRUM_BENCH_NSXT_CONCURRENCY", CONCURRENCY);
    let creates_total = count("FULCRUM_BENCH_NSXT_CREATES", 1000);
    if creates_total > 0 {
        creates(creates_total, concurrency).await;
    }
    let resync_total = count("FULCRUM_BENCH_NSXT_RESYNC", 10_000);
    if resync_total > 0 {
        resync(resync_total).await;
    }
}
