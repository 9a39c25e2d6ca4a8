//! `fulcrum render <id>`: prints what the load balancer's driver would send its backend, from the
//! store as it is now, without touching the backend; for HAProxy exactly the configuration file a
//! converged load balancer runs.

mod common;

use std::process::{Command, Output};

use common::{DEFAULT_SUBNET, Db, Options, TestServer};
use serde_json::json;

fn render(s: &TestServer, id: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fulcrum"))
        .args(["--config", s.config_path().to_str().unwrap(), "render", id])
        .output()
        .expect("run fulcrum render")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn render_prints_what_the_driver_realizes() {
    let s = TestServer::start_with(
        Db::Sqlite,
        Options {
            default_provider: "haproxy",
            ..Default::default()
        },
    )
    .await;
    let lb = s
        .create(
            "/v2/lbaas/loadbalancers",
            "loadbalancer",
            json!({"name": "shown", "vip_subnet_id": DEFAULT_SUBNET,
                "listeners": [{"protocol": "HTTP", "protocol_port": free_port(),
                    "default_pool": {"name": "web", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                        "members": [{"address": "127.0.0.1", "protocol_port": free_port()}]}}]}),
        )
        .await;
    let id = lb["id"].as_str().unwrap();
    s.settle(id).await;

    let out = render(&s, id);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let running = std::fs::read(s.dir().join("haproxy").join(id).join("haproxy.cfg"))
        .expect("the configuration HAProxy runs");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&running)
    );

    // An id the store does not hold, and a driver with nothing to show, are clear errors.
    let out = render(&s, "5f3a0c6e-0000-4000-8000-000000000000");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("load balancer 5f3a0c6e-0000-4000-8000-000000000000 not found"),
        "{stderr}"
    );
    let noop = s
        .create(
            "/v2/lbaas/loadbalancers",
            "loadbalancer",
            json!({"name": "n", "vip_subnet_id": DEFAULT_SUBNET, "provider": "noop"}),
        )
        .await;
    let out = render(&s, noop["id"].as_str().unwrap());
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the noop driver has nothing to render"),
        "{stderr}"
    );
}
