//! The device inventory in the whole server: devices of `[[management.devices.static]]` are in
//! the inventory at start and their facts are read on the configured schedule (here from the
//! real `haproxy` binary); `/v1/management/devices` is for administrators only and answers
//! Octavia's fault bodies.

mod common;

use std::time::{Duration, Instant};

use common::{Db, Options, TestServer, assert_fault};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn configured_devices_have_their_facts_read_on_schedule(db: Db) {
    let host_dir = tempfile::tempdir().unwrap();
    std::fs::write(host_dir.path().join("haproxy.cfg"), "global\n").unwrap();
    let s = TestServer::start_with(
        db,
        Options {
            extra_toml: format!(
                "[management.devices]\nfacts_interval_seconds = 1\nunreachable_after = 2\n\
                 [[management.devices.static]]\nname = \"host-1\"\nkind = \"haproxy_host\"\n\
                 provider = \"haproxy\"\nconfig_dir = \"{}\"\n",
                host_dir.path().display()
            ),
            ..Options::default()
        },
    )
    .await;

    let deadline = Instant::now() + Duration::from_secs(20);
    let device = loop {
        let listed = s.get("/v1/management/devices?kind=haproxy_host").await;
        let device = listed["devices"][0].clone();
        assert_eq!(device["name"], "host-1", "{listed}");
        if device["last_seen"].is_string() {
            break device;
        }
        assert!(
            Instant::now() < deadline,
            "the facts of host-1 were never read: {device}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(device["source"], "config");
    assert_eq!(device["state"], "ready");
    assert_eq!(device["facts"]["health"], "ok");
    let version = std::process::Command::new("/usr/sbin/haproxy")
        .arg("-v")
        .output()
        .unwrap();
    let version = String::from_utf8_lossy(&version.stdout).to_string();
    let read = device["facts"]["version"].as_str().unwrap();
    assert!(version.contains(read), "{read} from {version}");
    let tasks = s.get("/v1/status/tasks").await;
    assert!(
        tasks.to_string().contains("management-device-facts"),
        "{tasks}"
    );
}

on_both_databases!(configured_devices_have_their_facts_read_on_schedule);

#[tokio::test]
async fn only_administrators_manage_devices() {
    let s = TestServer::start(Db::Sqlite).await;
    let body = json!({"name": "edge-1", "kind": "nsx_edge"});
    let refused = s
        .call_as(
            "POST",
            "/v1/management/devices",
            Some(body.clone()),
            Some("some-project"),
        )
        .await;
    assert_fault(
        &refused,
        403,
        "Policy does not allow this request to be performed.",
    );
    let (status, listed) = s.call("GET", "/v1/management/devices", None).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["devices"], Value::Array(vec![]));

    let (status, created) = s.call("POST", "/v1/management/devices", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["device"]["id"].as_str().unwrap();
    let bad = s
        .call(
            "PATCH",
            &format!("/v1/management/devices/{id}"),
            Some(json!({"state": "asleep"})),
        )
        .await;
    assert_fault(&bad, 400, "asleep");
    let audit = s.get("/v1/management/audit?action=device.register").await;
    assert_eq!(audit["audit"][0]["target"], id, "{audit}");
}
