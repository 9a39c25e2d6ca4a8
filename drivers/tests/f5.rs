//! The F5 driver against the BIG-IP simulator over real HTTP: every declaration it sends
//! validates against F5's AS3 schema, it writes only to the active device, and the device's
//! refusals and busy answers become the errors the reconciler acts on.

use std::sync::Arc;
use std::time::Duration;

use fulcrum_core::driver::fixtures::{
    graph, health_monitor, l7policy, l7rule, listener, load_balancer, member, pool,
};
use fulcrum_core::driver::{
    Applied, Driver, DriverContext, DriverErrorKind, LoadBalancerGraph, Placements,
};
use fulcrum_core::events::Event;
use fulcrum_core::model::{
    HealthMonitorType, L7CompareType, L7PolicyAction, L7RuleType, LbAlgorithm, ListenerProtocol,
    OperatingStatus, PoolProtocol, SessionPersistence, SessionPersistenceType,
};
use fulcrum_core::secrets::CertificateStore;
use fulcrum_drivers::f5::{AuthMode, F5Config, F5Driver, PairConfig, TenantNaming};
use fulcrum_drivers::kit::RetryPolicy;
use serde_json::{Value, json};
use simulators::f5::{self as sim, BadObjects, Config, FaultPlan, Running};

const LB: &str = "3f2a1c4e-0000-4000-8000-000000000001";

/// A certificate store that hands out one PEM bundle for every reference.
struct Bundles;

impl CertificateStore for Bundles {
    fn fetch(&self, _reference: &str) -> Result<Vec<u8>, String> {
        Ok(
            b"-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n\
             -----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49\n-----END PRIVATE KEY-----\n"
                .to_vec(),
        )
    }
}

/// The simulator: the vendor schema when it is there (said when it is not), no apply delay.
async fn simulator(config: Config) -> Running {
    let schema = sim::schema::default_path();
    let schema = if schema.exists() {
        Some(schema)
    } else {
        eprintln!(
            "the AS3 schema is not at {} (set {}); only references are checked",
            schema.display(),
            sim::schema::SCHEMA_ENV
        );
        None
    };
    sim::start(Config {
        schema,
        apply_delay: Duration::ZERO,
        ..config
    })
    .await
    .expect("the simulator starts")
}

fn driver(running: &Running, auth: AuthMode) -> F5Driver {
    let config = F5Config {
        devices: running.base_urls().iter().map(|u| u.to_string()).collect(),
        username: "admin".into(),
        password: "admin".into(),
        auth,
        task_poll_ms: 10,
        ..F5Config::default()
    };
    let context = DriverContext {
        certificates: Arc::new(Bundles),
        availability: Arc::new(fulcrum_core::devices::EveryDevice),
    };
    F5Driver::new(config, context)
        .expect("the driver builds")
        .with_retry(RetryPolicy {
            base: Duration::from_millis(50),
            cap: Duration::from_millis(400),
            max_attempts: Some(20),
            max_elapsed: Some(Duration::from_secs(20)),
        })
}

/// A load balancer of project `p1` with one listener, its default pool with two members and a
/// monitor.
fn tree(id: &str, protocol: ListenerProtocol) -> LoadBalancerGraph {
    let mut lb = load_balancer(id);
    lb.project_id = Some("p1".into());
    let mut g = graph(lb);
    let mut l = listener(&format!("{id}-l"), id, protocol, 443);
    l.default_pool_id = Some(format!("{id}-p"));
    if protocol == ListenerProtocol::TerminatedHttps {
        l.default_tls_container_ref = Some("https://barbican/containers/tls".into());
    }
    g.listeners.push(l);
    let pool_protocol = match protocol {
        ListenerProtocol::Udp => PoolProtocol::Udp,
        ListenerProtocol::Http | ListenerProtocol::TerminatedHttps => PoolProtocol::Http,
        _ => PoolProtocol::Tcp,
    };
    g.pools.push(pool(
        &format!("{id}-p"),
        id,
        pool_protocol,
        LbAlgorithm::RoundRobin,
    ));
    g.members.push(member(
        &format!("{id}-m1"),
        id,
        &format!("{id}-p"),
        "192.0.2.10",
        8080,
    ));
    g.members.push(member(
        &format!("{id}-m2"),
        id,
        &format!("{id}-p"),
        "192.0.2.11",
        8080,
    ));
    g.health_monitors.push(health_monitor(
        &format!("{id}-hm"),
        id,
        &format!("{id}-p"),
        HealthMonitorType::Tcp,
    ));
    g
}

#[tokio::test]
async fn every_declaration_validates_over_a_matrix_of_octavia_options() {
    let running = simulator(Config::default()).await;
    let driver = driver(&running, AuthMode::Basic);
    let protocols = [
        ListenerProtocol::Http,
        ListenerProtocol::Https,
        ListenerProtocol::TerminatedHttps,
        ListenerProtocol::Tcp,
        ListenerProtocol::Udp,
    ];
    let monitors = [
        HealthMonitorType::Http,
        HealthMonitorType::Https,
        HealthMonitorType::Ping,
        HealthMonitorType::Tcp,
        HealthMonitorType::TlsHello,
        HealthMonitorType::UdpConnect,
    ];
    let persistences = [
        None,
        Some(SessionPersistenceType::SourceIp),
        Some(SessionPersistenceType::HttpCookie),
        Some(SessionPersistenceType::AppCookie),
    ];
    let mut applied = 0;
    for protocol in protocols {
        for (i, monitor) in monitors.iter().enumerate() {
            for (j, persistence) in persistences.iter().enumerate() {
                let mut g = tree(LB, protocol);
                g.health_monitors[0].kind = *monitor;
                g.health_monitors[0].url_path = Some("/health".into());
                g.health_monitors[0].expected_codes = Some("200-202".into());
                g.health_monitors[0].admin_state_up = i % 2 == 0;
                g.pools[0].lb_algorithm = if j % 2 == 0 {
                    LbAlgorithm::RoundRobin
                } else {
                    LbAlgorithm::LeastConnections
                };
                g.pools[0].session_persistence = persistence.map(|kind| SessionPersistence {
                    kind,
                    cookie_name: Some("sid".into()),
                    persistence_timeout: None,
                    persistence_granularity: None,
                });
                g.members[0].weight = (i + j) as i64 % 3;
                g.members[1].backup = j % 2 == 1;
                g.members[1].admin_state_up = i % 3 != 0;
                g.listeners[0].connection_limit = if j == 0 { -1 } else { 1000 };
                g.listeners[0].admin_state_up = i != 1;
                if i == 2 {
                    g.listeners[0].allowed_cidrs = vec!["198.51.100.0/24".into()];
                }
                if let Err(e) = driver.apply(&g).await {
                    panic!("{protocol} / {monitor} / {persistence:?}: {e}");
                }
                applied += 1;
            }
        }
    }
    let times = running.control().validation_times();
    if sim::schema::default_path().exists() {
        assert!(times.count >= applied, "every declaration was validated");
        println!(
            "{applied} declarations validated against the AS3 schema: {:.2} ms on average, {:.2} ms at most",
            times.total_ms / times.count as f64,
            times.max_ms
        );
    }
    let tenants = running.control().tenants(0);
    assert_eq!(tenants.keys().collect::<Vec<_>>(), ["fulcrum-project-p1"]);
    assert!(
        tenants["fulcrum-project-p1"]
            .get(format!("fulcrum-lb-{LB}"))
            .is_some()
    );
}

#[tokio::test]
async fn l7_policies_of_every_action_and_rule_validate_as_an_endpoint_policy() {
    let running = simulator(Config::default()).await;
    let driver = driver(&running, AuthMode::Basic);
    for protocol in [ListenerProtocol::Http, ListenerProtocol::TerminatedHttps] {
        let mut g = tree("lb-l7", protocol);
        g.pools.push(pool(
            "lb-l7-p2",
            "lb-l7",
            PoolProtocol::Http,
            LbAlgorithm::RoundRobin,
        ));
        let actions = [
            L7PolicyAction::RedirectToPool,
            L7PolicyAction::RedirectToUrl,
            L7PolicyAction::RedirectPrefix,
            L7PolicyAction::Reject,
        ];
        for (position, action) in actions.into_iter().enumerate() {
            let id = format!("policy-{position}");
            let mut policy = l7policy(&id, "lb-l7", "lb-l7-l", position as i64 + 1, action);
            policy.redirect_pool_id = Some("lb-l7-p2".into());
            policy.redirect_url = Some("https://example.com/moved".into());
            policy.redirect_prefix = Some("https://example.com".into());
            policy.redirect_http_code = Some(301);
            g.l7policies.push(policy);
        }
        let kinds = [
            L7RuleType::HostName,
            L7RuleType::Path,
            L7RuleType::FileType,
            L7RuleType::Header,
            L7RuleType::Cookie,
        ];
        let compares = [
            L7CompareType::EqualTo,
            L7CompareType::StartsWith,
            L7CompareType::EndsWith,
            L7CompareType::Contains,
        ];
        for (i, kind) in kinds.into_iter().enumerate() {
            for (j, compare) in compares.into_iter().enumerate() {
                let mut rule = l7rule(
                    &format!("rule-{i}-{j}"),
                    "lb-l7",
                    &format!("policy-{}", (i + j) % 4),
                    kind,
                    compare,
                    "value",
                );
                rule.key = Some("X-Key".into());
                rule.invert = j % 2 == 1;
                g.l7rules.push(rule);
            }
        }
        driver.validate(&g).unwrap();
        if let Err(e) = driver.apply(&g).await {
            panic!("{protocol}: {e}");
        }
        let app = &running.control().tenants(0)["fulcrum-project-p1"]["fulcrum-lb-lb-l7"];
        let policy = &app["fulcrum-listener-lb-l7-l-policy"];
        assert_eq!(policy["rules"].as_array().unwrap().len(), 4);
        assert_eq!(
            app["fulcrum-listener-lb-l7-l"]["policyEndpoint"],
            "fulcrum-listener-lb-l7-l-policy"
        );
    }
    let mut regex = tree("lb-l7", ListenerProtocol::Http);
    regex
        .l7policies
        .push(l7policy("p", "lb-l7", "lb-l7-l", 1, L7PolicyAction::Reject));
    regex.l7rules.push(l7rule(
        "r",
        "lb-l7",
        "p",
        L7RuleType::Path,
        L7CompareType::Regex,
        "^/a",
    ));
    let refused = driver.validate(&regex).unwrap_err();
    assert_eq!(refused.kind(), DriverErrorKind::Unsupported);
}

#[tokio::test]
async fn options_the_driver_cannot_map_are_refused_before_anything_is_sent() {
    let running = simulator(Config::default()).await;
    let driver = driver(&running, AuthMode::Basic);
    let mut two_cidrs = tree("lb-x", ListenerProtocol::Http);
    two_cidrs.listeners[0].allowed_cidrs = vec!["10.0.0.0/8".into(), "192.168.0.0/16".into()];
    let mut reencrypt = tree("lb-x", ListenerProtocol::Http);
    reencrypt.pools[0].tls_enabled = true;
    let mut client_ca = tree("lb-x", ListenerProtocol::TerminatedHttps);
    client_ca.listeners[0].client_ca_tls_container_ref = Some("ca".into());
    for (what, g) in [
        ("cidrs", two_cidrs),
        ("pool TLS", reencrypt),
        ("client CA", client_ca),
    ] {
        let refused = driver.validate(&g).unwrap_err();
        assert_eq!(refused.kind(), DriverErrorKind::Unsupported, "{what}");
        assert_eq!(
            driver.apply(&g).await.unwrap_err().kind(),
            DriverErrorKind::Unsupported
        );
    }
    assert_eq!(
        running.control().calls().total,
        0,
        "nothing reached the device"
    );
}

#[tokio::test]
async fn the_standby_never_receives_a_write_and_a_failover_converges_on_the_new_active() {
    let running = simulator(Config::ha_pair()).await;
    let driver = driver(&running, AuthMode::Basic);
    let first = tree("lb-one", ListenerProtocol::Http);
    driver.apply(&first).await.unwrap();
    assert!(
        running
            .control()
            .tenants(1)
            .contains_key("fulcrum-project-p1")
    );

    assert!(running.control().failover());
    let second = tree("lb-two", ListenerProtocol::Tcp);
    driver.apply(&second).await.unwrap();
    let calls = running.control().calls();
    assert!(
        calls.writes_to_standby().is_empty(),
        "{:?}",
        calls.writes_to_standby()
    );
    assert_eq!(calls.declaration_writes(0), 1);
    assert_eq!(calls.declaration_writes(1), 1);
    let on_new_active = &running.control().tenants(1)["fulcrum-project-p1"];
    assert!(
        on_new_active.get("fulcrum-lb-lb-one").is_some(),
        "the first kept"
    );
    assert!(on_new_active.get("fulcrum-lb-lb-two").is_some());
    assert_eq!(running.control().tenants(0), running.control().tenants(1));

    let mut ids = driver.realized_load_balancers().await.unwrap();
    ids.sort();
    assert_eq!(ids, ["lb-one", "lb-two"]);
    driver.remove("lb-one").await.unwrap();
    driver.remove("lb-two").await.unwrap();
    driver.remove("lb-two").await.unwrap();
    assert!(running.control().tenants(0).is_empty());
    assert!(running.control().tenants(1).is_empty());
    assert!(running.control().calls().writes_to_standby().is_empty());
}

#[tokio::test]
async fn a_burst_of_changes_to_one_tenant_becomes_a_handful_of_declarations() {
    let running = simulator(Config {
        apply_delay: Duration::from_millis(100),
        ..Config::default()
    })
    .await;
    let driver = Arc::new(driver(&running, AuthMode::Basic));
    let mut burst = Vec::new();
    for members in 1..=50 {
        let driver = driver.clone();
        let mut g = tree("lb-burst", ListenerProtocol::Http);
        g.members = (0..members)
            .map(|i| {
                member(
                    &format!("m{i}"),
                    "lb-burst",
                    "lb-burst-p",
                    &format!("192.0.2.{}", i + 1),
                    80,
                )
            })
            .collect();
        burst.push(tokio::spawn(async move { driver.apply(&g).await }));
    }
    for other in 0..10 {
        let driver = driver.clone();
        let g = tree(&format!("lb-other-{other}"), ListenerProtocol::Tcp);
        burst.push(tokio::spawn(async move { driver.apply(&g).await }));
    }
    for apply in burst {
        apply.await.unwrap().unwrap();
    }
    let calls = running.control().calls();
    let declarations = calls.declaration_writes(0);
    assert!(
        (1..=5).contains(&declarations),
        "60 applies to one tenant made {declarations} declarations"
    );
    let tenant = &running.control().tenants(0)["fulcrum-project-p1"];
    for other in 0..10 {
        assert!(tenant.get(format!("fulcrum-lb-lb-other-{other}")).is_some());
    }
    let members = tenant["fulcrum-lb-lb-burst"]["fulcrum-pool-lb-burst-p"]["members"]
        .as_array()
        .unwrap()
        .len();
    assert!((1..=50).contains(&members));
}

#[tokio::test]
async fn a_busy_device_is_waited_for() {
    let running = simulator(Config::default()).await;
    let driver = driver(&running, AuthMode::Basic);
    running.control().occupy(0, Duration::from_millis(300));
    driver
        .apply(&tree("lb-busy", ListenerProtocol::Http))
        .await
        .unwrap();
    let calls = running.control().calls();
    let busy = calls
        .recent
        .iter()
        .filter(|c| c.is_declaration_write() && c.status == 503)
        .count();
    assert!(busy >= 1, "the device answered 503 first");
    assert!(
        running
            .control()
            .tenants(0)
            .contains_key("fulcrum-project-p1")
    );
}

#[tokio::test]
async fn a_member_the_device_refuses_is_left_out_and_alone_in_error() {
    let running = simulator(Config::default()).await;
    let driver = driver(&running, AuthMode::Basic);
    let mut other = tree("lb-other", ListenerProtocol::Http);
    for (m, address) in other.members.iter_mut().zip(["192.0.2.20", "192.0.2.21"]) {
        m.address = address.into();
    }
    driver.apply(&other).await.unwrap();
    running.control().set_bad_objects(BadObjects {
        addresses: ["192.0.2.11".to_owned()].into(),
        ..BadObjects::default()
    });
    let g = tree("lb-bad", ListenerProtocol::Http);
    let applied = driver.apply_reporting(&g).await.unwrap();
    assert_eq!(applied.refused.keys().collect::<Vec<_>>(), ["lb-bad-m2"]);
    assert!(
        applied.refused["lb-bad-m2"].contains("01070734:3"),
        "{applied:?}"
    );

    let tenant = &running.control().tenants(0)["fulcrum-project-p1"];
    let app = &tenant["fulcrum-lb-lb-bad"];
    let members = app["fulcrum-pool-lb-bad-p"]["members"].as_array().unwrap();
    assert_eq!(members.len(), 1, "{app}");
    assert_eq!(members[0]["serverAddresses"], json!(["192.0.2.10"]));
    assert!(app.get("fulcrum-listener-lb-bad-l").is_some(), "{app}");
    assert!(
        tenant.get("fulcrum-lb-lb-other").is_some(),
        "the tenant's other load balancer stays"
    );

    let observed = driver.observe(&g).await.unwrap();
    let status = |id: &str| observed.operating_status[id];
    assert_eq!(status("lb-bad-m2"), OperatingStatus::Error);
    assert_ne!(status("lb-bad-m1"), OperatingStatus::Error);
    assert_ne!(status("lb-bad-l"), OperatingStatus::Error);
    assert_ne!(status("lb-bad-p"), OperatingStatus::Error);
    assert_eq!(status("lb-bad"), OperatingStatus::Degraded);
    let untouched = driver.observe(&other).await.unwrap();
    assert_ne!(
        untouched.operating_status["lb-other-m2"],
        OperatingStatus::Error
    );

    // Once the device takes the address, the next apply declares the member and clears it.
    running.control().set_bad_objects(BadObjects::default());
    assert_eq!(
        driver.apply_reporting(&g).await.unwrap(),
        Applied::default()
    );
    let app = &running.control().tenants(0)["fulcrum-project-p1"]["fulcrum-lb-lb-bad"];
    assert_eq!(
        app["fulcrum-pool-lb-bad-p"]["members"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let observed = driver.observe(&g).await.unwrap();
    assert_ne!(
        observed.operating_status["lb-bad-m2"],
        OperatingStatus::Error
    );
}

#[tokio::test]
async fn a_certificate_the_device_refuses_leaves_out_its_listener_alone() {
    let running = simulator(Config::default()).await;
    let driver = driver(&running, AuthMode::Basic);
    let mut g = tree("lb-cert", ListenerProtocol::TerminatedHttps);
    let mut plain = listener("lb-cert-http", "lb-cert", ListenerProtocol::Http, 80);
    plain.default_pool_id = Some("lb-cert-p".into());
    g.listeners.push(plain);
    g.l7policies.push(l7policy(
        "lb-cert-policy",
        "lb-cert",
        "lb-cert-l",
        1,
        L7PolicyAction::Reject,
    ));
    g.l7rules.push(l7rule(
        "lb-cert-rule",
        "lb-cert",
        "lb-cert-policy",
        L7RuleType::Path,
        L7CompareType::StartsWith,
        "/admin",
    ));
    let rendered: Value = serde_json::from_str(&driver.render(&g).unwrap().unwrap()).unwrap();
    let app = &rendered["declaration"]["fulcrum-project-p1"]["fulcrum-lb-lb-cert"];
    let certificate = app
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, o)| o["class"] == "Certificate")
        .map(|(name, _)| name.clone())
        .expect("a Certificate object");
    running.control().set_bad_objects(BadObjects {
        certificates: [certificate.clone()].into(),
        ..BadObjects::default()
    });
    let applied = driver.apply_reporting(&g).await.unwrap();
    assert_eq!(
        applied.refused.keys().collect::<Vec<_>>(),
        ["lb-cert-l", "lb-cert-policy", "lb-cert-rule"],
        "the listener, and the L7 policy declared on it"
    );
    let words = &applied.refused["lb-cert-l"];
    assert!(
        words.contains("01070313:3: Error reading key PEM file") && words.contains(&certificate),
        "{words}"
    );
    let app = &running.control().tenants(0)["fulcrum-project-p1"]["fulcrum-lb-lb-cert"];
    assert!(app.get("fulcrum-listener-lb-cert-l").is_none(), "{app}");
    assert!(app.get(&certificate).is_none(), "{app}");
    assert_eq!(
        app["fulcrum-listener-lb-cert-http"]["class"],
        "Service_HTTP"
    );
    assert!(app.get("fulcrum-pool-lb-cert-p").is_some(), "{app}");
    let observed = driver.observe(&g).await.unwrap();
    assert_eq!(
        observed.operating_status["lb-cert-l"],
        OperatingStatus::Error
    );
    assert_ne!(
        observed.operating_status["lb-cert-http"],
        OperatingStatus::Error
    );

    // Once the device loads the certificate, the next apply declares the listener again.
    running.control().set_bad_objects(BadObjects::default());
    assert_eq!(
        driver.apply_reporting(&g).await.unwrap(),
        Applied::default()
    );
    let app = &running.control().tenants(0)["fulcrum-project-p1"]["fulcrum-lb-lb-cert"];
    assert_eq!(app["fulcrum-listener-lb-cert-l"]["class"], "Service_HTTPS");
    let observed = driver.observe(&g).await.unwrap();
    assert_ne!(
        observed.operating_status["lb-cert-l"],
        OperatingStatus::Error
    );
}

#[tokio::test]
async fn a_token_is_renewed_when_it_expires() {
    let running = simulator(Config::default()).await;
    let driver = driver(&running, AuthMode::Token);
    driver
        .apply(&tree("lb-token", ListenerProtocol::Http))
        .await
        .unwrap();
    running.control().advance_clock(Duration::from_secs(3600));
    let mut changed = tree("lb-token", ListenerProtocol::Http);
    changed.members.pop();
    driver.apply(&changed).await.unwrap();
    let calls = running.control().calls();
    assert_eq!(calls.count("POST", "/mgmt/shared/authn/login"), 2);
    let app = &running.control().tenants(0)["fulcrum-project-p1"]["fulcrum-lb-lb-token"];
    let pool = &app["fulcrum-pool-lb-token-p"];
    assert_eq!(pool["members"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn observe_reads_statuses_and_counters_from_the_device() {
    let running = simulator(Config::default()).await;
    let driver = driver(&running, AuthMode::Basic);
    let g = tree("lb-obs", ListenerProtocol::Http);
    driver.apply(&g).await.unwrap();
    running.control().set_stats(
        "/fulcrum-project-p1/fulcrum-lb-lb-obs/fulcrum-listener-lb-obs-l",
        json!({ "clientside.bitsIn": 8000, "clientside.totConns": 7 })
            .as_object()
            .unwrap()
            .clone(),
    );
    let observed = driver.observe(&g).await.unwrap();
    let stats = &observed.listener_stats["lb-obs-l"];
    assert_eq!(stats.bytes_in, 1000);
    assert_eq!(stats.total_connections, 7);
    assert_eq!(
        observed.operating_status["lb-obs-l"],
        fulcrum_core::model::OperatingStatus::Online
    );
}

#[tokio::test]
async fn observe_tells_management_which_devices_serve_and_when_none_can_be_reached() {
    let running = simulator(Config::ha_pair()).await;
    let driver = driver(&running, AuthMode::Basic);
    let g = tree("lb-ev", ListenerProtocol::Http);
    driver.apply(&g).await.unwrap();
    let hosts: Vec<String> = running
        .control()
        .devices()
        .into_iter()
        .map(|d| d.hostname)
        .collect();

    let observed = driver.observe(&g).await.unwrap();
    let seen: Vec<&Event> = observed
        .events
        .iter()
        .filter(|e| matches!(e, Event::DeviceSeen { .. }))
        .collect();
    assert_eq!(
        seen,
        hosts
            .iter()
            .map(|h| Event::DeviceSeen {
                provider: "f5".into(),
                device_id: h.clone(),
                load_balancer_id: Some("lb-ev".into()),
            })
            .collect::<Vec<_>>()
            .iter()
            .collect::<Vec<_>>()
    );
    assert!(
        driver.observe(&g).await.unwrap().events.is_empty(),
        "a device is reported once"
    );

    running
        .control()
        .set_faults(FaultPlan {
            error_rate: 1.0,
            path_prefix: Some("/mgmt/tm/cm/device".into()),
            ..FaultPlan::default()
        })
        .unwrap();
    let observed = driver.observe(&g).await.unwrap();
    assert!(
        observed.operating_status.is_empty(),
        "statuses are left as they were"
    );
    let [
        Event::AlertRaised {
            key,
            load_balancer_id,
            provider,
            message,
        },
    ] = observed.events.as_slice()
    else {
        panic!("one alert expected: {:?}", observed.events);
    };
    assert_eq!(load_balancer_id, "lb-ev");
    assert_eq!(provider, "f5");
    assert!(message.contains("cannot be reached"), "{message}");
    assert!(
        driver.observe(&g).await.unwrap().events.is_empty(),
        "an alert is raised once"
    );

    running.control().clear_faults();
    let observed = driver.observe(&g).await.unwrap();
    assert_eq!(
        observed.events,
        [Event::AlertCleared {
            key: key.clone(),
            load_balancer_id: "lb-ev".into(),
        }]
    );
    assert_eq!(
        observed.operating_status["lb-ev-l"],
        OperatingStatus::Online
    );
}

/// Change the device behind Fulcrum's back: declare `tenant` as given (`Some`) or delete it.
async fn behind_the_back(running: &Running, name: &str, tenant: Option<Value>) {
    let client = reqwest::Client::new();
    let url = format!("{}/mgmt/shared/appsvcs/declare/{name}", running.base_url());
    let request = match tenant {
        Some(body) => client
            .post(url)
            .json(&fulcrum_drivers::f5::as3::request(name, body)),
        None => client.delete(url),
    };
    let answer = request
        .basic_auth("admin", Some("admin"))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
}

#[tokio::test]
async fn the_sync_finds_a_tenant_changed_or_removed_on_the_device_and_declares_it_again() {
    let running = simulator(Config::default()).await;
    let driver = driver(&running, AuthMode::Basic);
    let g = tree("lb-drift", ListenerProtocol::Http);
    driver.apply(&g).await.unwrap();
    let declared = running.control().tenants(0);
    let held = driver.realized_fingerprints().await.unwrap();
    assert_eq!(held.len(), 1);
    assert!(held[0].in_sync(), "{held:?}");

    let mut changed = declared["fulcrum-project-p1"].clone();
    changed["fulcrum-lb-lb-drift"]["fulcrum-pool-lb-drift-p"]["members"]
        .as_array_mut()
        .unwrap()
        .pop();
    behind_the_back(&running, "fulcrum-project-p1", Some(changed)).await;
    assert_ne!(running.control().tenants(0), declared);
    let held = driver.realized_fingerprints().await.unwrap();
    assert_eq!(held[0].load_balancer_id, "lb-drift");
    assert!(!held[0].in_sync(), "the change is drift");
    driver.apply(&g).await.unwrap();
    assert_eq!(running.control().tenants(0), declared);
    assert!(driver.realized_fingerprints().await.unwrap()[0].in_sync());

    behind_the_back(&running, "fulcrum-project-p1", None).await;
    assert!(running.control().tenants(0).is_empty());
    assert!(
        driver.realized_fingerprints().await.unwrap().is_empty(),
        "a removed tenant holds nothing, so the full sync declares it again"
    );
    driver.apply(&g).await.unwrap();
    assert_eq!(running.control().tenants(0), declared);
}

#[tokio::test]
async fn tenants_can_be_named_by_vip_network() {
    let running = simulator(Config::default()).await;
    let config = F5Config {
        devices: vec![running.base_url().to_owned()],
        username: "admin".into(),
        password: "admin".into(),
        tenants: TenantNaming::Network,
        task_poll_ms: 10,
        ..F5Config::default()
    };
    let context = DriverContext {
        certificates: Arc::new(Bundles),
        availability: Arc::new(fulcrum_core::devices::EveryDevice),
    };
    let driver = F5Driver::new(config, context).unwrap();
    let g = tree("lb-net", ListenerProtocol::Http);
    driver.apply(&g).await.unwrap();
    let tenants = running.control().tenants(0);
    assert_eq!(tenants.keys().collect::<Vec<_>>(), ["fulcrum-network-net"]);
    assert!(
        driver
            .observe(&g)
            .await
            .unwrap()
            .listener_stats
            .contains_key("lb-net-l")
    );
    driver.remove("lb-net").await.unwrap();
    assert!(running.control().tenants(0).is_empty());
}

#[test]
fn a_configuration_without_devices_is_refused() {
    let context = DriverContext {
        certificates: Arc::new(Bundles),
        availability: Arc::new(fulcrum_core::devices::EveryDevice),
    };
    let error = F5Driver::new(F5Config::default(), context).unwrap_err();
    assert_eq!(error.kind(), DriverErrorKind::InvalidConfiguration);
    assert!(error.message().contains("devices"), "{error}");
}

/// `render` shows the declaration an apply sends for a load balancer alone in its tenant, TLS
/// material left out: the device accepts it as it is (schema and references checked).
#[tokio::test]
async fn render_shows_a_declaration_the_device_accepts() {
    let running = simulator(Config::default()).await;
    let driver = driver(&running, AuthMode::Basic);
    let graph = tree(LB, ListenerProtocol::TerminatedHttps);
    let text = driver
        .render(&graph)
        .expect("the f5 driver renders")
        .expect("the tree maps");
    assert!(text.contains("not shown"), "{text}");
    let request: Value = serde_json::from_str(&text).expect("JSON");
    let declaration = &request["declaration"];
    let tenant = declaration
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, v)| v["class"] == "Tenant")
        .map(|(k, _)| k.clone())
        .expect("a tenant");
    let answer = reqwest::Client::new()
        .post(format!(
            "{}/mgmt/shared/appsvcs/declare/{tenant}",
            running.base_url()
        ))
        .basic_auth("admin", Some("admin"))
        .json(&request)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    assert_eq!(status, 200, "{}", answer.text().await.unwrap());
}

/// Availability saying no for the devices it names.
struct HeldBack(&'static [&'static str]);

#[async_trait::async_trait]
impl fulcrum_core::devices::DeviceAvailability for HeldBack {
    async fn may_place(&self, provider: &str, device: &str) -> bool {
        assert_eq!(provider, "f5");
        !self.0.contains(&device)
    }
}

/// A pair of two devices named `a1` and `a2`, then a single device named by its URL's host.
fn two_pairs() -> F5Config {
    F5Config {
        pairs: vec![
            PairConfig {
                name: "pair-1".into(),
                devices: vec!["https://10.0.0.1".into(), "https://10.0.0.2".into()],
                hostnames: vec!["a1".into(), "a2".into()],
            },
            PairConfig {
                name: "pair-2".into(),
                devices: vec!["https://bigip-3.example.com".into()],
                hostnames: vec![],
            },
        ],
        username: "admin".into(),
        ..F5Config::default()
    }
}

/// The driver of [`two_pairs`], with management holding back the devices `held_back` names.
fn placing_driver(held_back: &'static [&'static str]) -> F5Driver {
    let context = DriverContext {
        certificates: Arc::new(Bundles),
        availability: Arc::new(HeldBack(held_back)),
    };
    F5Driver::new(two_pairs(), context).unwrap()
}

fn placements(counts: &[(Option<&str>, u64)]) -> Placements {
    Placements::new(
        counts
            .iter()
            .map(|(p, n)| (p.map(str::to_owned), *n))
            .collect(),
    )
}

#[tokio::test]
async fn placement_takes_the_least_loaded_open_pair_without_calling_a_device() {
    let driver = placing_driver(&[]);
    assert!(driver.places_load_balancers());
    let place = async |counts: &[(Option<&str>, u64)]| {
        driver.place(&placements(counts)).await.unwrap().unwrap()
    };
    assert_eq!(place(&[]).await, "pair-1", "a tie goes to the first");
    assert_eq!(place(&[(Some("pair-1"), 1)]).await, "pair-2");
    assert_eq!(
        place(&[(None, 2), (Some("pair-2"), 1)]).await,
        "pair-2",
        "load balancers stored without a placement count for the first pair"
    );
    assert_eq!(place(&[(None, 1), (Some("pair-2"), 1)]).await, "pair-1");
}

#[tokio::test]
async fn a_pair_with_any_device_held_back_takes_nothing_new() {
    let standby_held = placing_driver(&["a2"]);
    let placed = standby_held
        .place(&placements(&[(Some("pair-2"), 5)]))
        .await
        .unwrap();
    assert_eq!(placed.as_deref(), Some("pair-2"));

    let every_pair_held = placing_driver(&["a1", "bigip-3.example.com"]);
    let refused = every_pair_held.place(&Placements::default()).await;
    let error = refused.unwrap_err();
    assert!(
        error
            .message()
            .contains("No BIG-IP pair may take a new load balancer")
            && error.message().contains("pair-1, pair-2"),
        "{error}"
    );
}

#[test]
fn pairs_are_checked_before_any_device_is_called() {
    let refused = |config: F5Config, words: &str| {
        let context = DriverContext {
            certificates: Arc::new(Bundles),
            availability: Arc::new(fulcrum_core::devices::EveryDevice),
        };
        let error = F5Driver::new(config, context).unwrap_err();
        assert_eq!(error.kind(), DriverErrorKind::InvalidConfiguration);
        assert!(error.message().contains(words), "{error}");
    };
    let mut both = two_pairs();
    both.devices = vec!["https://10.0.0.9".into()];
    refused(both, "not both");
    let mut twice = two_pairs();
    twice.pairs[1].name = "pair-1".into();
    refused(twice, "named twice");
    let mut unnamed = two_pairs();
    unnamed.pairs[1].name = " ".into();
    refused(unnamed, "needs a name");
    let mut three = two_pairs();
    three.pairs[1].devices = vec!["https://x".into(); 3];
    refused(three, "one device or the two of an HA pair");
    let mut hostnames = two_pairs();
    hostnames.pairs[0].hostnames.pop();
    refused(hostnames, "hostnames must name each of its devices");
}

/// Two simulated pairs, their devices named apart.
async fn two_simulated_pairs() -> (Running, Running) {
    let pair = async |names: [&str; 2]| {
        simulator(Config {
            hostnames: names.map(str::to_owned).to_vec(),
            ..Config::ha_pair()
        })
        .await
    };
    (pair(["p1-a", "p1-b"]).await, pair(["p2-a", "p2-b"]).await)
}

/// A driver whose pairs `pair-1` and `pair-2` are the simulated ones.
fn over_two_pairs(pair1: &Running, pair2: &Running) -> F5Driver {
    over_two_pairs_holding_back(pair1, pair2, &[])
}

/// [`over_two_pairs`], with management holding back the devices `held_back` names.
fn over_two_pairs_holding_back(
    pair1: &Running,
    pair2: &Running,
    held_back: &'static [&'static str],
) -> F5Driver {
    let pair = |name: &str, running: &Running| PairConfig {
        name: name.into(),
        devices: running.base_urls().iter().map(|u| u.to_string()).collect(),
        hostnames: vec![],
    };
    let config = F5Config {
        pairs: vec![pair("pair-1", pair1), pair("pair-2", pair2)],
        username: "admin".into(),
        password: "admin".into(),
        task_poll_ms: 10,
        ..F5Config::default()
    };
    let context = DriverContext {
        certificates: Arc::new(Bundles),
        availability: Arc::new(HeldBack(held_back)),
    };
    F5Driver::new(config, context).unwrap()
}

/// Whether a device holds the Application of load balancer `id`.
fn holds(running: &Running, device: usize, id: &str) -> bool {
    running
        .control()
        .tenants(device)
        .values()
        .any(|tenant| tenant.get(format!("fulcrum-lb-{id}")).is_some())
}

#[tokio::test]
async fn every_call_for_a_load_balancer_goes_to_the_pair_it_was_placed_on() {
    let (pair1, pair2) = two_simulated_pairs().await;
    let driver = over_two_pairs(&pair1, &pair2);
    let mut on_2 = tree("lb-on-2", ListenerProtocol::Http);
    on_2.load_balancer.placement = Some("pair-2".into());
    let unplaced = tree("lb-unplaced", ListenerProtocol::Http);
    driver.apply(&on_2).await.unwrap();
    driver.apply(&unplaced).await.unwrap();
    assert!(holds(&pair2, 0, "lb-on-2") && !holds(&pair1, 0, "lb-on-2"));
    assert!(
        holds(&pair1, 0, "lb-unplaced") && !holds(&pair2, 0, "lb-unplaced"),
        "one stored without a placement belongs to the first pair"
    );
    assert_eq!(pair1.control().calls().declaration_writes(0), 1);
    assert_eq!(pair2.control().calls().declaration_writes(0), 1);

    let observed = driver.observe(&on_2).await.unwrap();
    let seen: Vec<&str> = observed
        .events
        .iter()
        .filter_map(|e| match e {
            Event::DeviceSeen { device_id, .. } => Some(device_id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(seen, ["p2-a", "p2-b"]);
    assert!(observed.listener_stats.contains_key("lb-on-2-l"));

    let mut realized = driver.realized_load_balancers().await.unwrap();
    realized.sort();
    assert_eq!(realized, ["lb-on-2", "lb-unplaced"]);

    driver.remove("lb-on-2").await.unwrap();
    assert!(!holds(&pair2, 0, "lb-on-2"));
    assert!(holds(&pair1, 0, "lb-unplaced"));
    // A process that has not seen it (restarted) finds it on its pair.
    let restarted = over_two_pairs(&pair1, &pair2);
    restarted.remove("lb-unplaced").await.unwrap();
    assert!(!holds(&pair1, 0, "lb-unplaced") && !holds(&pair1, 1, "lb-unplaced"));

    let mut misplaced = tree("lb-gone-pair", ListenerProtocol::Http);
    misplaced.load_balancer.placement = Some("pair-9".into());
    let error = driver.apply(&misplaced).await.unwrap_err();
    assert_eq!(error.kind(), DriverErrorKind::InvalidConfiguration);
    assert!(error.message().contains("pair-9"), "{error}");
}

#[tokio::test]
async fn a_device_is_also_asked_for_by_the_name_it_reports() {
    let (pair1, pair2) = two_simulated_pairs().await;
    // No hostnames configured: the devices go by their URLs' host (127.0.0.1) until they say
    // their own names.
    let driver = over_two_pairs_holding_back(&pair1, &pair2, &["p1-b"]);
    let heavier_2 = placements(&[(Some("pair-2"), 3)]);
    assert_eq!(
        driver.place(&heavier_2).await.unwrap().as_deref(),
        Some("pair-1")
    );
    let g = tree("lb-names", ListenerProtocol::Http);
    driver.observe(&g).await.unwrap();
    assert_eq!(
        driver.place(&heavier_2).await.unwrap().as_deref(),
        Some("pair-2"),
        "p1-b, as pair 1's standby names itself, is held back"
    );
}
