//! Slow and idle clients against the real server: the timeouts of `[server]` close connections
//! that keep it waiting, and `max_connections` keeps a flood of connections from costing the
//! process file descriptors while the connections it accepted keep being served.

mod common;

use std::time::{Duration, Instant};

use common::{Db, Options, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Long enough for anything that is going to happen on a busy machine; a connection still open
/// after this was never going to be closed.
const PATIENCE: Duration = Duration::from_secs(15);

async fn server(server_toml: &str) -> TestServer {
    TestServer::start_with(
        Db::Sqlite,
        Options {
            server_toml: server_toml.to_string(),
            ..Options::default()
        },
    )
    .await
}

async fn connect(s: &TestServer) -> TcpStream {
    TcpStream::connect(s.base.trim_start_matches("http://"))
        .await
        .expect("connect")
}

const GET: &[u8] = b"GET /v2/lbaas/loadbalancers HTTP/1.1\r\nhost: fulcrum\r\n\r\n";

/// Wait until the server closes `stream` (end of file or reset); how long that took. Panics if
/// it is still open after [`PATIENCE`]. What the server sent before is returned too.
async fn closed_after(stream: &mut TcpStream) -> (Duration, Vec<u8>) {
    let started = Instant::now();
    let mut received = Vec::new();
    let closing = async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(PATIENCE, closing)
        .await
        .unwrap_or_else(|_| panic!("the connection is still open after {PATIENCE:?}"));
    (started.elapsed(), received)
}

/// Read one response (head and a `content-length` body); its status and body.
async fn response(stream: &mut TcpStream) -> (u16, String) {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    let reading = async {
        loop {
            let text = String::from_utf8_lossy(&bytes).to_string();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length: ")
                            .map(str::to_owned)
                    })
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if body.len() >= length {
                    let status = head[9..12].parse().expect("a status");
                    return (status, body.to_string());
                }
            }
            let n = stream.read(&mut buf).await.expect("read a response");
            assert!(
                n > 0,
                "closed mid-response: {}",
                String::from_utf8_lossy(&bytes)
            );
            bytes.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(PATIENCE, reading)
        .await
        .expect("a response in time")
}

/// The file descriptors the server process holds.
fn open_files(s: &TestServer) -> usize {
    std::fs::read_dir(format!("/proc/{}/fd", s.pid()))
        .expect("the server's fd directory")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_sent_request_is_closed_after_the_header_read_timeout() {
    let s = server("header_read_timeout_seconds = 1\nidle_timeout_seconds = 30\n").await;
    let mut half = connect(&s).await;
    half.write_all(b"GET /v2/lbaas/loadbalancers HTTP/1.1\r\nhost: ful")
        .await
        .unwrap();
    let mut silent = connect(&s).await;
    let (took, sent) = closed_after(&mut half).await;
    assert!(
        took >= Duration::from_millis(800),
        "closed too early: {took:?}"
    );
    assert!(sent.is_empty(), "{}", String::from_utf8_lossy(&sent));
    closed_after(&mut silent).await;
    // The server itself is unharmed.
    s.get("/v2/lbaas/loadbalancers").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_alive_connection_is_served_until_the_idle_timeout_then_closed() {
    let s = server("header_read_timeout_seconds = 1\nidle_timeout_seconds = 3\n").await;
    let mut kept = connect(&s).await;
    kept.write_all(GET).await.unwrap();
    assert_eq!(response(&mut kept).await.0, 200);
    // Idle for longer than the header-read timeout: the idle timeout applies, not that one.
    tokio::time::sleep(Duration::from_millis(1800)).await;
    kept.write_all(GET).await.unwrap();
    assert_eq!(response(&mut kept).await.0, 200);
    let (took, _) = closed_after(&mut kept).await;
    assert!(
        took >= Duration::from_millis(2500),
        "closed too early: {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_sent_too_slowly_gets_408_and_the_connection_closes() {
    let s = server("header_read_timeout_seconds = 5\nbody_read_timeout_seconds = 1\n").await;
    let mut slow = connect(&s).await;
    slow.write_all(
        b"POST /v2/lbaas/loadbalancers HTTP/1.1\r\nhost: fulcrum\r\n\
          content-type: application/json\r\ncontent-length: 100\r\n\r\n{\"loadbalancer\": ",
    )
    .await
    .unwrap();
    let (status, body) = response(&mut slow).await;
    assert_eq!(status, 408, "{body}");
    let fault: serde_json::Value = serde_json::from_str(&body).expect("a fault body");
    assert_eq!(fault["faultcode"], "Client", "{body}");
    closed_after(&mut slow).await;
    assert_eq!(
        s.get("/v2/lbaas/loadbalancers").await["loadbalancers"],
        serde_json::json!([]),
        "nothing was created"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_limit_clients_wait_and_accepted_connections_are_served() {
    const LIMIT: usize = 20;
    let s = server(&format!(
        "header_read_timeout_seconds = 1\nidle_timeout_seconds = 30\nmax_connections = {LIMIT}\n"
    ))
    .await;
    // One client with a kept-alive connection, then enough half-sent requests to fill every
    // other slot, then far more connections than the limit.
    let mut kept = connect(&s).await;
    kept.write_all(GET).await.unwrap();
    assert_eq!(response(&mut kept).await.0, 200);
    let before = open_files(&s);
    let mut slow = Vec::new();
    for _ in 1..LIMIT {
        let mut c = connect(&s).await;
        c.write_all(b"GET /v2/lbaas/loadbalancers HTTP/1.1\r\n")
            .await
            .unwrap();
        slow.push(c);
    }
    let mut waiting = Vec::new();
    for _ in 0..200 {
        waiting.push(connect(&s).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let held = open_files(&s) - before;
    assert!(
        held <= LIMIT,
        "{held} more descriptors for {} connections with room for {LIMIT}",
        slow.len() + waiting.len()
    );

    // The accepted connection is still served while others wait.
    kept.write_all(GET).await.unwrap();
    assert_eq!(response(&mut kept).await.0, 200);

    // A new client gets its answer once the slow ones have timed out.
    drop(waiting);
    let client = reqwest::Client::builder()
        .timeout(PATIENCE)
        .build()
        .unwrap();
    let answer = client
        .get(format!("{}/v2/lbaas/loadbalancers", s.base))
        .send()
        .await
        .expect("an answer once a slot is free");
    assert_eq!(answer.status(), 200);
    for mut c in slow {
        closed_after(&mut c).await;
    }
}
