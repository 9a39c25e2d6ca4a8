//! Full-sync benchmark: what a full sync costs when nothing drifted. Starts `fulcrum serve` on a
//! temporary SQLite file with a full sync every period, stores load balancers until every one is
//! ACTIVE, then for three full syncs prints what each queued, how long it took until its work
//! was done (the sync itself, then the converge work it queued), and the CPU time the server
//! used over each sync period (the observer is kept out of it).
//!
//! Two rounds: 10,000 load balancers on the noop driver; then 100 on HAProxy (one HTTP listener,
//! one pool and one member each, so 100 HAProxy processes; skipped without /usr/sbin/haproxy).
//!
//! Run with `cargo bench --bench full_sync`. `FULCRUM_BENCH_SYNC_PERIOD` sets the period in
//! seconds (default 15; it must exceed the time one sync's work takes).

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Server, cpu_seconds};
use serde_json::{Value, json};

const SUBNET: &str = "bench-subnet";

/// How often the task statuses are read while a sync runs: seldom enough that the reading costs
/// the server little of the CPU time measured.
const POLL: Duration = Duration::from_millis(25);

fn start_server(provider: &str, period: u64) -> Server {
    Server::start(|dir: &Path| {
        format!(
            "[server]\nbind = \"127.0.0.1:0\"\n[database]\nurl = \"sqlite://{}\"\n\
             [log]\nlevel = \"warn\"\n\
             [providers]\ndefault = \"{provider}\"\ncertificates_dir = \"{}\"\n\
             [providers.haproxy]\nbinary = \"/usr/sbin/haproxy\"\nstate_dir = \"{}\"\n\
             [reconciler]\nconcurrency = 64\npoll_interval_ms = 100\n\
             observe_interval_seconds = 3600\nsync_interval_seconds = {period}\n\
             [[network.networks]]\nid = \"bench-net\"\nname = \"bench\"\n\
             [[network.subnets]]\nid = \"{SUBNET}\"\nname = \"bench-v4\"\n\
             network_id = \"bench-net\"\ncidr = \"127.16.0.0/16\"\n\
             allocation_start = \"127.16.0.1\"\nallocation_end = \"127.16.255.254\"\n",
            dir.join("bench.db").display(),
            dir.join("certs").display(),
            dir.join("haproxy").display(),
        )
    })
}

async fn backend() -> SocketAddr {
    let app = axum::Router::new().fallback(|| async { "ok" });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// Create `total` load balancers with `body` from `clients` concurrent clients.
async fn create(http: &reqwest::Client, base: &str, body: Value, clients: usize, total: usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (http, base, next, body) = (http.clone(), base.to_string(), next.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < total {
                let resp = http
                    .post(format!("{base}/v2/lbaas/loadbalancers"))
                    .json(&body)
                    .send()
                    .await
                    .expect("POST");
                assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
            }
        }));
    }
    for t in tasks {
        t.await.expect("client");
    }
}

async fn count(http: &reqwest::Client, base: &str, status: &str) -> usize {
    let v: Value = http
        .get(format!(
            "{base}/v2/lbaas/loadbalancers?provisioning_status={status}&fields=id&limit=infinite"
        ))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    v["loadbalancers"].as_array().map_or(0, Vec::len)
}

/// The statuses of the server's tasks, by name.
async fn tasks(http: &reqwest::Client, base: &str) -> Value {
    let v: Value = http
        .get(format!("{base}/v1/status/tasks"))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    let mut by_name = serde_json::Map::new();
    for task in v["tasks"].as_array().expect("tasks") {
        by_name.insert(task["name"].as_str().unwrap().to_string(), task.clone());
    }
    Value::Object(by_name)
}

/// Wait until a converge activation that started after `since` converge activations found no
/// work queued and none in flight.
async fn until_converged(http: &reqwest::Client, base: &str, since: u64) {
    loop {
        let t = tasks(http, base).await;
        let converge = &t["converge"];
        let idle = converge["last_report"]["claimed"] == 0
            && converge["last_report"]["in_flight"] == 0
            && converge["running"] == false;
        if converge["activations"].as_u64().unwrap() > since && idle {
            return;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Measure three full syncs: what each queued, how long until its work was done, and the
/// server's CPU time over each period.
async fn measure(server: &Server, http: &reqwest::Client, what: &str) {
    let base = &server.base;
    let pid = server.child.id();
    let t = tasks(http, base).await;
    until_converged(http, base, t["converge"]["activations"].as_u64().unwrap()).await;
    let mut seen = tasks(http, base).await["full-sync"]["activations"]
        .as_u64()
        .unwrap();
    let mut period_start: Option<f64> = None;
    for round in 0..=3 {
        // The next sync starts.
        let started = loop {
            let t = tasks(http, base).await;
            if t["full-sync"]["activations"].as_u64().unwrap() > seen {
                break Instant::now();
            }
            tokio::time::sleep(POLL).await;
        };
        let cpu = cpu_seconds(pid);
        if let Some(before) = period_start {
            println!("  CPU over that sync period: {:.3} s", cpu - before);
        }
        if round == 3 {
            return;
        }
        period_start = Some(cpu);
        // It ends, and the converge work it queued drains.
        let sync = loop {
            let t = tasks(http, base).await;
            if t["full-sync"]["running"] == false {
                break t;
            }
            tokio::time::sleep(POLL).await;
        };
        seen = sync["full-sync"]["activations"].as_u64().unwrap();
        until_converged(
            http,
            base,
            sync["converge"]["activations"].as_u64().unwrap(),
        )
        .await;
        let report = &sync["full-sync"]["last_report"];
        println!(
            "{what}, full sync {}: queued {}, in sync {}, sync task {} ms, until its work was done \
             {:.0} ms",
            round + 1,
            report["queued"],
            report.get("in_sync").unwrap_or(&Value::Null),
            sync["full-sync"]["last_duration_ms"],
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
}

#[tokio::main]
async fn main() {
    let period: u64 = std::env::var("FULCRUM_BENCH_SYNC_PERIOD")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(15);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .expect("client");
    println!("fulcrum full-sync benchmark (SQLite, a full sync every {period} s)");

    let server = start_server("noop", period);
    let body = json!({"loadbalancer": {"vip_subnet_id": SUBNET}});
    create(&http, &server.base, body, 64, 10_000).await;
    while count(&http, &server.base, "PENDING_CREATE").await > 0 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    measure(&server, &http, "10,000 load balancers, noop").await;
    drop(server);

    if !Path::new("/usr/sbin/haproxy").exists() {
        println!("(no /usr/sbin/haproxy: the HAProxy round is skipped)");
        return;
    }
    let server = start_server("haproxy", period);
    let member = backend().await;
    let body = json!({"loadbalancer": {"vip_subnet_id": SUBNET,
        "listeners": [{"protocol": "HTTP", "protocol_port": 8080,
            "default_pool": {"name": "p", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                "members": [{"address": "127.0.0.1", "protocol_port": member.port()}]}}]}});
    create(&http, &server.base, body, 4, 100).await;
    while count(&http, &server.base, "ACTIVE").await < 100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    measure(&server, &http, "100 load balancers, HAProxy").await;
}
