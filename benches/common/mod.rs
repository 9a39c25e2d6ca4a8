//! What both benchmarks share: a `fulcrum serve` process on a temporary directory, and a GET
//! load generator.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A running `fulcrum serve`; killed, with every HAProxy it started, when dropped.
pub struct Server {
    /// The process.
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    dir: tempfile::TempDir,
}

impl Server {
    /// Start with the configuration `config` returns for a fresh temporary directory. The binary
    /// is this build's `fulcrum`, or the one `FULCRUM_BENCH_BINARY` names (to measure another
    /// build with the same client).
    pub fn start(config: impl FnOnce(&Path) -> String) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("bench.toml");
        std::fs::write(&path, config(dir.path())).expect("config");
        let binary = std::env::var_os("FULCRUM_BENCH_BINARY")
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_fulcrum").into());
        let mut child = Command::new(binary)
            .args(["--config", path.to_str().unwrap(), "serve"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start fulcrum");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("ready line");
        let base = line
            .trim()
            .strip_prefix("fulcrum listening on ")
            .expect("server started")
            .to_string();
        Server { child, base, dir }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Every HAProxy it started names this (unique) directory on its command line.
        let _ = Command::new("pkill")
            .args(["-KILL", "-f"])
            .arg(self.dir.path())
            .status();
    }
}

/// Requests per second of `GET url` from `clients` keep-alive clients during `seconds`; every
/// answer must be 200.
pub async fn gets_per_second(url: &str, clients: usize, seconds: f64) -> f64 {
    gets_per_second_with(url, clients, seconds, reqwest::header::HeaderMap::new()).await
}

/// [`gets_per_second`], each request carrying `headers` (a token, say).
pub async fn gets_per_second_with(
    url: &str,
    clients: usize,
    seconds: f64,
    headers: reqwest::header::HeaderMap,
) -> f64 {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .default_headers(headers)
        .build()
        .expect("client");
    let count = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (http, url, count) = (http.clone(), url.to_string(), count.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let resp = http.get(&url).send().await.expect("GET");
                let status = resp.status();
                let body = resp.bytes().await.expect("body");
                assert_eq!(status, 200, "{url}: {}", String::from_utf8_lossy(&body));
                count.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await.expect("client");
    }
    count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// Requests per second `wrk` (a separate process, one thread, `connections` keep-alive
/// connections) gets from `url` in `seconds`; `None` when wrk is not installed.
pub fn wrk_requests_per_second(url: &str, connections: usize, seconds: u64) -> Option<f64> {
    let out = Command::new("wrk")
        .args([
            "-t1",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            url,
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("Non-2xx"),
        "wrk saw errors from {url}:\n{text}"
    );
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
}

/// CPU seconds (user + system) a process and its direct children have used so far, from
/// `/proc`; 0 for a process that is gone.
pub fn cpu_seconds(pid: u32) -> f64 {
    let ticks = |pid: &str| -> u64 {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            return 0;
        };
        // Fields after the command name (which may hold spaces) start at field 3.
        let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
        let fields: Vec<&str> = after.split_whitespace().collect();
        let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
        field(14).unwrap_or(0) + field(15).unwrap_or(0)
    };
    let pid = pid.to_string();
    let children = std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect::<Vec<_>>();
    let total = ticks(&pid) + children.iter().map(|c| ticks(c)).sum::<u64>();
    total as f64 / clock_ticks_per_second()
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

impl Server {
    /// The server's temporary directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}
