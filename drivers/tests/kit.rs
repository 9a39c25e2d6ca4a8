//! The driver kit against real servers on 127.0.0.1: a plain HTTP server scripted per
//! connection (throttling, failing, resetting, hanging, refusing), and a TLS server with a
//! private CA and optional client certificates.
//!
//! Waits are real but short (a `Retry-After: 1` is the longest); timing is asserted only by
//! bounds that a slow machine cannot break: the server never sees a request before its due
//! time, and never more requests in a window than the rate limit lets through.

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fulcrum_core::driver::{DriverError, DriverErrorKind};
use fulcrum_drivers::kit::{HttpClient, HttpClientBuilder, RateLimit, RetryPolicy, TokenBucket};
use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// ---------------------------------------------------------------------------------------------
// A scripted HTTP server.

/// What the server does with one connection.
#[derive(Debug, Clone)]
enum Reply {
    /// Answer with a status, extra headers and a body, then close.
    Answer(u16, Vec<(&'static str, &'static str)>, &'static str),
    /// Read the request, then reset the connection without answering.
    Reset,
    /// Read the request and never answer (until the client goes away).
    Hang,
}

fn ok() -> Reply {
    Reply::Answer(200, vec![], r#"{"ok": true}"#)
}

fn status(code: u16, body: &'static str) -> Reply {
    Reply::Answer(code, vec![], body)
}

/// A server on 127.0.0.1:0 that replies to its n-th connection with the n-th reply of its
/// script, and with `then` once the script is used up; it records when each request arrived.
struct Server {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Instant>>>,
}

impl Server {
    async fn start(script: Vec<Reply>, then: Reply) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        tokio::spawn(async move {
            let mut replies = script.into_iter();
            while let Ok((stream, _)) = listener.accept().await {
                let reply = replies.next().unwrap_or_else(|| then.clone());
                tokio::spawn(serve(stream, reply, record.clone()));
            }
        });
        Server { addr, seen }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn requests(&self) -> Vec<Instant> {
        self.seen.lock().unwrap().clone()
    }
}

async fn serve(mut stream: TcpStream, reply: Reply, seen: Arc<Mutex<Vec<Instant>>>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    seen.lock().unwrap().push(Instant::now());
    match reply {
        Reply::Answer(code, headers, body) => {
            let mut response = format!(
                "HTTP/1.1 {code} Scripted\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                response.push_str(&format!("{name}: {value}\r\n"));
            }
            response.push_str("\r\n");
            response.push_str(body);
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
        Reply::Reset => {
            let _ = stream.set_zero_linger();
            drop(stream);
        }
        Reply::Hang => while stream.read(&mut buf).await.is_ok_and(|n| n > 0) {},
    }
}

/// A client of `url` that gives up on a request after 300 ms.
fn client(url: &str) -> HttpClient {
    HttpClientBuilder::new(url)
        .connect_timeout(Duration::from_secs(2))
        .request_timeout(Duration::from_millis(300))
        .build()
        .unwrap()
}

/// One GET of `/thing`, its JSON answer read.
async fn get(client: &HttpClient) -> Result<serde_json::Value, DriverError> {
    client
        .send_json(client.request(Method::GET, "/thing")?)
        .await
}

/// Short delays, so that only the backend's hints take real time.
fn policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        base: Duration::from_millis(20),
        cap: Duration::from_millis(100),
        max_attempts: Some(max_attempts),
        max_elapsed: Some(Duration::from_secs(10)),
    }
}

// ---------------------------------------------------------------------------------------------
// Classification, retry and back-off.

#[tokio::test]
async fn every_kind_of_failure_is_classified() {
    let server = Server::start(
        vec![
            Reply::Answer(429, vec![("Retry-After", "1")], ""),
            status(503, "<html>Service Unavailable</html>"),
            Reply::Reset,
            Reply::Hang,
            status(400, r#"{"error_message": "Port 70000 is out of range."}"#),
            status(401, r#"{"message": "Bad credentials."}"#),
            status(404, ""),
            status(412, ""),
            status(200, "not json"),
        ],
        ok(),
    )
    .await;
    let client = client(&server.url());
    let transient = |retry_after| DriverErrorKind::Transient { retry_after };
    // Kind, message for the user, and a part of the source chain for the operator.
    let expected = [
        (
            transient(Some(Duration::from_secs(1))),
            "The backend is limiting the rate of requests (HTTP 429)",
            "/thing answered 429 Too Many Requests",
        ),
        (
            transient(None),
            "The backend failed to handle the request (HTTP 503): <html>Service Unavailable</html>",
            "answered 503 Service Unavailable: <html>",
        ),
        (
            transient(None),
            "The connection to the backend failed before it answered.",
            "reset by peer",
        ),
        (
            transient(None),
            "The backend did not answer in time.",
            "timed out",
        ),
        (
            DriverErrorKind::Rejected,
            "The backend rejected the request (HTTP 400): Port 70000 is out of range.",
            "answered 400 Bad Request: Port 70000",
        ),
        (
            DriverErrorKind::Authentication,
            "The backend refused Fulcrum's credentials (HTTP 401): Bad credentials.",
            "answered 401 Unauthorized",
        ),
        (
            DriverErrorKind::NotFound,
            "The backend does not have the object (HTTP 404)",
            "answered 404 Not Found",
        ),
        (
            DriverErrorKind::Conflict,
            "The backend holds a conflicting object (HTTP 412)",
            "answered 412 Precondition Failed",
        ),
        (
            DriverErrorKind::Rejected,
            "The backend's answer is not what Fulcrum expects: expected ident at line 1 column 2",
            "expected ident",
        ),
    ];
    for (kind, message, source) in expected {
        let e = get(&client).await.unwrap_err();
        assert_eq!((e.kind(), e.message()), (kind, message));
        let chain = error_chain(&e);
        let sources = chain.split_once('\n').map_or("", |(_, rest)| rest);
        assert!(sources.contains(source), "{chain}");
    }
    assert_eq!(get(&client).await.unwrap(), serde_json::json!({"ok": true}));

    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let e = get(&self::client(&url)).await.unwrap_err();
    assert_eq!(
        (e.kind(), e.message()),
        (transient(None), "The backend cannot be reached.")
    );
}

#[tokio::test]
async fn retries_ride_out_throttling_failures_resets_and_hangs() {
    let server = Server::start(
        vec![
            Reply::Answer(429, vec![("Retry-After", "1")], "slow down"),
            status(503, ""),
            Reply::Reset,
            Reply::Hang,
        ],
        ok(),
    )
    .await;
    let client = client(&server.url());
    let got = fulcrum_drivers::kit::retry(&policy(6), || get(&client)).await;
    assert_eq!(got.unwrap(), serde_json::json!({"ok": true}));
    let seen = server.requests();
    assert_eq!(seen.len(), 5, "one call per failure, then the success");
    assert!(
        seen[1] - seen[0] >= Duration::from_secs(1),
        "the retry came {:?} after a Retry-After of 1 s",
        seen[1] - seen[0]
    );
}

#[tokio::test]
async fn retries_give_up_after_max_attempts_with_a_transient_error() {
    let server = Server::start(vec![], status(503, "maintenance")).await;
    let client = client(&server.url());
    let e = fulcrum_drivers::kit::retry(&policy(3), || get(&client))
        .await
        .unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert_eq!(
        e.message(),
        "The backend failed to handle the request (HTTP 503): maintenance"
    );
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn refusals_are_not_retried() {
    for (reply, kind) in [
        (
            status(400, r#"{"message": "no"}"#),
            DriverErrorKind::Rejected,
        ),
        (status(401, ""), DriverErrorKind::Authentication),
    ] {
        let server = Server::start(vec![], reply).await;
        let client = client(&server.url());
        let e = fulcrum_drivers::kit::retry(&policy(5), || get(&client))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), kind);
        assert_eq!(server.requests().len(), 1, "{kind:?} was retried");
    }
}

// ---------------------------------------------------------------------------------------------
// Rate limiting.

#[tokio::test]
async fn the_rate_limit_spaces_requests() {
    let server = Server::start(vec![], ok()).await;
    let limit = RateLimit {
        per_second: 10.0,
        burst: 2,
    };
    let bucket = Arc::new(TokenBucket::new(limit).unwrap());
    let client = HttpClientBuilder::new(server.url())
        .rate_limit(bucket)
        .build()
        .unwrap();
    let start = Instant::now();
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { get(&client).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    let seen = server.requests();
    assert_eq!(seen.len(), 8);
    // By time t, no more than burst + rate · t requests can have left.
    let early = seen
        .iter()
        .filter(|t| **t - start <= Duration::from_millis(250))
        .count();
    assert!(early <= 4, "{early} requests within 250 ms");
    let last = seen.iter().max().unwrap();
    assert!(
        *last - start >= Duration::from_millis(600),
        "8 requests at 10/s with a burst of 2 took only {:?}",
        *last - start
    );
}

// ---------------------------------------------------------------------------------------------
// TLS: a private CA, mutual TLS, insecure mode.

mod pki {
    use openssl::asn1::Asn1Time;
    use openssl::bn::BigNum;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::{PKey, Private};
    use openssl::x509::extension::{
        BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    };
    use openssl::x509::{X509, X509NameBuilder};

    /// A certificate and its key.
    pub struct Issued {
        pub cert: X509,
        pub key: PKey<Private>,
    }

    /// What a certificate is for.
    pub enum Role {
        Ca,
        Server,
        Client,
    }

    /// A P-256 certificate for `cn`, signed by `issuer` (self-signed without one).
    pub fn issue(cn: &str, role: Role, issuer: Option<&Issued>) -> Issued {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", cn).unwrap();
        let name = name.build();
        let mut b = X509::builder().unwrap();
        b.set_version(2).unwrap();
        let serial = BigNum::from_u32(fastrand::u32(1..i32::MAX as u32))
            .unwrap()
            .to_asn1_integer();
        b.set_serial_number(&serial.unwrap()).unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(issuer.map_or(&name, |i| i.cert.subject_name()))
            .unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::days_from_now(2).unwrap())
            .unwrap();
        match role {
            Role::Ca => {
                b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
                    .unwrap();
                let usage = KeyUsage::new().critical().key_cert_sign().build().unwrap();
                b.append_extension(usage).unwrap();
            }
            Role::Server => {
                let san = SubjectAlternativeName::new()
                    .ip("127.0.0.1")
                    .dns("localhost")
                    .build(&b.x509v3_context(issuer.map(|i| i.cert.as_ref()), None))
                    .unwrap();
                b.append_extension(san).unwrap();
                let eku = ExtendedKeyUsage::new().server_auth().build().unwrap();
                b.append_extension(eku).unwrap();
            }
            Role::Client => {
                let eku = ExtendedKeyUsage::new().client_auth().build().unwrap();
                b.append_extension(eku).unwrap();
            }
        }
        let signer = issuer.map_or(&key, |i| &i.key);
        b.sign(signer, MessageDigest::sha256()).unwrap();
        Issued {
            cert: b.build(),
            key,
        }
    }
}

use pki::{Issued, Role, issue};

/// A TLS server on 127.0.0.1:0 (a thread per test) that answers every request with the common
/// name of the client certificate it was shown, or `none`; with `client_ca`, it demands a
/// client certificate signed by it.
fn tls_server(server: &Issued, client_ca: Option<&Issued>) -> SocketAddr {
    use openssl::ssl::{SslAcceptor, SslMethod, SslVerifyMode};

    let mut acceptor = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).unwrap();
    acceptor.set_private_key(&server.key).unwrap();
    acceptor.set_certificate(&server.cert).unwrap();
    if let Some(ca) = client_ca {
        acceptor.cert_store_mut().add_cert(ca.cert.clone()).unwrap();
        acceptor.set_verify(SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT);
    }
    let acceptor = acceptor.build();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let Ok(mut tls) = acceptor.accept(stream) else {
                continue;
            };
            let cn = tls
                .ssl()
                .peer_certificate()
                .and_then(|c| {
                    let entry = c.subject_name().entries().next()?;
                    entry.data().to_string().ok()
                })
                .unwrap_or_else(|| "none".into());
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match tls.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let body = format!(r#"{{"client": "{cn}"}}"#);
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = tls.write_all(response.as_bytes());
            let _ = tls.shutdown();
        }
    });
    addr
}

/// PEM files of the test PKI in a temporary directory.
struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Self {
        Files {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn write(&self, name: &str, pem: Vec<u8>) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, pem).unwrap();
        path
    }

    fn cert(&self, name: &str, issued: &Issued) -> PathBuf {
        self.write(name, issued.cert.to_pem().unwrap())
    }

    fn key(&self, name: &str, issued: &Issued) -> PathBuf {
        self.write(name, issued.key.private_key_to_pem_pkcs8().unwrap())
    }
}

fn https(addr: SocketAddr) -> HttpClientBuilder {
    HttpClientBuilder::new(format!("https://{addr}")).request_timeout(Duration::from_secs(5))
}

async fn client_name(client: &HttpClient) -> Result<String, DriverError> {
    let answer = get(client).await?;
    Ok(answer["client"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn a_ca_bundle_is_the_trust_anchor() {
    let ca = issue("Fulcrum Test CA", Role::Ca, None);
    let other_ca = issue("Someone Else", Role::Ca, None);
    let server = issue("backend", Role::Server, Some(&ca));
    let addr = tls_server(&server, None);
    let files = Files::new();
    let bundle = files.write(
        "bundle.pem",
        [other_ca.cert.to_pem().unwrap(), ca.cert.to_pem().unwrap()].concat(),
    );

    let trusted = https(addr).ca_bundle(&bundle).build().unwrap();
    assert_eq!(client_name(&trusted).await.unwrap(), "none");

    let untrusted = https(addr)
        .ca_bundle(files.cert("other.pem", &other_ca))
        .build()
        .unwrap();
    let e = client_name(&untrusted).await.unwrap_err();
    assert_eq!(e.message(), "The backend cannot be reached.");
    let chain = error_chain(&e);
    assert!(chain.contains("certificate verify failed"), "{chain}");

    let system_roots = https(addr).build().unwrap();
    assert!(client_name(&system_roots).await.is_err());

    let insecure = https(addr).insecure(true).build().unwrap();
    assert_eq!(client_name(&insecure).await.unwrap(), "none");
}

#[tokio::test]
async fn mutual_tls_presents_the_client_certificate() {
    let ca = issue("Fulcrum Test CA", Role::Ca, None);
    let server = issue("backend", Role::Server, Some(&ca));
    let fulcrum = issue("fulcrum-driver", Role::Client, Some(&ca));
    let addr = tls_server(&server, Some(&ca));
    let files = Files::new();
    let bundle = files.cert("ca.pem", &ca);
    let cert = files.cert("client.pem", &fulcrum);
    let key = files.key("client.key", &fulcrum);

    let with_identity = https(addr)
        .ca_bundle(&bundle)
        .client_certificate(&cert, &key)
        .build()
        .unwrap();
    assert_eq!(client_name(&with_identity).await.unwrap(), "fulcrum-driver");

    let without = https(addr).ca_bundle(&bundle).build().unwrap();
    assert!(client_name(&without).await.unwrap_err().is_transient());

    let traditional = files.write(
        "client-ec.key",
        fulcrum.key.ec_key().unwrap().private_key_to_pem().unwrap(),
    );
    let e = https(addr)
        .client_certificate(&cert, &traditional)
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), DriverErrorKind::InvalidConfiguration);
    assert!(e.message().contains("PKCS#8"), "{e}");

    let stranger = issue("stranger", Role::Client, None);
    let mismatched = files.key("stranger.key", &stranger);
    let e = https(addr)
        .client_certificate(&cert, &mismatched)
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), DriverErrorKind::InvalidConfiguration, "{e}");
    assert!(e.message().contains(&*cert.to_string_lossy()), "{e}");
}

/// An error and its sources, one per line.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(&format!("\n  {s}"));
        source = s.source();
    }
    out
}
