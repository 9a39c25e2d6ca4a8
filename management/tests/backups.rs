//! Configuration backups over real HTTP, on a fresh SQLite file and a fresh PostgreSQL database:
//! on-demand backups of an HAProxy host's directory and of a BIG-IP (the simulator, in process),
//! restores that need the device's name and refuse a corrupt file, schedules run by the
//! `management-backups` job with a clock the test moves (retention, the `BackupFailed` alert),
//! and bad input refused without changing anything.

mod common;

use std::process::Command;
use std::sync::Arc;

use common::{Alone, Served};
use fulcrum_management::ManagementConfig;
use fulcrum_management::backups::archive::sha256_hex;
use fulcrum_management::backups::schedule::BackupSchedule;
use fulcrum_management::backups::task::BackupsTask;
use fulcrum_management::config::BackupsConfig;
use fulcrum_store::Store;
use reqwest::StatusCode;
use serde_json::{Value, json};
use simulators::f5::{self as sim, FaultPlan};
use time::{Duration, OffsetDateTime};

const CONFIG: &str = "global\n    maxconn 100\ndefaults\n    mode http\n    timeout connect 5s\n    \
                      timeout client 5s\n    timeout server 5s\nfrontend www\n    bind \
                      127.0.0.1:18081\n    default_backend app\nbackend app\n    server a \
                      127.0.0.1:9 check\n";

/// The module served with its archive in a directory of its own.
struct Backed {
    served: Served,
    archive: tempfile::TempDir,
}

impl std::ops::Deref for Backed {
    type Target = Served;
    fn deref(&self) -> &Served {
        &self.served
    }
}

async fn serve(store: &Store, schedules: Vec<BackupSchedule>) -> Backed {
    let archive = tempfile::tempdir().unwrap();
    let config = ManagementConfig {
        backups: BackupsConfig {
            directory: archive.path().display().to_string(),
            schedules,
            ..BackupsConfig::default()
        },
        ..ManagementConfig::default()
    };
    Backed {
        served: Served::start(store, config).await,
        archive,
    }
}

impl Backed {
    async fn register(&self, body: Value) -> String {
        let (status, answer) = self
            .call("POST", "/v1/management/devices", Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        answer["device"]["id"].as_str().unwrap().to_owned()
    }

    async fn take(&self, device_id: &str) -> (StatusCode, Value) {
        self.call(
            "POST",
            &format!("/v1/management/devices/{device_id}/backups"),
            None,
        )
        .await
    }

    async fn backups(&self, query: &str) -> Vec<Value> {
        let body = self.get(&format!("/v1/management/backups{query}")).await;
        body["backups"].as_array().unwrap().clone()
    }

    fn file_of(&self, backup: &Value) -> std::path::PathBuf {
        self.archive
            .path()
            .join(backup["archive_key"].as_str().unwrap())
    }

    async fn audit(&self, action: &str) -> Vec<Value> {
        let body = self
            .get(&format!("/v1/management/audit?action={action}"))
            .await;
        body["audit"].as_array().unwrap().clone()
    }

    /// The `BackupFailed` alerts, resolved ones included.
    async fn backup_alerts(&self) -> Vec<Value> {
        let body = self.get("/v1/management/alerts?resolved=true").await;
        body["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["labels"]["alertname"] == "BackupFailed")
            .cloned()
            .collect()
    }
}

fn assert_fault_contains(answer: &(StatusCode, Value), status: u16, text: &str) {
    assert_eq!(answer.0.as_u16(), status, "{}", answer.1);
    let fault = answer.1["faultstring"].as_str().unwrap_or_default();
    assert!(fault.contains(text), "{text:?} not in {}", answer.1);
    let code = if status < 500 { "Client" } else { "Server" };
    assert_eq!(answer.1["faultcode"], code, "{}", answer.1);
}

fn bigip(name: &str, url: &str) -> Value {
    json!({
        "name": name, "kind": "bigip", "provider": "f5", "addresses": [url],
        "username": "admin", "password": "admin",
    })
}

/// An HAProxy host's directory backed up on demand, kept with its checksum; a restore without
/// the device's name is refused and changes nothing, with it the directory is back and valid
/// for the real binary. The backup is listed, shown and deleted with its file.
async fn an_haproxy_host_backup_is_restored_only_when_confirmed(store: Store) {
    let s = serve(&store, Vec::new()).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("haproxy.cfg");
    std::fs::write(&cfg, CONFIG).unwrap();
    let id = s
        .register(json!({
            "name": "host-1", "kind": "haproxy_host",
            "config_dir": dir.path().display().to_string(),
        }))
        .await;

    let (status, body) = s.take(&id).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let backup = body["backup"].clone();
    assert_eq!(backup["status"], "stored");
    assert_eq!(backup["reason"], "manual");
    assert_eq!(backup["device_name"], "host-1");
    let stored = std::fs::read(s.file_of(&backup)).unwrap();
    assert_eq!(backup["sha256"], sha256_hex(&stored));
    assert_eq!(backup["size"], stored.len());
    let backup_id = backup["id"].as_str().unwrap();

    std::fs::write(&cfg, "broken\n").unwrap();
    let restore = format!("/v1/management/backups/{backup_id}/restore");
    for body in [json!({}), json!({"confirm": "host-2"})] {
        let refused = s.call("POST", &restore, Some(body)).await;
        assert_fault_contains(&refused, 400, r#"send {"confirm": "host-1"} to confirm"#);
        assert_eq!(std::fs::read_to_string(&cfg).unwrap(), "broken\n");
    }
    assert!(s.audit("backup.restore").await.is_empty(), "nothing done");

    let (status, body) = s
        .call("POST", &restore, Some(json!({"confirm": "host-1"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), CONFIG);
    let check = Command::new("/usr/sbin/haproxy")
        .args(["-c", "-f"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let restored = s.audit("backup.restore").await;
    assert_eq!(restored.len(), 1);
    assert_eq!(restored[0]["result"], "success");
    assert_eq!(restored[0]["target"], id.as_str());
    assert_eq!(s.audit("backup.take").await[0]["result"], "success");

    let listed = s.backups(&format!("?device_id={id}")).await;
    assert_eq!(listed, std::slice::from_ref(&backup));
    assert!(s.backups("?reason=schedule:x").await.is_empty());
    let shown = s.get(&format!("/v1/management/backups/{backup_id}")).await;
    assert_eq!(shown["backup"], backup);

    let path = format!("/v1/management/backups/{backup_id}");
    let (status, _) = s.call("DELETE", &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(!s.file_of(&backup).exists(), "the file is gone");
    assert_fault_contains(&s.call("GET", &path, None).await, 404, "not found");
}

on_both_databases!(an_haproxy_host_backup_is_restored_only_when_confirmed);

/// A BIG-IP backup (a UCS saved on the simulator) whose file is corrupted or lost fails its
/// verification with 409, and a restore of it is refused before the device is called: no UCS is
/// loaded. A backup the device refuses answers 502 and is recorded as failed.
async fn a_corrupt_bigip_backup_is_never_restored(store: Store) {
    let bigip_sim = sim::start(sim::Config::default()).await.unwrap();
    let s = serve(&store, Vec::new()).await;
    let id = s.register(bigip("bigip-1", bigip_sim.base_url())).await;

    let (status, body) = s.take(&id).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let backup = body["backup"].clone();
    let backup_id = backup["id"].as_str().unwrap();
    assert!(
        backup["name"].as_str().unwrap().ends_with(".ucs"),
        "{backup}"
    );
    assert_eq!(
        bigip_sim
            .control()
            .calls()
            .count("POST", "/mgmt/tm/sys/ucs"),
        1
    );
    let verify = format!("/v1/management/backups/{backup_id}/verify");
    let (status, body) = s.call("POST", &verify, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["verified"], true);

    let file = s.file_of(&backup);
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[0] ^= 0x20;
    std::fs::write(&file, &bytes).unwrap();
    assert_fault_contains(&s.call("POST", &verify, None).await, 409, "is corrupt");
    let restore = format!("/v1/management/backups/{backup_id}/restore");
    let refused = s
        .call("POST", &restore, Some(json!({"confirm": "bigip-1"})))
        .await;
    assert_fault_contains(&refused, 409, "is corrupt");
    let calls = bigip_sim.control().calls();
    assert_eq!(
        calls.count("POST", "/mgmt/tm/sys/ucs"),
        1,
        "the UCS saved, none loaded"
    );
    let audited = s.audit("backup.restore").await;
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0]["result"], "failure");

    std::fs::remove_file(&file).unwrap();
    assert_fault_contains(
        &s.call("POST", &verify, None).await,
        409,
        "missing from the archive",
    );

    bigip_sim
        .control()
        .set_faults(FaultPlan {
            error_rate: 1.0,
            path_prefix: Some("/mgmt/tm/sys/ucs".into()),
            ..FaultPlan::default()
        })
        .unwrap();
    let failed = s.take(&id).await;
    assert_fault_contains(&failed, 502, "device bigip-1");
    let recorded = s.backups("?status=failed").await;
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert!(recorded[0]["archive_key"].is_null());
    assert!(recorded[0]["error"].as_str().unwrap().contains("503"));
    assert_eq!(s.backups("?status=stored").await.len(), 1);
}

on_both_databases!(a_corrupt_bigip_backup_is_never_restored);

/// A schedule made through the API, every minute for BIG-IPs keeping two: runs at three
/// minutes keep two backups and delete the oldest's file; a run in a minute already handled
/// takes nothing; the HAProxy host it does not select is left alone. Backups that fail raise
/// `BackupFailed` for the device (their records kept by the same retention), and the next that
/// succeeds resolves it; each run is audited under no user.
async fn schedules_take_backups_keep_their_retention_and_alert_on_failure(store: Store) {
    let bigip_sim = sim::start(sim::Config::default()).await.unwrap();
    let s = serve(&store, Vec::new()).await;
    let id = s.register(bigip("bigip-1", bigip_sim.base_url())).await;
    let dir = tempfile::tempdir().unwrap();
    let host = s
        .register(json!({
            "name": "host-1", "kind": "haproxy_host",
            "config_dir": dir.path().display().to_string(),
        }))
        .await;
    let (status, body) = s
        .call(
            "POST",
            "/v1/management/backup-schedules",
            Some(json!({
                "name": "every-minute", "cron": "* * * * *", "kind": "bigip", "keep_count": 2,
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["backup_schedule"]["source"], "api");
    assert!(body["backup_schedule"]["last_run"].is_null());

    let task = BackupsTask::new(Arc::clone(&s.management), Arc::new(Alone));
    let now = OffsetDateTime::now_utc();
    let t0 = now - Duration::seconds(i64::from(now.second()));
    let report = task.run(t0).await.unwrap();
    assert_eq!(report.get("stored"), Some(&1), "{report:?}");
    let first = s.backups("?reason=schedule:every-minute").await;
    assert_eq!(first.len(), 1);
    let report = task.run(t0 + Duration::seconds(30)).await.unwrap();
    assert!(report.is_empty(), "the minute is done: {report:?}");

    for minute in 1..=2 {
        let report = task.run(t0 + Duration::minutes(minute)).await.unwrap();
        assert_eq!(report.get("stored"), Some(&1), "{report:?}");
    }
    let kept = s.backups("?reason=schedule:every-minute").await;
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(kept.iter().all(|b| b["id"] != first[0]["id"]));
    assert!(!s.file_of(&first[0]).exists(), "the oldest file is deleted");
    assert!(kept.iter().all(|b| s.file_of(b).exists()));
    assert!(s.backups(&format!("?device_id={host}")).await.is_empty());
    let listed = s.get("/v1/management/backup-schedules").await;
    assert!(
        listed["backup_schedules"][0]["last_run"].is_string(),
        "{listed}"
    );

    bigip_sim
        .control()
        .set_faults(FaultPlan {
            error_rate: 1.0,
            path_prefix: Some("/mgmt/tm/sys/ucs".into()),
            ..FaultPlan::default()
        })
        .unwrap();
    for minute in 3..=5 {
        let report = task.run(t0 + Duration::minutes(minute)).await.unwrap();
        assert_eq!(report.get("failed"), Some(&1), "{report:?}");
    }
    let failed = s.backups("?status=failed").await;
    assert_eq!(
        failed.len(),
        2,
        "failed attempts are kept as stored ones are: {failed:?}"
    );
    let alerts = s.backup_alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["status"], "firing");
    assert_eq!(alerts[0]["labels"]["device"], "bigip-1");
    assert_eq!(alerts[0]["labels"]["severity"], "warning");
    assert_eq!(s.backups("?status=stored").await.len(), 2, "both kept");

    bigip_sim.control().clear_faults();
    let report = task.run(t0 + Duration::minutes(6)).await.unwrap();
    assert_eq!(report.get("stored"), Some(&1), "{report:?}");
    let alerts = s.backup_alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["status"], "resolved");

    let audited = s.audit("backup.take").await;
    assert_eq!(audited.len(), 7);
    assert!(audited.iter().all(|e| e["user_id"].is_null()));
    assert!(audited.iter().all(|e| e["target"] == id.as_str()));
    assert_eq!(
        audited.iter().filter(|e| e["result"] == "failure").count(),
        3
    );
}

on_both_databases!(schedules_take_backups_keep_their_retention_and_alert_on_failure);

/// Bad input is refused with 400 (a bad cron with the parser's message, a bad name, an unknown
/// field or filter) or 404 (an unknown device or backup) and changes nothing; a schedule of the
/// configuration is listed but neither replaced nor deleted through the API.
async fn bad_input_changes_nothing(store: Store) {
    let nightly = BackupSchedule {
        name: "nightly".into(),
        cron: "0 2 * * *".into(),
        kind: None,
        devices: vec![],
        keep_count: None,
        keep_days: Some(30),
    };
    let s = serve(&store, vec![nightly]).await;
    let schedules = "/v1/management/backup-schedules";
    let listed = s.get(schedules).await;
    assert_eq!(
        listed["backup_schedules"][0]["source"], "config",
        "{listed}"
    );
    assert!(listed["backup_schedules"][0]["next_run"].is_string());

    for (body, text) in [
        (
            json!({"name": "x", "cron": "61 * * * *"}),
            "minute: 61 is outside 0-59",
        ),
        (json!({"name": "x", "cron": "* * *"}), "expected 5 fields"),
        (json!({"name": "a b", "cron": "* * * * *"}), "name must be"),
        (
            json!({"name": "x", "cron": "* * * * *", "kind": "router"}),
            "router",
        ),
        (
            json!({"name": "x", "cron": "* * * * *", "keep_count": 0}),
            "keep_count",
        ),
        (
            json!({"name": "x", "cron": "* * * * *", "colour": "red"}),
            "colour",
        ),
    ] {
        let refused = s.call("POST", schedules, Some(body)).await;
        assert_fault_contains(&refused, 400, text);
    }
    let taken = s
        .call(
            "POST",
            schedules,
            Some(json!({"name": "nightly", "cron": "* * * * *"})),
        )
        .await;
    assert_fault_contains(&taken, 409, "in the configuration");
    let deleted = s
        .call("DELETE", &format!("{schedules}/nightly"), None)
        .await;
    assert_fault_contains(&deleted, 409, "remove it there");
    let unknown = s.call("DELETE", &format!("{schedules}/other"), None).await;
    assert_fault_contains(&unknown, 404, "Backup schedule other not found.");
    assert_eq!(
        s.get(schedules).await["backup_schedules"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "nothing stored"
    );

    assert_fault_contains(&s.take("nope").await, 404, "Device nope not found.");
    let edge = s
        .register(json!({"name": "edge-1", "kind": "nsx_edge"}))
        .await;
    assert_fault_contains(
        &s.take(&edge).await,
        400,
        "device operations is not supported for nsx_edge devices.",
    );
    assert!(s.backup_alerts().await.is_empty());
    for path in [
        "/v1/management/backups/nope/verify",
        "/v1/management/backups/nope/restore",
    ] {
        let answer = s.call("POST", path, Some(json!({"confirm": "x"}))).await;
        assert_fault_contains(&answer, 404, "Backup nope not found.");
    }
    assert_fault_contains(
        &s.call("GET", "/v1/management/backups?limit=0", None).await,
        400,
        "limit",
    );
    assert_fault_contains(
        &s.call("GET", "/v1/management/backups?status=lost", None)
            .await,
        400,
        "lost",
    );
    assert_fault_contains(
        &s.call("GET", "/v1/management/backups?colour=red", None)
            .await,
        400,
        "colour",
    );
    assert!(s.backups("").await.is_empty());
    let audited = s.get("/v1/management/audit").await;
    let actions: Vec<&str> = audited["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["device.register"], "nothing else was done");

    let bad = BackupSchedule {
        name: "bad".into(),
        cron: "0 25 * * *".into(),
        kind: None,
        devices: vec![],
        keep_count: None,
        keep_days: None,
    };
    let config = ManagementConfig {
        backups: BackupsConfig {
            schedules: vec![bad],
            ..BackupsConfig::default()
        },
        ..ManagementConfig::default()
    };
    let refused = fulcrum_management::Management::open(&store, config)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("hour"), "{refused}");
}

on_both_databases!(bad_input_changes_nothing);

/// A schedule's slot that falls between two activations is caught up at the next one, once; a
/// task started afresh (a restart) after several missed slots runs one catch-up, not one per slot.
async fn a_missed_slot_is_caught_up_once(store: Store) {
    let s = serve(&store, Vec::new()).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("haproxy.cfg"), CONFIG).unwrap();
    let host = s
        .register(json!({
            "name": "host-1", "kind": "haproxy_host",
            "config_dir": dir.path().display().to_string(),
        }))
        .await;
    let now = OffsetDateTime::now_utc();
    let t0 = now - Duration::seconds(i64::from(now.second()));
    let slot = (t0 + Duration::minutes(1)).minute();
    let (status, body) = s
        .call(
            "POST",
            "/v1/management/backup-schedules",
            Some(json!({"name": "hourly", "cron": format!("{slot} * * * *")})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mine = format!("?device_id={host}");

    let task = BackupsTask::new(Arc::clone(&s.management), Arc::new(Alone));
    assert!(task.run(t0).await.unwrap().is_empty());
    assert!(s.backups(&mine).await.is_empty());
    let report = task.run(t0 + Duration::minutes(2)).await.unwrap();
    assert_eq!(report.get("stored"), Some(&1), "{report:?}");
    assert!(
        task.run(t0 + Duration::minutes(3))
            .await
            .unwrap()
            .is_empty()
    );

    let restarted = BackupsTask::new(Arc::clone(&s.management), Arc::new(Alone));
    let report = restarted
        .run(t0 + Duration::hours(3) + Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(report.get("stored"), Some(&1), "one catch-up: {report:?}");
    assert_eq!(s.backups(&mine).await.len(), 2);
}

on_both_databases!(a_missed_slot_is_caught_up_once);
