//! `fulcrum manage`: the management API from the command line, against a real server: tables
//! in the `openstack` command's style, JSON on request, and the server's own words when it
//! refuses.

mod common;

use std::process::Output;

use common::{Db, Options, TestServer};
use serde_json::{Value, json};

fn manage(base: &str, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_fulcrum"))
        .arg("manage")
        .args(["--url", base])
        .args(args)
        .env_remove("OS_TOKEN")
        .output()
        .expect("fulcrum manage runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_trail_prints_as_a_table_or_json() {
    let s = TestServer::start(Db::Sqlite).await;
    let out = manage(&s.base, &["audit", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.lines()
            .nth(1)
            .is_some_and(|header| header.starts_with("| at ") && header.contains("| action ")),
        "a header row under a border: {text}"
    );

    let out = manage(
        &s.base,
        &["--format", "json", "audit", "list", "--limit", "5"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let listed: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(listed, Value::Array(vec![]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_is_reported_in_the_servers_words_with_a_failing_status() {
    let s = TestServer::start(Db::Sqlite).await;
    let out = manage(&s.base, &["audit", "list", "--result", "maybe"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim(),
        "error: 400 Bad Request: result must be success or failure, not \"maybe\"."
    );
    assert!(stdout(&out).is_empty());
}

#[test]
fn an_unreachable_server_is_named() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let out = manage(&base, &["audit", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!(
            "cannot reach Fulcrum at {base}/v1/management/audit"
        )),
        "{}",
        stderr(&out)
    );
}

/// The device inventory from the command line: a configured HAProxy host listed with its
/// version once its facts are read, shown, and taken into maintenance (audited); a state that
/// does not exist is refused in the server's words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_are_listed_shown_and_put_into_maintenance() {
    let host_dir = tempfile::tempdir().unwrap();
    std::fs::write(host_dir.path().join("haproxy.cfg"), "global\n").unwrap();
    let s = TestServer::start_with(
        Db::Sqlite,
        Options {
            extra_toml: format!(
                "[management.devices]\nfacts_interval_seconds = 1\n\
                 [[management.devices.static]]\nname = \"host-1\"\nkind = \"haproxy_host\"\n\
                 provider = \"haproxy\"\nconfig_dir = \"{}\"\n",
                host_dir.path().display()
            ),
            ..Options::default()
        },
    )
    .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let listed = loop {
        let out = manage(&s.base, &["--format", "json", "devices", "list"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let listed: Value = serde_json::from_str(&stdout(&out)).unwrap();
        if listed[0]["version"].is_string() {
            break listed;
        }
        assert!(std::time::Instant::now() < deadline, "no facts: {listed}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let id = listed[0]["id"].as_str().unwrap().to_string();
    let version = listed[0]["version"].as_str().unwrap().to_string();

    let table = stdout(&manage(
        &s.base,
        &["devices", "list", "--kind", "haproxy_host"],
    ));
    let row = table
        .lines()
        .find(|line| line.contains("host-1"))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(row.contains("| ready ") && row.contains(&version), "{row}");

    let out = manage(&s.base, &["devices", "set-state", &id, "maintenance"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out)
            .lines()
            .any(|line| line.starts_with("| state ") && line.contains("maintenance")),
        "{}",
        stdout(&out)
    );
    let shown: Value = serde_json::from_str(&stdout(&manage(
        &s.base,
        &["--format", "json", "devices", "show", &id],
    )))
    .unwrap();
    assert_eq!(shown["state"], "maintenance");
    let audit: Value = serde_json::from_str(&stdout(&manage(
        &s.base,
        &["--format", "json", "audit", "list", "--target", &id],
    )))
    .unwrap();
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["result"] == "success"),
        "{audit}"
    );

    let out = manage(&s.base, &["devices", "set-state", &id, "asleep"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("400 Bad Request"), "{}", stderr(&out));
}

/// Alerts from the command line: a posted alert is listed with its name and device, filtered
/// by a matcher, and acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_are_listed_filtered_and_acknowledged() {
    let s = TestServer::start(Db::Sqlite).await;
    let posted = s
        .http
        .post(format!("{}/v1/management/api/v2/alerts", s.base))
        .json(&json!([
            {"labels": {"alertname": "DiskFull", "device": "bigip-1", "severity": "critical"}},
            {"labels": {"alertname": "HighLoad", "device": "bigip-2", "severity": "warning"}}
        ]))
        .send()
        .await
        .unwrap();
    assert!(posted.status().is_success());

    let out = manage(
        &s.base,
        &["alerts", "list", "--filter", "severity=\"critical\""],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(
        table.contains("| DiskFull ") && table.contains("| bigip-1 "),
        "{table}"
    );
    assert!(
        !table.contains("HighLoad"),
        "the filter leaves it out: {table}"
    );

    let listed: Value = serde_json::from_str(&stdout(&manage(
        &s.base,
        &[
            "--format",
            "json",
            "alerts",
            "list",
            "--filter",
            "alertname=\"DiskFull\"",
        ],
    )))
    .unwrap();
    let fingerprint = listed[0]["fingerprint"].as_str().unwrap().to_string();
    let out = manage(&s.base, &["alerts", "acknowledge", &fingerprint]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed: Value = serde_json::from_str(&stdout(&manage(
        &s.base,
        &[
            "--format",
            "json",
            "alerts",
            "list",
            "--filter",
            "alertname=\"DiskFull\"",
        ],
    )))
    .unwrap();
    assert_eq!(listed[0]["acknowledged"], true, "{listed}");

    let out = manage(&s.base, &["alerts", "acknowledge", "0000000000000000"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("404 Not Found"), "{}", stderr(&out));
}

/// `campaigns create --watch` follows a campaign to its end with a progress display, and the
/// campaign is then listed and shown with its devices.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_is_created_and_followed_to_its_end() {
    const HOTFIX: &str = "Hotfix-BIGIP-17.1.1.1-0.0.2-ENG.iso";
    let backups = tempfile::tempdir().unwrap();
    let s = TestServer::start_with(
        Db::Sqlite,
        Options {
            extra_toml: format!(
                "[management.backups]\ndirectory = \"{}\"\n\
                 [management.campaigns]\ninterval_seconds = 1\n",
                backups.path().display()
            ),
            ..Options::default()
        },
    )
    .await;
    let pair = simulators::f5::start(simulators::f5::Config {
        install_delay: std::time::Duration::from_millis(200),
        reboot_delay: std::time::Duration::from_millis(200),
        ..simulators::f5::Config::ha_pair()
    })
    .await
    .unwrap();
    for (i, url) in pair.base_urls().into_iter().enumerate() {
        let (status, body) = s
            .call(
                "POST",
                "/v1/management/devices",
                Some(json!({
                    "name": format!("bigip-{i}"), "kind": "bigip", "addresses": [url],
                    "username": "admin", "password": "admin",
                    "ha_peer": format!("bigip-{}", 1 - i),
                })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let uploaded = reqwest::Client::new()
            .post(format!("{url}/mgmt/shared/file-transfer/uploads/{HOTFIX}"))
            .basic_auth("admin", Some("admin"))
            .body(vec![0u8; 64])
            .send()
            .await
            .unwrap();
        assert!(uploaded.status().is_success());
    }
    let base = s.base.clone();
    let out = tokio::task::spawn_blocking(move || {
        manage(
            &base,
            &[
                "campaigns",
                "create",
                "--name",
                "hotfix",
                "--iso",
                HOTFIX,
                "--version",
                "17.1.1.1",
                "--kind",
                "bigip",
                "--max-parallel",
                "2",
                "--watch",
            ],
        )
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("hotfix running [") && text.contains("in progress"),
        "progress lines: {text}"
    );
    assert!(
        text.contains("hotfix completed [####################] 100% | 2 done"),
        "{text}"
    );
    assert!(
        text.contains("| bigip-0 ") && text.contains("| done "),
        "{text}"
    );
    for report in pair.control().devices() {
        assert_eq!(report.version, "17.1.1.1");
    }

    let out = manage(&s.base, &["campaigns", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("| completed "), "{}", stdout(&out));

    let out = manage(&s.base, &["campaigns", "pause", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim(),
        "error: 404 Not Found: Campaign nope not found."
    );
}

/// Silences from the command line: one created from matchers and a duration mutes the alerts it
/// matches, is listed (filtered by its matchers) and expired, each audited; bad matchers and
/// durations are refused before anything is sent, and what the server refuses is reported in
/// its words, changing nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silences_are_created_listed_and_expired() {
    let s = TestServer::start(Db::Sqlite).await;
    let posted = s
        .http
        .post(format!("{}/v1/management/api/v2/alerts", s.base))
        .json(&json!([{"labels": {"alertname": "DiskFull", "device": "bigip-1"}}]))
        .send()
        .await
        .unwrap();
    assert!(posted.status().is_success());
    let alert_state = || async {
        let alerts: Value = s
            .http
            .get(format!("{}/v1/management/api/v2/alerts", s.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        alerts[0]["status"].clone()
    };
    let json_list = |args: &[&str]| -> Value {
        let mut all = vec!["--format", "json", "silences", "list"];
        all.extend_from_slice(args);
        let out = manage(&s.base, &all);
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_str(&stdout(&out)).unwrap()
    };

    for (args, why) in [
        (
            vec!["--matcher", "alertname", "--duration", "2h"],
            "--matcher",
        ),
        (
            vec!["--matcher", "device=~\"(\"", "--duration", "2h"],
            "--matcher",
        ),
        (
            vec!["--matcher", "alertname=\"DiskFull\"", "--duration", "2y"],
            "--duration",
        ),
    ] {
        let mut all = vec!["silences", "create", "--comment", "swap"];
        all.extend(args);
        let out = manage(&s.base, &all);
        assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
        assert!(stderr(&out).contains(why), "{}", stderr(&out));
    }
    let out = manage(
        &s.base,
        &[
            "silences",
            "create",
            "--matcher",
            "alertname=\"DiskFull\"",
            "--duration",
            "2h",
            "--comment",
            " ",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim(),
        "error: 400 Bad Request: comment is required."
    );
    assert_eq!(json_list(&[]), json!([]), "nothing was created");
    assert_eq!(json_list(&["--expired"]), json!([]));
    assert_eq!(alert_state().await["state"], "active");

    let out = manage(
        &s.base,
        &[
            "silences",
            "create",
            "--matcher",
            "alertname=\"DiskFull\"",
            "--matcher",
            "device=~\"bigip-.*\"",
            "--duration",
            "1h30m",
            "--comment",
            "disk swap",
            "--created-by",
            "ops-1",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&out);
    let field = |name: &str| {
        shown
            .lines()
            .find(|line| line.starts_with(&format!("| {name} ")))
            .unwrap_or_else(|| panic!("no {name} in {shown}"))
            .to_owned()
    };
    assert!(field("state").contains("| active "), "{shown}");
    assert!(field("createdBy").contains("| ops-1 "), "{shown}");
    let id = field("id").split('|').nth(2).unwrap().trim().to_owned();
    let status = alert_state().await;
    assert_eq!(status["state"], "suppressed", "{status}");
    assert_eq!(status["silencedBy"], json!([id]));

    let table = stdout(&manage(&s.base, &["silences", "list"]));
    let row = table
        .lines()
        .find(|line| line.contains(&id))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(
        row.contains("alertname=\"DiskFull\", device=~\"bigip-.*\"") && row.contains("disk swap"),
        "{row}"
    );
    let listed = json_list(&["--filter", "alertname=\"DiskFull\""]);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["id"], id.as_str());
    let ends = time::OffsetDateTime::parse(
        listed[0]["endsAt"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let starts = time::OffsetDateTime::parse(
        listed[0]["startsAt"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(ends - starts, time::Duration::minutes(90));
    assert_eq!(json_list(&["--filter", "alertname=\"Other\""]), json!([]));

    let out = manage(&s.base, &["silences", "expire", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out)
            .lines()
            .any(|line| line.starts_with("| state ") && line.contains("expired")),
        "{}",
        stdout(&out)
    );
    assert_eq!(json_list(&[]), json!([]));
    assert_eq!(json_list(&["--expired"])[0]["id"], id.as_str());
    assert_eq!(alert_state().await["state"], "active");

    let out = manage(&s.base, &["silences", "expire", &id]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("409 Conflict"), "{}", stderr(&out));
    let out = manage(&s.base, &["silences", "expire", "no-such-silence"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("404 Not Found"), "{}", stderr(&out));

    for action in ["silence.create", "silence.expire"] {
        let audit: Value = serde_json::from_str(&stdout(&manage(
            &s.base,
            &["--format", "json", "audit", "list", "--action", action],
        )))
        .unwrap();
        assert!(
            audit
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["result"] == "success" && e["target"] == id.as_str()),
            "{action}: {audit}"
        );
    }
}

/// Backups from the command line: a backup of a configured HAProxy host taken with progress on
/// stderr, listed, restored only with the device's name; the schedule of the configuration
/// listed, one created and deleted, and a bad cron refused in the server's words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_are_taken_restored_and_scheduled() {
    let host_dir = tempfile::tempdir().unwrap();
    let archive = tempfile::tempdir().unwrap();
    let cfg = host_dir.path().join("haproxy.cfg");
    std::fs::write(&cfg, "global\n").unwrap();
    let s = TestServer::start_with(
        Db::Sqlite,
        Options {
            extra_toml: format!(
                "[management.backups]\ndirectory = \"{}\"\n\
                 [[management.backups.schedules]]\nname = \"nightly\"\ncron = \"0 2 * * *\"\n\
                 keep_days = 30\n\
                 [[management.devices.static]]\nname = \"host-1\"\nkind = \"haproxy_host\"\n\
                 config_dir = \"{}\"\n",
                archive.path().display(),
                host_dir.path().display()
            ),
            ..Options::default()
        },
    )
    .await;

    let out = manage(&s.base, &["backups", "take", "host-1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("taking a backup"), "{}", stderr(&out));
    assert!(
        stdout(&out)
            .lines()
            .any(|line| line.starts_with("| status ") && line.contains("stored")),
        "{}",
        stdout(&out)
    );
    let listed: Value = serde_json::from_str(&stdout(&manage(
        &s.base,
        &["--format", "json", "backups", "list"],
    )))
    .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    let id = listed[0]["id"].as_str().unwrap().to_string();

    std::fs::write(&cfg, "changed\n").unwrap();
    let out = manage(&s.base, &["backups", "restore", &id, "--confirm", "host-2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(r#"send {"confirm": "host-1"}"#),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), "changed\n");
    let out = manage(&s.base, &["backups", "restore", &id, "--confirm", "host-1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), "global\n");
    let out = manage(&s.base, &["backups", "verify", &id]);
    assert!(out.status.success(), "{}", stderr(&out));

    let table = stdout(&manage(&s.base, &["backup-schedules", "list"]));
    assert!(
        table
            .lines()
            .any(|line| line.contains("nightly") && line.contains("| config ")),
        "{table}"
    );
    let out = manage(
        &s.base,
        &["backup-schedules", "create", "bad", "--cron", "61 * * * *"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("minute: 61 is outside 0-59"),
        "{}",
        stderr(&out)
    );
    let out = manage(
        &s.base,
        &[
            "backup-schedules",
            "create",
            "hourly",
            "--cron",
            "0 * * * *",
            "--kind",
            "haproxy_host",
            "--keep-count",
            "3",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let schedules: Value = serde_json::from_str(&stdout(&manage(
        &s.base,
        &["--format", "json", "backup-schedules", "list"],
    )))
    .unwrap();
    assert_eq!(schedules[1]["name"], "hourly", "{schedules}");
    assert_eq!(schedules[1]["keep_count"], 3);
    let out = manage(&s.base, &["backup-schedules", "delete", "hourly"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = manage(&s.base, &["backup-schedules", "delete", "nightly"]);
    assert_eq!(out.status.code(), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn license_pools_are_created_assigned_revoked_and_deleted() {
    let host_dir = tempfile::tempdir().unwrap();
    let s = TestServer::start_with(
        Db::Sqlite,
        Options {
            extra_toml: format!(
                "[[management.devices.static]]\nname = \"host-1\"\nkind = \"haproxy_host\"\n\
                 config_dir = \"{}\"\n",
                host_dir.path().display()
            ),
            ..Options::default()
        },
    )
    .await;
    let json_of = |args: &[&str]| -> Value {
        let mut all = vec!["--format", "json"];
        all.extend_from_slice(args);
        let out = manage(&s.base, &all);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        serde_json::from_str(&stdout(&out)).unwrap()
    };

    let keys = json_of(&[
        "licenses",
        "pools",
        "create",
        "ltm",
        "--device-kind",
        "bigip",
        "--key",
        "ABCDE-FGHIJ-KLMNO",
        "--expires-on",
        "2031-01-31",
    ]);
    let keys_id = keys["id"].as_str().unwrap().to_owned();
    let added = json_of(&[
        "licenses",
        "pools",
        "add-keys",
        &keys_id,
        "--key",
        "PQRST-UVWXY-Z1234",
    ]);
    assert_eq!(added["total"], 2, "{added}");
    let out = manage(&s.base, &["licenses", "pools", "show", &keys_id]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(
        table.contains("*****-*****-*LMNO") && !table.contains("ABCDE"),
        "{table}"
    );

    let refused = manage(
        &s.base,
        &[
            "licenses",
            "pools",
            "create",
            "bad",
            "--device-kind",
            "bigip",
            "--seats=-1",
            "--expires-on",
            "2031-01-31",
        ],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("seats must be 1 or more."),
        "{}",
        stderr(&refused)
    );

    let seats = json_of(&[
        "licenses",
        "pools",
        "create",
        "hosts",
        "--device-kind",
        "haproxy_host",
        "--seats",
        "2",
        "--expires-on",
        "2031-01-31",
    ]);
    let seats_id = seats["id"].as_str().unwrap().to_owned();
    let devices = json_of(&["devices", "list"]);
    let host = devices[0]["id"].as_str().unwrap().to_owned();
    let license = json_of(&["licenses", "assign", &seats_id, "--device", &host]);
    assert_eq!(license["seat"], 1, "{license}");
    let table = stdout(&manage(&s.base, &["licenses", "pools", "list"]));
    assert!(
        table
            .lines()
            .any(|l| l.contains("hosts") && l.contains("| 1 ")),
        "{table}"
    );
    let listed = json_of(&["licenses", "list", "--device", &host]);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");

    let busy = manage(&s.base, &["licenses", "pools", "delete", &seats_id]);
    assert_eq!(busy.status.code(), Some(1));
    let revoked = json_of(&["licenses", "revoke", license["id"].as_str().unwrap()]);
    assert_eq!(revoked["state"], "revoked");
    let out = manage(&s.base, &["licenses", "pools", "delete", &seats_id]);
    assert!(out.status.success(), "{}", stderr(&out));
    let pools = json_of(&["licenses", "pools", "list"]);
    assert_eq!(pools.as_array().unwrap().len(), 1, "{pools}");
}
