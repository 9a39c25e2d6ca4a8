//! Hotfix campaigns over real HTTP against BIG-IP simulators in process, on a fresh SQLite file
//! and a fresh PostgreSQL database: twenty HA pairs rolled standby first, a device that fails its
//! health gate pausing the campaign until it is fixed and resumed, every device backed up before
//! its change, no pair ever out of service at once, devices under change skipped by placement,
//! no step issued twice, and a rollback to the previous volume.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::{Served, assert_fault};
use fulcrum_management::ManagementConfig;
use fulcrum_management::campaigns::model::Policy;
use fulcrum_store::Store;
use serde_json::{Value, json};
use simulators::f5 as sim;

const HOTFIX: &str = "Hotfix-BIGIP-17.1.1.1-0.0.2-ENG.iso";

/// Simulated pairs that install and reboot quickly.
async fn pairs(count: usize) -> Vec<sim::Running> {
    let mut running = Vec::new();
    for _ in 0..count {
        running.push(
            sim::start(sim::Config {
                install_delay: Duration::from_millis(300),
                reboot_delay: Duration::from_millis(300),
                ..sim::Config::ha_pair()
            })
            .await
            .unwrap(),
        );
    }
    running
}

async fn upload(url: &str, iso: &str) {
    let answer = reqwest::Client::new()
        .post(format!("{url}/mgmt/shared/file-transfer/uploads/{iso}"))
        .basic_auth("admin", Some("admin"))
        .body(vec![0u8; 1024])
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
}

/// Register each pair's devices as `pN-a` (active) and `pN-b` (standby), upload the hotfix to
/// them, and read their facts.
async fn register(s: &Served, pairs: &[sim::Running]) -> BTreeMap<String, String> {
    let mut ids = BTreeMap::new();
    for (n, pair) in pairs.iter().enumerate() {
        let urls = pair.base_urls();
        for (i, side) in ["a", "b"].iter().enumerate() {
            let name = format!("p{n:02}-{side}");
            let peer = format!("p{n:02}-{}", if i == 0 { "b" } else { "a" });
            let (status, body) = s
                .call(
                    "POST",
                    "/v1/management/devices",
                    Some(json!({
                        "name": name, "kind": "bigip", "provider": "f5",
                        "addresses": [urls[i]], "username": "admin", "password": "admin",
                        "ha_peer": peer,
                    })),
                )
                .await;
            assert_eq!(status, 201, "{body}");
            let id = body["device"]["id"].as_str().unwrap().to_owned();
            upload(urls[i], HOTFIX).await;
            let (status, body) = s
                .call(
                    "POST",
                    &format!("/v1/management/devices/{id}/refresh"),
                    None,
                )
                .await;
            assert_eq!(status, 200, "{body}");
            ids.insert(name, id);
        }
    }
    ids
}

fn config(backups: &std::path::Path) -> ManagementConfig {
    let mut config = ManagementConfig::default();
    config.backups.directory = backups.display().to_string();
    config.campaigns.policies = vec![Policy {
        name: "fast".into(),
        max_parallel: 4,
        canary: 1,
        gate_timeout_seconds: 2,
        step_timeout_seconds: 30,
        ..Policy::default()
    }];
    config
}

/// The pair index and side of a device name.
fn pair_of(name: &str) -> (usize, usize) {
    let n = name[1..3].parse().unwrap();
    (n, usize::from(name.ends_with("-b")))
}

/// What the test watches while the campaign runs.
#[derive(Default)]
struct Watch {
    both_down: Vec<String>,
    placed_under_change: Vec<String>,
    seen_in_progress: BTreeSet<String>,
}

impl Watch {
    /// Look at every pair and at the devices under change.
    async fn look(&mut self, s: &Served, pairs: &[sim::Running], campaign: &Value) {
        for (n, pair) in pairs.iter().enumerate() {
            let devices = pair.control().devices();
            if devices.iter().all(|d| d.rebooting) {
                self.both_down.push(format!("pair {n}"));
            }
        }
        let availability = s.management.device_availability();
        for device in campaign["devices"].as_array().unwrap() {
            if device["progress"] == "in_progress" {
                let name = device["name"].as_str().unwrap();
                self.seen_in_progress.insert(name.to_owned());
                if availability.may_place("f5", name).await {
                    self.placed_under_change.push(name.to_owned());
                }
            }
        }
    }
}

/// Drive the campaign until it reaches one of `states`, watching as it goes.
async fn drive_until(
    s: &Served,
    pairs: &[sim::Running],
    id: &str,
    states: &[&str],
    watch: &mut Watch,
) -> Value {
    for _ in 0..600 {
        s.management.campaign_executor.drive_all().await.unwrap();
        let campaign = s.get(&format!("/v1/management/campaigns/{id}")).await["campaign"].clone();
        watch.look(s, pairs, &campaign).await;
        if states.contains(&campaign["state"].as_str().unwrap()) {
            return campaign;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("campaign {id} never reached {states:?}");
}

/// Intervals (first `started`, last `done`) of each device, from the history.
fn spans(history: &[Value]) -> BTreeMap<String, (i64, i64)> {
    let mut spans: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for entry in history {
        let at = entry["at_ms"].as_i64().unwrap();
        let device = entry["device_id"].as_str().unwrap().to_owned();
        let span = spans.entry(device).or_insert((i64::MAX, i64::MIN));
        span.0 = span.0.min(at);
        span.1 = span.1.max(at);
    }
    spans
}

async fn twenty_pairs_roll_standby_first_and_pause_at_a_failed_gate(store: Store) {
    let dir = tempfile::tempdir().unwrap();
    let s = Served::start(&store, config(dir.path())).await;
    let pairs = pairs(20).await;
    let ids = register(&s, &pairs).await;
    let names: BTreeMap<&String, &String> = ids.iter().map(|(n, id)| (id, n)).collect();
    // Pair 7's standby will not report its configuration in sync after its change.
    assert!(
        pairs[7]
            .control()
            .set_sync_status(1, Some("Changes Pending".into()))
    );

    let (status, body) = s
        .call(
            "POST",
            "/v1/management/campaigns",
            Some(json!({
                "name": "hotfix 17.1.1.1",
                "target": {"kind": "hotfix", "name": HOTFIX, "version": "17.1.1.1"},
                "devices": {"kind": "bigip"},
                "policy": "fast",
            })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["campaign"]["id"].as_str().unwrap().to_owned();
    assert_eq!(body["campaign"]["progress"]["total"], 40);
    let order: Vec<&str> = body["campaign"]["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(&order[..4], ["p00-a", "p00-b", "p01-a", "p01-b"]);

    // A device in a campaign that has not ended cannot be in another.
    let again = s
        .call(
            "POST",
            "/v1/management/campaigns",
            Some(json!({
                "name": "again", "target": {"kind": "hotfix", "name": HOTFIX, "version": "17.1.1.1"},
                "devices": {"names": ["p03-a"]},
            })),
        )
        .await;
    assert_fault(
        &again,
        409,
        "These devices are in a campaign that has not ended: p03-a.",
    );

    let mut watch = Watch::default();
    let paused = drive_until(&s, &pairs, &id, &["paused", "completed"], &mut watch).await;
    assert_eq!(paused["state"], "paused", "{paused}");
    let reason = paused["reason"].as_str().unwrap();
    assert!(
        reason.contains("p07-b") && reason.contains("HA is not in sync (Changes Pending)"),
        "{reason}"
    );
    // The devices under way when it paused finish; after that nothing moves.
    for _ in 0..100 {
        s.management.campaign_executor.drive_all().await.unwrap();
        let now = s.get(&format!("/v1/management/campaigns/{id}")).await["campaign"].clone();
        if now["progress"]["in_progress"] == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let paused = s.get(&format!("/v1/management/campaigns/{id}")).await["campaign"].clone();
    assert_eq!(paused["progress"]["in_progress"], 0, "{paused}");
    assert_eq!(paused["progress"]["failed"], 1, "{paused}");
    let untouched: Vec<&Value> = paused["devices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["progress"] == "pending")
        .collect();
    assert!(!untouched.is_empty(), "the pause left pending devices");
    for device in &untouched {
        let (pair, side) = pair_of(device["name"].as_str().unwrap());
        let report = &pairs[pair].control().devices()[side];
        assert_eq!(report.version, "17.1.1", "{} was touched", device["name"]);
        let calls = pairs[pair].control().calls();
        assert!(
            !calls
                .recent
                .iter()
                .any(|c| c.device == side && c.method == "POST" && c.path.contains("software")),
            "{} got an install",
            device["name"]
        );
    }
    let alerts = s.get("/v1/management/alerts").await;
    assert!(
        alerts.to_string().contains("CampaignStepFailed"),
        "{alerts}"
    );

    // Fixed by a config-sync from the failed device, the campaign resumes and completes.
    let (status, body) = s
        .call(
            "POST",
            &format!("/v1/management/devices/{}/sync", ids["p07-b"]),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(pairs[7].control().devices()[1].sync_status, "In Sync");
    let single = s
        .call(
            "POST",
            &format!("/v1/management/devices/{}/sync", ids["p07-a"]),
            None,
        )
        .await;
    assert_eq!(single.0, 200, "{}", single.1);
    let (status, body) = s
        .call(
            "POST",
            &format!("/v1/management/campaigns/{id}/resume"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let done = drive_until(&s, &pairs, &id, &["completed", "paused"], &mut watch).await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["progress"]["done"], 40);
    assert_eq!(done["progress"]["percent"], 100);

    // Every device runs the hotfix, from the other volume.
    for pair in &pairs {
        for report in pair.control().devices() {
            assert_eq!(report.version, "17.1.1.1");
        }
    }
    assert!(watch.both_down.is_empty(), "{:?}", watch.both_down);
    assert!(
        watch.placed_under_change.is_empty(),
        "placement was offered {:?}",
        watch.placed_under_change
    );
    assert!(watch.seen_in_progress.len() >= 10);
    let availability = s.management.device_availability();
    for name in ids.keys() {
        assert!(
            availability.may_place("f5", name).await,
            "{name} back in service"
        );
    }

    // History: each step issued once per device, every device backed up before its install,
    // and the two members of a pair never under change at the same time.
    let history = s
        .get(&format!("/v1/management/campaigns/{id}/history"))
        .await["history"]
        .as_array()
        .unwrap()
        .clone();
    let mut issued: BTreeMap<(String, String), usize> = BTreeMap::new();
    for entry in history.iter().filter(|e| e["action"] == "issued") {
        *issued
            .entry((
                entry["device_id"].as_str().unwrap().to_owned(),
                entry["step"].as_str().unwrap().to_owned(),
            ))
            .or_default() += 1;
    }
    assert!(issued.values().all(|n| *n == 1), "{issued:?}");
    for (name, device) in &ids {
        let install_at = history
            .iter()
            .find(|e| {
                e["device_id"] == device.as_str()
                    && e["step"] == "install"
                    && e["action"] == "issued"
            })
            .unwrap_or_else(|| panic!("{name} was never installed"))["at_ms"]
            .as_i64()
            .unwrap();
        let backups = s.management.backups.of_device(device).await.unwrap();
        let backup = backups
            .iter()
            .find(|b| b.reason == format!("campaign:{id}"))
            .unwrap_or_else(|| panic!("{name} was not backed up"));
        assert!(
            backup.created_ms <= install_at,
            "{name} backed up after its install"
        );
    }
    let spans = spans(&history);
    for n in 0..20 {
        let a = spans[&ids[&format!("p{n:02}-a")]];
        let b = spans[&ids[&format!("p{n:02}-b")]];
        // One member may start in the millisecond its peer is done.
        assert!(a.1 <= b.0 || b.1 <= a.0, "pair {n} overlapped: {a:?} {b:?}");
        // Standby first: pair members are `a` active and `b` standby at the start.
        if n != 7 {
            assert!(b.0 < a.0, "pair {n}: the active went first");
        }
    }
    for pair in &pairs {
        let calls = pair.control().calls();
        for side in 0..2 {
            let count = |path: &str| {
                calls
                    .recent
                    .iter()
                    .filter(|c| {
                        c.device == side && c.method == "POST" && c.path == path && c.status < 300
                    })
                    .count()
            };
            assert_eq!(count("/mgmt/tm/sys/software/hotfix"), 1);
            assert_eq!(count("/mgmt/tm/sys"), 1, "one reboot");
            assert_eq!(count("/mgmt/tm/sys/ucs"), 1, "one backup");
        }
    }
    let audit = s.get("/v1/management/audit?action=campaign.create").await;
    assert_eq!(audit["audit"].as_array().unwrap().len(), 1);
    let _ = names;
}
on_both_databases!(twenty_pairs_roll_standby_first_and_pause_at_a_failed_gate);

async fn a_rollback_boots_the_previous_volume(store: Store) {
    let dir = tempfile::tempdir().unwrap();
    let s = Served::start(&store, config(dir.path())).await;
    let pairs = pairs(1).await;
    let ids = register(&s, &pairs).await;
    let (status, body) = s
        .call(
            "POST",
            "/v1/management/campaigns",
            Some(json!({
                "name": "to roll back",
                "target": {"kind": "hotfix", "name": HOTFIX, "version": "17.1.1.1"},
                "devices": {"names": ["p00-a", "p00-b"]},
                "policy": "fast", "backup": false,
            })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["campaign"]["id"].as_str().unwrap().to_owned();
    let mut watch = Watch::default();
    drive_until(&s, &pairs, &id, &["completed"], &mut watch).await;
    assert!(
        s.management
            .backups
            .of_device(&ids["p00-a"])
            .await
            .unwrap()
            .is_empty()
    );
    let (status, body) = s
        .call(
            "POST",
            &format!("/v1/management/campaigns/{id}/rollback"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let back = drive_until(&s, &pairs, &id, &["rolled_back", "paused"], &mut watch).await;
    assert_eq!(back["state"], "rolled_back", "{back}");
    for report in pairs[0].control().devices() {
        assert_eq!(report.version, "17.1.1");
    }
    assert!(watch.both_down.is_empty());
    // A campaign rolled back cannot be rolled back, paused or resumed again.
    for action in ["rollback", "pause", "resume", "abort"] {
        let answer = s
            .call(
                "POST",
                &format!("/v1/management/campaigns/{id}/{action}"),
                None,
            )
            .await;
        let cannot = match action {
            "rollback" => "rolled back",
            "pause" => "paused",
            "resume" => "resumed",
            _ => "aborted",
        };
        assert_fault(
            &answer,
            409,
            &format!("Campaign {id} is rolled_back; it cannot be {cannot}."),
        );
    }
}
on_both_databases!(a_rollback_boots_the_previous_volume);

async fn bad_campaigns_are_refused_and_change_nothing(store: Store) {
    let dir = tempfile::tempdir().unwrap();
    let s = Served::start(&store, config(dir.path())).await;
    let pairs = pairs(1).await;
    register(&s, &pairs).await;
    let target = json!({"kind": "hotfix", "name": HOTFIX, "version": "17.1.1.1"});
    let cases = [
        (
            json!({"name": "x", "target": target, "devices": {"names": ["nope"]}}),
            400,
            "No device is named \"nope\".",
        ),
        (
            json!({"name": "x", "target": target, "devices": {"kind": "toaster"}}),
            400,
            "kind must be one of bigip, nsx_manager, nsx_edge, haproxy_host, not \"toaster\".",
        ),
        (
            json!({"name": "x", "target": target, "devices": {}, "policy": "slow"}),
            400,
            "Campaign policy \"slow\" is not defined; the policies are default, fast.",
        ),
        (
            json!({"name": "x", "target": target, "devices": {}, "max_parallel": 0}),
            400,
            "max_parallel must be between 1 and 1000, not 0.",
        ),
        (
            json!({"name": " ", "target": target, "devices": {}}),
            400,
            "A campaign needs a name.",
        ),
        (
            json!({"name": "x", "target": target, "devices": {"provider": "nsxt"}}),
            400,
            "The device selector matches no device.",
        ),
    ];
    for (body, status, text) in cases {
        let answer = s.call("POST", "/v1/management/campaigns", Some(body)).await;
        assert_fault(&answer, status, text);
    }
    let (status, body) = s
        .call(
            "POST",
            "/v1/management/campaigns",
            Some(
                json!({"name": "x", "target": {"kind": "patch", "name": HOTFIX, "version": "1"},
                        "devices": {}}),
            ),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["faultstring"]
            .as_str()
            .unwrap()
            .contains("unknown variant `patch`, expected `hotfix` or `image`"),
        "{body}"
    );
    assert_eq!(
        s.get("/v1/management/campaigns").await["campaigns"],
        json!([])
    );
    let missing = s
        .call("POST", "/v1/management/campaigns/nope/resume", None)
        .await;
    assert_fault(&missing, 404, "Campaign nope not found.");
    let policies = s.get("/v1/management/campaign-policies").await;
    let names: Vec<&str> = policies["campaign_policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["default", "fast"]);
}
on_both_databases!(bad_campaigns_are_refused_and_change_nothing);
