//! The F5 provider end to end: the real `fulcrum` server on its own SQLite file, a simulated
//! BIG-IP HA pair in this process, and the stock Octavia flow over HTTP — load balancer,
//! listener, pool, members, monitor, cascade delete — checked against the tenant the devices
//! hold after each step; a member the device refuses in ERROR alone; the full sync declaring
//! again a tenant deleted behind Fulcrum's back; and `fulcrum check-config` connecting to the
//! devices to report their AS3 version and failover state. The tests of the server run on
//! SQLite and PostgreSQL, and read what management learns (devices seen, the refused member's
//! alert) from the events outbox.

mod common;

use std::time::Duration;

use common::f5::application;
use common::{DEFAULT_SUBNET, Db, Options, TestServer, assert_fault};
use fulcrum_core::events::Event;
use fulcrum_core::model::Kind;
use fulcrum_store::{Store, StoreOptions};
use serde_json::{Value, json};
use simulators::f5::{BadObjects, Running};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// An HA pair with the simulator's device names.
async fn pair() -> Running {
    common::f5::start_pair(&[]).await
}

/// The `[providers.f5]` section for devices at `urls`.
fn f5_section(urls: &[&str]) -> String {
    let devices: Vec<String> = urls.iter().map(|u| format!("\"{u}\"")).collect();
    format!(
        "[providers.f5]\ndevices = [{}]\nusername = \"admin\"\npassword = \"admin\"\n\
         task_poll_ms = 20\n",
        devices.join(", ")
    )
}

/// A server whose `f5` provider is the simulated pair, and the pair.
async fn server_and_devices(db: Db, options: Options) -> (TestServer, Running) {
    let devices = pair().await;
    let server = TestServer::start_with(
        db,
        Options {
            providers_toml: "enabled = [\"noop\", \"f5\"]\n".into(),
            extra_toml: f5_section(&devices.base_urls()),
            ..options
        },
    )
    .await;
    (server, devices)
}

/// Wait until `done` holds, failing with `what` and the server's log after 20 seconds.
async fn until(s: &TestServer, what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !done().await {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}\nlog:\n{}",
            s.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn the_octavia_flow_declares_the_tenant_on_the_active_device_and_cascade_delete_empties_it(
    db: Db,
) {
    let (s, devices) = server_and_devices(db, Options::default()).await;

    let lb = s
        .create(
            "/v2/lbaas/loadbalancers",
            "loadbalancer",
            json!({"name": "web", "vip_subnet_id": DEFAULT_SUBNET, "provider": "f5"}),
        )
        .await;
    let lb_id = id(&lb);
    s.settle(&lb_id).await;
    let (tenant, _) = application(&devices, 0, &lb_id).expect("the Application is declared");
    assert!(tenant.starts_with("fulcrum-project-"), "{tenant}");

    let listener = s
        .create(
            "/v2/lbaas/listeners",
            "listener",
            json!({"loadbalancer_id": lb_id, "protocol": "HTTP", "protocol_port": 80}),
        )
        .await;
    let listener_id = id(&listener);
    s.settle(&lb_id).await;
    let pool = s
        .create(
            "/v2/lbaas/pools",
            "pool",
            json!({"listener_id": listener_id, "protocol": "HTTP",
                   "lb_algorithm": "ROUND_ROBIN"}),
        )
        .await;
    let pool_id = id(&pool);
    s.settle(&lb_id).await;
    for address in ["192.0.2.11", "192.0.2.12"] {
        s.create(
            &format!("/v2/lbaas/pools/{pool_id}/members"),
            "member",
            json!({"address": address, "protocol_port": 8080}),
        )
        .await;
        s.settle(&lb_id).await;
    }
    s.create(
        "/v2/lbaas/healthmonitors",
        "healthmonitor",
        json!({"pool_id": pool_id, "type": "HTTP", "delay": 5, "timeout": 3,
               "max_retries": 2, "url_path": "/health"}),
    )
    .await;
    s.settle(&lb_id).await;

    let (_, app) = application(&devices, 0, &lb_id).unwrap();
    let service = &app[&format!("fulcrum-listener-{listener_id}")];
    assert_eq!(service["class"], "Service_HTTP", "{app}");
    assert_eq!(service["virtualPort"], 80);
    assert_eq!(
        service["pool"],
        format!("fulcrum-pool-{pool_id}").as_str(),
        "{app}"
    );
    let f5_pool = &app[&format!("fulcrum-pool-{pool_id}")];
    let addresses: std::collections::BTreeSet<&str> = f5_pool["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["serverAddresses"][0].as_str())
        .collect();
    assert_eq!(addresses, ["192.0.2.11", "192.0.2.12"].into());
    assert_eq!(f5_pool["monitors"].as_array().unwrap().len(), 1, "{app}");
    assert_eq!(
        application(&devices, 1, &lb_id).map(|(_, a)| a),
        Some(app),
        "the standby holds the tenant config-synced"
    );
    assert!(
        devices
            .control()
            .calls()
            .recent
            .iter()
            .filter(|c| c.is_declaration_write())
            .all(|c| c.device == 0 && !c.standby),
        "declarations go to the active device only"
    );

    // What the driver cannot map is refused with Octavia's 501 and nothing is declared.
    devices.control().reset_calls();
    let refused = s
        .call(
            "POST",
            "/v2/lbaas/pools",
            Some(
                json!({"pool": {"loadbalancer_id": lb_id, "protocol": "HTTP",
                                 "lb_algorithm": "SOURCE_IP"}}),
            ),
        )
        .await;
    assert_fault(
        &refused,
        501,
        "Provider 'f5' does not support a requested option",
    );
    let pools = s
        .get(&format!("/v2/lbaas/pools?loadbalancer_id={lb_id}"))
        .await;
    assert_eq!(pools["pools"].as_array().unwrap().len(), 1);
    assert_eq!(
        devices
            .control()
            .calls()
            .recent
            .iter()
            .filter(|c| c.is_declaration_write())
            .count(),
        0
    );

    let statuses = s
        .get(&format!("/v2/lbaas/loadbalancers/{lb_id}/status"))
        .await;
    assert_eq!(
        statuses["statuses"]["loadbalancer"]["provisioning_status"],
        "ACTIVE"
    );

    let (status, _) = s
        .call(
            "DELETE",
            &format!("/v2/lbaas/loadbalancers/{lb_id}?cascade=true"),
            None,
        )
        .await;
    assert_eq!(status.as_u16(), 204);
    s.wait_for(
        &format!("/v2/lbaas/loadbalancers/{lb_id}"),
        "loadbalancer",
        "DELETED",
    )
    .await;
    for device in 0..2 {
        assert!(
            devices.control().tenants(device).is_empty(),
            "device {device} holds {:?}",
            devices.control().tenants(device)
        );
    }
}

async fn a_refused_member_alone_is_in_error_and_the_full_sync_repairs_a_deleted_tenant(db: Db) {
    let (mut s, devices) = server_and_devices(
        db,
        Options {
            sync_interval_seconds: 1,
            ..Options::default()
        },
    )
    .await;
    devices.control().set_bad_objects(BadObjects {
        addresses: ["192.0.2.66".to_owned()].into(),
        ..BadObjects::default()
    });
    let lb = s
        .create(
            "/v2/lbaas/loadbalancers",
            "loadbalancer",
            json!({"vip_subnet_id": DEFAULT_SUBNET, "provider": "f5"}),
        )
        .await;
    let lb_id = id(&lb);
    s.settle(&lb_id).await;
    let pool = s
        .create(
            "/v2/lbaas/pools",
            "pool",
            json!({"loadbalancer_id": lb_id, "protocol": "TCP", "lb_algorithm": "ROUND_ROBIN"}),
        )
        .await;
    let pool_id = id(&pool);
    s.settle(&lb_id).await;
    let mut members = Vec::new();
    for address in ["192.0.2.65", "192.0.2.66"] {
        let member = s
            .create(
                &format!("/v2/lbaas/pools/{pool_id}/members"),
                "member",
                json!({"address": address, "protocol_port": 8080}),
            )
            .await;
        members.push(format!("/v2/lbaas/pools/{pool_id}/members/{}", id(&member)));
        s.settle(&lb_id).await;
    }
    let (tenant, app) = application(&devices, 0, &lb_id).unwrap();
    let declared = &app[&format!("fulcrum-pool-{pool_id}")]["members"];
    assert_eq!(declared.as_array().unwrap().len(), 1, "{app}");
    assert_eq!(declared[0]["serverAddresses"], json!(["192.0.2.65"]));

    let status = async |path: &str, key: &str| -> String {
        s.get(path).await["member"][key]
            .as_str()
            .unwrap()
            .to_owned()
    };
    until(
        &s,
        "the refused member is not reported in ERROR",
        async || status(&members[1], "operating_status").await == "ERROR",
    )
    .await;
    assert_ne!(status(&members[0], "operating_status").await, "ERROR");
    assert_eq!(status(&members[0], "provisioning_status").await, "ACTIVE");
    assert_eq!(status(&members[1], "provisioning_status").await, "ERROR");
    let lb = s.get(&format!("/v2/lbaas/loadbalancers/{lb_id}")).await;
    assert_eq!(lb["loadbalancer"]["provisioning_status"], "ACTIVE");

    // The device takes the address now, and the tenant goes behind Fulcrum's back: the full
    // sync declares it again, with both members.
    devices.control().set_bad_objects(BadObjects::default());
    let answer = reqwest::Client::new()
        .delete(format!(
            "{}/mgmt/shared/appsvcs/declare/{tenant}",
            devices.base_url()
        ))
        .basic_auth("admin", Some("admin"))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{answer:?}");
    until(
        &s,
        "the full sync did not declare the tenant again",
        async || {
            application(&devices, 0, &lb_id).is_some_and(|(_, app)| {
                app[&format!("fulcrum-pool-{pool_id}")]["members"]
                    .as_array()
                    .is_some_and(|m| m.len() == 2)
            })
        },
    )
    .await;
    until(&s, "the accepted member stays in ERROR", async || {
        status(&members[1], "operating_status").await != "ERROR"
            && status(&members[1], "provisioning_status").await == "ACTIVE"
    })
    .await;

    // Management learns which devices serve the load balancer, and of the refused member.
    assert!(s.terminate(), "clean exit:\n{}", s.log());
    let events = outbox(&s.db.url).await;
    for device in devices.control().devices() {
        let seen = Event::DeviceSeen {
            provider: "f5".into(),
            device_id: device.hostname,
            load_balancer_id: Some(lb_id.clone()),
        };
        assert!(events.contains(&seen), "{seen:?} not in {events:?}");
    }
    let refused_id = members[1].rsplit('/').next().unwrap();
    assert!(
        events.iter().any(
            |e| matches!(e, Event::AlertRaised { key, load_balancer_id, .. }
            if key.contains(refused_id) && *load_balancer_id == lb_id)
        ),
        "{events:?}"
    );
}

/// A `provisioning_status` (or `operating_status`) read through the Octavia API.
async fn status_of(s: &TestServer, path: &str, root: &str, key: &str) -> String {
    s.get(path).await[root][key].as_str().unwrap().to_owned()
}

/// Update `path` with `body` under `root` and wait until its load balancer settles.
async fn update_and_settle(s: &TestServer, lb_id: &str, path: &str, root: &str, body: Value) {
    let mut wrapped = serde_json::Map::new();
    wrapped.insert(root.to_owned(), body);
    let (status, answer) = s.call("PUT", path, Some(Value::Object(wrapped))).await;
    assert_eq!(status.as_u16(), 200, "{answer}");
    s.settle(lb_id).await;
}

async fn a_refused_member_or_certificate_alone_is_in_error_and_stays_updatable_and_deletable(
    db: Db,
) {
    let (s, devices) = server_and_devices(db, Options::default()).await;
    let refuse = |addresses: &[&str], certificates: &[String]| {
        devices.control().set_bad_objects(BadObjects {
            addresses: addresses.iter().map(|a| a.to_string()).collect(),
            certificates: certificates.iter().cloned().collect(),
        })
    };
    refuse(&["192.0.2.66", "192.0.2.67"], &[]);
    let lb_id = id(&s
        .create(
            "/v2/lbaas/loadbalancers",
            "loadbalancer",
            json!({"vip_subnet_id": DEFAULT_SUBNET, "provider": "f5"}),
        )
        .await);
    s.settle(&lb_id).await;
    let lb_path = format!("/v2/lbaas/loadbalancers/{lb_id}");
    let http_id = id(&s
        .create(
            "/v2/lbaas/listeners",
            "listener",
            json!({"loadbalancer_id": lb_id, "protocol": "HTTP", "protocol_port": 80}),
        )
        .await);
    s.settle(&lb_id).await;
    let pool_id = id(&s
        .create(
            "/v2/lbaas/pools",
            "pool",
            json!({"listener_id": http_id, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}),
        )
        .await);
    s.settle(&lb_id).await;
    let mut members = Vec::new();
    for address in ["192.0.2.65", "192.0.2.66", "192.0.2.67"] {
        let member = s
            .create(
                &format!("/v2/lbaas/pools/{pool_id}/members"),
                "member",
                json!({"address": address, "protocol_port": 8080}),
            )
            .await;
        members.push(format!("/v2/lbaas/pools/{pool_id}/members/{}", id(&member)));
        s.settle(&lb_id).await;
    }

    // The refused members alone are in ERROR; the rest of the tree is ACTIVE.
    let member = async |i: usize, key: &str| status_of(&s, &members[i], "member", key).await;
    for i in [1, 2] {
        assert_eq!(member(i, "provisioning_status").await, "ERROR");
        assert_eq!(member(i, "operating_status").await, "ERROR");
    }
    assert_eq!(member(0, "provisioning_status").await, "ACTIVE");
    assert_ne!(member(0, "operating_status").await, "ERROR");
    let listener_path = |id: &str| format!("/v2/lbaas/listeners/{id}");
    let pool_path = format!("/v2/lbaas/pools/{pool_id}");
    for (path, root) in [
        (lb_path.as_str(), "loadbalancer"),
        (listener_path(&http_id).as_str(), "listener"),
        (pool_path.as_str(), "pool"),
    ] {
        assert_eq!(
            status_of(&s, path, root, "provisioning_status").await,
            "ACTIVE",
            "{root}"
        );
    }

    // A member in ERROR takes updates: bad input is refused and changes nothing, and once the
    // device accepts its address an update makes it ACTIVE.
    let refused = s
        .call("PUT", &members[1], Some(json!({"member": {"weight": 257}})))
        .await;
    assert_eq!(refused.0.as_u16(), 400, "{}", refused.1);
    assert_eq!(member(1, "provisioning_status").await, "ERROR");
    refuse(&["192.0.2.67"], &[]);
    update_and_settle(
        &s,
        &lb_id,
        &members[1],
        "member",
        json!({"name": "accepted"}),
    )
    .await;
    assert_eq!(member(1, "provisioning_status").await, "ACTIVE");
    assert_ne!(member(1, "operating_status").await, "ERROR");
    assert_eq!(member(2, "provisioning_status").await, "ERROR");

    // A member in ERROR can be deleted.
    let (deleted, _) = s.call("DELETE", &members[2], None).await;
    assert_eq!(deleted.as_u16(), 204);
    s.settle(&lb_id).await;
    assert_eq!(s.call("GET", &members[2], None).await.0.as_u16(), 404);
    let (_, app) = application(&devices, 0, &lb_id).unwrap();
    let declared: std::collections::BTreeSet<&str> =
        app[&format!("fulcrum-pool-{pool_id}")]["members"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["serverAddresses"][0].as_str())
            .collect();
    assert_eq!(declared, ["192.0.2.65", "192.0.2.66"].into());

    // A certificate the device refuses fails its TERMINATED_HTTPS listener alone; the HTTP
    // listener of the same load balancer is still declared and ACTIVE.
    common::pki::make_cert(&s.dir().join("certs"), "site", "site.test", 30);
    let https_id = id(&s
        .create(
            "/v2/lbaas/listeners",
            "listener",
            json!({"loadbalancer_id": lb_id, "protocol": "TERMINATED_HTTPS",
                   "protocol_port": 443, "default_tls_container_ref": "site"}),
        )
        .await);
    s.settle(&lb_id).await;
    let https = listener_path(&https_id);
    assert_eq!(
        status_of(&s, &https, "listener", "provisioning_status").await,
        "ACTIVE"
    );
    let certificate = format!(
        "{}-cert",
        fulcrum_drivers::kit::backend_name(Kind::Listener, &https_id)
    );
    refuse(&[], std::slice::from_ref(&certificate));
    let limit = |n: u32| json!({"connection_limit": n});
    update_and_settle(&s, &lb_id, &https, "listener", limit(1000)).await;
    assert_eq!(
        status_of(&s, &https, "listener", "provisioning_status").await,
        "ERROR"
    );
    assert_eq!(
        status_of(&s, &https, "listener", "operating_status").await,
        "ERROR"
    );
    assert_eq!(
        status_of(
            &s,
            &listener_path(&http_id),
            "listener",
            "provisioning_status"
        )
        .await,
        "ACTIVE"
    );
    assert_eq!(
        status_of(&s, &lb_path, "loadbalancer", "provisioning_status").await,
        "ACTIVE"
    );
    let (_, app) = application(&devices, 0, &lb_id).unwrap();
    let https_service = fulcrum_drivers::kit::backend_name(Kind::Listener, &https_id);
    assert!(app.get(&https_service).is_none(), "{app}");
    assert!(app.get(&certificate).is_none(), "{app}");
    assert_eq!(
        app[&fulcrum_drivers::kit::backend_name(Kind::Listener, &http_id)]["class"],
        "Service_HTTP"
    );

    // Once the device loads it, an update declares the listener again.
    refuse(&[], &[]);
    update_and_settle(&s, &lb_id, &https, "listener", limit(2000)).await;
    assert_eq!(
        status_of(&s, &https, "listener", "provisioning_status").await,
        "ACTIVE"
    );
    let (_, app) = application(&devices, 0, &lb_id).unwrap();
    assert_eq!(app[&https_service]["class"], "Service_HTTPS", "{app}");

    let (status, _) = s
        .call("DELETE", &format!("{lb_path}?cascade=true"), None)
        .await;
    assert_eq!(status.as_u16(), 204);
    s.wait_for(&lb_path, "loadbalancer", "DELETED").await;
    assert!(devices.control().tenants(0).is_empty());
}

/// The events the server wrote for management.
async fn outbox(url: &str) -> Vec<Event> {
    let store = Store::connect(&StoreOptions {
        url: url.to_string(),
        max_connections: 1,
    })
    .await
    .expect("the test reads the server's database");
    let events = store.events_after(0, 1000).await.expect("events");
    store.close().await;
    events.into_iter().map(|e| e.event).collect()
}

on_both_databases!(
    the_octavia_flow_declares_the_tenant_on_the_active_device_and_cascade_delete_empties_it,
    a_refused_member_alone_is_in_error_and_the_full_sync_repairs_a_deleted_tenant,
    a_refused_member_or_certificate_alone_is_in_error_and_stays_updatable_and_deletable,
);

/// A configuration enabling `f5` with `section`, written to `dir`.
fn config_file(dir: &std::path::Path, name: &str, section: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "[database]\nurl = \"sqlite://{}\"\n\
             [providers]\nenabled = [\"f5\"]\ndefault = \"f5\"\n{section}",
            dir.join("f.db").display()
        ),
    )
    .unwrap();
    path
}

/// `fulcrum check-config` on `path`, run off the runtime that serves the simulator.
async fn check_config(path: std::path::PathBuf) -> std::process::Output {
    tokio::task::spawn_blocking(move || common::check_config(&path))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_config_reports_each_devices_as3_version_and_failover_state() {
    let devices = pair().await;
    let dir = tempfile::tempdir().unwrap();
    let urls = devices.base_urls();
    let good = config_file(dir.path(), "good.toml", &f5_section(&urls));
    let out = check_config(good.clone()).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hosts: Vec<String> = devices
        .control()
        .devices()
        .into_iter()
        .map(|d| d.hostname)
        .collect();
    assert!(
        stdout.contains(&format!(
            "f5: BIG-IP {} ({}): active, AS3 3.",
            urls[0], hosts[0]
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "f5: BIG-IP {} ({}): standby, AS3 3.",
            urls[1], hosts[1]
        )),
        "{stdout}"
    );
    assert!(stdout.ends_with("configuration is valid\n"), "{stdout}");

    devices.control().failover();
    let out = check_config(good).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("BIG-IP {} ({}): standby", urls[0], hosts[0]))
            && stdout.contains(&format!("BIG-IP {} ({}): active", urls[1], hosts[1])),
        "{stdout}"
    );

    // Nothing listens on port 9 of this host.
    let unreachable = config_file(
        dir.path(),
        "unreachable.toml",
        &f5_section(&[urls[0], "http://127.0.0.1:9"]),
    );
    let out = check_config(unreachable).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("connecting to the f5 provider")
            && stderr.contains("BIG-IP http://127.0.0.1:9 cannot be asked"),
        "{stderr}"
    );

    let wrong_password = config_file(
        dir.path(),
        "wrong-password.toml",
        &f5_section(&urls).replace("password = \"admin\"", "password = \"nope\""),
    );
    let out = check_config(wrong_password).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!("BIG-IP {} cannot be asked", urls[0])),
        "{stderr}"
    );
}
