//! Many requests at once against a slow or hung Keystone (a fake one in this process): they are
//! answered together within about one timeout (503, as keystonemiddleware answers when it cannot
//! reach Keystone), not one after another; Fulcrum asks for its service token once, validates a
//! token once however many requests carry it, and keeps to its bound of validations at once.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Db, Options, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const LBS: &str = "/v2/lbaas/loadbalancers";
/// Requests sent at once.
const CLIENTS: usize = 20;
/// Fulcrum's `timeout_seconds` in these tests.
const TIMEOUT: Duration = Duration::from_secs(1);
/// Longest any request may take: a few timeouts, far from the `CLIENTS` timeouts of requests
/// answered one after another.
const BOUND: Duration = Duration::from_secs(5);

/// How the fake Keystone answers.
#[derive(Clone, Copy)]
enum Behaviour {
    /// It never answers.
    Hangs,
    /// It issues service tokens, and never answers a validation.
    HangsOnValidations,
    /// It issues service tokens, and validates every token after this delay.
    ValidatesAfter(Duration),
}

/// What the fake Keystone has been asked.
#[derive(Default)]
struct Asked {
    service_tokens: AtomicUsize,
    validations: AtomicUsize,
    validations_open: AtomicUsize,
    most_validations_open: AtomicUsize,
    /// When each validation request arrived.
    validation_starts: std::sync::Mutex<Vec<Instant>>,
}

/// A Keystone v3 that answers as told, on a port of its own.
struct FakeKeystone {
    url: String,
    asked: Arc<Asked>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeKeystone {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeKeystone {
    async fn start(behaviour: Behaviour) -> FakeKeystone {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v3", listener.local_addr().unwrap());
        let asked = Arc::new(Asked::default());
        let shared = asked.clone();
        let server = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                connections.spawn(answer(stream, behaviour, shared.clone()));
            }
        });
        FakeKeystone { url, asked, server }
    }

    fn toml(&self, max_concurrent_validations: usize) -> String {
        format!(
            "[auth]\nstrategy = \"keystone\"\n[auth.keystone]\nauth_url = \"{}\"\n\
             username = \"fulcrum\"\npassword = \"secret\"\nproject_name = \"service\"\n\
             timeout_seconds = {}\nmax_concurrent_validations = {max_concurrent_validations}\n",
            self.url,
            TIMEOUT.as_secs()
        )
    }

    fn service_tokens(&self) -> usize {
        self.asked.service_tokens.load(Ordering::SeqCst)
    }

    fn validations(&self) -> usize {
        self.asked.validations.load(Ordering::SeqCst)
    }
}

/// Counts a validation open until dropped.
struct Open(Arc<Asked>);

impl Open {
    fn new(asked: Arc<Asked>) -> Open {
        let now = asked.validations_open.fetch_add(1, Ordering::SeqCst) + 1;
        asked.most_validations_open.fetch_max(now, Ordering::SeqCst);
        Open(asked)
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.validations_open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Answer the requests of one connection.
async fn answer(mut stream: TcpStream, behaviour: Behaviour, asked: Arc<Asked>) {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let head_end = bytes.windows(4).position(|w| w == b"\r\n\r\n");
        let Some(head_end) = head_end else {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => bytes.extend_from_slice(&buf[..n]),
            }
            continue;
        };
        let head = String::from_utf8_lossy(&bytes[..head_end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map_or(0, |v| v.trim().parse().unwrap_or(0));
        while bytes.len() < head_end + 4 + length {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => bytes.extend_from_slice(&buf[..n]),
            }
        }
        bytes.drain(..head_end + 4 + length);
        let reply = if head.starts_with("post /v3/auth/tokens") {
            asked.service_tokens.fetch_add(1, Ordering::SeqCst);
            if let Behaviour::Hangs = behaviour {
                hang(&mut stream).await;
                return;
            }
            token_reply(201, "fulcrum-service-token")
        } else if head.starts_with("get /v3/auth/tokens") {
            asked.validations.fetch_add(1, Ordering::SeqCst);
            asked.validation_starts.lock().unwrap().push(Instant::now());
            let _open = Open::new(asked.clone());
            match behaviour {
                Behaviour::Hangs | Behaviour::HangsOnValidations => {
                    hang(&mut stream).await;
                    return;
                }
                Behaviour::ValidatesAfter(delay) => tokio::time::sleep(delay).await,
            }
            token_reply(200, "")
        } else {
            "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n".to_string()
        };
        if stream.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Never answer; return once the client gives up.
async fn hang(stream: &mut TcpStream) {
    let mut buf = [0u8; 64];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            return;
        }
    }
}

/// A token body for an administrator of project `p1`, with `subject` as X-Subject-Token.
fn token_reply(status: u16, subject: &str) -> String {
    let body = serde_json::json!({"token": {
        "expires_at": "2999-01-01T00:00:00.000000Z",
        "user": {"id": "u1", "name": "someone"},
        "project": {"id": "p1", "name": "project"},
        "roles": [{"id": "r1", "name": "admin"}],
    }})
    .to_string();
    format!(
        "HTTP/1.1 {status} OK\r\ncontent-type: application/json\r\nx-subject-token: {subject}\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    )
}

async fn fulcrum(keystone: &FakeKeystone, max_concurrent_validations: usize) -> TestServer {
    TestServer::start_with(
        Db::Sqlite,
        Options {
            extra_toml: keystone.toml(max_concurrent_validations),
            ..Options::default()
        },
    )
    .await
}

/// Send `CLIENTS` list requests at once, the i-th with `token(i)`; each one's status and time.
async fn at_once(s: &TestServer, token: impl Fn(usize) -> String) -> Vec<(u16, Duration)> {
    let started = Instant::now();
    let requests: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let request = s
                .http
                .get(format!("{}{LBS}", s.base))
                .header("X-Auth-Token", token(i))
                .timeout(Duration::from_secs(60));
            tokio::spawn(async move {
                let status = request.send().await.expect("an answer").status().as_u16();
                (status, started.elapsed())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for request in requests {
        answers.push(request.await.unwrap());
    }
    answers
}

#[track_caller]
fn assert_all(answers: &[(u16, Duration)], status: u16) {
    assert!(
        answers.iter().all(|&(s, took)| s == status && took < BOUND),
        "expected every request to get {status} within {BOUND:?}: {answers:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_keystone_answers_every_request_within_a_timeout_with_one_service_token_request() {
    let keystone = FakeKeystone::start(Behaviour::Hangs).await;
    let s = fulcrum(&keystone, 32).await;
    let answers = at_once(&s, |i| format!("token-{i}")).await;
    assert_all(&answers, 503);
    assert_eq!(keystone.service_tokens(), 1, "service token requests");
    assert_eq!(keystone.validations(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validations_of_different_tokens_run_together_within_their_bound() {
    const BOUND_OF_VALIDATIONS: usize = 4;
    let keystone = FakeKeystone::start(Behaviour::HangsOnValidations).await;
    let s = fulcrum(&keystone, BOUND_OF_VALIDATIONS).await;
    let answers = at_once(&s, |i| format!("token-{i}")).await;
    assert_all(&answers, 503);
    assert_eq!(keystone.service_tokens(), 1, "service token requests");
    // Before the first validation can have been given up (half a timeout after it began), no
    // more than the bound have begun. (Counting open connections instead races with the fake
    // noticing that a given-up validation's connection closed.)
    let starts = keystone.asked.validation_starts.lock().unwrap().clone();
    let first = *starts.iter().min().expect("validations were sent");
    let early = starts.iter().filter(|t| **t - first < TIMEOUT / 2).count();
    assert!(
        (1..=BOUND_OF_VALIDATIONS).contains(&early),
        "{early} validations began within {:?} of the first",
        TIMEOUT / 2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_with_the_same_token_share_one_validation() {
    let keystone = FakeKeystone::start(Behaviour::ValidatesAfter(Duration::from_millis(500))).await;
    let s = fulcrum(&keystone, 32).await;
    let answers = at_once(&s, |_| "one-token".to_string()).await;
    assert_all(&answers, 200);
    assert_eq!(keystone.validations(), 1, "validations of one token");
    assert_eq!(keystone.service_tokens(), 1, "service token requests");
    // Different tokens are validated each once, together.
    let answers = at_once(&s, |i| format!("token-{i}")).await;
    assert_all(&answers, 200);
    assert_eq!(keystone.validations(), 1 + CLIENTS);
    let most = keystone.asked.most_validations_open.load(Ordering::SeqCst);
    assert!(
        most > 1,
        "validations of different tokens ran one at a time"
    );
    assert_eq!(keystone.service_tokens(), 1, "service token requests");
}
