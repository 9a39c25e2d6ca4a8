//! API benchmark: starts `fulcrum serve` (noop driver, SQLite) and reports, as numbers, load
//! balancers created per second until ACTIVE (1, 8 and 64 concurrent clients), GETs of one load
//! balancer per second, lists of 1,000 per second, and resident memory with 10,000 stored.
//! A static endpoint (`GET /v2`) measured in the same run is the baseline for the read figures.
//!
//! Run with `cargo bench --bench api`. Set `FULCRUM_BENCH_DATABASE=postgres://...` (an empty
//! database) to measure on PostgreSQL instead of a temporary SQLite file. `cargo bench --bench api
//! -- creates` measures only the write path: 3,000 creates until ACTIVE with 8 clients.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Server, gets_per_second};
use serde_json::{Value, json};

const SUBNET: &str = "bench-subnet";

fn start_server() -> Server {
    Server::start(|dir| {
        let url = std::env::var("FULCRUM_BENCH_DATABASE")
            .unwrap_or_else(|_| format!("sqlite://{}", dir.join("bench.db").display()));
        format!(
            r#"[server]
bind = "127.0.0.1:0"
[database]
url = "{url}"
[log]
level = "warn"
[providers]
default = "noop"
[reconciler]
concurrency = 64
sync_interval_seconds = 3600
[api]
pagination_max_limit = 1000
[[network.networks]]
id = "bench-net"
name = "bench"
[[network.subnets]]
id = "{SUBNET}"
name = "bench-v4"
network_id = "bench-net"
cidr = "127.16.0.0/16"
allocation_start = "127.16.0.1"
allocation_end = "127.16.255.254"
"#
        )
    })
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn create(http: &reqwest::Client, base: &str) {
    let resp = http
        .post(format!("{base}/v2/lbaas/loadbalancers"))
        .json(&json!({"loadbalancer": {"vip_subnet_id": SUBNET}}))
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
}

async fn pending(http: &reqwest::Client, base: &str) -> usize {
    let v: Value = http
        .get(format!(
            "{base}/v2/lbaas/loadbalancers?provisioning_status=PENDING_CREATE&fields=id&limit=infinite"
        ))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    v["loadbalancers"].as_array().map_or(0, Vec::len)
}

/// Create `total` load balancers with `clients` concurrent clients; seconds until all are ACTIVE.
async fn creates_until_active(
    http: &reqwest::Client,
    base: &str,
    clients: usize,
    total: usize,
) -> f64 {
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (http, base, next) = (http.clone(), base.to_string(), next.clone());
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < total {
                create(&http, &base).await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("client");
    }
    while pending(http, base).await > 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let server = start_server();
    let base = server.base.clone();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(128)
        .build()
        .expect("client");
    println!(
        "fulcrum API benchmark (noop driver, {})",
        if std::env::var("FULCRUM_BENCH_DATABASE").is_ok() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );

    if std::env::args().skip(1).any(|a| a == "creates") {
        let (clients, total) = (8, 3000);
        let secs = creates_until_active(&http, &base, clients, total).await;
        println!(
            "creates until ACTIVE, {clients:>2} clients: {:>8.0} load balancers/s ({total} in {secs:.2} s)",
            total as f64 / secs
        );
        return;
    }

    let mut created = 0;
    for (clients, total) in [(1usize, 500usize), (8, 2000), (64, 3000)] {
        let secs = creates_until_active(&http, &base, clients, total).await;
        created += total;
        println!(
            "creates until ACTIVE, {clients:>2} clients: {:>8.0} load balancers/s ({total} in {secs:.2} s)",
            total as f64 / secs
        );
    }

    let baseline = gets_per_second(&format!("{base}/v2"), 8, 3.0).await;
    let v: Value = http
        .get(format!("{base}/v2/lbaas/loadbalancers?limit=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let one = v["loadbalancers"][0]["id"].as_str().unwrap().to_string();
    let get_one = gets_per_second(&format!("{base}/v2/lbaas/loadbalancers/{one}"), 8, 3.0).await;
    println!("GET /v2 (static baseline):         {baseline:>8.0} requests/s");
    println!(
        "GET one load balancer:             {get_one:>8.0} requests/s ({:.2} of baseline)",
        get_one / baseline
    );

    // Fill up to 10,000 stored load balancers, then list pages of 1,000.
    let rest = 10_000 - created;
    creates_until_active(&http, &base, 64, rest).await;
    let lists = gets_per_second(&format!("{base}/v2/lbaas/loadbalancers?limit=1000"), 4, 3.0).await;
    println!(
        "list of 1,000 load balancers:      {lists:>8.1} requests/s ({:.0} objects/s)",
        lists * 1000.0
    );
    println!(
        "resident memory, 10,000 stored:    {:>8.1} MiB",
        rss_mib(server.child.id())
    );
}
