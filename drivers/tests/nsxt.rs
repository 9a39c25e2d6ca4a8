//! The NSX-T driver against the NSX Policy API simulator, over real HTTP on 127.0.0.1: what it
//! sends is validated against the vendor's definitions, how many calls it makes is counted, and
//! the manager's hard cases (a concurrent writer, faults, a rate limit, drift, realization
//! errors, an expired session, a manager down) are played against it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use fulcrum_core::driver::fixtures::{self, Object};
use fulcrum_core::driver::{Driver, DriverErrorKind, LoadBalancerGraph};
use fulcrum_core::events::Event;
use fulcrum_core::model::{
    HealthMonitorType, HttpMethod, L7CompareType, L7PolicyAction, L7RuleType, LbAlgorithm,
    ListenerProtocol, OperatingStatus, PoolProtocol, ProvisioningStatus, SessionPersistence,
    SessionPersistenceType,
};
use fulcrum_core::secrets::CertificateStore;
use fulcrum_drivers::nsxt::{NsxtConfig, NsxtDriver};
use serde_json::{Value, json};
use simulators::nsxt::{self, Config, FaultPlan, Running};

const HAPI: &str = "/policy/api/v1/infra";
const TIER1: &str = "/infra/tier-1s/fulcrum-t1";

/// The vendor definitions, or `None` with a message saying the test runs without them.
fn vendor_schema(test: &str) -> Option<PathBuf> {
    let path = nsxt::schema::default_path();
    if path.exists() {
        Some(path)
    } else {
        eprintln!(
            "{test}: the NSX schema is not at {} (set {}); bodies are not validated",
            path.display(),
            nsxt::schema::SCHEMA_ENV
        );
        None
    }
}

/// Certificates held in memory.
struct Certificates(HashMap<String, String>);

impl CertificateStore for Certificates {
    fn fetch(&self, reference: &str) -> Result<Vec<u8>, String> {
        self.0
            .get(reference)
            .map(|pem| pem.as_bytes().to_vec())
            .ok_or_else(|| format!("{reference} is not in the store"))
    }
}

fn pem(name: &str) -> String {
    format!(
        "-----BEGIN CERTIFICATE-----\nMIIB{name}\n-----END CERTIFICATE-----\n\
         -----BEGIN PRIVATE KEY-----\nMIIE{name}\n-----END PRIVATE KEY-----\n"
    )
}

/// A simulator validating bodies, with a short realization delay and the given rate.
async fn simulator(test: &str, rate_per_second: f64) -> Running {
    nsxt::start(Config {
        rate_per_second,
        realization_delay: Duration::from_millis(20),
        schema: vendor_schema(test),
        ..Config::default()
    })
    .await
    .expect("the simulator starts")
}

fn section(managers: &[&str]) -> Value {
    json!({
        "managers": managers,
        "username": "admin",
        "password": "admin",
        "tier1_path": TIER1,
        "realization_poll_ms": 50,
        "realization_timeout_seconds": 10,
    })
}

fn driver_for(section: Value) -> NsxtDriver {
    let certificates = Certificates(
        ["tls", "sni-a", "sni-b"]
            .into_iter()
            .map(|r| (r.to_string(), pem(r)))
            .collect(),
    );
    NsxtDriver::new(NsxtConfig::parse(&section).unwrap(), Arc::new(certificates)).unwrap()
}

fn driver(sim: &Running) -> NsxtDriver {
    driver_for(section(&[sim.base_url()]))
}

/// A load balancer being created, with an HTTP listener in front of a pool of two members.
fn simple(lb: &str) -> LoadBalancerGraph {
    let mut graph = fixtures::graph(fixtures::load_balancer(lb));
    graph.load_balancer.provisioning_status = ProvisioningStatus::PendingCreate;
    graph.load_balancer.vip_address = "10.0.0.10".into();
    graph.load_balancer.project_id = Some("project-1".into());
    graph.listeners.push(fulcrum_core::model::Listener {
        default_pool_id: Some(format!("{lb}-pool")),
        ..fixtures::listener(&format!("{lb}-http"), lb, ListenerProtocol::Http, 80)
    });
    let pool = format!("{lb}-pool");
    graph.pools.push(fixtures::pool(
        &pool,
        lb,
        PoolProtocol::Http,
        LbAlgorithm::RoundRobin,
    ));
    for (i, address) in ["10.1.0.1", "10.1.0.2"].iter().enumerate() {
        graph.members.push(fixtures::member(
            &format!("{lb}-m{i}"),
            lb,
            &pool,
            address,
            8080,
        ));
    }
    graph
}

/// The same tree, already created (what an update hands the driver).
fn active(mut graph: LoadBalancerGraph) -> LoadBalancerGraph {
    graph.load_balancer.provisioning_status = ProvisioningStatus::PendingUpdate;
    graph
}

/// Every Octavia object type, and each option the NSX mapping knows.
fn everything(lb: &str) -> LoadBalancerGraph {
    use fulcrum_core::model::Listener;
    let mut graph = simple(lb);
    graph.flavor_metadata.insert("size".into(), json!("MEDIUM"));
    let p = |name: &str| format!("{lb}-{name}");
    let http = p("http");
    graph.listeners[0].connection_limit = 1000;
    graph.listeners[0]
        .insert_headers
        .insert("X-Forwarded-For".into(), "true".into());
    graph.listeners.push(Listener {
        default_tls_container_ref: Some("tls".into()),
        sni_container_refs: vec!["sni-a".into(), "sni-b".into()],
        tls_versions: Some(vec!["TLSv1.2".into(), "TLSv1.3".into()]),
        tls_ciphers: Some(fulcrum_core::validate::DEFAULT_TLS_CIPHERS.into()),
        alpn_protocols: Some(fulcrum_core::validate::default_alpn_protocols()),
        default_pool_id: Some(p("cookie")),
        ..fixtures::listener(&p("tls"), lb, ListenerProtocol::TerminatedHttps, 443)
    });
    graph.listeners.push(Listener {
        default_pool_id: Some(p("tcp")),
        ..fixtures::listener(&p("tcp"), lb, ListenerProtocol::Tcp, 8000)
    });
    graph.listeners.push(Listener {
        default_pool_id: Some(p("passthrough")),
        ..fixtures::listener(&p("passthrough"), lb, ListenerProtocol::Https, 8443)
    });
    graph.listeners.push(Listener {
        default_pool_id: Some(p("udp")),
        ..fixtures::listener(&p("udp"), lb, ListenerProtocol::Udp, 53)
    });
    graph.listeners.push(
        Listener {
            default_pool_id: Some(p("backend-tls")),
            ..fixtures::listener(&p("off"), lb, ListenerProtocol::Http, 81)
        }
        .disabled(),
    );

    let persistence = |kind, cookie: Option<&str>| {
        Some(SessionPersistence {
            kind,
            cookie_name: cookie.map(str::to_string),
            persistence_timeout: None,
            persistence_granularity: None,
        })
    };
    graph.pools.push(fulcrum_core::model::Pool {
        session_persistence: persistence(SessionPersistenceType::HttpCookie, None),
        ..fixtures::pool(
            &p("cookie"),
            lb,
            PoolProtocol::Http,
            LbAlgorithm::LeastConnections,
        )
    });
    graph.pools.push(fulcrum_core::model::Pool {
        session_persistence: persistence(SessionPersistenceType::SourceIp, None),
        ..fixtures::pool(&p("tcp"), lb, PoolProtocol::Tcp, LbAlgorithm::SourceIp)
    });
    graph.pools.push(fixtures::pool(
        &p("passthrough"),
        lb,
        PoolProtocol::Https,
        LbAlgorithm::RoundRobin,
    ));
    graph.pools.push(fulcrum_core::model::Pool {
        session_persistence: persistence(SessionPersistenceType::AppCookie, Some("SESSION")),
        tls_enabled: true,
        tls_ciphers: Some("AES256-GCM-SHA384:HIGH".into()),
        ..fixtures::pool(
            &p("backend-tls"),
            lb,
            PoolProtocol::Http,
            LbAlgorithm::RoundRobin,
        )
    });
    graph.pools.push(fixtures::pool(
        &p("udp"),
        lb,
        PoolProtocol::Udp,
        LbAlgorithm::RoundRobin,
    ));
    graph.pools.push(
        fixtures::pool(&p("api"), lb, PoolProtocol::Http, LbAlgorithm::RoundRobin).disabled(),
    );

    let pool = p("pool");
    graph.members.push(fulcrum_core::model::Member {
        weight: 0,
        ..fixtures::member(&p("drained"), lb, &pool, "10.1.0.3", 8080)
    });
    graph.members.push(fulcrum_core::model::Member {
        backup: true,
        weight: 256,
        ..fixtures::member(&p("backup"), lb, &pool, "10.1.0.4", 8080)
    });
    graph
        .members
        .push(fixtures::member(&p("off-member"), lb, &pool, "10.1.0.5", 8080).disabled());
    for pool in ["cookie", "tcp", "passthrough", "backend-tls", "udp", "api"] {
        graph.members.push(fixtures::member(
            &p(&format!("{pool}-m")),
            lb,
            &p(pool),
            "10.2.0.1",
            9000,
        ));
    }

    graph
        .health_monitors
        .push(fulcrum_core::model::HealthMonitor {
            http_method: Some(HttpMethod::Head),
            url_path: Some("/health".into()),
            expected_codes: Some("200-202,204".into()),
            http_version: Some(1.1),
            domain_name: Some("app.example".into()),
            ..fixtures::health_monitor(&p("hm-http"), lb, &pool, HealthMonitorType::Http)
        });
    graph.health_monitors.push(fixtures::health_monitor(
        &p("hm-https"),
        lb,
        &p("cookie"),
        HealthMonitorType::Https,
    ));
    graph.health_monitors.push(fixtures::health_monitor(
        &p("hm-tcp"),
        lb,
        &p("tcp"),
        HealthMonitorType::Tcp,
    ));
    graph.health_monitors.push(fixtures::health_monitor(
        &p("hm-ping"),
        lb,
        &p("udp"),
        HealthMonitorType::Ping,
    ));

    let policy =
        |id: &str, position, action| fixtures::l7policy(&p(id), lb, &http, position, action);
    graph.l7policies.push(fulcrum_core::model::L7Policy {
        redirect_pool_id: Some(p("api")),
        ..policy("to-api", 1, L7PolicyAction::RedirectToPool)
    });
    graph.l7policies.push(fulcrum_core::model::L7Policy {
        redirect_url: Some("https://moved.example/".into()),
        redirect_http_code: Some(301),
        ..policy("moved", 2, L7PolicyAction::RedirectToUrl)
    });
    graph.l7policies.push(fulcrum_core::model::L7Policy {
        redirect_prefix: Some("https://secure.example".into()),
        ..policy("secure", 3, L7PolicyAction::RedirectPrefix)
    });
    graph
        .l7policies
        .push(policy("deny", 4, L7PolicyAction::Reject));
    let rule = |id: &str, policy: &str, kind, compare, value: &str| {
        fixtures::l7rule(&p(id), lb, &p(policy), kind, compare, value)
    };
    graph.l7rules.push(rule(
        "r-path",
        "to-api",
        L7RuleType::Path,
        L7CompareType::StartsWith,
        "/api",
    ));
    graph.l7rules.push(rule(
        "r-host",
        "to-api",
        L7RuleType::HostName,
        L7CompareType::EqualTo,
        "api.example",
    ));
    graph.l7rules.push(fulcrum_core::model::L7Rule {
        key: Some("X-Old".into()),
        invert: true,
        ..rule(
            "r-header",
            "moved",
            L7RuleType::Header,
            L7CompareType::Contains,
            "yes",
        )
    });
    graph.l7rules.push(fulcrum_core::model::L7Rule {
        key: Some("beta".into()),
        ..rule(
            "r-cookie",
            "secure",
            L7RuleType::Cookie,
            L7CompareType::Regex,
            "^1$",
        )
    });
    graph.l7rules.push(rule(
        "r-file",
        "deny",
        L7RuleType::FileType,
        L7CompareType::EqualTo,
        "exe",
    ));
    graph
}

/// The objects the simulator holds under `/infra/lb-*` and `/infra/certificates`, by path.
fn held(sim: &Running) -> BTreeMap<String, Value> {
    sim.control()
        .objects("/infra/")
        .into_iter()
        .filter(|o| o["resource_type"] != "Tier1")
        .map(|o| (o["path"].as_str().unwrap().to_string(), o))
        .collect()
}

fn held_paths(sim: &Running) -> BTreeSet<String> {
    held(sim).into_keys().collect()
}

#[tokio::test]
async fn every_octavia_option_maps_to_bodies_the_manager_accepts() {
    let sim = simulator(
        "every_octavia_option_maps_to_bodies_the_manager_accepts",
        0.0,
    )
    .await;
    let driver = driver(&sim);
    let graph = everything("lb1");
    driver.validate(&graph).unwrap();
    driver.apply(&graph).await.unwrap();

    let objects = held(&sim);
    let get = |path: &str| {
        objects
            .get(path)
            .unwrap_or_else(|| panic!("{path} is not held: {:?}", objects.keys()))
    };
    let service = get("/infra/lb-services/fulcrum-lb-lb1");
    assert_eq!(service["connectivity_path"], TIER1);
    assert_eq!(service["size"], "MEDIUM");
    let tags: Vec<(String, String)> = service["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["scope"].as_str().unwrap().into(),
                t["tag"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(tags.contains(&("created-by".into(), "fulcrum".into())));
    assert!(tags.contains(&("os-lbaas-lb-id".into(), "lb1".into())));
    assert!(tags.contains(&("os-project-id".into(), "project-1".into())));

    let http = get("/infra/lb-virtual-servers/fulcrum-listener-lb1-http");
    assert_eq!(http["ip_address"], "10.0.0.10");
    assert_eq!(http["ports"], json!(["80"]));
    assert_eq!(http["max_concurrent_connections"], 1000);
    assert_eq!(http["pool_path"], "/infra/lb-pools/fulcrum-pool-lb1-pool");
    assert_eq!(http["lb_service_path"], "/infra/lb-services/fulcrum-lb-lb1");
    let rules = http["rules"].as_array().unwrap();
    let actions: Vec<&str> = rules
        .iter()
        .map(|r| r["actions"][0]["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "LBSelectPoolAction",
            "LBHttpRedirectAction",
            "LBHttpRedirectAction",
            "LBHttpRejectAction"
        ],
        "rules follow the policies' positions"
    );
    assert_eq!(
        rules[0]["actions"][0]["pool_id"],
        "/infra/lb-pools/fulcrum-pool-lb1-api"
    );
    assert_eq!(rules[0]["match_strategy"], "ALL");
    assert_eq!(rules[0]["match_conditions"].as_array().unwrap().len(), 2);
    assert_eq!(rules[1]["actions"][0]["redirect_status"], "301");
    assert_eq!(rules[1]["match_conditions"][0]["inverse"], true);
    assert_eq!(rules[3]["match_conditions"][0]["uri"], ".exe");
    assert_eq!(
        get("/infra/lb-app-profiles/fulcrum-listener-lb1-http")["x_forwarded_for"],
        "INSERT"
    );

    let tls = get("/infra/lb-virtual-servers/fulcrum-listener-lb1-tls");
    let binding = &tls["client_ssl_profile_binding"];
    assert_eq!(
        binding["default_certificate_path"],
        "/infra/certificates/fulcrum-listener-lb1-tls-default"
    );
    assert_eq!(
        binding["sni_certificate_paths"].as_array().unwrap().len(),
        2
    );
    let certificate = get("/infra/certificates/fulcrum-listener-lb1-tls-default");
    assert!(
        certificate["pem_encoded"]
            .as_str()
            .unwrap()
            .contains("MIIBtls")
    );
    assert!(
        !certificate["pem_encoded"]
            .as_str()
            .unwrap()
            .contains("PRIVATE KEY")
    );
    let client_ssl = get("/infra/lb-client-ssl-profiles/fulcrum-listener-lb1-tls");
    assert_eq!(client_ssl["protocols"], json!(["TLS_V1_2"]));
    // Octavia's default cipher string, as the TLS 1.2 ciphers of it NSX offers.
    assert_eq!(client_ssl["cipher_group_label"], "CUSTOM");
    assert_eq!(
        client_ssl["ciphers"],
        json!([
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        ])
    );
    let server_ssl = get("/infra/lb-server-ssl-profiles/fulcrum-pool-lb1-backend-tls");
    assert_eq!(
        server_ssl["ciphers"],
        json!(["TLS_RSA_WITH_AES_256_GCM_SHA384"])
    );
    assert_eq!(
        tls["lb_persistence_profile_path"],
        "/infra/lb-persistence-profiles/fulcrum-pool-lb1-cookie"
    );

    for (listener, profile) in [
        ("http", "LBHttpProfile"),
        ("tls", "LBHttpProfile"),
        ("tcp", "LBFastTcpProfile"),
        ("passthrough", "LBFastTcpProfile"),
        ("udp", "LBFastUdpProfile"),
    ] {
        let path = format!("/infra/lb-app-profiles/fulcrum-listener-lb1-{listener}");
        assert_eq!(get(&path)["resource_type"], profile, "{listener}");
    }
    assert_eq!(
        get("/infra/lb-virtual-servers/fulcrum-listener-lb1-off")["enabled"],
        false
    );
    let backend_tls = get("/infra/lb-virtual-servers/fulcrum-listener-lb1-off");
    assert_eq!(
        backend_tls["server_ssl_profile_binding"]["ssl_profile_path"],
        "/infra/lb-server-ssl-profiles/fulcrum-pool-lb1-backend-tls"
    );
    assert_eq!(
        get("/infra/lb-persistence-profiles/fulcrum-pool-lb1-backend-tls")["cookie_name"],
        "SESSION"
    );

    let pool = get("/infra/lb-pools/fulcrum-pool-lb1-pool");
    assert_eq!(pool["algorithm"], "WEIGHTED_ROUND_ROBIN");
    assert_eq!(pool["snat_translation"]["type"], "LBSnatAutoMap");
    assert_eq!(
        pool["active_monitor_paths"],
        json!(["/infra/lb-monitor-profiles/fulcrum-monitor-lb1-hm-http"])
    );
    let members: BTreeMap<&str, &Value> = pool["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["ip_address"].as_str().unwrap(), m))
        .collect();
    assert_eq!(members.len(), 5);
    assert_eq!(members["10.1.0.3"]["admin_state"], "GRACEFUL_DISABLED");
    assert_eq!(members["10.1.0.4"]["backup_member"], true);
    assert_eq!(members["10.1.0.4"]["weight"], 256);
    assert_eq!(members["10.1.0.5"]["admin_state"], "DISABLED");
    assert_eq!(members["10.1.0.1"]["port"], "8080");
    let disabled_pool = get("/infra/lb-pools/fulcrum-pool-lb1-api");
    assert_eq!(disabled_pool["members"][0]["admin_state"], "DISABLED");
    assert_eq!(
        get("/infra/lb-pools/fulcrum-pool-lb1-tcp")["algorithm"],
        "IP_HASH"
    );
    assert_eq!(
        get("/infra/lb-pools/fulcrum-pool-lb1-cookie")["algorithm"],
        "WEIGHTED_LEAST_CONNECTION"
    );

    let monitor = get("/infra/lb-monitor-profiles/fulcrum-monitor-lb1-hm-http");
    assert_eq!(monitor["resource_type"], "LBHttpMonitorProfile");
    assert_eq!(monitor["request_method"], "HEAD");
    assert_eq!(monitor["request_url"], "/health");
    assert_eq!(
        monitor["response_status_codes"],
        json!([200, 201, 202, 204])
    );
    assert_eq!(monitor["interval"], 5);
    assert_eq!(monitor["fall_count"], 3);
    assert_eq!(monitor["rise_count"], 2);
    assert_eq!(
        monitor["request_headers"],
        json!([{"header_name": "Host", "header_value": "app.example"}])
    );
    for (id, resource_type) in [
        ("hm-https", "LBHttpsMonitorProfile"),
        ("hm-tcp", "LBTcpMonitorProfile"),
        ("hm-ping", "LBIcmpMonitorProfile"),
    ] {
        let path = format!("/infra/lb-monitor-profiles/fulcrum-monitor-lb1-{id}");
        assert_eq!(get(&path)["resource_type"], resource_type);
    }
    for (pool, resource_type) in [
        ("cookie", "LBCookiePersistenceProfile"),
        ("tcp", "LBSourceIpPersistenceProfile"),
        ("backend-tls", "LBCookiePersistenceProfile"),
    ] {
        let path = format!("/infra/lb-persistence-profiles/fulcrum-pool-lb1-{pool}");
        assert_eq!(get(&path)["resource_type"], resource_type);
    }

    // Applying the same tree again writes nothing: one read, and one realization check of the
    // service and of all its virtual servers.
    sim.control().reset_calls();
    driver.apply(&active(graph)).await.unwrap();
    let calls = sim.control().calls();
    assert_eq!(calls.count("PATCH", HAPI), 0);
    assert_eq!(calls.total, 2, "{calls:?}");
}

/// A change made to a tree.
type Change = Box<dyn Fn(&mut LoadBalancerGraph)>;

#[tokio::test]
async fn what_nsx_cannot_express_is_refused_as_unsupported() {
    let sim = simulator("what_nsx_cannot_express_is_refused_as_unsupported", 0.0).await;
    let driver = driver(&sim);
    let cases: Vec<(&str, Change)> = vec![
        (
            "SOURCE_IP_PORT",
            Box::new(|g| g.pools[0].lb_algorithm = LbAlgorithm::SourceIpPort),
        ),
        (
            "SCTP",
            Box::new(|g| g.listeners[0].protocol = ListenerProtocol::Sctp),
        ),
        (
            "allowed_cidrs",
            Box::new(|g| g.listeners[0].allowed_cidrs = vec!["10.0.0.0/8".into()]),
        ),
        (
            "TLS-HELLO",
            Box::new(|g| {
                g.health_monitors.push(fixtures::health_monitor(
                    "hm",
                    "lb1",
                    "lb1-pool",
                    HealthMonitorType::TlsHello,
                ))
            }),
        ),
        (
            "SSL_DN_FIELD",
            Box::new(|g| {
                g.l7policies.push(fixtures::l7policy(
                    "p",
                    "lb1",
                    "lb1-http",
                    1,
                    L7PolicyAction::Reject,
                ));
                g.l7rules.push(fixtures::l7rule(
                    "r",
                    "lb1",
                    "p",
                    L7RuleType::SslDnField,
                    L7CompareType::EqualTo,
                    "x",
                ));
            }),
        ),
        (
            "monitor_port",
            Box::new(|g| g.members[0].monitor_port = Some(9000)),
        ),
        (
            "cookie persistence on TCP",
            Box::new(|g| {
                g.listeners[0].protocol = ListenerProtocol::Tcp;
                g.pools[0].session_persistence = Some(SessionPersistence {
                    kind: SessionPersistenceType::HttpCookie,
                    cookie_name: None,
                    persistence_timeout: None,
                    persistence_granularity: None,
                });
            }),
        ),
        (
            "TLS to members behind TCP",
            Box::new(|g| {
                g.listeners[0].protocol = ListenerProtocol::Tcp;
                g.pools[0].tls_enabled = true;
            }),
        ),
        (
            "only TLS 1.3 ciphers",
            Box::new(|g| {
                g.listeners[0].protocol = ListenerProtocol::TerminatedHttps;
                g.listeners[0].default_tls_container_ref = Some("tls".into());
                g.listeners[0].tls_ciphers = Some("TLS_AES_128_GCM_SHA256".into());
            }),
        ),
        (
            "ALPN of h2 alone",
            Box::new(|g| {
                g.listeners[0].protocol = ListenerProtocol::TerminatedHttps;
                g.listeners[0].default_tls_container_ref = Some("tls".into());
                g.listeners[0].alpn_protocols = Some(vec!["h2".into()]);
            }),
        ),
        (
            "X-Forwarded-Port",
            Box::new(|g| {
                g.listeners[0]
                    .insert_headers
                    .insert("X-Forwarded-Port".into(), "true".into());
            }),
        ),
    ];
    for (what, change) in cases {
        let mut graph = simple("lb1");
        change(&mut graph);
        let refused = driver.validate(&graph).unwrap_err();
        assert_eq!(refused.kind(), DriverErrorKind::Unsupported, "{what}");
        let refused = driver.apply(&graph).await.unwrap_err();
        assert_eq!(refused.kind(), DriverErrorKind::Unsupported, "{what}");
    }
    assert!(held_paths(&sim).is_empty(), "nothing refused reached NSX");
    assert_eq!(sim.control().calls().total, 0);

    let bad_flavor = driver
        .validate_flavor(&json!({"size": "HUGE"}))
        .unwrap_err();
    assert!(bad_flavor.message().contains("SMALL"), "{bad_flavor}");
    driver.validate_flavor(&json!({"size": "LARGE"})).unwrap();
    assert!(driver.validate_flavor(&json!({"edge": "x"})).is_err());
}

#[tokio::test]
async fn ten_listeners_are_one_hierarchical_call_and_removal_another() {
    let sim = simulator("ten_listeners_are_one_hierarchical_call", 100.0).await;
    let driver = driver(&sim);
    let mut graph = simple("lb1");
    for port in 1..10 {
        graph.listeners.push(fulcrum_core::model::Listener {
            default_pool_id: Some("lb1-pool".into()),
            ..fixtures::listener(
                &format!("lb1-l{port}"),
                "lb1",
                ListenerProtocol::Http,
                8000 + port,
            )
        });
    }
    driver.apply(&graph).await.unwrap();
    let calls = sim.control().calls();
    assert_eq!(calls.count("PATCH", HAPI), 1, "{calls:?}");
    let writes: u64 = calls
        .by_path
        .iter()
        .filter(|(k, _)| k.contains("/policy/") && !k.starts_with("GET "))
        .map(|(_, c)| c.count)
        .sum();
    assert_eq!(writes, 1, "no per-object write: {calls:?}");
    // Realized at the first poll: one search of the realized entities of the service and its
    // ten virtual servers, no read per path.
    assert_eq!(
        calls.count("GET", "/policy/api/v1/search/query"),
        1,
        "{calls:?}"
    );
    assert_eq!(
        calls.count(
            "GET",
            "/policy/api/v1/infra/realized-state/realized-entities"
        ),
        0,
        "{calls:?}"
    );
    let virtual_servers = held_paths(&sim)
        .into_iter()
        .filter(|p| p.starts_with("/infra/lb-virtual-servers/"))
        .count();
    assert_eq!(virtual_servers, 10);

    sim.control().reset_calls();
    driver.remove("lb1").await.unwrap();
    assert!(held_paths(&sim).is_empty());
    let calls = sim.control().calls();
    assert_eq!(calls.count("PATCH", HAPI), 1, "{calls:?}");
    assert!(calls.total <= 2, "one read and one write: {calls:?}");

    // Removing what is gone succeeds and writes nothing.
    sim.control().reset_calls();
    driver.remove("lb1").await.unwrap();
    assert_eq!(sim.control().calls().count("PATCH", HAPI), 0);
}

#[tokio::test]
async fn an_update_deletes_what_is_no_longer_desired() {
    let sim = simulator("an_update_deletes_what_is_no_longer_desired", 0.0).await;
    let driver = driver(&sim);
    let graph = everything("lb1");
    driver.apply(&graph).await.unwrap();
    let mut smaller = active(simple("lb1"));
    smaller.members.remove(1);
    driver.apply(&smaller).await.unwrap();
    let expected: BTreeSet<String> = [
        "/infra/lb-services/fulcrum-lb-lb1",
        "/infra/lb-virtual-servers/fulcrum-listener-lb1-http",
        "/infra/lb-app-profiles/fulcrum-listener-lb1-http",
        "/infra/lb-pools/fulcrum-pool-lb1-pool",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(held_paths(&sim), expected);
    let held = held(&sim);
    let pool = &held["/infra/lb-pools/fulcrum-pool-lb1-pool"];
    assert_eq!(pool["members"].as_array().unwrap().len(), 1);
    assert_eq!(pool["active_monitor_paths"], json!([]));
    let vs = held["/infra/lb-virtual-servers/fulcrum-listener-lb1-http"]
        .as_object()
        .unwrap();
    assert_eq!(vs["rules"], json!([]), "the L7 rules are gone");
    assert!(!vs.contains_key("max_concurrent_connections"));
    let profile = held["/infra/lb-app-profiles/fulcrum-listener-lb1-http"]
        .as_object()
        .unwrap();
    assert!(!profile.contains_key("x_forwarded_for"));
}

#[tokio::test]
async fn a_concurrent_change_gets_a_412_and_is_not_lost() {
    let sim = simulator("a_concurrent_change_gets_a_412_and_is_not_lost", 0.0).await;
    let driver = Arc::new(driver(&sim));
    driver.apply(&simple("lb1")).await.unwrap();

    // The next write is held on its way in; meanwhile an operator changes the pool.
    sim.control()
        .set_faults(FaultPlan {
            hold_rate: 1.0,
            hold_ms: 1000,
            methods: vec!["PATCH".into()],
            ..FaultPlan::default()
        })
        .unwrap();
    let mut update = active(simple("lb1"));
    update.pools[0].lb_algorithm = LbAlgorithm::LeastConnections;
    let applying = tokio::spawn({
        let driver = driver.clone();
        async move { driver.apply(&update).await }
    });
    while sim.control().faults().holds_injected == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    sim.control().clear_faults();
    let pool_path = "/infra/lb-pools/fulcrum-pool-lb1-pool";
    let operator = json!({"tcp_multiplexing_enabled": true, "description": "set by an operator"});
    assert!(
        sim.control()
            .patch_behind(pool_path, operator.as_object().unwrap())
    );
    applying.await.unwrap().unwrap();

    let calls = sim.control().calls();
    assert_eq!(
        calls.by_path[&format!("PATCH {HAPI}")].statuses.get(&412),
        Some(&1),
        "{calls:?}"
    );
    let pool = sim.control().object(pool_path).unwrap();
    assert_eq!(
        pool["algorithm"], "WEIGHTED_LEAST_CONNECTION",
        "Fulcrum's change"
    );
    assert_eq!(
        pool["tcp_multiplexing_enabled"], true,
        "the operator's change"
    );
    assert_eq!(pool["description"], "set by an operator");
}

#[tokio::test]
async fn faults_on_a_fifth_of_calls_still_converge_every_object() {
    let sim = simulator("faults_on_a_fifth_of_calls_still_converge", 0.0).await;
    let driver = Arc::new(driver(&sim));
    sim.control()
        .set_faults(FaultPlan {
            seed: 42,
            error_rate: 0.2,
            ..FaultPlan::default()
        })
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let driver = driver.clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("lb{i}");
            driver.apply(&simple(&id)).await?;
            if i % 2 == 0 {
                let mut changed = active(simple(&id));
                changed.members.pop();
                driver.apply(&changed).await?;
            }
            if i % 5 == 0 {
                driver.remove(&id).await?;
            }
            Ok::<_, fulcrum_core::driver::DriverError>(())
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let report = sim.control().faults();
    assert!(report.errors_injected >= 10, "{report:?}");
    sim.control().clear_faults();

    let held = held(&sim);
    for i in 0..20 {
        let service = format!("/infra/lb-services/fulcrum-lb-lb{i}");
        let pool = format!("/infra/lb-pools/fulcrum-pool-lb{i}-pool");
        if i % 5 == 0 {
            assert!(!held.contains_key(&service), "lb{i} was removed");
            continue;
        }
        assert!(held.contains_key(&service), "lb{i}");
        let members = held[&pool]["members"].as_array().unwrap().len();
        assert_eq!(members, if i % 2 == 0 { 1 } else { 2 }, "lb{i}");
    }
    assert_eq!(held.len(), 16 * 4);
}

/// Whether each load balancer the manager holds is in sync, by id.
async fn in_sync(driver: &NsxtDriver) -> BTreeMap<String, bool> {
    driver
        .realized_fingerprints()
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.load_balancer_id.clone(), r.in_sync()))
        .collect()
}

#[tokio::test]
async fn drift_is_found_by_fingerprints_and_repaired_and_orphans_are_listed() {
    let sim = simulator("drift_is_found_and_repaired", 0.0).await;
    let driver = driver(&sim);
    for lb in ["lb1", "lb2", "orphan"] {
        driver.apply(&simple(lb)).await.unwrap();
    }
    let all_in_sync: BTreeMap<String, bool> = ["lb1", "lb2", "orphan"]
        .into_iter()
        .map(|id| (id.to_string(), true))
        .collect();
    assert_eq!(in_sync(&driver).await, all_in_sync);

    // Behind Fulcrum's back: lb1's pool is deleted, lb2's virtual server changed, and an
    // object made by hand carries lb2's id but no `created-by: fulcrum`.
    let pool = "/infra/lb-pools/fulcrum-pool-lb1-pool";
    assert!(sim.control().delete_behind(pool));
    let vs = "/infra/lb-virtual-servers/fulcrum-listener-lb2-http";
    let changed = json!({"ports": ["8080"]});
    assert!(sim.control().patch_behind(vs, changed.as_object().unwrap()));
    let sim_client = reqwest::Client::new();
    let by_hand = json!({"resource_type": "Infra", "children": [{
        "resource_type": "ChildLBPool",
        "LBPool": {"id": "by-hand", "resource_type": "LBPool",
                   "tags": [{"scope": "os-lbaas-lb-id", "tag": "lb2"}]},
    }]});
    let answer = sim_client
        .patch(format!("{}{HAPI}", sim.base_url()))
        .basic_auth("admin", Some("admin"))
        .json(&by_hand)
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success());

    sim.control().reset_calls();
    let states = in_sync(&driver).await;
    assert!(!states["lb1"], "a deleted pool is drift");
    assert!(!states["lb2"], "a changed virtual server is drift");
    assert!(states["orphan"]);
    assert!(
        sim.control().calls().total <= 1,
        "one paged search reads everything"
    );

    driver.apply(&active(simple("lb1"))).await.unwrap();
    driver.apply(&active(simple("lb2"))).await.unwrap();
    assert!(sim.control().object(pool).is_some(), "recreated");
    assert_eq!(sim.control().object(vs).unwrap()["ports"], json!(["80"]));
    assert_eq!(in_sync(&driver).await, all_in_sync);
    assert!(sim.control().object("/infra/lb-pools/by-hand").is_some());

    // The orphan: the full sync finds it and removes it; what was made by hand stays.
    let realized = driver.realized_load_balancers().await.unwrap();
    assert_eq!(realized, ["lb1", "lb2", "orphan"]);
    driver.remove("orphan").await.unwrap();
    assert_eq!(
        driver.realized_load_balancers().await.unwrap(),
        ["lb1", "lb2"]
    );
    assert!(sim.control().object("/infra/lb-pools/by-hand").is_some());
}

/// With `share_lb_service`, the load balancers behind the Tier-1 share one service, which
/// records none of them (NSX keeps at most 30 tags on an object): each apply is one
/// hierarchical PATCH, the service takes the largest size asked for, the full sync sees it as
/// held by each load balancer with a virtual server on it, any number of load balancers share
/// it, and the last one to go removes it.
#[tokio::test]
async fn load_balancers_behind_one_tier1_share_a_service_until_the_last_goes() {
    const SHARED: &str = "/infra/lb-services/fulcrum-lbs-fulcrum-t1";
    let sim = simulator("load_balancers_share_a_service", 0.0).await;
    let mut sharing = section(&[sim.base_url()]);
    sharing["share_lb_service"] = json!(true);
    let driver = Arc::new(driver_for(sharing));
    // The load balancers whose virtual servers are attached to the shared service.
    let users = |sim: &Running| -> Vec<String> {
        let mut users: Vec<String> = sim
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
    let shared_tags = json!([{"scope": "created-by", "tag": "fulcrum"},
                             {"scope": "fulcrum-lbs-tier1", "tag": "fulcrum-t1"}]);

    driver.apply(&simple("lb1")).await.unwrap();
    let service = sim.control().object(SHARED).unwrap();
    assert_eq!(service["size"], "SMALL");
    assert_eq!(service["connectivity_path"], TIER1);
    assert_eq!(service["tags"], shared_tags);
    assert_eq!(users(&sim), ["lb1"]);
    assert!(
        sim.control()
            .object("/infra/lb-services/fulcrum-lb-lb1")
            .is_none()
    );

    sim.control().reset_calls();
    let mut large = simple("lb2");
    large.flavor_metadata.insert("size".into(), json!("LARGE"));
    driver.apply(&large).await.unwrap();
    let calls = sim.control().calls();
    assert_eq!(calls.count("PATCH", HAPI), 1, "{calls:?}");
    assert_eq!(sim.control().object(SHARED).unwrap()["size"], "LARGE");
    assert_eq!(users(&sim), ["lb1", "lb2"]);

    // Two load balancers joining at once: both join, the service kept as it is.
    let joining: Vec<_> = ["lb3", "lb4"]
        .into_iter()
        .map(|lb| {
            let driver = driver.clone();
            tokio::spawn(async move { driver.apply(&simple(lb)).await })
        })
        .collect();
    for task in joining {
        task.await.unwrap().unwrap();
    }
    assert_eq!(users(&sim), ["lb1", "lb2", "lb3", "lb4"]);
    assert_eq!(sim.control().object(SHARED).unwrap()["size"], "LARGE");

    // lb1 goes (as the full sync removes an orphan): the service stays for the others, found
    // in use by one search.
    sim.control().reset_calls();
    driver.remove("lb1").await.unwrap();
    let calls = sim.control().calls();
    assert_eq!(calls.count("PATCH", HAPI), 1, "{calls:?}");
    assert_eq!(users(&sim), ["lb2", "lb3", "lb4"]);
    assert_eq!(sim.control().object(SHARED).unwrap()["size"], "LARGE");
    assert!(
        held_paths(&sim).iter().all(|p| !p.contains("lb1")),
        "{:?}",
        held_paths(&sim)
    );

    // Far more load balancers than NSX could tag on one object share it.
    let many: Vec<String> = (5..=40).map(|i| format!("lb{i}")).collect();
    for chunk in many.chunks(8) {
        let applies: Vec<_> = chunk
            .iter()
            .map(|lb| {
                let (driver, lb) = (driver.clone(), lb.clone());
                tokio::spawn(async move { driver.apply(&simple(&lb)).await })
            })
            .collect();
        for task in applies {
            task.await.unwrap().unwrap();
        }
    }
    let mut sharing: Vec<String> = ["lb2", "lb3", "lb4"]
        .into_iter()
        .map(String::from)
        .chain(many.iter().cloned())
        .collect();
    sharing.sort();
    assert_eq!(users(&sim), sharing);
    assert_eq!(sim.control().object(SHARED).unwrap()["tags"], shared_tags);

    // A load balancer without listeners serves nothing and uses no service.
    let mut bare = fixtures::graph(fixtures::load_balancer("bare"));
    bare.load_balancer.provisioning_status = ProvisioningStatus::PendingCreate;
    driver.apply(&bare).await.unwrap();
    assert!(
        held_paths(&sim).iter().all(|p| !p.contains("bare")),
        "{:?}",
        held_paths(&sim)
    );
    sim.control().reset_calls();
    let observed = driver.observe(&active(bare)).await.unwrap();
    assert_eq!(observed.operating_status["bare"], OperatingStatus::Offline);
    assert_eq!(sim.control().calls().total, 0, "nothing to read");

    // The full sync: every load balancer holds the service, none drifted.
    let everyone: BTreeMap<String, bool> = sharing.iter().map(|id| (id.clone(), true)).collect();
    assert_eq!(in_sync(&driver).await, everyone);

    // A load balancer's last listener deleted: it leaves, the others keep the service.
    let mut no_listener = active(simple("lb2"));
    no_listener.listeners.clear();
    driver.apply(&no_listener).await.unwrap();
    assert!(!users(&sim).contains(&"lb2".to_string()));
    assert!(sim.control().object(SHARED).is_some());

    // Down to none: the last to go removes the service.
    for lb in sharing.iter().filter(|lb| *lb != "lb2") {
        driver.remove(lb).await.unwrap();
    }
    driver.remove("lb2").await.unwrap();
    assert!(held_paths(&sim).is_empty(), "{:?}", held_paths(&sim));
    assert!(driver.realized_load_balancers().await.unwrap().is_empty());

    // A shared service no virtual server uses (left by a crash) is an orphan under its own
    // id, which the full sync removes.
    driver.apply(&simple("lb1")).await.unwrap();
    assert!(
        sim.control()
            .delete_behind("/infra/lb-virtual-servers/fulcrum-listener-lb1-http")
    );
    assert_eq!(
        driver.realized_load_balancers().await.unwrap(),
        ["fulcrum-lbs-fulcrum-t1", "lb1"]
    );
    driver.remove("fulcrum-lbs-fulcrum-t1").await.unwrap();
    assert!(sim.control().object(SHARED).is_none());
}

/// The manager refuses an object with more than 30 tags, as NSX does (`maxItems` of the vendor
/// definitions).
#[tokio::test]
async fn the_manager_refuses_more_than_thirty_tags() {
    let sim = simulator("the_manager_refuses_more_than_thirty_tags", 0.0).await;
    if vendor_schema("the_manager_refuses_more_than_thirty_tags").is_none() {
        return;
    }
    let tags = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| json!({"scope": "os-lbaas-lb-id", "tag": format!("lb{i}")}))
            .collect()
    };
    let patch = |n: usize| {
        json!({"resource_type": "Infra", "children": [
            {"resource_type": "ChildLBPool",
             "LBPool": {"id": "tagged", "resource_type": "LBPool", "tags": tags(n)}}]})
    };
    let client = reqwest::Client::new();
    let send = |body: Value| {
        client
            .patch(format!("{}{HAPI}", sim.base_url()))
            .basic_auth("admin", Some("admin"))
            .json(&body)
            .send()
    };
    let refused = send(patch(31)).await.unwrap();
    assert_eq!(refused.status().as_u16(), 400);
    assert!(sim.control().object("/infra/lb-pools/tagged").is_none());
    let taken = send(patch(30)).await.unwrap();
    assert!(taken.status().is_success(), "{taken:?}");
}

#[tokio::test]
async fn a_realization_error_fails_the_apply_with_nsx_s_message() {
    let sim = simulator("a_realization_error_fails_the_apply", 0.0).await;
    let driver = driver(&sim);
    let message = "Edge cluster has no capacity for LB service of size SMALL.";
    sim.control()
        .set_realization_error("/infra/lb-services/fulcrum-lb-lb1", message);
    let failed = driver.apply(&simple("lb1")).await.unwrap_err();
    assert_eq!(failed.kind(), DriverErrorKind::Rejected);
    assert_eq!(failed.message(), message);

    // The observer raises it as an alert, once, and clears it when NSX realizes the service.
    let graph = active(simple("lb1"));
    let observed = driver.observe(&graph).await.unwrap();
    let raised: Vec<&Event> = observed
        .events
        .iter()
        .filter(|e| matches!(e, Event::AlertRaised { message: m, .. } if m == message))
        .collect();
    assert_eq!(raised.len(), 1, "{:?}", observed.events);
    assert_eq!(observed.operating_status["lb1"], OperatingStatus::Error);
    assert!(driver.observe(&graph).await.unwrap().events.is_empty());
    sim.control().clear_realization_errors(None);
    let cleared = driver.observe(&graph).await.unwrap().events;
    assert!(
        matches!(cleared.as_slice(), [Event::AlertCleared { .. }]),
        "{cleared:?}"
    );

    // A virtual server can fail on its own while its service is realized: the apply fails
    // with its message, and succeeds once NSX realizes it.
    let taken = "The virtual IP 10.0.0.10:80 is already in use on the edge.";
    let listener = simple("lb1").listeners[0].id.clone();
    sim.control().set_realization_error(
        &format!("/infra/lb-virtual-servers/fulcrum-listener-{listener}"),
        taken,
    );
    let failed = driver.apply(&graph).await.unwrap_err();
    assert_eq!(failed.kind(), DriverErrorKind::Rejected);
    assert_eq!(failed.message(), taken);
    sim.control().clear_realization_errors(None);
    driver.apply(&graph).await.unwrap();
}

/// Load balancers applied at once check their realization together: they poll on the same
/// ticks and share searches, and each still fails with its own realization error alone.
#[tokio::test]
async fn applies_at_once_share_their_realization_searches() {
    let sim = simulator("applies_at_once_share_their_realization_searches", 0.0).await;
    // A poll long enough for the twenty PATCHes to be answered within one tick or two.
    let mut polling = section(&[sim.base_url()]);
    polling["realization_poll_ms"] = json!(1000);
    let driver = Arc::new(driver_for(polling));
    let taken = "The virtual IP 10.0.0.10:80 is already in use on the edge.";
    sim.control()
        .set_realization_error("/infra/lb-virtual-servers/fulcrum-listener-lb7-http", taken);
    sim.control().reset_calls();
    let ids: Vec<String> = (0..20).map(|i| format!("lb{i}")).collect();
    let applies: Vec<_> = ids
        .iter()
        .map(|lb| {
            let (driver, lb) = (driver.clone(), lb.clone());
            tokio::spawn(async move { driver.apply(&simple(&lb)).await })
        })
        .collect();
    for (lb, task) in ids.iter().zip(applies) {
        let applied = task.await.unwrap();
        if lb == "lb7" {
            assert_eq!(applied.unwrap_err().message(), taken);
        } else {
            applied.unwrap();
        }
    }
    let calls = sim.control().calls();
    assert_eq!(calls.count("PATCH", HAPI), 20, "{calls:?}");
    let searches = calls.count("GET", "/policy/api/v1/search/query");
    assert!(
        searches < 10,
        "{searches} searches for 20 load balancers: {calls:?}"
    );
}

#[tokio::test]
async fn operating_status_and_stats_come_from_nsx_and_a_member_down_is_an_alert() {
    let sim = simulator("operating_status_and_stats", 0.0).await;
    let driver = driver(&sim);
    let mut graph = simple("lb1");
    graph.health_monitors.push(fixtures::health_monitor(
        "hm",
        "lb1",
        "lb1-pool",
        HealthMonitorType::Tcp,
    ));
    driver.apply(&graph).await.unwrap();
    let graph = active(graph);

    let observed = driver.observe(&graph).await.unwrap();
    for id in ["lb1", "lb1-http", "lb1-pool", "lb1-m0", "lb1-m1", "hm"] {
        assert_eq!(
            observed.operating_status[id],
            OperatingStatus::Online,
            "{id}"
        );
    }
    let stats = observed.listener_stats["lb1-http"];
    assert!(
        stats.total_connections > 0 && stats.bytes_out > 0,
        "{stats:?}"
    );
    assert!(observed.events.is_empty());

    sim.control().set_member_status(
        "/infra/lb-pools/fulcrum-pool-lb1-pool",
        "10.1.0.2",
        "8080",
        "DOWN",
    );
    let observed = driver.observe(&graph).await.unwrap();
    assert_eq!(observed.operating_status["lb1-m1"], OperatingStatus::Error);
    assert_eq!(
        observed.operating_status["lb1-pool"],
        OperatingStatus::Degraded
    );
    assert_eq!(
        observed.operating_status["lb1-http"],
        OperatingStatus::Degraded
    );
    assert!(
        matches!(observed.events.as_slice(), [Event::AlertRaised { key, .. }] if key.contains("lb1-m1")),
        "{:?}",
        observed.events
    );
    sim.control().clear_member_statuses();
    let observed = driver.observe(&graph).await.unwrap();
    assert!(matches!(
        observed.events.as_slice(),
        [Event::AlertCleared { .. }]
    ));
}

#[tokio::test]
async fn an_expired_session_is_made_again_and_a_manager_down_is_skipped() {
    let sim = simulator("an_expired_session_is_made_again", 0.0).await;
    // A manager that refuses connections comes first in the cluster.
    let down = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let driver = driver_for(section(&[&down, sim.base_url()]));
    driver.apply(&simple("lb1")).await.unwrap();
    let calls = sim.control().calls();
    assert_eq!(calls.count("POST", "/api/session/create"), 1);

    sim.control().expire_sessions();
    driver.apply(&active(simple("lb2"))).await.unwrap();
    let calls = sim.control().calls();
    assert_eq!(calls.count("POST", "/api/session/create"), 2, "{calls:?}");
    assert!(
        sim.control()
            .object("/infra/lb-services/fulcrum-lb-lb2")
            .is_some()
    );
}

/// A 403 that is not an expired session (here a user with the auditor role writing) is a
/// permission error: no session made again, no retry, nothing changed.
#[tokio::test]
async fn a_refused_operation_is_a_permission_error_without_a_new_session_or_a_retry() {
    let sim = nsxt::start(Config {
        rate_per_second: 0.0,
        realization_delay: Duration::from_millis(20),
        auditor: Some(nsxt::Credentials {
            username: "auditor".into(),
            password: "look".into(),
        }),
        ..Config::default()
    })
    .await
    .unwrap();
    let mut auditor = section(&[sim.base_url()]);
    auditor["username"] = json!("auditor");
    auditor["password"] = json!("look");
    let driver = driver_for(auditor);
    let before = held(&sim);
    let refused = driver.apply(&simple("lb1")).await.unwrap_err();
    assert_eq!(refused.kind(), DriverErrorKind::Authentication, "{refused}");
    assert!(!refused.is_transient());
    assert!(
        refused
            .message()
            .starts_with("NSX does not permit Fulcrum's identity this operation (error_code "),
        "{refused}"
    );
    assert!(
        refused.message().contains("does not have permission"),
        "{refused}"
    );
    let calls = sim.control().calls();
    assert_eq!(calls.count("POST", "/api/session/create"), 1, "{calls:?}");
    assert_eq!(calls.count("PATCH", HAPI), 1, "{calls:?}");
    assert_eq!(held(&sim), before);
}

#[tokio::test]
async fn a_burst_of_creates_at_the_manager_s_rate_is_never_refused_twice_in_a_row() {
    let sim = simulator("a_burst_of_creates", 100.0).await;
    let driver = Arc::new(driver(&sim));
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let driver = driver.clone();
            tokio::spawn(async move { driver.apply(&simple(&format!("lb{i}"))).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let calls = sim.control().calls();
    let statuses: Vec<u16> = calls.recent.iter().map(|c| c.status).collect();
    let twice = statuses.windows(2).filter(|w| w == &[429, 429]).count();
    assert_eq!(
        twice,
        0,
        "{} calls refused with 429",
        calls.with_status(429)
    );
    assert_eq!(calls.count("PATCH", HAPI), 200);
    let services = held_paths(&sim)
        .into_iter()
        .filter(|p| p.starts_with("/infra/lb-services/"))
        .count();
    assert_eq!(services, 200);
}

#[tokio::test]
async fn basic_authentication_works_without_a_session_and_wrong_credentials_change_nothing() {
    let sim = simulator("basic_authentication", 0.0).await;
    let mut basic = section(&[sim.base_url()]);
    basic["auth"] = json!("basic");
    driver_for(basic).apply(&simple("lb1")).await.unwrap();
    let calls = sim.control().calls();
    assert_eq!(calls.count("POST", "/api/session/create"), 0, "{calls:?}");
    assert!(
        sim.control()
            .object("/infra/lb-services/fulcrum-lb-lb1")
            .is_some()
    );

    for auth in ["basic", "session"] {
        let mut wrong = section(&[sim.base_url()]);
        wrong["auth"] = json!(auth);
        wrong["password"] = json!("wrong");
        let before = held(&sim);
        let refused = driver_for(wrong).apply(&simple("lb2")).await.unwrap_err();
        assert_eq!(
            refused.kind(),
            DriverErrorKind::Authentication,
            "{auth}: {refused}"
        );
        assert!(refused.message().contains("credentials"), "{refused}");
        assert_eq!(held(&sim), before, "{auth}");
    }
}

/// `render` shows the hierarchical body that creates the load balancer, TLS material left out,
/// and the manager accepts it as it is (schema and references checked).
#[tokio::test]
async fn render_shows_the_body_that_creates_the_load_balancer() {
    let sim = simulator("render", 0.0).await;
    let driver = driver(&sim);
    let graph = everything("shown");
    let text = driver
        .render(&graph)
        .expect("the nsxt driver renders")
        .expect("the tree maps");
    assert!(text.contains("not shown"), "{text}");
    assert!(!text.contains("MIIEtls"), "no private key is printed");
    let body: Value = serde_json::from_str(&text).expect("JSON");
    let answer = reqwest::Client::new()
        .patch(format!("{}/policy/api/v1/infra", sim.base_url()))
        .basic_auth("admin", Some("admin"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    assert_eq!(status, 200, "{}", answer.text().await.unwrap());
    assert!(
        held_paths(&sim).iter().any(|p| p.contains("shown")),
        "{:?}",
        held_paths(&sim)
    );
}

/// A private CA, and certificates it signs, for the manager over HTTPS and for principal
/// identities.
mod pki {
    use openssl::asn1::Asn1Time;
    use openssl::bn::BigNum;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::{PKey, Private};
    use openssl::x509::extension::{BasicConstraints, SubjectAlternativeName};
    use openssl::x509::{X509, X509NameBuilder};

    /// A certificate and its key.
    pub struct Issued {
        pub certificate: X509,
        pub key: PKey<Private>,
    }

    impl Issued {
        pub fn certificate_pem(&self) -> Vec<u8> {
            self.certificate.to_pem().unwrap()
        }

        pub fn key_pem(&self) -> Vec<u8> {
            self.key.private_key_to_pem_pkcs8().unwrap()
        }
    }

    /// A certificate for `cn` signed by `issuer` (a CA, self-signed, without one); a server
    /// certificate names 127.0.0.1.
    pub fn issue(cn: &str, issuer: Option<&Issued>, server: bool) -> Issued {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", cn).unwrap();
        let name = name.build();
        let mut builder = X509::builder().unwrap();
        builder.set_version(2).unwrap();
        let serial = BigNum::from_u32(fastrand::u32(1..i32::MAX as u32)).unwrap();
        builder
            .set_serial_number(&serial.to_asn1_integer().unwrap())
            .unwrap();
        builder.set_subject_name(&name).unwrap();
        let issuer_name = issuer.map_or(&*name, |i| i.certificate.subject_name());
        builder.set_issuer_name(issuer_name).unwrap();
        builder.set_pubkey(&key).unwrap();
        builder
            .set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        builder
            .set_not_after(&Asn1Time::days_from_now(2).unwrap())
            .unwrap();
        if issuer.is_none() {
            let ca = BasicConstraints::new().critical().ca().build().unwrap();
            builder.append_extension(ca).unwrap();
        }
        if server {
            let context = builder.x509v3_context(issuer.map(|i| i.certificate.as_ref()), None);
            let san = SubjectAlternativeName::new()
                .ip("127.0.0.1")
                .build(&context)
                .unwrap();
            builder.append_extension(san).unwrap();
        }
        builder
            .sign(issuer.map_or(&key, |i| &i.key), MessageDigest::sha256())
            .unwrap();
        Issued {
            certificate: builder.build(),
            key,
        }
    }
}

/// Objects a principal identity creates are protected: another identity's writes are refused
/// with NSX's 403 (a permission error, nothing changed) unless the driver is configured to send
/// `X-Allow-Overwrite: true`; the owner writes without it.
#[tokio::test]
async fn objects_of_a_principal_identity_need_allow_overwrite_from_anybody_else() {
    let ca = pki::issue("Fulcrum test CA", None, false);
    let server = pki::issue("nsx.test", Some(&ca), true);
    let sim = nsxt::start(Config {
        rate_per_second: 0.0,
        realization_delay: Duration::from_millis(20),
        schema: vendor_schema("principal_identity"),
        tls: Some(nsxt::Tls {
            certificate: server.certificate_pem(),
            key: server.key_pem(),
            client_ca: ca.certificate_pem(),
        }),
        ..Config::default()
    })
    .await
    .unwrap();
    assert!(sim.base_url().starts_with("https://"));
    let files = tempfile::tempdir().unwrap();
    let ca_file = files.path().join("ca.pem");
    std::fs::write(&ca_file, ca.certificate_pem()).unwrap();
    let identity = |cn: &str, allow_overwrite: bool| {
        let issued = pki::issue(cn, Some(&ca), false);
        let certificate = files.path().join(format!("{cn}.pem"));
        let key = files.path().join(format!("{cn}.key"));
        std::fs::write(&certificate, issued.certificate_pem()).unwrap();
        std::fs::write(&key, issued.key_pem()).unwrap();
        let mut section = section(&[sim.base_url()]);
        section["auth"] = json!("certificate");
        section["client_certificate"] = json!(certificate);
        section["client_key"] = json!(key);
        section["ca_bundle"] = json!(ca_file);
        section["allow_overwrite"] = json!(allow_overwrite);
        driver_for(section)
    };
    const POOL: &str = "/infra/lb-pools/fulcrum-pool-lb1-pool";
    let members = |sim: &Running| sim.control().object(POOL).unwrap()["members"].clone();

    let owner = identity("fulcrum-pi", false);
    owner.apply(&simple("lb1")).await.unwrap();
    let pool = sim.control().object(POOL).unwrap();
    assert_eq!(pool["_create_user"], "fulcrum-pi");
    assert_eq!(pool["_protection"], "PROTECTED");

    let mut one_member = active(simple("lb1"));
    one_member.members.truncate(1);
    let before = held(&sim);
    sim.control().reset_calls();
    let refused = identity("other-pi", false)
        .apply(&one_member)
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), DriverErrorKind::Authentication, "{refused}");
    assert!(
        refused
            .message()
            .starts_with("NSX does not permit Fulcrum's identity this operation"),
        "{refused}"
    );
    assert!(refused.message().contains("fulcrum-pi"), "{refused}");
    assert!(refused.message().contains("X-Allow-Overwrite"), "{refused}");
    assert_eq!(held(&sim), before, "nothing changed");
    assert_eq!(sim.control().calls().count("PATCH", HAPI), 1, "no retry");

    identity("other-pi", true).apply(&one_member).await.unwrap();
    assert_eq!(members(&sim).as_array().unwrap().len(), 1);
    let pool = sim.control().object(POOL).unwrap();
    assert_eq!(pool["_create_user"], "fulcrum-pi", "the owner stays");
    assert_eq!(pool["_last_modified_user"], "other-pi");

    // The owner needs no header; the administrator (basic, over HTTPS) does.
    owner.apply(&active(simple("lb1"))).await.unwrap();
    assert_eq!(members(&sim).as_array().unwrap().len(), 2);
    let admin = |allow_overwrite: bool| {
        let mut section = section(&[sim.base_url()]);
        section["auth"] = json!("basic");
        section["ca_bundle"] = json!(ca_file);
        section["allow_overwrite"] = json!(allow_overwrite);
        driver_for(section)
    };
    let refused = admin(false).remove("lb1").await.unwrap_err();
    assert_eq!(refused.kind(), DriverErrorKind::Authentication, "{refused}");
    assert!(sim.control().object(POOL).is_some());
    admin(true).remove("lb1").await.unwrap();
    assert!(held_paths(&sim).is_empty(), "{:?}", held_paths(&sim));
}
