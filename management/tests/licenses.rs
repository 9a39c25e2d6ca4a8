//! License pools over real HTTP, on a fresh SQLite file and a fresh PostgreSQL database, against
//! the BIG-IP simulator (in process): keys given on demand and on registration, an exhausted
//! pool refused without change, revoked keys back in their pool, a key the device refuses left
//! free, the `management-licenses` job raising and clearing `LicenseExpiring` and
//! `LicenseMismatch` and settling licenses a stopped process left `installing`, concurrent
//! assigns that never give a key twice, and bad input refused without storing anything.

mod common;

use std::sync::Arc;

use common::{Alone, Served, assert_fault};
use fulcrum_management::ManagementConfig;
use fulcrum_management::licenses::task::{self, LicensesTask};
use fulcrum_store::Store;
use reqwest::StatusCode;
use serde_json::{Value, json};
use simulators::f5 as sim;
use time::{Duration, OffsetDateTime};

const POOLS: &str = "/v1/management/license-pools";

fn bigip(name: &str, url: &str) -> Value {
    json!({
        "name": name, "kind": "bigip", "provider": "f5", "addresses": [url],
        "username": "admin", "password": "admin",
    })
}

fn in_days(days: i64) -> String {
    let day = OffsetDateTime::now_utc().date() + Duration::days(days);
    format!(
        "{:04}-{:02}-{:02}",
        day.year(),
        u8::from(day.month()),
        day.day()
    )
}

async fn register(s: &Served, body: Value) -> String {
    let (status, answer) = s.call("POST", "/v1/management/devices", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    answer["device"]["id"].as_str().unwrap().to_owned()
}

async fn create_pool(s: &Served, body: Value) -> Value {
    let (status, answer) = s.call("POST", POOLS, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    answer["license_pool"].clone()
}

async fn assign(s: &Served, pool: &str, device: &str) -> (StatusCode, Value) {
    s.call(
        "POST",
        &format!("{POOLS}/{pool}/assign"),
        Some(json!({ "device_id": device })),
    )
    .await
}

async fn licenses(s: &Served, query: &str) -> Vec<Value> {
    let body = s.get(&format!("/v1/management/licenses{query}")).await;
    body["licenses"].as_array().unwrap().clone()
}

async fn pool(s: &Served, id: &str) -> Value {
    s.get(&format!("{POOLS}/{id}")).await["license_pool"].clone()
}

/// The alerts named `alertname`, resolved ones included.
async fn alerts(s: &Served, alertname: &str) -> Vec<Value> {
    let body = s.get("/v1/management/alerts?resolved=true").await;
    body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["labels"]["alertname"] == alertname)
        .cloned()
        .collect()
}

fn ids(id: &Value) -> String {
    id.as_str().unwrap().to_owned()
}

/// A key is installed on the device on demand and shown masked only; an exhausted pool is 409
/// and changes nothing; a revoke gives the key back (revoked on the device), so another device
/// takes it; a pool is deleted only once nothing of it is assigned.
async fn keys_are_assigned_on_demand_revoked_and_exhausted(store: Store) {
    let bigip_sim = sim::start(sim::Config::default()).await.unwrap();
    let s = Served::start(&store, ManagementConfig::default()).await;
    let first = register(&s, bigip("bigip-1", bigip_sim.base_url())).await;
    let second = register(&s, bigip("bigip-2", bigip_sim.base_url())).await;
    let created = create_pool(
        &s,
        json!({"name": "ltm", "device_kind": "bigip", "keys": ["ABCDE-FGHIJ-KLMNO"],
               "expires_on": in_days(365)}),
    )
    .await;
    let id = ids(&created["id"]);
    assert_eq!(
        created["usage"],
        json!({"total": 1, "assigned": 0, "available": 1})
    );

    let (status, answer) = assign(&s, &id, &first).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let license = &answer["license"];
    assert_eq!(license["state"], "active");
    assert_eq!(license["key"], "*****-*****-*LMNO");
    assert!(!answer.to_string().contains("ABCDE"), "{answer}");
    let shown = pool(&s, &id).await;
    assert!(!shown.to_string().contains("ABCDE"), "{shown}");
    assert_eq!(shown["keys"][0]["device_id"], first.as_str());
    let installs = bigip_sim
        .control()
        .calls()
        .count("POST", "/mgmt/tm/sys/license");
    assert_eq!(installs, 1);

    let exhausted = assign(&s, &id, &second).await;
    assert_fault(
        &exhausted,
        409,
        "License pool ltm has no key left to assign.",
    );
    assert_eq!(licenses(&s, "").await.len(), 1);
    assert_eq!(pool(&s, &id).await["usage"]["available"], 0);
    let again = assign(&s, &id, &first).await;
    assert_eq!(again.0, StatusCode::CONFLICT, "{}", again.1);

    let refused = s.call("DELETE", &format!("{POOLS}/{id}"), None).await;
    assert_eq!(refused.0, StatusCode::CONFLICT, "{}", refused.1);

    let license_id = ids(&license["id"]);
    let revoke = format!("/v1/management/licenses/{license_id}/revoke");
    let (status, revoked) = s.call("POST", &revoke, None).await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert_eq!(revoked["license"]["state"], "revoked");
    assert!(revoked["license"]["revoked_at"].is_string());
    assert_eq!(pool(&s, &id).await["usage"]["available"], 1);
    let twice = s.call("POST", &revoke, None).await;
    assert_eq!(twice.0, StatusCode::CONFLICT, "{}", twice.1);

    let (status, answer) = assign(&s, &id, &second).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["license"]["key_id"], license["key_id"]);
    assert_eq!(licenses(&s, &format!("?device_id={second}")).await.len(), 1);
    assert_eq!(licenses(&s, "?state=revoked").await.len(), 1);

    let revoke = format!(
        "/v1/management/licenses/{}/revoke",
        ids(&answer["license"]["id"])
    );
    assert_eq!(s.call("POST", &revoke, None).await.0, StatusCode::OK);
    let deleted = s.call("DELETE", &format!("{POOLS}/{id}"), None).await;
    assert_eq!(deleted.0, StatusCode::NO_CONTENT, "{}", deleted.1);
    assert!(
        s.get(POOLS).await["license_pools"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let audit = s.get("/v1/management/audit?action=license.assign").await;
    let results: Vec<&Value> = audit["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["result"])
        .collect();
    assert_eq!(results.len(), 4, "{audit}");
    let audit = s.get("/v1/management/audit?action=license.revoke").await;
    assert_eq!(audit["audit"].as_array().unwrap().len(), 3, "{audit}");
}

on_both_databases!(keys_are_assigned_on_demand_revoked_and_exhausted);

/// A key the device refuses (as a BIG-IP refuses an unknown key) answers the device's message
/// and stays unassigned, marked refused; the next assign offers the key not refused first.
async fn a_key_refused_by_the_device_stays_unassigned(store: Store) {
    let bigip_sim = sim::start(sim::Config::default()).await.unwrap();
    bigip_sim
        .control()
        .set_accepted_license_keys(Some(["GOOD-00001".to_owned()].into()));
    let s = Served::start(&store, ManagementConfig::default()).await;
    let device = register(&s, bigip("bigip-1", bigip_sim.base_url())).await;
    let created = create_pool(
        &s,
        json!({"name": "ltm", "device_kind": "bigip", "keys": ["BAD-000001", "GOOD-00001"],
               "expires_on": in_days(365)}),
    )
    .await;
    let id = ids(&created["id"]);

    let (status, answer) = assign(&s, &id, &device).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{answer}");
    assert!(
        answer["faultstring"]
            .as_str()
            .unwrap()
            .contains("not valid"),
        "{answer}"
    );
    assert!(licenses(&s, "").await.is_empty());
    let shown = pool(&s, &id).await;
    assert_eq!(shown["usage"]["available"], 2, "{shown}");
    assert!(shown["keys"][0]["device_id"].is_null());
    assert!(
        shown["keys"][0]["refused"]
            .as_str()
            .unwrap()
            .contains("not valid")
    );

    let (status, answer) = assign(&s, &id, &device).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["license"]["key"], "****-*0001");
}

on_both_databases!(a_key_refused_by_the_device_stays_unassigned);

/// Registering a device takes a key from the first pool for its kind marked
/// `assign_on_registration`; when it has none left the device is registered all the same and
/// `LicensePoolExhausted` fires, resolved by the job once keys are added. A device deleted gives
/// its license back.
async fn registration_takes_a_license_or_alerts(store: Store) {
    let bigip_sim = sim::start(sim::Config::default()).await.unwrap();
    let s = Served::start(&store, ManagementConfig::default()).await;
    let created = create_pool(
        &s,
        json!({"name": "auto", "device_kind": "bigip", "keys": ["AUTO-00001"],
               "expires_on": in_days(365), "assign_on_registration": true}),
    )
    .await;
    let id = ids(&created["id"]);
    create_pool(
        &s,
        json!({"name": "manual", "device_kind": "bigip", "seats": 5, "expires_on": in_days(365)}),
    )
    .await;

    let first = register(&s, bigip("bigip-1", bigip_sim.base_url())).await;
    let held = licenses(&s, &format!("?device_id={first}")).await;
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0]["pool_id"], id.as_str());
    assert!(alerts(&s, "LicensePoolExhausted").await.is_empty());

    let second = register(&s, bigip("bigip-2", bigip_sim.base_url())).await;
    assert!(
        licenses(&s, &format!("?device_id={second}"))
            .await
            .is_empty()
    );
    let exhausted = alerts(&s, "LicensePoolExhausted").await;
    assert_eq!(exhausted.len(), 1, "{exhausted:?}");
    assert_eq!(exhausted[0]["status"], "firing");
    assert_eq!(exhausted[0]["labels"]["key"], "license-pool-exhausted:auto");

    let (status, body) = s
        .call(
            "POST",
            &format!("{POOLS}/{id}/keys"),
            Some(json!({"keys": ["AUTO-00002"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["license_pool"]["usage"]["available"], 1);
    let task = LicensesTask::new(s.management.licenses.clone(), Arc::new(Alone));
    task.run(OffsetDateTime::now_utc().date()).await.unwrap();
    assert_eq!(
        alerts(&s, "LicensePoolExhausted").await[0]["status"],
        "resolved"
    );

    let deleted = s
        .call("DELETE", &format!("/v1/management/devices/{first}"), None)
        .await;
    assert_eq!(deleted.0, StatusCode::NO_CONTENT, "{}", deleted.1);
    assert_eq!(pool(&s, &id).await["usage"]["available"], 2);
}

on_both_databases!(registration_takes_a_license_or_alerts);

/// The job raises `LicenseExpiring` for a pool within its alert-ahead days and for the devices
/// holding its licenses, and clears both once the pool is renewed; `LicenseMismatch` fires
/// while the device reports another key than the one it was given.
async fn expiry_and_mismatch_alerts_are_raised_and_cleared(store: Store) {
    let bigip_sim = sim::start(sim::Config::default()).await.unwrap();
    let s = Served::start(&store, ManagementConfig::default()).await;
    let device = register(&s, bigip("bigip-1", bigip_sim.base_url())).await;
    let created = create_pool(
        &s,
        json!({"name": "ltm", "device_kind": "bigip", "keys": ["KEY-000001"],
               "expires_on": in_days(10), "alert_ahead_days": 30}),
    )
    .await;
    let id = ids(&created["id"]);
    assert_eq!(assign(&s, &id, &device).await.0, StatusCode::CREATED);
    let task = LicensesTask::new(s.management.licenses.clone(), Arc::new(Alone));
    let today = OffsetDateTime::now_utc().date();

    let report = task.run(today).await.unwrap();
    assert_eq!(report.get("expiring"), Some(&1), "{report:?}");
    assert_eq!(report.get("matched"), Some(&1), "{report:?}");
    let expiring = alerts(&s, "LicenseExpiring").await;
    assert_eq!(expiring.len(), 2, "the pool and its device: {expiring:?}");
    assert!(expiring.iter().all(|a| a["status"] == "firing"));
    assert!(expiring.iter().any(|a| a["labels"]["device"] == "bigip-1"));
    assert!(alerts(&s, "LicenseMismatch").await.is_empty());

    let (status, renewed) = s
        .call(
            "PATCH",
            &format!("{POOLS}/{id}"),
            Some(json!({"expires_on": in_days(400)})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    task.run(today).await.unwrap();
    let expiring = alerts(&s, "LicenseExpiring").await;
    assert!(
        expiring.iter().all(|a| a["status"] == "resolved"),
        "{expiring:?}"
    );

    bigip_sim
        .control()
        .set_registration_key(0, Some("OTHER-00001".to_owned()));
    let report = task.run(today).await.unwrap();
    assert_eq!(report.get("mismatched"), Some(&1), "{report:?}");
    let mismatch = alerts(&s, "LicenseMismatch").await;
    assert_eq!(mismatch.len(), 1, "{mismatch:?}");
    assert_eq!(mismatch[0]["status"], "firing");
    assert_eq!(mismatch[0]["labels"]["device"], "bigip-1");
    let summary = mismatch[0]["annotations"]["summary"].as_str().unwrap();
    assert!(
        summary.contains("*****-*0001") && !summary.contains("OTHER"),
        "{summary}"
    );

    bigip_sim
        .control()
        .set_registration_key(0, Some("KEY-000001".to_owned()));
    task.run(today).await.unwrap();
    assert_eq!(alerts(&s, "LicenseMismatch").await[0]["status"], "resolved");
}

on_both_databases!(expiry_and_mismatch_alerts_are_raised_and_cleared);

/// A license a process left `installing` (stopped between reserving the key and hearing the
/// device) is left to its install while it is young; once older than an install can take, the
/// job asks the device: `active` where the device holds its key, released where it does not —
/// the key free again, not marked refused — each audited. Running the job again changes nothing.
async fn a_license_left_installing_is_settled_by_the_job(store: Store) {
    let first = sim::start(sim::Config::default()).await.unwrap();
    let second = sim::start(sim::Config::default()).await.unwrap();
    let s = Served::start(&store, ManagementConfig::default()).await;
    let holder = register(&s, bigip("bigip-1", first.base_url())).await;
    let other = register(&s, bigip("bigip-2", second.base_url())).await;
    let created = create_pool(
        &s,
        json!({"name": "ltm", "device_kind": "bigip", "keys": ["KEY-000001", "KEY-000002"],
               "expires_on": in_days(365)}),
    )
    .await;
    let id = ids(&created["id"]);
    let licenses_store = &s.management.licenses.store;
    let stored_pool = licenses_store.pool(&id).await.unwrap();
    let installed = licenses_store.reserve(&stored_pool, &holder).await.unwrap();
    let lost = licenses_store.reserve(&stored_pool, &other).await.unwrap();
    first
        .control()
        .set_registration_key(0, installed.key.clone());
    let task = LicensesTask::new(s.management.licenses.clone(), Arc::new(Alone));
    let today = OffsetDateTime::now_utc().date();

    let report = task.run(today).await.unwrap();
    assert_eq!(report.get("settled_active"), None, "{report:?}");
    assert_eq!(report.get("released"), None, "{report:?}");
    assert_eq!(licenses(&s, "?state=installing").await.len(), 2);

    let an_hour_ago = i64::try_from(task::INSTALL_GRACE.as_millis()).unwrap() + 3_600_000;
    sqlx::query("UPDATE mgmt_license_assignments SET assigned_ms = assigned_ms - $1")
        .bind(an_hour_ago)
        .execute(s.management.db.writer())
        .await
        .unwrap();
    let report = task.run(today).await.unwrap();
    assert_eq!(report.get("settled_active"), Some(&1), "{report:?}");
    assert_eq!(report.get("released"), Some(&1), "{report:?}");

    let active = s
        .get(&format!(
            "/v1/management/licenses/{}",
            installed.assignment.id
        ))
        .await;
    assert_eq!(active["license"]["state"], "active", "{active}");
    let (status, answer) = s
        .call(
            "GET",
            &format!("/v1/management/licenses/{}", lost.assignment.id),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    let shown = pool(&s, &id).await;
    assert_eq!(shown["usage"]["assigned"], 1, "{shown}");
    assert_eq!(shown["usage"]["available"], 1, "{shown}");
    let free: Vec<&Value> = shown["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["device_id"].is_null())
        .collect();
    assert_eq!(free.len(), 1, "{shown}");
    assert!(free[0]["refused"].is_null(), "{shown}");
    let audit = s.get("/v1/management/audit?action=license.settle").await;
    let entries = audit["audit"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{audit}");
    assert!(
        entries
            .iter()
            .all(|e| e["user_id"].is_null() && e["result"] == "success")
    );

    let again = task.run(today).await.unwrap();
    assert_eq!(again.get("settled_active"), None, "{again:?}");
    assert_eq!(again.get("released"), None, "{again:?}");
    assert_eq!(licenses(&s, "").await.len(), 1);

    let (status, answer) = assign(&s, &id, &other).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the released key is free again: {answer}"
    );
}

on_both_databases!(a_license_left_installing_is_settled_by_the_job);

/// Bad input is refused with a clear 400 or 404 and stores nothing.
async fn bad_input_changes_nothing(store: Store) {
    let bigip_sim = sim::start(sim::Config::default()).await.unwrap();
    let s = Served::start(&store, ManagementConfig::default()).await;
    let device = register(&s, bigip("bigip-1", bigip_sim.base_url())).await;
    let dir = tempfile::tempdir().unwrap();
    let host = register(
        &s,
        json!({"name": "host-1", "kind": "haproxy_host",
               "config_dir": dir.path().display().to_string()}),
    )
    .await;
    let expires_on = in_days(365);
    let refused = [
        (
            json!({"name": "p", "device_kind": "bigip", "keys": [], "expires_on": expires_on}),
            "keys must hold at least one registration key.",
        ),
        (
            json!({"name": "p", "device_kind": "bigip", "seats": -1, "expires_on": expires_on}),
            "seats must be 1 or more.",
        ),
        (
            json!({"name": "p", "device_kind": "bigip", "seats": 2, "keys": ["A-1"],
                "expires_on": expires_on}),
            "a pool holds either keys (a list) or seats (a count), not both.",
        ),
        (
            json!({"name": "p", "device_kind": "bigip", "seats": 2, "expires_on": "2030-02-30"}),
            "expires_on must be a date as YYYY-MM-DD, not \"2030-02-30\".",
        ),
        (
            json!({"name": "p", "device_kind": "bigip", "keys": ["A-1", " A-1"],
                "expires_on": expires_on}),
            "keys[1] is given twice.",
        ),
    ];
    for (body, message) in refused {
        assert_fault(&s.call("POST", POOLS, Some(body)).await, 400, message);
    }
    let unknown_kind = s
        .call(
            "POST",
            POOLS,
            Some(
                json!({"name": "p", "device_kind": "router", "seats": 1, "expires_on": expires_on}),
            ),
        )
        .await;
    assert_eq!(
        unknown_kind.0,
        StatusCode::BAD_REQUEST,
        "{}",
        unknown_kind.1
    );

    let created = create_pool(
        &s,
        json!({"name": "ltm", "device_kind": "bigip", "keys": ["KEY-000001"], "expires_on": expires_on}),
    )
    .await;
    let id = ids(&created["id"]);
    let duplicate = s
        .call(
            "POST",
            POOLS,
            Some(
                json!({"name": "other", "device_kind": "bigip", "keys": ["KEY-000001"],
                        "expires_on": expires_on}),
            ),
        )
        .await;
    assert_fault(
        &duplicate,
        409,
        "keys[0] (***-**0001) is in a license pool already.",
    );
    let empty = s
        .call(
            "POST",
            &format!("{POOLS}/{id}/keys"),
            Some(json!({"keys": []})),
        )
        .await;
    assert_fault(&empty, 400, "keys must hold at least one registration key.");

    assert_fault(
        &assign(&s, &id, "no-such-device").await,
        404,
        "Device no-such-device not found.",
    );
    assert_fault(
        &assign(&s, "no-such-pool", &device).await,
        404,
        "License pool no-such-pool not found.",
    );
    assert_fault(
        &assign(&s, &id, &host).await,
        400,
        "License pool ltm is for bigip devices; host-1 is a haproxy_host device.",
    );
    assert_fault(
        &s.call("DELETE", &format!("{POOLS}/no-such-pool"), None)
            .await,
        404,
        "License pool no-such-pool not found.",
    );
    assert_fault(
        &s.call("POST", "/v1/management/licenses/nope/revoke", None)
            .await,
        404,
        "License nope not found.",
    );
    let bad_state = s
        .call("GET", "/v1/management/licenses?state=lost", None)
        .await;
    assert_eq!(bad_state.0, StatusCode::BAD_REQUEST, "{}", bad_state.1);
    let renew = s
        .call(
            "PATCH",
            &format!("{POOLS}/{id}"),
            Some(json!({"alert_ahead_days": -3})),
        )
        .await;
    assert_fault(&renew, 400, "alert_ahead_days must be between 0 and 3650.");

    let pools = s.get(POOLS).await["license_pools"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(pools.len(), 1, "{pools:?}");
    assert_eq!(
        pools[0]["usage"],
        json!({"total": 1, "assigned": 0, "available": 1})
    );
    assert_eq!(pools[0]["alert_ahead_days"], 30);
    assert!(licenses(&s, "").await.is_empty());
}

on_both_databases!(bad_input_changes_nothing);

/// Twelve devices asking one pool of four keys at once: four get a key each, eight get 409, and
/// no key is held twice (the unique index, on PostgreSQL where the requests truly race).
#[tokio::test]
async fn concurrent_assigns_never_give_a_key_twice() {
    common::on_postgres(|store: Store| async move {
        let bigip_sim = sim::start(sim::Config::default()).await.unwrap();
        let s = Arc::new(Served::start(&store, ManagementConfig::default()).await);
        let mut devices = Vec::new();
        for i in 0..12 {
            devices.push(register(&s, bigip(&format!("bigip-{i}"), bigip_sim.base_url())).await);
        }
        let created = create_pool(
            &s,
            json!({"name": "ltm", "device_kind": "bigip",
                   "keys": ["K-0001", "K-0002", "K-0003", "K-0004"], "expires_on": in_days(365)}),
        )
        .await;
        let id = ids(&created["id"]);
        let tasks: Vec<_> = devices
            .into_iter()
            .map(|device| {
                let s = Arc::clone(&s);
                let id = id.clone();
                tokio::spawn(async move { assign(&s, &id, &device).await.0 })
            })
            .collect();
        let mut statuses = Vec::new();
        for task in tasks {
            statuses.push(task.await.unwrap());
        }
        let created = statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count();
        let conflicts = statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count();
        assert_eq!((created, conflicts), (4, 8), "{statuses:?}");
        let held = licenses(&s, "?state=active").await;
        let keys: std::collections::BTreeSet<String> =
            held.iter().map(|l| l["key_id"].to_string()).collect();
        assert_eq!((held.len(), keys.len()), (4, 4), "{held:?}");
    })
    .await;
}
