//! openstacksdk (the library under the CLI, Ansible and many tools) drives a standalone Fulcrum
//! end to end through the shipped `deploy/clouds.yaml`: `tests/openstacksdk/scenario.py` creates
//! a load balancer and everything below it, updates a member, sets and deletes a quota, creates a
//! flavor profile and flavor, and deletes the tree with cascade, printing what it saw.
//!
//! Python comes from the virtual environment `.venv` that `.ci/run` creates (or the interpreter in
//! `FULCRUM_TEST_PYTHON`); without it the test says so and checks nothing.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{Db, Options, TestServer};
use serde_json::{Value, json};

fn python() -> Option<PathBuf> {
    let path = std::env::var_os("FULCRUM_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python")));
    path.exists().then_some(path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openstacksdk_drives_fulcrum() {
    let Some(python) = python() else {
        eprintln!("skipped: no .venv/bin/python (run .ci/run, or set FULCRUM_TEST_PYTHON)");
        return;
    };
    let s = TestServer::start_with(
        Db::Sqlite,
        Options {
            extra_toml: "[quotas]\ndefault_load_balancer_quota = 50\n".into(),
            ..Options::default()
        },
    )
    .await;
    let shipped =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/clouds.yaml"))
            .expect("deploy/clouds.yaml");
    let clouds = s.dir().join("clouds.yaml");
    std::fs::write(&clouds, shipped.replace("http://127.0.0.1:9876", &s.base)).unwrap();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/openstacksdk/scenario.py"
            ))
            .args([clouds.to_str().unwrap(), "fulcrum", "fulcrum-loopback-v4"])
            .output()
            .expect("python runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "scenario failed: {}\n{stdout}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        s.log()
    );
    let seen: Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    assert_eq!(
        seen["lb"],
        json!({"status": "ACTIVE", "vip": seen["lb"]["vip"], "subnet": common::DEFAULT_SUBNET})
    );
    assert!(seen["lb"]["vip"].as_str().unwrap().starts_with("127.0.10."));
    assert_eq!(seen["member_weight"], 5);
    assert_eq!(seen["hm_url_path"], "/");
    assert_eq!(seen["rule_value"], "/admin");
    assert_eq!(
        seen["listener_names"],
        json!(["web"]),
        "filtered by load_balancer_id"
    );
    assert_eq!(seen["members"], 1);
    assert_eq!(seen["stats_total_connections"], 0);
    assert_eq!(seen["quota"], json!({"load_balancers": 7, "listeners": -1}));
    assert_eq!(seen["quota_default_load_balancers"], 50);
    assert_eq!(seen["quota_after_delete"], 50, "back to the default");
    assert_eq!(seen["flavor_profile"], true);
    assert_eq!(seen["remaining"], json!([]));
    let (status, lbs) = s.call("GET", "/v2/lbaas/loadbalancers", None).await;
    assert_eq!(status, 200);
    assert_eq!(lbs["loadbalancers"], json!([]));
}
