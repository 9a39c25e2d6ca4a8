//! API benchmark: starts `fulcrum serve` (noop driver, SQLite) and reports, as numbers, load
//! balancers created per second until ACTIVE (1, 8 and 64 concurrent clients), GETs of one load
//! balancer per second, lists of 1,000 per second, and resident memory with 10,000 stored.
//! A static endpoint (`GET /v2`) measured in the same run is the baseline for the read figures.
//!
//! Run with `cargo bench --bench api`. Set `FULCRUM_BENCH_DATABASE=postgres://...` (an empty
//! database) to measure on PostgreSQL instead of a temporary SQLite file. `cargo bench --bench api
//! -- creates` measures only the write path: 3,000 creates until ACTIVE with 8 clients. `cargo bench
//! --bench api -- keystone` measures GETs of one load balancer under Keystone authentication (a
//! Keystone in this process that validates tokens; Fulcrum caches what it answers) against noauth,
//! two servers side by side in the same run.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Server, gets_per_second, gets_per_second_with};
use serde_json::{Value, json};

const SUBNET: &str = "bench-subnet";

fn start_server() -> Server {
    start_server_with("")
}

/// A server as [`start_server`] with `extra` appended to its configuration.
fn start_server_with(extra: &str) -> Server {
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
{extra}"#
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

    if std::env::args().skip(1).any(|a| a == "keystone") {
        keystone_against_noauth(&http, &server).await;
        return;
    }
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

/// The token the benchmark's Keystone accepts, for an administrator of project `bench`.
const TOKEN: &str = "bench-user-token";

/// A Keystone v3 in this process: it issues Fulcrum's service token and validates [`TOKEN`],
/// counting the validations it was asked for.
async fn keystone() -> (String, Arc<AtomicUsize>) {
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    let validations = Arc::new(AtomicUsize::new(0));
    let token_body = || {
        axum::Json(json!({"token": {
            "expires_at": "2999-01-01T00:00:00.000000Z",
            "user": {"id": "bench-user", "name": "bench"},
            "project": {"id": "bench", "name": "bench"},
            "roles": [{"id": "r1", "name": "admin"}, {"id": "r2", "name": "member"}],
        }}))
    };
    let counted = validations.clone();
    let app = axum::Router::new().route(
        "/v3/auth/tokens",
        axum::routing::post(move || async move {
            (
                StatusCode::CREATED,
                [("x-subject-token", "bench-service-token")],
                token_body(),
            )
        })
        .get(move |headers: HeaderMap| async move {
            counted.fetch_add(1, Ordering::Relaxed);
            if headers.get("x-subject-token").and_then(|v| v.to_str().ok()) == Some(TOKEN) {
                (StatusCode::OK, token_body()).into_response()
            } else {
                StatusCode::NOT_FOUND.into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v3", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, validations)
}

/// GETs of one load balancer per second with Keystone tokens against the noauth `server`, in
/// alternating rounds, and how often Keystone was asked.
async fn keystone_against_noauth(http: &reqwest::Client, noauth: &Server) {
    let (url, validations) = keystone().await;
    let keystone = start_server_with(&format!(
        "[auth]\nstrategy = \"keystone\"\n[auth.keystone]\nauth_url = \"{url}\"\n\
         username = \"fulcrum\"\npassword = \"secret\"\nproject_name = \"service\"\n"
    ));
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-auth-token", TOKEN.parse().unwrap());
    let mut urls = Vec::new();
    for (server, headers) in [
        (noauth, reqwest::header::HeaderMap::new()),
        (&keystone, headers.clone()),
    ] {
        let resp = http
            .post(format!("{}/v2/lbaas/loadbalancers", server.base))
            .headers(headers)
            .json(&json!({"loadbalancer": {"vip_subnet_id": SUBNET}}))
            .send()
            .await
            .expect("POST");
        assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
        let created: Value = resp.json().await.expect("JSON");
        let id = created["loadbalancer"]["id"].as_str().unwrap().to_owned();
        urls.push(format!("{}/v2/lbaas/loadbalancers/{id}", server.base));
    }
    let (mut open, mut authenticated) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        open.push(gets_per_second(&urls[0], 8, 3.0).await);
        authenticated.push(gets_per_second_with(&urls[1], 8, 3.0, headers.clone()).await);
    }
    open.sort_by(|x, y| x.partial_cmp(y).unwrap());
    authenticated.sort_by(|x, y| x.partial_cmp(y).unwrap());
    let (open, authenticated) = (open[1], authenticated[1]);
    println!("GET one load balancer, noauth:    {open:>8.0} requests/s (median of 3 rounds)");
    println!(
        "GET one load balancer, Keystone:  {authenticated:>8.0} requests/s ({:.2} of noauth; \
         Keystone asked {} times)",
        authenticated / open,
        validations.load(Ordering::Relaxed)
    );
}
