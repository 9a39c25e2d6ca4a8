//! NSX Managers operated over real HTTP against the NSX-T simulator's management-plane API (in
//! process), on a fresh SQLite file and a fresh PostgreSQL database: facts read and refreshed,
//! a backup on the manager's remote file server kept as a manifest with its checksum, verified
//! and restored, upgrade campaigns through the upgrade coordinator (the version changes; an
//! unstable cluster fails the gate and pauses the campaign), licenses installed and revoked, an
//! NSX Edge read through its manager, and what NSX devices cannot do (failover, config-sync, an
//! Edge's backups) or cannot be registered without refused clearly, changing nothing.

mod common;

use std::time::Duration;

use common::{Served, assert_fault};
use fulcrum_management::ManagementConfig;
use fulcrum_management::backups::archive::sha256_hex;
use fulcrum_management::campaigns::model::Policy;
use fulcrum_store::Store;
use reqwest::StatusCode;
use serde_json::{Value, json};
use simulators::nsxt as sim;

const VERSION: &str = "3.1.0.0.0.17107167";
const TARGET: &str = "3.2.0.0.0.19067070";
const BUNDLE: &str =
    "https://repo.fulcrum.test/nsx/VMware-NSX-upgrade-bundle-3.2.0.0.0.19067070.mub";
const KEY: &str = "NX0A1-B2C3D-E4F5G-H6J7K-L8M9N";

async fn manager() -> sim::Running {
    sim::start(sim::Config {
        upgrade_step: Duration::from_millis(300),
        ..sim::Config::default()
    })
    .await
    .unwrap()
}

fn nsx(name: &str, url: &str) -> Value {
    json!({
        "name": name, "kind": "nsx_manager", "provider": "nsxt", "addresses": [url],
        "username": "admin", "password": "admin",
    })
}

async fn register(s: &Served, body: Value) -> String {
    let (status, answer) = s.call("POST", "/v1/management/devices", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    answer["device"]["id"].as_str().unwrap().to_owned()
}

async fn refresh(s: &Served, id: &str) -> (StatusCode, Value) {
    s.call(
        "POST",
        &format!("/v1/management/devices/{id}/refresh"),
        None,
    )
    .await
}

fn fault_contains(answer: &(StatusCode, Value), status: u16, text: &str) {
    assert_eq!(answer.0.as_u16(), status, "{}", answer.1);
    let fault = answer.1["faultstring"].as_str().unwrap_or_default();
    assert!(fault.contains(text), "{text:?} not in {}", answer.1);
}

fn in_days(days: i64) -> i64 {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    (now + days * 86_400) * 1000
}

/// Facts come from `/api/v1/node` and `/api/v1/cluster/status`, and change with the cluster;
/// a manager cannot be registered without an address and credentials; failover and config-sync
/// are refused with the reason, without calling the manager.
async fn nsx_manager_facts_are_read_and_refreshed(store: Store) {
    let nsx_sim = manager().await;
    let s = Served::start(&store, ManagementConfig::default()).await;
    for (body, why) in [
        (
            json!({"name": "nsx-1", "kind": "nsx_manager"}),
            "a nsx_manager device needs at least one address.",
        ),
        (
            json!({"name": "nsx-1", "kind": "nsx_manager",
                   "addresses": [nsx_sim.base_url()], "username": "admin"}),
            "a nsx_manager device needs a username and a password.",
        ),
    ] {
        let refused = s.call("POST", "/v1/management/devices", Some(body)).await;
        assert_fault(&refused, 400, why);
    }
    assert!(
        s.get("/v1/management/devices").await["devices"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let id = register(&s, nsx("nsx-1", nsx_sim.base_url())).await;
    let (status, body) = refresh(&s, &id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let facts = &body["device"]["facts"];
    assert_eq!(facts["version"], VERSION, "{facts}");
    assert_eq!(facts["health"], "ok");
    assert_eq!(facts["license_state"], "none");
    assert_eq!(facts["details"]["hostname"], "nsx-manager-1.fulcrum.test");
    assert_eq!(facts["details"]["cluster_status"], "STABLE");
    assert!(facts["ha_role"].is_null(), "{facts}");

    nsx_sim.control().set_cluster_status("DEGRADED");
    let (status, body) = refresh(&s, &id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["device"]["facts"]["health"],
        "management cluster DEGRADED"
    );

    let calls = nsx_sim.control().calls().recent.len();
    let sync = s
        .call("POST", &format!("/v1/management/devices/{id}/sync"), None)
        .await;
    assert_fault(
        &sync,
        400,
        "device nsx-1: config-sync (an NSX Manager cluster replicates its configuration itself) \
         is not supported for nsx_manager devices.",
    );
    assert_eq!(nsx_sim.control().calls().recent.len(), calls, "not called");

    let wrong = register(
        &s,
        json!({"name": "nsx-2", "kind": "nsx_manager", "addresses": [nsx_sim.base_url()],
               "username": "admin", "password": "wrong"}),
    )
    .await;
    fault_contains(
        &refresh(&s, &wrong).await,
        502,
        "the device answered 403: The credentials were incorrect",
    );
}

on_both_databases!(nsx_manager_facts_are_read_and_refreshed);

/// A backup goes to the manager's remote file server; Fulcrum keeps the manifest naming it,
/// with its checksum, verifies it, and restores it (after confirmation) by its timestamp: the
/// configuration deleted since is back.
async fn an_nsx_backup_is_stored_verified_and_restored(store: Store) {
    let nsx_sim = manager().await;
    let archive = tempfile::tempdir().unwrap();
    let mut config = ManagementConfig::default();
    config.backups.directory = archive.path().display().to_string();
    let s = Served::start(&store, config).await;
    let id = register(&s, nsx("nsx-1", nsx_sim.base_url())).await;
    let profile = "/infra/lb-app-profiles/web";
    let made = reqwest::Client::new()
        .patch(format!("{}/policy/api/v1{profile}", nsx_sim.base_url()))
        .basic_auth("admin", Some("admin"))
        .json(&json!({"resource_type": "LBHttpProfile", "display_name": "web"}))
        .send()
        .await
        .unwrap();
    assert!(made.status().is_success(), "{}", made.status());

    let (status, body) = s
        .call(
            "POST",
            &format!("/v1/management/devices/{id}/backups"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let backup = body["backup"].clone();
    assert!(
        backup["name"].as_str().unwrap().starts_with("nsx-backup-"),
        "{backup}"
    );
    let stored =
        std::fs::read(archive.path().join(backup["archive_key"].as_str().unwrap())).unwrap();
    assert_eq!(backup["sha256"], sha256_hex(&stored));
    let manifest: Value = serde_json::from_slice(&stored).unwrap();
    assert_eq!(manifest["format"], "fulcrum-nsx-backup/1");
    assert!(manifest["timestamp"].as_i64().unwrap() > 0, "{manifest}");
    assert_eq!(
        nsx_sim.control().calls().count("POST", "/api/v1/cluster"),
        1
    );
    let backup_id = backup["id"].as_str().unwrap();
    let (status, body) = s
        .call(
            "POST",
            &format!("/v1/management/backups/{backup_id}/verify"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["verified"], true);

    assert!(nsx_sim.control().delete_behind(profile));
    let restore = format!("/v1/management/backups/{backup_id}/restore");
    let refused = s.call("POST", &restore, Some(json!({}))).await;
    fault_contains(&refused, 400, r#"send {"confirm": "nsx-1"} to confirm"#);
    assert_eq!(
        nsx_sim
            .control()
            .calls()
            .count("POST", "/api/v1/cluster/restore"),
        0,
        "nothing restored"
    );
    assert!(nsx_sim.control().object(profile).is_none());

    let (status, body) = s
        .call("POST", &restore, Some(json!({"confirm": "nsx-1"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let back = nsx_sim.control().object(profile).expect("restored");
    assert_eq!(back["display_name"], "web");
}

on_both_databases!(an_nsx_backup_is_stored_verified_and_restored);

fn campaign_config(backups: &std::path::Path) -> ManagementConfig {
    let mut config = ManagementConfig::default();
    config.backups.directory = backups.display().to_string();
    config.campaigns.policies = vec![Policy {
        name: "fast".into(),
        max_parallel: 1,
        canary: 1,
        gate_timeout_seconds: 2,
        step_timeout_seconds: 30,
        ..Policy::default()
    }];
    config
}

async fn drive_until(s: &Served, id: &str, states: &[&str]) -> Value {
    for _ in 0..300 {
        s.management.campaign_executor.drive_all().await.unwrap();
        let campaign = s.get(&format!("/v1/management/campaigns/{id}")).await["campaign"].clone();
        if states.contains(&campaign["state"].as_str().unwrap()) {
            return campaign;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("campaign {id} never reached {states:?}");
}

/// An upgrade campaign over NSX Managers: each is backed up, fetches the bundle, upgrades its
/// coordinator and runs the plan, and reports the new version; its rollback is refused with the
/// reason (NSX is not downgraded), pausing it; one whose cluster is not stable
/// fails the `ha_in_sync` gate and pauses the campaign. A campaign over devices of two kinds, or
/// over an NSX Edge, is refused and nothing is stored.
async fn an_nsx_upgrade_campaign_runs_and_pauses_on_a_failed_gate(store: Store) {
    let first = manager().await;
    let second = manager().await;
    let dir = tempfile::tempdir().unwrap();
    let s = Served::start(&store, campaign_config(dir.path())).await;
    let a = register(&s, nsx("nsx-a", first.base_url())).await;
    register(&s, nsx("nsx-b", second.base_url())).await;
    register(
        &s,
        json!({"name": "bigip-1", "kind": "bigip", "addresses": ["https://127.0.0.1:9"],
               "username": "admin", "password": "admin"}),
    )
    .await;
    register(&s, json!({"name": "edge-1", "kind": "nsx_edge"})).await;
    for (names, why) in [
        (
            json!(["nsx-a", "bigip-1"]),
            "Device nsx-a is a nsx_manager device and bigip-1 a bigip device; a campaign's \
             devices are of one kind.",
        ),
        (
            json!(["edge-1"]),
            "Device edge-1 is a nsx_edge device; software campaigns run on bigip and \
             nsx_manager devices.",
        ),
    ] {
        let refused = s
            .call(
                "POST",
                "/v1/management/campaigns",
                Some(json!({
                    "name": "mixed", "target": {"kind": "image", "name": BUNDLE, "version": TARGET},
                    "devices": {"names": names},
                })),
            )
            .await;
        assert_fault(&refused, 400, why);
    }
    assert!(
        s.get("/v1/management/campaigns").await["campaigns"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let (status, body) = s
        .call(
            "POST",
            "/v1/management/campaigns",
            Some(json!({
                "name": "nsx 3.2", "policy": "fast",
                "target": {"kind": "image", "name": BUNDLE, "version": TARGET},
                "devices": {"names": ["nsx-a"]},
            })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["campaign"]["id"].as_str().unwrap().to_owned();
    let done = drive_until(&s, &id, &["completed", "paused"]).await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(first.control().version(), TARGET);
    assert_eq!(second.control().version(), VERSION, "not in the campaign");
    let calls = first.control().calls();
    assert_eq!(calls.count("POST", "/api/v1/upgrade/bundles"), 1);
    assert_eq!(calls.count("POST", "/api/v1/upgrade/plan"), 1);
    let kept = s.management.backups.of_device(&a).await.unwrap();
    assert_eq!(kept.len(), 1, "backed up before the change");
    let (status, body) = refresh(&s, &a).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["device"]["facts"]["version"], TARGET);

    let (status, body) = s
        .call(
            "POST",
            &format!("/v1/management/campaigns/{id}/rollback"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let back = drive_until(&s, &id, &["paused", "rolled_back"]).await;
    assert_eq!(back["state"], "paused", "{back}");
    let reason = back["reason"].as_str().unwrap();
    assert!(
        reason.contains(
            "going back to the version it ran (an NSX upgrade is undone by restoring a backup) \
             is not supported for nsx_manager devices."
        ),
        "{reason}"
    );
    assert_eq!(first.control().version(), TARGET, "nothing undone");
    let (status, body) = s
        .call(
            "POST",
            &format!("/v1/management/campaigns/{id}/abort"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");

    second.control().set_cluster_status("DEGRADED");
    let (status, body) = s
        .call(
            "POST",
            "/v1/management/campaigns",
            Some(json!({
                "name": "nsx 3.2 (b)", "policy": "fast",
                "target": {"kind": "image", "name": BUNDLE, "version": TARGET},
                "devices": {"kind": "nsx_manager"},
            })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["campaign"]["id"].as_str().unwrap().to_owned();
    let paused = drive_until(&s, &id, &["paused", "completed"]).await;
    assert_eq!(paused["state"], "paused", "{paused}");
    let reason = paused["reason"].as_str().unwrap();
    assert!(
        reason.contains("nsx-b")
            && reason.contains("HA is not in sync (management cluster DEGRADED)"),
        "{reason}"
    );
    assert_eq!(second.control().version(), TARGET, "upgraded, then gated");
    assert_eq!(
        first
            .control()
            .calls()
            .count("POST", "/api/v1/upgrade/plan"),
        1,
        "nsx-a runs the target already: not upgraded again"
    );
}

on_both_databases!(an_nsx_upgrade_campaign_runs_and_pauses_on_a_failed_gate);

/// A target that is not an NSX upgrade bundle is refused by the manager: the install fails, the
/// campaign pauses with NSX's reason, and the manager keeps its version.
async fn a_bundle_that_is_not_an_upgrade_bundle_fails_the_install(store: Store) {
    let nsx_sim = manager().await;
    let dir = tempfile::tempdir().unwrap();
    let s = Served::start(&store, campaign_config(dir.path())).await;
    register(&s, nsx("nsx-a", nsx_sim.base_url())).await;
    let (status, body) = s
        .call(
            "POST",
            "/v1/management/campaigns",
            Some(json!({
                "name": "wrong file", "policy": "fast", "backup": false,
                "target": {"kind": "image", "name": "https://repo.fulcrum.test/nsx.iso",
                           "version": TARGET},
                "devices": {"kind": "nsx_manager"},
            })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["campaign"]["id"].as_str().unwrap().to_owned();
    let paused = drive_until(&s, &id, &["paused", "completed"]).await;
    assert_eq!(paused["state"], "paused", "{paused}");
    let reason = paused["reason"].as_str().unwrap();
    assert!(
        reason.contains("install failed")
            && reason.contains("is not an NSX upgrade bundle (VMware-NSX-upgrade-bundle-"),
        "{reason}"
    );
    assert_eq!(nsx_sim.control().version(), VERSION);
    assert_eq!(
        nsx_sim
            .control()
            .calls()
            .count("POST", "/api/v1/upgrade/plan"),
        0
    );
}

on_both_databases!(a_bundle_that_is_not_an_upgrade_bundle_fails_the_install);

/// A key the manager accepts is installed from a pool and shown in its facts with its expiry,
/// then revoked (deleted on the manager); a key the manager refuses is answered 502 with NSX's
/// message and leaves nothing installed.
async fn nsx_licenses_are_installed_and_revoked(store: Store) {
    let nsx_sim = manager().await;
    nsx_sim.control().issue_license(KEY, in_days(200));
    let s = Served::start(&store, ManagementConfig::default()).await;
    let id = register(&s, nsx("nsx-1", nsx_sim.base_url())).await;
    let (status, answer) = s
        .call(
            "POST",
            "/v1/management/license-pools",
            Some(
                json!({"name": "nsx", "device_kind": "nsx_manager", "keys": [KEY],
                        "expires_on": "2099-01-01"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let pool = answer["license_pool"]["id"].as_str().unwrap().to_owned();
    let (status, answer) = s
        .call(
            "POST",
            &format!("/v1/management/license-pools/{pool}/assign"),
            Some(json!({"device_id": id})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let license = answer["license"]["id"].as_str().unwrap().to_owned();
    let (_, facts) = refresh(&s, &id).await;
    assert_eq!(
        facts["device"]["facts"]["license_state"], "valid",
        "{facts}"
    );
    assert!(facts["device"]["facts"]["license_expiry"].is_string());
    assert_eq!(
        nsx_sim.control().calls().count("POST", "/api/v1/licenses"),
        1
    );

    let (status, answer) = s
        .call(
            "POST",
            &format!("/v1/management/licenses/{license}/revoke"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (_, facts) = refresh(&s, &id).await;
    assert_eq!(facts["device"]["facts"]["license_state"], "none", "{facts}");

    let (status, answer) = s
        .call(
            "POST",
            "/v1/management/license-pools",
            Some(json!({"name": "unknown", "device_kind": "nsx_manager",
                        "keys": ["AAAAA-BBBBB-CCCCC-DDDDD-EEEEE"], "expires_on": "2099-01-01"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let unknown = answer["license_pool"]["id"].as_str().unwrap().to_owned();
    let refused = s
        .call(
            "POST",
            &format!("/v1/management/license-pools/{unknown}/assign"),
            Some(json!({"device_id": id})),
        )
        .await;
    fault_contains(
        &refused,
        502,
        "License key *****-EEEEE is not a valid license key.",
    );
    let (_, facts) = refresh(&s, &id).await;
    assert_eq!(facts["device"]["facts"]["license_state"], "none", "{facts}");
}

on_both_databases!(nsx_licenses_are_installed_and_revoked);

/// An NSX Edge registered with its manager's address is read through the manager (its
/// transport node's state and status, found by its name); its other operations are refused with
/// the reason, calling nothing; without the manager's credentials it is not registered.
async fn an_nsx_edge_is_read_through_its_manager(store: Store) {
    let nsx_sim = manager().await;
    let s = Served::start(&store, ManagementConfig::default()).await;
    let refused = s
        .call(
            "POST",
            "/v1/management/devices",
            Some(json!({"name": "fulcrum-edge-1", "kind": "nsx_edge",
                        "addresses": [nsx_sim.base_url()]})),
        )
        .await;
    assert_fault(
        &refused,
        400,
        "a nsx_edge device registered with its manager's address needs the manager's username \
         and password.",
    );
    let mut edge = nsx("fulcrum-edge-1", nsx_sim.base_url());
    edge["kind"] = json!("nsx_edge");
    let id = register(&s, edge).await;
    let (status, body) = refresh(&s, &id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let facts = &body["device"]["facts"];
    assert_eq!(facts["version"], VERSION, "{facts}");
    assert_eq!(facts["health"], "ok");
    assert_eq!(facts["details"]["maintenance_mode_state"], "DISABLED");
    assert_eq!(facts["details"]["configuration_state"], "success");

    assert!(nsx_sim.control().set_edge_status("fulcrum-edge-1", "DOWN"));
    let (_, body) = refresh(&s, &id).await;
    assert_eq!(
        body["device"]["facts"]["health"],
        "transport node DOWN, configuration success"
    );

    let calls = nsx_sim.control().calls().recent.len();
    let backup = s
        .call(
            "POST",
            &format!("/v1/management/devices/{id}/backups"),
            None,
        )
        .await;
    assert_fault(
        &backup,
        400,
        "device fulcrum-edge-1: backup (an NSX Edge's configuration is backed up with its NSX \
         Manager's) is not supported for nsx_edge devices.",
    );
    let sync = s
        .call("POST", &format!("/v1/management/devices/{id}/sync"), None)
        .await;
    assert_fault(
        &sync,
        400,
        "device fulcrum-edge-1: config-sync (an NSX Edge takes its configuration from its NSX \
         Manager) is not supported for nsx_edge devices.",
    );
    assert_eq!(nsx_sim.control().calls().recent.len(), calls, "not called");

    let mut unknown = nsx("edge-9", nsx_sim.base_url());
    unknown["kind"] = json!("nsx_edge");
    let unknown = register(&s, unknown).await;
    fault_contains(
        &refresh(&s, &unknown).await,
        502,
        "the manager has no Edge transport node named \"edge-9\"",
    );
}

on_both_databases!(an_nsx_edge_is_read_through_its_manager);

/// An upgrade plan that ends `FAILED` fails the device with NSX's reason as soon as the manager
/// reports it, pausing the campaign; the manager keeps its version.
async fn a_failed_upgrade_plan_pauses_the_campaign(store: Store) {
    let nsx_sim = manager().await;
    nsx_sim.control().fail_upgrades(true);
    let dir = tempfile::tempdir().unwrap();
    let s = Served::start(&store, campaign_config(dir.path())).await;
    register(&s, nsx("nsx-a", nsx_sim.base_url())).await;
    let (status, body) = s
        .call(
            "POST",
            "/v1/management/campaigns",
            Some(json!({
                "name": "fails", "policy": "fast", "backup": false,
                "target": {"kind": "image", "name": BUNDLE, "version": TARGET},
                "devices": {"kind": "nsx_manager"},
            })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["campaign"]["id"].as_str().unwrap().to_owned();
    let paused = drive_until(&s, &id, &["paused", "completed"]).await;
    assert_eq!(paused["state"], "paused", "{paused}");
    let reason = paused["reason"].as_str().unwrap();
    assert!(
        reason.contains(
            "activate failed: upgrade failed: The management plane upgrade failed on nsx-manager-1."
        ),
        "{reason}"
    );
    assert_eq!(nsx_sim.control().version(), VERSION);
    assert_eq!(
        nsx_sim
            .control()
            .calls()
            .count("POST", "/api/v1/upgrade/plan"),
        1,
        "started once"
    );
}

on_both_databases!(a_failed_upgrade_plan_pauses_the_campaign);
