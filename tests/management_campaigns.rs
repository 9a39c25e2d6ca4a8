//! Campaigns in the whole server: a hotfix campaign over simulated BIG-IP pairs, the server
//! killed (SIGKILL) in the middle of it and started again, resumes where it stopped and issues
//! no step twice to any device.

mod common;

use std::time::{Duration, Instant};

use common::{Db, Options, TestServer};
use serde_json::{Value, json};
use simulators::f5 as sim;

const HOTFIX: &str = "Hotfix-BIGIP-17.1.1.1-0.0.2-ENG.iso";

async fn simulated_pairs(count: usize) -> Vec<sim::Running> {
    let mut pairs = Vec::new();
    for _ in 0..count {
        pairs.push(
            sim::start(sim::Config {
                install_delay: Duration::from_millis(1500),
                reboot_delay: Duration::from_millis(1500),
                ..sim::Config::ha_pair()
            })
            .await
            .unwrap(),
        );
    }
    pairs
}

async fn campaign(s: &TestServer, id: &str) -> Value {
    s.get(&format!("/v1/management/campaigns/{id}")).await["campaign"].clone()
}

async fn a_campaign_resumes_after_a_kill_without_repeating_a_step(db: Db) {
    let backups = tempfile::tempdir().unwrap();
    let mut s = TestServer::start_with(
        db,
        Options {
            extra_toml: format!(
                "[management.backups]\ndirectory = \"{}\"\n\
                 [management.campaigns]\ninterval_seconds = 1\n\
                 [[management.campaigns.policies]]\nname = \"pairs\"\nmax_parallel = 2\n\
                 canary = 0\ngate_timeout_seconds = 60\n",
                backups.path().display()
            ),
            ..Options::default()
        },
    )
    .await;
    let pairs = simulated_pairs(3).await;
    for (n, pair) in pairs.iter().enumerate() {
        for (i, url) in pair.base_urls().into_iter().enumerate() {
            let name = format!("p{n}-{i}");
            let (status, body) = s
                .call(
                    "POST",
                    "/v1/management/devices",
                    Some(json!({
                        "name": name, "kind": "bigip", "provider": "f5", "addresses": [url],
                        "username": "admin", "password": "admin",
                        "ha_peer": format!("p{n}-{}", 1 - i),
                    })),
                )
                .await;
            assert_eq!(status, 201, "{body}");
            let uploaded = reqwest::Client::new()
                .post(format!("{url}/mgmt/shared/file-transfer/uploads/{HOTFIX}"))
                .basic_auth("admin", Some("admin"))
                .body(vec![0u8; 512])
                .send()
                .await
                .unwrap();
            assert!(uploaded.status().is_success());
            let id = body["device"]["id"].as_str().unwrap();
            let (status, body) = s
                .call(
                    "POST",
                    &format!("/v1/management/devices/{id}/refresh"),
                    None,
                )
                .await;
            assert_eq!(status, 200, "{body}");
        }
    }
    let (status, body) = s
        .call(
            "POST",
            "/v1/management/campaigns",
            Some(json!({
                "name": "hotfix", "policy": "pairs", "devices": {"kind": "bigip"},
                "target": {"kind": "hotfix", "name": HOTFIX, "version": "17.1.1.1"},
            })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["campaign"]["id"].as_str().unwrap().to_owned();

    // Kill the server once a device has been sent its install and the campaign is not over.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let history = s
            .get(&format!("/v1/management/campaigns/{id}/history"))
            .await;
        let installing = history["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["step"] == "install" && e["action"] == "issued");
        if installing {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no install was issued: {history}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(campaign(&s, &id).await["state"], "running");
    s.restart().await;

    let deadline = Instant::now() + Duration::from_secs(120);
    let done = loop {
        let now = campaign(&s, &id).await;
        if now["state"] != "running" {
            break now;
        }
        assert!(Instant::now() < deadline, "never completed: {now}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(done["state"], "completed", "{done}\n{}", s.log());
    assert_eq!(done["progress"]["done"], 6);
    for pair in &pairs {
        let calls = pair.control().calls();
        for (side, report) in pair.control().devices().iter().enumerate() {
            assert_eq!(report.version, "17.1.1.1");
            let count = |path: &str| {
                calls
                    .recent
                    .iter()
                    .filter(|c| c.device == side && c.method == "POST" && c.path == path)
                    .count()
            };
            assert_eq!(count("/mgmt/tm/sys/software/hotfix"), 1, "one install");
            assert_eq!(count("/mgmt/tm/sys"), 1, "one reboot");
            assert_eq!(count("/mgmt/tm/sys/ucs"), 1, "one backup");
            assert!(count("/mgmt/tm/sys/failover") <= 1, "at most one failover");
        }
    }
    let tasks = s.get("/v1/status/tasks").await;
    assert!(
        tasks.to_string().contains("management-campaigns"),
        "{tasks}"
    );
}

on_both_databases!(a_campaign_resumes_after_a_kill_without_repeating_a_step);
