//! The NSX-T provider end to end: the real `fulcrum` server on its own SQLite file, a simulated
//! NSX Manager in this process, and the stock Octavia flow over HTTP — load balancer, listener,
//! pool, members, monitor, L7 policy and rule, cascade delete — checked against exactly what the
//! manager holds after each step; the full sync repairing an object deleted behind Fulcrum's
//! back and removing an orphan; load balancers sharing one service on the Tier-1 while the full
//! sync runs; and `fulcrum check-config` on an `[providers.nsxt]` section.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::nsxt::{held, vendor_schema};
use common::{DEFAULT_SUBNET, Db, Options, TestServer, assert_fault};
use serde_json::{Value, json};
use simulators::nsxt::{self, Running};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// The `[providers.nsxt]` section for a manager at `url`.
fn nsxt_section(url: &str) -> String {
    format!(
        "[providers.nsxt]\nmanagers = [\"{url}\"]\nusername = \"admin\"\npassword = \"admin\"\n\
         tier1_path = \"/infra/tier-1s/fulcrum-t1\"\nrealization_poll_ms = 50\n"
    )
}

/// A server whose `nsxt` provider is the simulator, and the simulator.
async fn server_and_manager() -> (TestServer, Running) {
    server_and_manager_with(Options::default()).await
}

/// [`server_and_manager`] with options of the test's own.
async fn server_and_manager_with(options: Options) -> (TestServer, Running) {
    let manager = nsxt::start(nsxt::Config {
        realization_delay: Duration::from_millis(20),
        schema: vendor_schema(),
        ..nsxt::Config::default()
    })
    .await
    .expect("the simulator starts");
    let server = TestServer::start_with(
        Db::Sqlite,
        Options {
            providers_toml: "enabled = [\"noop\", \"nsxt\"]\n".into(),
            extra_toml: nsxt_section(manager.base_url()),
            ..options
        },
    )
    .await;
    (server, manager)
}

fn paths(list: &[String]) -> BTreeSet<String> {
    list.iter().cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_octavia_flow_realizes_exactly_the_expected_nsx_objects_then_none() {
    let (s, manager) = server_and_manager().await;
    let lb = s
        .create(
            "/v2/lbaas/loadbalancers",
            "loadbalancer",
            json!({"name": "web", "vip_subnet_id": DEFAULT_SUBNET, "provider": "nsxt"}),
        )
        .await;
    let lb_id = id(&lb);
    s.settle(&lb_id).await;
    let service = format!("/infra/lb-services/fulcrum-lb-{lb_id}");
    let mut expected = vec![service.clone()];
    assert_eq!(held(&manager), paths(&expected));

    let listener = s
        .create(
            "/v2/lbaas/listeners",
            "listener",
            json!({"loadbalancer_id": lb_id, "protocol": "HTTP", "protocol_port": 80}),
        )
        .await;
    let listener_id = id(&listener);
    s.settle(&lb_id).await;
    expected.push(format!(
        "/infra/lb-virtual-servers/fulcrum-listener-{listener_id}"
    ));
    expected.push(format!(
        "/infra/lb-app-profiles/fulcrum-listener-{listener_id}"
    ));
    assert_eq!(held(&manager), paths(&expected));

    let pool = s
        .create(
            "/v2/lbaas/pools",
            "pool",
            json!({"listener_id": listener_id, "protocol": "HTTP",
                   "lb_algorithm": "ROUND_ROBIN",
                   "session_persistence": {"type": "HTTP_COOKIE"}}),
        )
        .await;
    let pool_id = id(&pool);
    s.settle(&lb_id).await;
    let pool_path = format!("/infra/lb-pools/fulcrum-pool-{pool_id}");
    expected.push(pool_path.clone());
    expected.push(format!(
        "/infra/lb-persistence-profiles/fulcrum-pool-{pool_id}"
    ));
    assert_eq!(held(&manager), paths(&expected));

    for address in ["192.0.2.11", "192.0.2.12"] {
        s.create(
            &format!("/v2/lbaas/pools/{pool_id}/members"),
            "member",
            json!({"address": address, "protocol_port": 8080}),
        )
        .await;
        s.settle(&lb_id).await;
    }
    let monitor = s
        .create(
            "/v2/lbaas/healthmonitors",
            "healthmonitor",
            json!({"pool_id": pool_id, "type": "HTTP", "delay": 5, "timeout": 3,
                   "max_retries": 2, "url_path": "/health"}),
        )
        .await;
    s.settle(&lb_id).await;
    expected.push(format!(
        "/infra/lb-monitor-profiles/fulcrum-monitor-{}",
        id(&monitor)
    ));
    assert_eq!(held(&manager), paths(&expected));
    let nsx_pool = manager.control().object(&pool_path).unwrap();
    assert_eq!(nsx_pool["members"].as_array().unwrap().len(), 2);
    assert_eq!(
        nsx_pool["active_monitor_paths"].as_array().unwrap().len(),
        1
    );

    let api = s
        .create(
            "/v2/lbaas/pools",
            "pool",
            json!({"loadbalancer_id": lb_id, "protocol": "HTTP", "lb_algorithm": "SOURCE_IP"}),
        )
        .await;
    s.settle(&lb_id).await;
    expected.push(format!("/infra/lb-pools/fulcrum-pool-{}", id(&api)));
    let policy = s
        .create(
            "/v2/lbaas/l7policies",
            "l7policy",
            json!({"listener_id": listener_id, "action": "REDIRECT_TO_POOL",
                   "redirect_pool_id": id(&api), "position": 1}),
        )
        .await;
    s.settle(&lb_id).await;
    s.create(
        &format!("/v2/lbaas/l7policies/{}/rules", id(&policy)),
        "rule",
        json!({"type": "PATH", "compare_type": "STARTS_WITH", "value": "/api"}),
    )
    .await;
    s.settle(&lb_id).await;
    assert_eq!(held(&manager), paths(&expected));
    let vs = manager
        .control()
        .object(&format!(
            "/infra/lb-virtual-servers/fulcrum-listener-{listener_id}"
        ))
        .unwrap();
    assert_eq!(vs["pool_path"], pool_path.as_str());
    assert_eq!(
        vs["rules"][0]["actions"][0]["pool_id"],
        format!("/infra/lb-pools/fulcrum-pool-{}", id(&api))
    );
    assert_eq!(vs["rules"][0]["match_conditions"][0]["uri"], "/api");

    // What NSX cannot do is refused with Octavia's 501 and changes nothing.
    manager.control().reset_calls();
    let refused = s
        .call(
            "POST",
            "/v2/lbaas/pools",
            Some(
                json!({"pool": {"loadbalancer_id": lb_id, "protocol": "HTTP",
                                 "lb_algorithm": "SOURCE_IP_PORT"}}),
            ),
        )
        .await;
    assert_fault(
        &refused,
        501,
        "Provider 'nsxt' does not support a requested option",
    );
    assert_eq!(held(&manager), paths(&expected));
    assert_eq!(
        manager
            .control()
            .calls()
            .count("PATCH", "/policy/api/v1/infra"),
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
    assert!(held(&manager).is_empty(), "{:?}", held(&manager));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_config_reads_the_nsxt_section_without_calling_a_manager() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, nsxt: &str| {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            format!(
                "[database]\nurl = \"sqlite://{}\"\n\
                 [providers]\nenabled = [\"nsxt\"]\ndefault = \"nsxt\"\n{nsxt}",
                dir.path().join("f.db").display()
            ),
        )
        .unwrap();
        path
    };
    // Nothing listens on port 9 of this host: a preflight that called it would fail.
    let good = write("good.toml", &nsxt_section("https://127.0.0.1:9"));
    let out = common::check_config(&good);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let missing_ca = dir.path().join("missing-ca.pem");
    let bad = write(
        "bad.toml",
        &format!(
            "{}ca_bundle = \"{}\"\n",
            nsxt_section("https://127.0.0.1:9"),
            missing_ca.display()
        ),
    );
    let out = common::check_config(&bad);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("missing-ca.pem"), "{stderr}");

    let no_tier1 = write(
        "no-tier1.toml",
        "[providers.nsxt]\nmanagers = [\"https://nsx\"]\nusername = \"a\"\npassword = \"b\"\n",
    );
    let out = common::check_config(&no_tier1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("tier1_path"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_full_sync_recreates_what_was_deleted_behind_fulcrum_s_back_and_removes_orphans() {
    let (s, manager) = server_and_manager_with(Options {
        sync_interval_seconds: 1,
        ..Options::default()
    })
    .await;
    let lb = s
        .create(
            "/v2/lbaas/loadbalancers",
            "loadbalancer",
            json!({"vip_subnet_id": DEFAULT_SUBNET, "provider": "nsxt"}),
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
    s.settle(&lb_id).await;
    let pool_path = format!("/infra/lb-pools/fulcrum-pool-{}", id(&pool));
    let expected = held(&manager);
    assert!(expected.contains(&pool_path));

    // An object deleted behind Fulcrum's back, and a load balancer the store does not know
    // (tagged as Fulcrum's), next to an object an operator made (not tagged as Fulcrum's).
    assert!(manager.control().delete_behind(&pool_path));
    let ghost = json!({"resource_type": "Infra", "children": [
        {"resource_type": "ChildLBPool", "LBPool": {"id": "fulcrum-pool-ghost",
            "tags": [{"scope": "created-by", "tag": "fulcrum"},
                     {"scope": "os-lbaas-lb-id", "tag": "ghost"}]}},
        {"resource_type": "ChildLBPool", "LBPool": {"id": "by-hand",
            "tags": [{"scope": "os-lbaas-lb-id", "tag": "ghost"}]}},
    ]});
    let answer = reqwest::Client::new()
        .patch(format!("{}/policy/api/v1/infra", manager.base_url()))
        .basic_auth("admin", Some("admin"))
        .json(&ghost)
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{answer:?}");

    let mut want = expected.clone();
    want.insert("/infra/lb-pools/by-hand".to_string());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while held(&manager) != want {
        assert!(
            std::time::Instant::now() < deadline,
            "the full sync did not repair the manager: {:?}\nlog:\n{}",
            held(&manager),
            s.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let lb = s.get(&format!("/v2/lbaas/loadbalancers/{lb_id}")).await;
    assert_eq!(lb["loadbalancer"]["provisioning_status"], "ACTIVE");
}

/// With `share_lb_service`, two load balancers created through the Octavia API share one service
/// on the Tier-1, which the full sync (every second here) leaves alone; deleting the first keeps
/// it for the second, deleting the second removes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_balancers_share_the_tier1_s_service_until_the_last_is_deleted() {
    const SHARED: &str = "/infra/lb-services/fulcrum-lbs-fulcrum-t1";
    let manager = nsxt::start(nsxt::Config {
        realization_delay: Duration::from_millis(20),
        schema: vendor_schema(),
        ..nsxt::Config::default()
    })
    .await
    .expect("the simulator starts");
    let s = TestServer::start_with(
        Db::Sqlite,
        Options {
            providers_toml: "enabled = [\"noop\", \"nsxt\"]\n".into(),
            extra_toml: format!(
                "{}share_lb_service = true\n",
                nsxt_section(manager.base_url())
            ),
            sync_interval_seconds: 1,
            ..Options::default()
        },
    )
    .await;
    // The load balancers with a virtual server on the shared service.
    let users = || -> Vec<String> {
        assert!(
            manager.control().object(SHARED).is_some(),
            "the shared service"
        );
        let mut users: Vec<String> = manager
            .control()
            .objects("/infra/lb-virtual-servers/")
            .iter()
            .filter(|vs| vs["lb_service_path"] == SHARED)
            .flat_map(|vs| vs["tags"].as_array().unwrap().clone())
            .filter(|t| t["scope"] == "os-lbaas-lb-id")
            .map(|t| t["tag"].as_str().unwrap().to_string())
            .collect();
        users.sort();
        users.dedup();
        users
    };
    let mut ids = Vec::new();
    for name in ["a", "b"] {
        let lb = s
            .create(
                "/v2/lbaas/loadbalancers",
                "loadbalancer",
                json!({"name": name, "vip_subnet_id": DEFAULT_SUBNET, "provider": "nsxt"}),
            )
            .await;
        let lb_id = id(&lb);
        s.settle(&lb_id).await;
        let listener = s
            .create(
                "/v2/lbaas/listeners",
                "listener",
                json!({"loadbalancer_id": lb_id, "protocol": "TCP", "protocol_port": 443}),
            )
            .await;
        s.settle(&lb_id).await;
        let vs = manager
            .control()
            .object(&format!(
                "/infra/lb-virtual-servers/fulcrum-listener-{}",
                id(&listener)
            ))
            .unwrap();
        assert_eq!(vs["lb_service_path"], SHARED);
        ids.push(lb_id);
    }
    let mut both = ids.clone();
    both.sort();
    assert_eq!(users(), both);
    let services: Vec<String> = held(&manager)
        .into_iter()
        .filter(|p| p.starts_with("/infra/lb-services/"))
        .collect();
    assert_eq!(services, [SHARED]);

    let delete = |lb_id: String| {
        let s = &s;
        async move {
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
        }
    };
    delete(ids[0].clone()).await;
    assert_eq!(users(), [ids[1].clone()]);
    let lb = s.get(&format!("/v2/lbaas/loadbalancers/{}", ids[1])).await;
    assert_eq!(lb["loadbalancer"]["provisioning_status"], "ACTIVE");
    delete(ids[1].clone()).await;
    assert!(held(&manager).is_empty(), "{:?}", held(&manager));
}
