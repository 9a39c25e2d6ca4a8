//! Flavor metadata reaches the driver: a load balancer created with a flavor whose profile sets
//! the HAProxy driver's `nbthread` and `maxconn` runs an HAProxy that really uses them (asked over
//! its stats socket), still forwards traffic, and is not reloaded by full syncs; metadata the
//! driver refuses never becomes a profile.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{DEFAULT_SUBNET, Db, Options, TestServer, assert_fault};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const FP: &str = "/v2/lbaas/flavorprofiles";
const FLAVORS: &str = "/v2/lbaas/flavors";
const LBS: &str = "/v2/lbaas/loadbalancers";

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An HTTP backend that answers every request with `name`.
async fn backend(name: &'static str) -> SocketAddr {
    let app = axum::Router::new().fallback(move || async move { name });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// A load balancer with one HTTP listener on `port` whose default pool has one member `member`,
/// created in one call with `extra` fields (such as `flavor_id`), and waited for until ACTIVE.
async fn serving_lb(s: &TestServer, port: u16, member: SocketAddr, extra: Value) -> Value {
    let mut body = json!({
        "vip_subnet_id": DEFAULT_SUBNET,
        "listeners": [{
            "protocol": "HTTP",
            "protocol_port": port,
            "default_pool": {
                "name": "app",
                "protocol": "HTTP",
                "lb_algorithm": "ROUND_ROBIN",
                "members": [{"address": member.ip().to_string(), "protocol_port": member.port()}]
            }
        }]
    });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let lb = s.create(LBS, "loadbalancer", body).await;
    s.settle(&id(&lb)).await
}

/// The HAProxy state directory of a load balancer.
fn state_dir(s: &TestServer, lb_id: &str) -> std::path::PathBuf {
    s.dir().join("haproxy").join(lb_id)
}

/// `show info` of a running HAProxy, asked over its stats socket, as field → value.
async fn show_info(socket: &Path) -> Vec<(String, String)> {
    let mut stream = tokio::net::UnixStream::connect(socket)
        .await
        .unwrap_or_else(|e| panic!("connecting to {}: {e}", socket.display()));
    stream.write_all(b"show info\n").await.unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    text.lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

fn field<'a>(info: &'a [(String, String)], name: &str) -> &'a str {
    info.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("show info has no {name}: {info:?}"))
}

/// The response body of a GET through a load balancer.
async fn fetch(url: &str) -> String {
    let resp = reqwest::get(url).await.expect("request through the LB");
    assert_eq!(resp.status(), 200, "{url}");
    resp.text().await.unwrap()
}

/// How many full syncs the server has logged so far.
fn full_syncs(s: &TestServer) -> usize {
    s.log().matches("full sync").count()
}

async fn flavor_reaches_the_running_haproxy(db: Db) {
    let s = TestServer::start_with(
        db,
        Options {
            default_provider: "haproxy",
            sync_interval_seconds: 1,
            ..Default::default()
        },
    )
    .await;
    let caps = s
        .get("/v2/lbaas/providers/haproxy/flavor_capabilities")
        .await;
    let names: Vec<&Value> = caps["flavor_capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["name"])
        .collect();
    assert_eq!(names, [&json!("nbthread"), &json!("maxconn")], "{caps}");

    let profile = s
        .create(
            FP,
            "flavorprofile",
            json!({"name": "big", "provider_name": "haproxy",
                   "flavor_data": "{\"nbthread\": 2, \"maxconn\": 2000}"}),
        )
        .await;
    let flavor = s
        .create(
            FLAVORS,
            "flavor",
            json!({"name": "big", "flavor_profile_id": id(&profile)}),
        )
        .await;

    let member = backend("a").await;
    let port = free_port();
    let lb = serving_lb(&s, port, member, json!({"flavor_id": id(&flavor)})).await;
    let lb_id = id(&lb);
    assert_eq!(lb["flavor_id"], id(&flavor).as_str());
    assert_eq!(lb["provider"], "haproxy");

    // The running process uses the flavor, and says so itself.
    let socket = state_dir(&s, &lb_id).join("stats.sock");
    let info = show_info(&socket).await;
    assert_eq!(field(&info, "Nbthread"), "2", "{info:?}");
    assert_eq!(field(&info, "Maxconn"), "2000", "{info:?}");
    let config = std::fs::read_to_string(state_dir(&s, &lb_id).join("haproxy.cfg")).unwrap();
    let lines: Vec<&str> = config.lines().map(str::trim).collect();
    assert!(lines.contains(&"nbthread 2"), "{config}");
    assert!(lines.contains(&"maxconn 2000"), "{config}");
    let vip = lb["vip_address"].as_str().unwrap();
    assert_eq!(fetch(&format!("http://{vip}:{port}/")).await, "a");

    // A load balancer without a flavor keeps the driver's defaults.
    let plain_port = free_port();
    let plain = serving_lb(&s, plain_port, member, json!({})).await;
    let plain_info = show_info(&state_dir(&s, &id(&plain)).join("stats.sock")).await;
    assert_eq!(field(&plain_info, "Nbthread"), "1", "{plain_info:?}");
    assert_eq!(field(&plain_info, "Maxconn"), "4096", "{plain_info:?}");
    let plain_vip = plain["vip_address"].as_str().unwrap();
    assert_eq!(
        fetch(&format!("http://{plain_vip}:{plain_port}/")).await,
        "a"
    );

    // Full syncs leave it alone: it serves what was applied, so nothing is re-applied, and even a
    // re-apply of the same graph renders the same configuration and does not reload (a reload
    // would start a worker with a new pid).
    let worker = field(&info, "Pid").to_string();
    let syncs = full_syncs(&s);
    let deadline = Instant::now() + Duration::from_secs(20);
    while full_syncs(&s) < syncs + 2 {
        assert!(Instant::now() < deadline, "no full sync ran:\n{}", s.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = show_info(&socket).await;
    assert_eq!(field(&after, "Pid"), worker, "reloaded by a full sync");
    assert_eq!(field(&after, "Nbthread"), "2");
    assert_eq!(
        std::fs::read_to_string(state_dir(&s, &lb_id).join("haproxy.cfg")).unwrap(),
        config
    );
    assert_eq!(fetch(&format!("http://{vip}:{port}/")).await, "a");
}

async fn refused_flavor_metadata_creates_nothing(db: Db) {
    let s = TestServer::start_with(
        db,
        Options {
            default_provider: "haproxy",
            ..Default::default()
        },
    )
    .await;
    let create = |data: &str| {
        let body = json!({"flavorprofile": {"name": "bad", "provider_name": "haproxy",
                                            "flavor_data": data}});
        s.call("POST", FP, Some(body))
    };
    let prefix = "Provider 'haproxy' does not support a requested option: ";
    assert_fault(
        &create("{\"nbthread\": \"two\"}").await,
        501,
        &format!(
            "{prefix}Flavor metadata key nbthread must be an integer from 1 to 64, not \"two\"."
        ),
    );
    assert_fault(
        &create("{\"bogus\": 1}").await,
        501,
        &format!("{prefix}Unsupported flavor metadata key(s): bogus"),
    );
    assert_fault(
        &create("{\"maxconn\": 0}").await,
        501,
        "maxconn must be an integer from 1 to 500000, not 0.",
    );
    assert_eq!(s.get(FP).await["flavorprofiles"], json!([]));

    // A change to an unused profile is checked the same way and leaves it as it was.
    let spare = s
        .create(
            FP,
            "flavorprofile",
            json!({"name": "spare", "provider_name": "haproxy", "flavor_data": "{}"}),
        )
        .await;
    let path = format!("{FP}/{}", id(&spare));
    let changed = s
        .call(
            "PUT",
            &path,
            Some(json!({"flavorprofile": {"flavor_data": "{\"nbthread\": 65}"}})),
        )
        .await;
    assert_fault(&changed, 501, "nbthread must be an integer from 1 to 64");
    assert_eq!(s.get(&path).await["flavorprofile"]["flavor_data"], "{}");
}

on_both_databases!(flavor_reaches_the_running_haproxy);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_flavor_metadata_gets_501_and_creates_nothing() {
    refused_flavor_metadata_creates_nothing(Db::Sqlite).await
}
