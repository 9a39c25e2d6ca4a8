//! The HAProxy driver with real HAProxy processes and real backend servers on loopback.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::sync::{after_full_syncs, applies};
use common::{Db, Options, TestServer, assert_fault};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An HTTP backend that answers with its name; `/health` fails while `healthy` is false.
struct Backend {
    addr: SocketAddr,
    healthy: Arc<AtomicBool>,
}

async fn backend(name: &'static str) -> Backend {
    let healthy = Arc::new(AtomicBool::new(true));
    let flag = healthy.clone();
    let app = axum::Router::new()
        .route(
            "/health",
            axum::routing::get(move || {
                let flag = flag.clone();
                async move {
                    if flag.load(Ordering::Relaxed) {
                        (axum::http::StatusCode::OK, "ok")
                    } else {
                        (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "sick")
                    }
                }
            }),
        )
        .fallback(move || async move { name });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Backend { addr, healthy }
}

/// A TCP echo backend.
async fn echo_backend() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                while let Ok(n) = sock.read(&mut buf).await {
                    if n == 0 || sock.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether a process has exited (a zombie nobody reaped counts as exited).
fn process_gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state == "Z" || state == "X"),
        Err(_) => true,
    }
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

async fn start(db: Db) -> TestServer {
    TestServer::start_with(
        db,
        Options {
            default_provider: "haproxy",
            ..Default::default()
        },
    )
    .await
}

/// A load balancer with one listener and one pool of `members`.
struct Lb {
    id: String,
    url: String,
    vip: String,
    port: u16,
    listener: String,
    pool: String,
}

async fn http_lb(s: &TestServer, protocol: &str, pool: Value, members: &[SocketAddr]) -> Lb {
    let lb = s.active_lb("h").await;
    let lb_id = id(&lb);
    let vip = lb["vip_address"].as_str().unwrap().to_string();
    let port = free_port();
    let listener = s
        .create(
            "/v2/lbaas/listeners",
            "listener",
            json!({"loadbalancer_id": lb_id, "protocol": protocol, "protocol_port": port}),
        )
        .await;
    s.settle(&lb_id).await;
    let mut pool = pool;
    pool["listener_id"] = json!(id(&listener));
    let pool = s.create("/v2/lbaas/pools", "pool", pool).await;
    s.settle(&lb_id).await;
    for m in members {
        s.create(
            &format!("/v2/lbaas/pools/{}/members", id(&pool)),
            "member",
            json!({"address": m.ip().to_string(), "protocol_port": m.port()}),
        )
        .await;
        s.settle(&lb_id).await;
    }
    Lb {
        url: format!("http://{vip}:{port}"),
        id: lb_id,
        vip,
        port,
        listener: id(&listener),
        pool: id(&pool),
    }
}

fn rr_pool() -> Value {
    json!({"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"})
}

async fn hits(url: &str, n: usize) -> HashMap<String, usize> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut out = HashMap::new();
    for _ in 0..n {
        let resp = http.get(url).send().await.expect("request through the LB");
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap();
        *out.entry(if status == 200 {
            body
        } else {
            format!("status {status}")
        })
        .or_default() += 1;
    }
    out
}

async fn member_status(s: &TestServer, pool: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v = s.get(&format!("/v2/lbaas/pools/{pool}/members")).await;
        let statuses: Vec<&str> = v["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["operating_status"].as_str().unwrap())
            .collect();
        if statuses.contains(&want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no member became {want}: {statuses:?}\n{}",
            s.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn round_robin_and_health(db: Db) {
    let s = start(db).await;
    let (a, b) = (backend("a").await, backend("b").await);
    let lb = http_lb(&s, "HTTP", rr_pool(), &[a.addr, b.addr]).await;
    let spread = hits(&lb.url, 10).await;
    assert_eq!(spread.get("a"), Some(&5), "{spread:?}");
    assert_eq!(spread.get("b"), Some(&5), "{spread:?}");

    s.create(
        "/v2/lbaas/healthmonitors",
        "healthmonitor",
        json!({"pool_id": lb.pool, "type": "HTTP", "delay": 1, "timeout": 1, "max_retries": 1,
               "max_retries_down": 1, "url_path": "/health"}),
    )
    .await;
    s.settle(&lb.id).await;
    member_status(&s, &lb.pool, "ONLINE").await;
    b.healthy.store(false, Ordering::Relaxed);
    member_status(&s, &lb.pool, "ERROR").await;
    let spread = hits(&lb.url, 6).await;
    assert_eq!(
        spread.get("a"),
        Some(&6),
        "a failing member gets no traffic: {spread:?}"
    );
    let pool = s.get(&format!("/v2/lbaas/pools/{}", lb.pool)).await;
    assert_eq!(pool["pool"]["operating_status"], "DEGRADED");
    assert!(s.log().contains("member down"), "the change is reported");
    b.healthy.store(true, Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v = s.get(&format!("/v2/lbaas/pools/{}/members", lb.pool)).await;
        if v["members"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["operating_status"] == "ONLINE")
        {
            break;
        }
        assert!(Instant::now() < deadline, "member never came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(hits(&lb.url, 4).await.get("b"), Some(&2));

    // Counters are read from HAProxy on every observation round.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let stats = s
            .get(&format!("/v2/lbaas/listeners/{}/stats", lb.listener))
            .await;
        let total = stats["stats"]["total_connections"].as_i64().unwrap();
        if total >= 20 {
            assert!(stats["stats"]["bytes_out"].as_i64().unwrap() > 0, "{stats}");
            let lb_stats = s
                .get(&format!("/v2/lbaas/loadbalancers/{}/stats", lb.id))
                .await;
            assert!(lb_stats["stats"]["total_connections"].as_i64().unwrap() >= 20);
            break;
        }
        assert!(Instant::now() < deadline, "counters never moved: {stats}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn draining_and_persistence(db: Db) {
    let s = start(db).await;
    let (a, b) = (backend("a").await, backend("b").await);
    let lb = http_lb(
        &s,
        "HTTP",
        json!({"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN", "session_persistence": {"type": "HTTP_COOKIE"}}),
        &[a.addr, b.addr],
    )
    .await;
    // Cookie persistence keeps one client on one member.
    let http = reqwest::Client::new();
    let first = http.get(&lb.url).send().await.unwrap();
    let cookie = first.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let who = first.text().await.unwrap();
    for _ in 0..6 {
        let body = http
            .get(&lb.url)
            .header("Cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(body, who, "the cookie pins the client");
    }
    // Weight 0 drains a member; admin_state_up=false takes it out.
    let members = s.get(&format!("/v2/lbaas/pools/{}/members", lb.pool)).await;
    let member_b = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["protocol_port"] == b.addr.port())
        .unwrap()
        .clone();
    let path = format!("/v2/lbaas/pools/{}/members/{}", lb.pool, id(&member_b));
    assert_eq!(
        s.call("PUT", &path, Some(json!({"member": {"weight": 0}})))
            .await
            .0,
        200
    );
    s.settle(&lb.id).await;
    assert_eq!(hits(&lb.url, 6).await.get("a"), Some(&6));
    assert_eq!(
        s.call(
            "PUT",
            &path,
            Some(json!({"member": {"weight": 1, "admin_state_up": false}}))
        )
        .await
        .0,
        200
    );
    s.settle(&lb.id).await;
    assert_eq!(hits(&lb.url, 6).await.get("a"), Some(&6));
    assert_eq!(
        s.call(
            "PUT",
            &path,
            Some(json!({"member": {"admin_state_up": true}}))
        )
        .await
        .0,
        200
    );
    s.settle(&lb.id).await;
    assert_eq!(hits(&lb.url, 6).await.get("b"), Some(&3));
}

/// Send one command to a runtime API socket of a load balancer's HAProxy (`master.sock` or
/// `stats.sock`) and read the whole answer.
async fn runtime(s: &TestServer, lb: &str, socket: &str, command: &str) -> std::io::Result<String> {
    let path = s.dir().join("haproxy").join(lb).join(socket);
    let mut stream = tokio::net::UnixStream::connect(&path).await?;
    stream.write_all(format!("{command}\n").as_bytes()).await?;
    stream.shutdown().await?;
    let mut out = String::new();
    stream.read_to_string(&mut out).await?;
    Ok(out)
}

/// The pids of the current workers of a load balancer's HAProxy (a reload replaces them). Right
/// after a reload the master may be busy and list none for a moment.
async fn workers(s: &TestServer, lb: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let procs = runtime(s, lb, "master.sock", "show proc")
            .await
            .unwrap_or_default();
        let pids: Vec<String> = procs
            .lines()
            .take_while(|l| !l.starts_with("# old workers"))
            .filter(|l| l.split_whitespace().nth(1) == Some("worker"))
            .map(|l| l.split_whitespace().next().unwrap().to_string())
            .collect();
        if !pids.is_empty() || Instant::now() > deadline {
            return pids;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The member with `port` in the pool.
async fn member_on(s: &TestServer, pool: &str, port: u16) -> String {
    let members = s.get(&format!("/v2/lbaas/pools/{pool}/members")).await;
    let member = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["protocol_port"] == port)
        .unwrap();
    id(member)
}

/// Update a member of the load balancer's pool and wait until it is applied.
async fn update_member(s: &TestServer, lb: &Lb, member: &str, body: Value) {
    let path = format!("/v2/lbaas/pools/{}/members/{member}", lb.pool);
    let updated = s.call("PUT", &path, Some(json!({"member": body}))).await;
    assert_eq!(updated.0, 200);
    s.settle(&lb.id).await;
}

async fn member_changes_through_the_runtime_api(db: Db) {
    let s = start(db).await;
    let (a, b, c) = (backend("a").await, backend("b").await, backend("c").await);
    let lb = http_lb(&s, "HTTP", rr_pool(), &[a.addr, b.addr]).await;
    let running = workers(&s, &lb.id).await;
    assert_eq!(running.len(), 1, "{running:?}");
    let (member_a, member_b) = (
        member_on(&s, &lb.pool, a.addr.port()).await,
        member_on(&s, &lb.pool, b.addr.port()).await,
    );
    let members = format!("/v2/lbaas/pools/{}/members", lb.pool);
    // A weight: a takes three requests for each of b's.
    update_member(&s, &lb, &member_a, json!({"weight": 3})).await;
    let spread = hits(&lb.url, 40).await;
    let (to_a, to_b) = (spread["a"], spread["b"]);
    assert!(to_a + to_b == 40 && (25..=35).contains(&to_a), "{spread:?}");
    assert_eq!(workers(&s, &lb.id).await, running, "no reload for a weight");

    // A disabled member gets no traffic.
    update_member(&s, &lb, &member_b, json!({"admin_state_up": false})).await;
    assert_eq!(hits(&lb.url, 6).await.get("a"), Some(&6));
    assert_eq!(
        workers(&s, &lb.id).await,
        running,
        "no reload for a disabled member"
    );

    // An added member gets traffic.
    s.create(
        &members,
        "member",
        json!({"address": "127.0.0.1", "protocol_port": c.addr.port()}),
    )
    .await;
    s.settle(&lb.id).await;
    let spread = hits(&lb.url, 8).await;
    assert!((1..=3).contains(&spread["c"]), "{spread:?}");
    assert_eq!(spread["a"] + spread["c"], 8, "{spread:?}");
    assert_eq!(
        workers(&s, &lb.id).await,
        running,
        "no reload for a new member"
    );

    // A removed member gets none, and its server is gone.
    assert_eq!(
        s.call("DELETE", &format!("{members}/{member_a}"), None)
            .await
            .0,
        204
    );
    s.settle(&lb.id).await;
    assert_eq!(hits(&lb.url, 6).await.get("c"), Some(&6));
    let state = runtime(
        &s,
        &lb.id,
        "stats.sock",
        &format!("show servers state {}", lb.pool),
    )
    .await
    .unwrap();
    assert!(!state.contains(&member_a), "{state}");
    assert!(state.contains(&member_b), "{state}");
    assert_eq!(
        workers(&s, &lb.id).await,
        running,
        "no reload for a removed member"
    );
    let file =
        std::fs::read_to_string(s.dir().join("haproxy").join(&lb.id).join("haproxy.cfg")).unwrap();
    let servers: Vec<&str> = file
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("server "))
        .collect();
    assert_eq!(servers.len(), 2, "{file}");
    assert!(
        servers
            .iter()
            .any(|l| l.starts_with(&format!("server {member_b} ")) && l.ends_with(" disabled")),
        "{file}"
    );

    // What the runtime API cannot change still reloads, and serves.
    let pool = format!("/v2/lbaas/pools/{}", lb.pool);
    let changed = s
        .call(
            "PUT",
            &pool,
            Some(json!({"pool": {"lb_algorithm": "LEAST_CONNECTIONS"}})),
        )
        .await;
    assert_eq!(changed.0, 200);
    s.settle(&lb.id).await;
    assert_ne!(
        workers(&s, &lb.id).await,
        running,
        "an algorithm change reloads"
    );
    assert_eq!(hits(&lb.url, 4).await.get("c"), Some(&4));
}

async fn l7_routing_and_cidrs(db: Db) {
    let s = start(db).await;
    let (a, api) = (backend("a").await, backend("api").await);
    let lb = http_lb(&s, "HTTP", rr_pool(), &[a.addr]).await;
    let api_pool = s
        .create(
            "/v2/lbaas/pools",
            "pool",
            json!({"loadbalancer_id": lb.id, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}),
        )
        .await;
    s.settle(&lb.id).await;
    s.create(
        &format!("/v2/lbaas/pools/{}/members", id(&api_pool)),
        "member",
        json!({"address": "127.0.0.1", "protocol_port": api.addr.port()}),
    )
    .await;
    s.settle(&lb.id).await;
    let to_api = s.create("/v2/lbaas/l7policies", "l7policy",
        json!({"listener_id": lb.listener, "action": "REDIRECT_TO_POOL", "redirect_pool_id": id(&api_pool)})).await;
    s.settle(&lb.id).await;
    s.create(
        &format!("/v2/lbaas/l7policies/{}/rules", id(&to_api)),
        "rule",
        json!({"type": "PATH", "compare_type": "STARTS_WITH", "value": "/api"}),
    )
    .await;
    s.settle(&lb.id).await;
    let reject = s
        .create(
            "/v2/lbaas/l7policies",
            "l7policy",
            json!({"listener_id": lb.listener, "action": "REJECT"}),
        )
        .await;
    s.settle(&lb.id).await;
    s.create(
        &format!("/v2/lbaas/l7policies/{}/rules", id(&reject)),
        "rule",
        json!({"type": "HEADER", "key": "X-Evil", "compare_type": "EQUAL_TO", "value": "yes"}),
    )
    .await;
    s.settle(&lb.id).await;

    let http = reqwest::Client::new();
    assert_eq!(
        http.get(format!("{}/api/x", lb.url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "api"
    );
    assert_eq!(
        http.get(format!("{}/web", lb.url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "a"
    );
    let denied = http
        .get(format!("{}/web", lb.url))
        .header("X-Evil", "yes")
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403);

    // allowed_cidrs refuses clients outside the list.
    let listener = format!("/v2/lbaas/listeners/{}", lb.listener);
    assert_eq!(
        s.call(
            "PUT",
            &listener,
            Some(json!({"listener": {"allowed_cidrs": ["10.0.0.0/8"]}}))
        )
        .await
        .0,
        200
    );
    s.settle(&lb.id).await;
    assert!(
        reqwest::get(&lb.url).await.is_err(),
        "a client from 127.0.0.1 is refused"
    );
    assert_eq!(
        s.call(
            "PUT",
            &listener,
            Some(json!({"listener": {"allowed_cidrs": ["127.0.0.0/8"]}}))
        )
        .await
        .0,
        200
    );
    s.settle(&lb.id).await;
    assert_eq!(reqwest::get(&lb.url).await.unwrap().status(), 200);
}

/// A certificate for `host` valid two days, as the bundle `name` in `dir`.
fn make_cert(dir: &Path, name: &str, host: &str) {
    common::pki::make_cert(dir, name, host, 2);
}

/// GET over TLS with curl, resolving `host` to the VIP and trusting `ca`; returns the body.
fn curl_tls(host: &str, lb: &Lb, ca: &Path) -> String {
    let out = std::process::Command::new("curl")
        .args(["-sS", "--max-time", "5", "--cacert"])
        .arg(ca)
        .arg("--resolve")
        .arg(format!("{host}:{}:{}", lb.port, lb.vip))
        .arg(format!("https://{host}:{}/", lb.port))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "curl {host}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn terminated_https_with_sni(db: Db) {
    let s = start(db).await;
    let lb_obj = s.active_lb("tls").await;
    let got = s
        .call(
            "POST",
            "/v2/lbaas/listeners",
            Some(json!({"listener": {
        "loadbalancer_id": id(&lb_obj), "protocol": "TERMINATED_HTTPS", "protocol_port": free_port(),
        "default_tls_container_ref": "missing-cert"}})),
        )
        .await;
    assert_fault(&got, 400, "Could not retrieve certificate");
    let (lb, _backend) = tls_lb(&s, &lb_obj).await;
    let certs = s.dir().join("certs");
    assert_eq!(curl_tls("a.test", &lb, &certs.join("site-a.crt")), "a");
    // SNI picks the second certificate: verification against b's own certificate succeeds.
    assert_eq!(curl_tls("b.test", &lb, &certs.join("site-b.crt")), "a");
}

/// A TERMINATED_HTTPS listener on `lb_obj` serving `site-a` by default and `site-b` by SNI
/// (both made in the server's certificate directory), with a pool of one backend answering "a".
async fn tls_lb(s: &TestServer, lb_obj: &Value) -> (Lb, Backend) {
    let certs = s.dir().join("certs");
    make_cert(&certs, "site-a", "a.test");
    make_cert(&certs, "site-b", "b.test");
    let a = backend("a").await;
    let lb_id = id(lb_obj);
    let port = free_port();
    let listener = s
        .create(
            "/v2/lbaas/listeners",
            "listener",
            json!({
        "loadbalancer_id": lb_id, "protocol": "TERMINATED_HTTPS", "protocol_port": port,
        "default_tls_container_ref": "site-a", "sni_container_refs": ["site-a", "site-b"]}),
        )
        .await;
    s.settle(&lb_id).await;
    let pool = s.create("/v2/lbaas/pools", "pool", json!({"listener_id": id(&listener), "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"})).await;
    s.settle(&lb_id).await;
    s.create(
        &format!("/v2/lbaas/pools/{}/members", id(&pool)),
        "member",
        json!({"address": "127.0.0.1", "protocol_port": a.addr.port()}),
    )
    .await;
    s.settle(&lb_id).await;
    let lb = Lb {
        id: lb_id,
        url: String::new(),
        vip: lb_obj["vip_address"].as_str().unwrap().into(),
        port,
        listener: id(&listener),
        pool: id(&pool),
    };
    (lb, a)
}

/// A certificate whose content changed under the same reference is served from the next apply
/// on (HAProxy reloads for it though its configuration is the same), and a certificate file
/// changed behind Fulcrum's back is drift that the full sync repairs.
async fn certificates_are_served_as_stored(db: Db) {
    let s = TestServer::start_with(
        db,
        Options {
            default_provider: "haproxy",
            sync_interval_seconds: 1,
            ..Default::default()
        },
    )
    .await;
    let lb_obj = s.active_lb("rotate").await;
    let (lb, _backend) = tls_lb(&s, &lb_obj).await;
    let certs = s.dir().join("certs");
    let first = std::fs::read(certs.join("site-a.crt")).unwrap();

    make_cert(&certs, "site-a", "a.test");
    assert_ne!(std::fs::read(certs.join("site-a.crt")).unwrap(), first);
    let renamed = s
        .call(
            "PUT",
            &format!("/v2/lbaas/listeners/{}", lb.listener),
            Some(json!({"listener": {"name": "rotated"}})),
        )
        .await;
    assert_eq!(renamed.0, 200, "{}", renamed.1);
    s.settle(&lb.id).await;
    assert_eq!(curl_tls("a.test", &lb, &certs.join("site-a.crt")), "a");

    let served_dir = s.dir().join("haproxy").join(&lb.id).join("certs");
    let served: Vec<_> = std::fs::read_dir(&served_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(
        served.len(),
        2,
        "one file per certificate in use: {served:?}"
    );
    let site_a = served
        .iter()
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("site-a")
        })
        .unwrap()
        .clone();
    let original = std::fs::read(&site_a).unwrap();
    let before = applies(&s, "haproxy").await;
    std::fs::write(
        &site_a,
        std::fs::read(served_dir.join(served.iter().find(|p| **p != site_a).unwrap())).unwrap(),
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read(&site_a).unwrap() != original {
        assert!(Instant::now() < deadline, "not repaired:\n{}", s.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    after_full_syncs(&s, 1).await;
    assert_eq!(applies(&s, "haproxy").await, before + 1);
    assert_eq!(curl_tls("a.test", &lb, &certs.join("site-a.crt")), "a");
}

async fn hitless_reload_and_healing(db: Db) {
    let mut s = start(db).await;
    let e1 = echo_backend().await;
    let lb = http_lb(
        &s,
        "TCP",
        json!({"protocol": "TCP", "lb_algorithm": "ROUND_ROBIN"}),
        &[e1],
    )
    .await;
    let mut conn = tokio::net::TcpStream::connect((lb.vip.as_str(), lb.port))
        .await
        .unwrap();
    conn.write_all(b"before").await.unwrap();
    let mut buf = [0u8; 6];
    conn.read_exact(&mut buf).await.unwrap();
    // Another algorithm reloads HAProxy; the established connection keeps working.
    let pool = format!("/v2/lbaas/pools/{}", lb.pool);
    let changed = s
        .call(
            "PUT",
            &pool,
            Some(json!({"pool": {"lb_algorithm": "LEAST_CONNECTIONS"}})),
        )
        .await;
    assert_eq!(changed.0, 200);
    s.settle(&lb.id).await;
    conn.write_all(b"after!").await.unwrap();
    conn.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"after!");
    drop(conn);

    // A killed HAProxy is restarted.
    let dir = s.dir().join("haproxy").join(&lb.id);
    let pid = std::fs::read_to_string(dir.join("haproxy.pid")).unwrap();
    std::process::Command::new("kill")
        .args(["-KILL", pid.trim()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = std::fs::read_to_string(dir.join("haproxy.pid")).unwrap_or_default();
        let restarted = !now.trim().is_empty() && now != pid && !process_gone(now.trim());
        if restarted
            && tokio::net::TcpStream::connect((lb.vip.as_str(), lb.port))
                .await
                .is_ok()
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "haproxy was not restarted:\n{}",
            s.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A restart of Fulcrum leaves the load balancer serving (the process is adopted).
    s.restart().await;
    let mut conn = tokio::net::TcpStream::connect((lb.vip.as_str(), lb.port))
        .await
        .unwrap();
    conn.write_all(b"again!").await.unwrap();
    conn.read_exact(&mut buf).await.unwrap();

    // Deleting leaves no process, socket or file.
    let pid = std::fs::read_to_string(dir.join("haproxy.pid")).unwrap();
    let lb_path = format!("/v2/lbaas/loadbalancers/{}?cascade=true", lb.id);
    assert_eq!(s.call("DELETE", &lb_path, None).await.0, 204);
    s.wait_for(
        &format!("/v2/lbaas/loadbalancers/{}", lb.id),
        "loadbalancer",
        "DELETED",
    )
    .await;
    assert!(!dir.exists(), "state directory removed");
    assert!(process_gone(pid.trim()), "process gone");
}

async fn unsupported_options_are_refused(db: Db) {
    let s = start(db).await;
    let lb = s.active_lb("u").await;
    let got = s
        .call(
            "POST",
            "/v2/lbaas/listeners",
            Some(json!({"listener": {
        "loadbalancer_id": id(&lb), "protocol": "UDP", "protocol_port": 53}})),
        )
        .await;
    assert_fault(
        &got,
        501,
        "Provider 'haproxy' does not support a requested option",
    );
    let got = s
        .call(
            "POST",
            "/v2/lbaas/pools",
            Some(json!({"pool": {
        "loadbalancer_id": id(&lb), "protocol": "HTTP", "lb_algorithm": "SOURCE_IP_PORT"}})),
        )
        .await;
    assert_fault(
        &got,
        501,
        "Provider 'haproxy' does not support a requested option",
    );
    assert_eq!(s.get("/v2/lbaas/listeners").await["listeners"], json!([]));
}

async fn full_sync_repairs_drift(db: Db) {
    let s = TestServer::start_with(
        db,
        Options {
            default_provider: "haproxy",
            sync_interval_seconds: 1,
            ..Default::default()
        },
    )
    .await;
    let a = backend("a").await;
    let lb = http_lb(&s, "HTTP", rr_pool(), &[a.addr]).await;
    // Drift: the backend loses the load balancer entirely (process and files gone).
    let dir = s.dir().join("haproxy").join(&lb.id);
    let pid = std::fs::read_to_string(dir.join("haproxy.pid")).unwrap();
    std::process::Command::new("kill")
        .args(["-KILL", pid.trim()])
        .status()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    // An orphan: a load balancer the store does not know.
    let orphan = s.dir().join("haproxy").join("not-in-the-store");
    std::fs::create_dir_all(&orphan).unwrap();
    std::fs::write(orphan.join("haproxy.cfg"), "global\n").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let serving = reqwest::get(&lb.url).await.is_ok_and(|r| r.status() == 200);
        if serving && !orphan.exists() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "full sync did not repair drift:\n{}",
            s.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The HAProxy processes of `lb`, as (pid, parent pid).
fn haproxy_processes(state_dir: &Path, lb: &str) -> Vec<(u32, u32)> {
    common::haproxy::haproxy_processes(state_dir)
        .into_iter()
        .filter(|p| p.load_balancer == lb)
        .map(|p| (p.pid, p.parent))
        .collect()
}

/// The masters among the HAProxy processes of `lb`: those whose parent is not one of them.
fn masters(state_dir: &Path, lb: &str) -> Vec<u32> {
    common::haproxy::masters_by_load_balancer(state_dir)
        .remove(lb)
        .unwrap_or_default()
}

/// Wait until load balancer `lb` is served by exactly one master, the one its pid file names,
/// and its VIP answers; then check that it stays the only one for a while.
async fn wait_for_one_master(s: &TestServer, lb: &Lb, within: Duration) {
    let state = s.dir().join("haproxy");
    let deadline = Instant::now() + within;
    loop {
        let running = masters(&state, &lb.id);
        let named = std::fs::read_to_string(state.join(&lb.id).join("haproxy.pid"))
            .ok()
            .and_then(|p| p.trim().parse::<u32>().ok());
        let serving = reqwest::get(&lb.url).await.is_ok_and(|r| r.status() == 200);
        if running.len() == 1 && named == Some(running[0]) && serving {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not one named master serving after {within:?}: masters {running:?}, pid file \
             {named:?}, serving {serving}\n{}",
            s.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for _ in 0..20 {
        let running = masters(&state, &lb.id);
        assert_eq!(running.len(), 1, "masters of {}: {running:?}", lb.id);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether anything accepts connections on the load balancer's VIP and port.
async fn vip_answers(lb: &Lb) -> bool {
    tokio::net::TcpStream::connect((lb.vip.as_str(), lb.port))
        .await
        .is_ok()
}

/// A state directory deleted behind Fulcrum's back is rebuilt when the observer notices (not at
/// the next full sync, a minute away here) by one HAProxy, which then takes member changes; a load
/// balancer deleted while its directory is gone stops answering, and leaves no process.
async fn deleted_state_directory_is_rebuilt(db: Db) {
    let s = start(db).await;
    let (a, b, c) = (backend("a").await, backend("b").await, backend("c").await);
    let lb = http_lb(&s, "HTTP", rr_pool(), &[a.addr, b.addr]).await;
    let state = s.dir().join("haproxy");
    let dir = state.join(&lb.id);
    assert_eq!(masters(&state, &lb.id).len(), 1);

    std::fs::remove_dir_all(&dir).unwrap();
    wait_for_one_master(&s, &lb, Duration::from_secs(4)).await;

    // Only the current members get traffic: the old configuration serves nowhere.
    let member_a = member_on(&s, &lb.pool, a.addr.port()).await;
    let members = format!("/v2/lbaas/pools/{}/members", lb.pool);
    let removed = s
        .call("DELETE", &format!("{members}/{member_a}"), None)
        .await;
    assert_eq!(removed.0, 204);
    s.settle(&lb.id).await;
    s.create(
        &members,
        "member",
        json!({"address": "127.0.0.1", "protocol_port": c.addr.port()}),
    )
    .await;
    s.settle(&lb.id).await;
    let spread = hits(&lb.url, 30).await;
    assert_eq!(
        spread.get("b").copied().unwrap_or(0) + spread.get("c").copied().unwrap_or(0),
        30,
        "{spread:?}"
    );

    // Gone behind Fulcrum's back again, then deleted.
    std::fs::remove_dir_all(&dir).unwrap();
    let path = format!("/v2/lbaas/loadbalancers/{}", lb.id);
    assert_eq!(
        s.call("DELETE", &format!("{path}?cascade=true"), None)
            .await
            .0,
        204
    );
    s.wait_for(&path, "loadbalancer", "DELETED").await;
    assert!(
        !vip_answers(&lb).await,
        "the deleted load balancer's VIP answers"
    );
    assert_eq!(haproxy_processes(&state, &lb.id), []);
    assert!(!dir.exists());
}

/// With the full sync and the observer both repairing every second, a load balancer whose
/// directory is deleted, or whose master is killed with it, still gets exactly one HAProxy.
async fn racing_repairs_start_one_haproxy(db: Db) {
    let s = TestServer::start_with(
        db,
        Options {
            default_provider: "haproxy",
            sync_interval_seconds: 1,
            ..Default::default()
        },
    )
    .await;
    let a = backend("a").await;
    let lb = http_lb(&s, "HTTP", rr_pool(), &[a.addr]).await;
    let state = s.dir().join("haproxy");
    let dir = state.join(&lb.id);
    std::fs::remove_dir_all(&dir).unwrap();
    wait_for_one_master(&s, &lb, Duration::from_secs(4)).await;
    let master = masters(&state, &lb.id)[0];
    std::process::Command::new("kill")
        .args(["-KILL", &master.to_string()])
        .status()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    wait_for_one_master(&s, &lb, Duration::from_secs(4)).await;
    assert_eq!(hits(&lb.url, 4).await.get("a"), Some(&4));
}

/// Start an HAProxy that answers 200 on `port`, from a configuration at `dir/haproxy.cfg`, the
/// way the driver starts one.
fn start_haproxy(dir: &Path, port: u16) {
    std::fs::create_dir_all(dir).unwrap();
    let config = dir.join("haproxy.cfg");
    std::fs::write(
        &config,
        format!(
            "defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
             frontend f\n  bind 127.0.0.1:{port}\n  http-request return status 200\n"
        ),
    )
    .unwrap();
    let started = std::process::Command::new("/usr/sbin/haproxy")
        .arg("-W")
        .arg("-D")
        .arg("-S")
        .arg(dir.join("master.sock"))
        .arg("-p")
        .arg(dir.join("haproxy.pid"))
        .arg("-f")
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
}

/// An HAProxy of this state directory that Fulcrum no longer accounts for (its directory is gone,
/// its load balancer unknown) is stopped by the full sync; one of another directory, even a
/// neighbour whose name starts with the same letters, is left alone.
async fn unaccounted_haproxy_is_stopped(db: Db) {
    let mut s = TestServer::start_with(
        db,
        Options {
            default_provider: "haproxy",
            sync_interval_seconds: 1,
            ..Default::default()
        },
    )
    .await;
    // Planted while no Fulcrum runs, so that none sees the directories before they go.
    s.kill();
    let state = s.dir().join("haproxy");
    let neighbour = s.dir().join("haproxy-neighbour");
    let (ghost_port, neighbour_port) = (free_port(), free_port());
    start_haproxy(&state.join("ghost"), ghost_port);
    start_haproxy(&neighbour.join("ghost"), neighbour_port);
    std::fs::remove_dir_all(state.join("ghost")).unwrap();
    assert_eq!(masters(&state, "ghost").len(), 1);
    s.restart().await;

    let deadline = Instant::now() + Duration::from_secs(5);
    while !haproxy_processes(&state, "ghost").is_empty() {
        assert!(
            Instant::now() < deadline,
            "the unaccounted HAProxy still runs:\n{}",
            s.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", ghost_port))
            .await
            .is_err()
    );
    assert_eq!(
        masters(&neighbour, "ghost").len(),
        1,
        "the neighbour's stays"
    );
    let neighbour_answer = reqwest::get(format!("http://127.0.0.1:{neighbour_port}/"))
        .await
        .unwrap();
    assert_eq!(neighbour_answer.status(), 200);
    common::stop_haproxies(&neighbour);
}

/// Once applied, load balancers are not applied again by idle full syncs; a configuration file
/// changed behind Fulcrum's back gets its own load balancer, and only it, applied again.
async fn a_tampered_configuration_alone_is_repaired(db: Db) {
    let s = TestServer::start_with(
        db,
        Options {
            default_provider: "haproxy",
            sync_interval_seconds: 1,
            ..Default::default()
        },
    )
    .await;
    let a = backend("a").await;
    let tampered = http_lb(&s, "HTTP", rr_pool(), &[a.addr]).await;
    let untouched = http_lb(&s, "HTTP", rr_pool(), &[a.addr]).await;
    let config = |lb: &Lb| s.dir().join("haproxy").join(&lb.id).join("haproxy.cfg");
    let report = after_full_syncs(&s, 1).await;
    assert_eq!(report["in_sync"], 2, "{report}");
    let before = applies(&s, "haproxy").await;
    let report = after_full_syncs(&s, 2).await;
    assert_eq!(report["queued"], 0, "{report}");
    assert_eq!(applies(&s, "haproxy").await, before, "idle syncs applied");

    let original = std::fs::read_to_string(config(&tampered)).unwrap();
    let other = std::fs::metadata(config(&untouched))
        .unwrap()
        .modified()
        .unwrap();
    std::fs::write(config(&tampered), format!("{original}# changed by hand\n")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::fs::read_to_string(config(&tampered)).unwrap() != original {
        assert!(Instant::now() < deadline, "not repaired:\n{}", s.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    after_full_syncs(&s, 1).await;
    assert_eq!(applies(&s, "haproxy").await, before + 1);
    let modified = std::fs::metadata(config(&untouched)).unwrap().modified();
    assert_eq!(modified.unwrap(), other, "the other one was rewritten");
    assert_eq!(hits(&tampered.url, 2).await.get("a"), Some(&2));
}

on_both_databases!(round_robin_and_health, full_sync_repairs_drift);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_state_directory_is_rebuilt_by_one_haproxy() {
    deleted_state_directory_is_rebuilt(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_repairs_leave_one_haproxy() {
    racing_repairs_start_one_haproxy(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_haproxy_fulcrum_does_not_account_for_is_stopped() {
    unaccounted_haproxy_is_stopped(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_tampered_configuration_is_applied_again() {
    a_tampered_configuration_alone_is_repaired(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draining_and_cookie_persistence() {
    draining_and_persistence(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_changes_apply_without_a_reload() {
    member_changes_through_the_runtime_api(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l7_policies_and_allowed_cidrs() {
    l7_routing_and_cidrs(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminated_https_serves_certificates_by_sni() {
    terminated_https_with_sni(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_and_tampered_certificates_are_served_as_stored() {
    certificates_are_served_as_stored(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_is_hitless_and_dead_processes_heal() {
    hitless_reload_and_healing(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn haproxy_refuses_what_it_cannot_do() {
    unsupported_options_are_refused(Db::Postgres).await
}
