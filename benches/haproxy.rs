//! HAProxy driver benchmark: starts `fulcrum serve` with the HAProxy driver and two HTTP backends
//! on loopback, then reports
//! - time from `POST` of a load balancer (one HTTP listener, one pool, two members, in one call)
//!   until it is ACTIVE *and* answers through its VIP: median and p99 over 50 runs;
//! - time to apply a member change (until ACTIVE again): median and p99 over 20 runs;
//! - requests per second through one load balancer and straight to one member, measured in the
//!   same run with the same client, and their ratio;
//! - HAProxy's CPU time per proxied request with the configuration Fulcrum renders, against a
//!   minimal hand-written configuration for the same listener and pool, run side by side (needs
//!   `wrk`).
//!
//! Run with `cargo bench --bench haproxy` (needs /usr/sbin/haproxy).

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{Server, cpu_seconds, gets_per_second, wrk_requests_per_second};
use serde_json::{Value, json};

const SUBNET: &str = "5f3a0c6e-6a0e-4c59-9a55-000000000002";

async fn backend(name: &'static str) -> SocketAddr {
    let app = axum::Router::new().fallback(move || async move { name });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

async fn wait_active(http: &reqwest::Client, base: &str, lb: &str) {
    loop {
        let v: Value = http
            .get(format!(
                "{base}/v2/lbaas/loadbalancers/{lb}?fields=provisioning_status"
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        match v["loadbalancer"]["provisioning_status"].as_str() {
            Some("ACTIVE") => return,
            Some("ERROR") => panic!("load balancer {lb} went to ERROR"),
            _ => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn summary(mut ms: Vec<f64>) -> String {
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    format!(
        "median {:.1} ms, p99 {:.1} ms (n={})",
        percentile(&ms, 0.5),
        percentile(&ms, 0.99),
        ms.len()
    )
}

#[tokio::main]
async fn main() {
    let server = Server::start(|dir| {
        format!(
            "[server]\nbind = \"127.0.0.1:0\"\n[database]\nurl = \"sqlite://{}\"\n[log]\nlevel = \"warn\"\n\
             [providers]\ndefault = \"haproxy\"\ncertificates_dir = \"{}\"\n\
             [providers.haproxy]\nbinary = \"/usr/sbin/haproxy\"\nstate_dir = \"{}\"\n\
             [reconciler]\nobserve_interval_seconds = 3600\nsync_interval_seconds = 3600\n",
            dir.join("bench.db").display(),
            dir.join("certs").display(),
            dir.join("haproxy").display(),
        )
    });
    let base = server.base.clone();
    let (a, b) = (backend("a").await, backend("b").await);
    let http = reqwest::Client::new();
    let probe = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    println!("fulcrum HAProxy driver benchmark (HAProxy 2.6, SQLite, loopback)");

    let mut to_serving = Vec::new();
    let mut to_active = Vec::new();
    let mut last: Option<(String, String, String)> = None;
    for i in 0..50 {
        let body = json!({"loadbalancer": {
            "name": format!("bench-{i}"), "vip_subnet_id": SUBNET,
            "listeners": [{"protocol": "HTTP", "protocol_port": 8080,
                "default_pool": {"name": "p", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                    "members": [
                        {"address": "127.0.0.1", "protocol_port": a.port()},
                        {"address": "127.0.0.1", "protocol_port": b.port()}]}}]}});
        let started = Instant::now();
        let resp = http
            .post(format!("{base}/v2/lbaas/loadbalancers"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let lb: Value = resp.json().await.unwrap();
        let id = lb["loadbalancer"]["id"].as_str().unwrap().to_string();
        let vip = lb["loadbalancer"]["vip_address"]
            .as_str()
            .unwrap()
            .to_string();
        wait_active(&http, &base, &id).await;
        to_active.push(started.elapsed().as_secs_f64() * 1000.0);
        let url = format!("http://{vip}:8080/");
        while !probe
            .get(&url)
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        to_serving.push(started.elapsed().as_secs_f64() * 1000.0);
        let pool = lb["loadbalancer"]["pools"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        if let Some((old, _, _)) = last.replace((id, vip, pool)) {
            let resp = http
                .delete(format!("{base}/v2/lbaas/loadbalancers/{old}?cascade=true"))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 204);
        }
    }
    println!(
        "POST until ACTIVE and serving:  {}",
        summary(to_serving.clone())
    );
    // FULCRUM_BENCH_VERBOSE=1 prints every run, and the part of it until ACTIVE.
    if std::env::var_os("FULCRUM_BENCH_VERBOSE").is_some() {
        println!("  each run (ms): {to_serving:.0?}");
        println!("  until ACTIVE:  {to_active:.0?}");
    }

    let (lb, vip, pool) = last.expect("a load balancer");
    let members: Value = http
        .get(format!("{base}/v2/lbaas/pools/{pool}/members"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let member = members["members"][0]["id"].as_str().unwrap().to_string();
    let mut changes = Vec::new();
    for i in 0..20 {
        let started = Instant::now();
        let resp = http
            .put(format!("{base}/v2/lbaas/pools/{pool}/members/{member}"))
            .json(&json!({"member": {"weight": 1 + (i % 5)}}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        wait_active(&http, &base, &lb).await;
        changes.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    println!("member change until ACTIVE:     {}", summary(changes));

    // Alternate the two measurements so that both see the same machine conditions; report the
    // median of three rounds each.
    let (mut direct, mut through) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        direct.push(gets_per_second(&format!("http://{a}/"), 16, 2.0).await);
        through.push(gets_per_second(&format!("http://{vip}:8080/"), 16, 2.0).await);
    }
    direct.sort_by(|x, y| x.partial_cmp(y).unwrap());
    through.sort_by(|x, y| x.partial_cmp(y).unwrap());
    let (direct, through) = (direct[1], through[1]);
    println!("straight to one member:         {direct:>8.0} requests/s (median of 3 rounds)");
    println!(
        "through the load balancer:      {through:>8.0} requests/s ({:.0}% of direct)",
        100.0 * through / direct
    );

    // The same with the load generated by wrk in its own process, so that the client's own CPU
    // use (reqwest in this process) weighs less on the ratio. With wrk, this process only runs
    // the members, so its CPU time per request is the members' cost, next to HAProxy's.
    let haproxy_pid: u32 =
        std::fs::read_to_string(server.dir().join("haproxy").join(&lb).join("haproxy.pid"))
            .ok()
            .and_then(|p| p.trim().parse().ok())
            .expect("the load balancer's HAProxy pid");
    let me = std::process::id();
    let (mut direct, mut through) = (Vec::new(), Vec::new());
    let (mut member_direct, mut member_through, mut haproxy_through) = (0.0, 0.0, 0.0);
    for _ in 0..3 {
        let before = cpu_seconds(me);
        let Some(d) = wrk_requests_per_second(&format!("http://{a}/"), 16, 2) else {
            println!("(wrk is not installed: apt-get install wrk for the second measurement)");
            return;
        };
        member_direct += (cpu_seconds(me) - before) / (d * 2.0);
        direct.push(d);
        let (me_before, haproxy_before) = (cpu_seconds(me), cpu_seconds(haproxy_pid));
        let t = wrk_requests_per_second(&format!("http://{vip}:8080/"), 16, 2).unwrap();
        member_through += (cpu_seconds(me) - me_before) / (t * 2.0);
        haproxy_through += (cpu_seconds(haproxy_pid) - haproxy_before) / (t * 2.0);
        through.push(t);
    }
    direct.sort_by(|x, y| x.partial_cmp(y).unwrap());
    through.sort_by(|x, y| x.partial_cmp(y).unwrap());
    let (direct, through) = (direct[1], through[1]);
    println!("wrk, straight to one member:    {direct:>8.0} requests/s (median of 3 rounds)");
    println!(
        "wrk, through the load balancer: {through:>8.0} requests/s ({:.0}% of direct)",
        100.0 * through / direct
    );
    let us = |total: f64| total / 3.0 * 1e6;
    println!(
        "CPU per request (wrk rounds):   member {:.1} µs straight; through the LB: HAProxy {:.1} µs \
         + members {:.1} µs",
        us(member_direct),
        us(haproxy_through),
        us(member_through)
    );

    let by_hand = HandWritten::start(server.dir(), a, b);
    let (mut rendered, mut minimal) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        rendered.push(haproxy_cpu_per_request(
            haproxy_pid,
            &format!("http://{vip}:8080/"),
        ));
        minimal.push(haproxy_cpu_per_request(by_hand.pid(), &by_hand.url));
    }
    rendered.sort_by(|x, y| x.partial_cmp(y).unwrap());
    minimal.sort_by(|x, y| x.partial_cmp(y).unwrap());
    let (rendered, minimal) = (rendered[1] * 1e6, minimal[1] * 1e6);
    println!(
        "HAProxy CPU per request:        Fulcrum's configuration {rendered:.1} µs, hand-written \
         {minimal:.1} µs ({:+.0}%; medians of 3 alternating wrk rounds)",
        100.0 * (rendered / minimal - 1.0)
    );
}

/// HAProxy's CPU seconds per request while wrk loads `url` for 2 s; `haproxy_pid` is the process
/// (with its workers) serving it.
fn haproxy_cpu_per_request(haproxy_pid: u32, url: &str) -> f64 {
    let before = cpu_seconds(haproxy_pid);
    let rate = wrk_requests_per_second(url, 16, 2).expect("wrk");
    (cpu_seconds(haproxy_pid) - before) / (rate * 2.0)
}

/// The smallest HAProxy configuration an operator would write by hand for the benchmark's
/// listener and pool (HTTP on one port, round robin over the two members), with the process
/// limits Fulcrum renders by default (`maxconn 4096`, one thread), run in the foreground next to
/// Fulcrum's; stopped when dropped.
struct HandWritten {
    child: std::process::Child,
    url: String,
}

impl HandWritten {
    fn start(dir: &std::path::Path, a: SocketAddr, b: SocketAddr) -> HandWritten {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let config = format!(
            "global\n    maxconn 4096\n    nbthread 1\n\
             defaults\n    mode http\n    timeout connect 5s\n    timeout client 50s\n    \
             timeout server 50s\n\
             frontend listener\n    bind 127.0.0.1:{port}\n    default_backend pool\n\
             backend pool\n    balance roundrobin\n    server a {a}\n    server b {b}\n"
        );
        let path = dir.join("hand-written.cfg");
        std::fs::write(&path, config).expect("hand-written configuration");
        let child = std::process::Command::new("/usr/sbin/haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .spawn()
            .expect("start the hand-written HAProxy");
        let url = format!("http://127.0.0.1:{port}/");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the hand-written HAProxy did not listen"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        HandWritten { child, url }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for HandWritten {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
