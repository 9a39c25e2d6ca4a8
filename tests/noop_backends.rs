//! The network and certificate back-ends chosen in configuration: `[network] driver = "noop"`
//! answers VIP requests as Octavia with its noop network driver does, `[certificates] backend =
//! "noop"` accepts any reference as Octavia's noop certificate manager does, and the built-in
//! back-ends still refuse what they do not know.

mod common;

use std::time::{Duration, Instant};

use common::{DEFAULT_SUBNET, Db, Options, TestServer, assert_fault};
use serde_json::{Value, json};

const NOOP_NETWORK: &str = "[network]\ndriver = \"noop\"\n";
const NOOP_CERTIFICATES: &str = "[certificates]\nbackend = \"noop\"\n";

async fn start(db: Db, extra_toml: &str, default_provider: &'static str) -> TestServer {
    TestServer::start_with(
        db,
        Options {
            extra_toml: extra_toml.into(),
            default_provider,
            ..Default::default()
        },
    )
    .await
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn text(v: &Value, field: &str) -> String {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {v}"))
        .to_string()
}

fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok()
}

/// Create a load balancer from `vip` (the VIP fields of the request), check that it reaches
/// ACTIVE, and return it as the create answered.
async fn active(s: &TestServer, vip: Value) -> Value {
    let lb = s
        .create("/v2/lbaas/loadbalancers", "loadbalancer", vip)
        .await;
    s.settle(&text(&lb, "id")).await;
    lb
}

fn in_noop_range(address: &str) -> bool {
    let a: std::net::Ipv4Addr = address.parse().expect("an IPv4 address");
    let [x, y, z, host] = a.octets();
    (x, y, z) == (198, 51, 100) && (1..=254).contains(&host)
}

async fn noop_network_takes_any_ids(db: Db) {
    let s = start(db, NOOP_NETWORK, "noop").await;

    // A subnet alone: its network is made up, the port too, the address comes from the range.
    let subnet = new_id();
    let lb = active(&s, json!({"vip_subnet_id": subnet})).await;
    assert_eq!(text(&lb, "vip_subnet_id"), subnet);
    let network = text(&lb, "vip_network_id");
    assert!(is_uuid(&network) && network != subnet, "{lb}");
    assert!(is_uuid(&text(&lb, "vip_port_id")), "{lb}");
    assert!(in_noop_range(&text(&lb, "vip_address")), "{lb}");
    assert_eq!(lb["provider"], "noop");

    // A network alone: its subnet is one of its own, the same for every load balancer on it.
    let network = new_id();
    let first = active(&s, json!({"vip_network_id": network})).await;
    let second = active(&s, json!({"vip_network_id": network})).await;
    for lb in [&first, &second] {
        assert_eq!(text(lb, "vip_network_id"), network);
        assert!(in_noop_range(&text(lb, "vip_address")), "{lb}");
    }
    let own_subnet = text(&first, "vip_subnet_id");
    assert!(is_uuid(&own_subnet) && own_subnet != network, "{first}");
    assert_eq!(text(&second, "vip_subnet_id"), own_subnet);
    assert_ne!(first["vip_port_id"], second["vip_port_id"]);

    // What octavia-tempest-plugin sends in noop mode: network, subnet and one constant address,
    // for many load balancers at once.
    let (network, subnet) = (new_id(), new_id());
    for address in ["198.18.33.33", "198.18.33.33", "2001:db8:33:33:33:33:33:33"] {
        let lb = active(
            &s,
            json!({"vip_network_id": network, "vip_subnet_id": subnet, "vip_address": address}),
        )
        .await;
        assert_eq!(text(&lb, "vip_network_id"), network);
        assert_eq!(text(&lb, "vip_subnet_id"), subnet);
        assert_eq!(text(&lb, "vip_address"), address);
    }
    let sharing = s
        .get(&format!(
            "/v2/lbaas/loadbalancers?vip_address=198.18.33.33&vip_subnet_id={subnet}"
        ))
        .await;
    assert_eq!(sharing["loadbalancers"].as_array().unwrap().len(), 2);

    // A port, with the subnet and address Octavia needs beside it: the port's network is made up.
    let (port, subnet) = (new_id(), new_id());
    let lb = active(
        &s,
        json!({"vip_port_id": port, "vip_subnet_id": subnet, "vip_address": "203.0.113.7",
               "vip_network_id": "ignored-for-a-port"}),
    )
    .await;
    assert_eq!(text(&lb, "vip_port_id"), port);
    assert_eq!(text(&lb, "vip_subnet_id"), subnet);
    assert_eq!(text(&lb, "vip_address"), "203.0.113.7");
    let network = text(&lb, "vip_network_id");
    assert!(is_uuid(&network), "{lb}");

    // The read-only Neutron view lists no networks or subnets, and the VIP ports of load balancers.
    assert_eq!(s.get("/v2.0/networks").await, json!({"networks": []}));
    assert_eq!(s.get("/v2.0/subnets").await, json!({"subnets": []}));
    let ports = s.get(&format!("/v2.0/ports?id={port}")).await;
    assert_eq!(ports["ports"][0]["network_id"], json!(network));
    assert_eq!(
        ports["ports"][0]["fixed_ips"],
        json!([{"subnet_id": subnet, "ip_address": "203.0.113.7"}])
    );

    // Members may name any subnet, in a graph create and on their own.
    let member_subnet = new_id();
    let lb = active(
        &s,
        json!({"vip_subnet_id": new_id(), "pools": [{"name": "p", "protocol": "HTTP",
            "lb_algorithm": "ROUND_ROBIN", "members": [{"address": "192.0.2.10",
            "protocol_port": 80, "subnet_id": member_subnet}]}]}),
    )
    .await;
    let pool = text(&lb["pools"][0], "id");
    let member = s
        .create(
            &format!("/v2/lbaas/pools/{pool}/members"),
            "member",
            json!({"address": "192.0.2.11", "protocol_port": 80, "subnet_id": new_id()}),
        )
        .await;
    assert!(is_uuid(&text(&member, "subnet_id")));
    s.settle(&text(&lb, "id")).await;
}

/// Octavia's noop ports have no fixed IPs, so a port needs a subnet and an address beside it.
async fn noop_ports_need_a_subnet_and_an_address(db: Db) {
    let s = start(db, NOOP_NETWORK, "noop").await;
    let (port, subnet) = (new_id(), new_id());
    let cases = [
        (
            json!({"vip_port_id": port}),
            "Validation failure: VIP port's subnet could not be determined. Please specify \
             either a VIP subnet or address.",
        ),
        (
            json!({"vip_port_id": port, "vip_subnet_id": subnet}),
            "Validation failure: No VIP address found on the specified VIP port within the \
             specified subnet.",
        ),
        (
            json!({"vip_port_id": port, "vip_address": "198.18.33.33"}),
            "Validation failure: Specified VIP address not found on the specified VIP port.",
        ),
        (
            json!({"name": "no-vip"}),
            "VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id.",
        ),
    ];
    for (body, fault) in cases {
        let got = s
            .call(
                "POST",
                "/v2/lbaas/loadbalancers",
                Some(json!({ "loadbalancer": body })),
            )
            .await;
        assert_fault(&got, 400, fault);
    }
    assert_eq!(
        s.get("/v2/lbaas/loadbalancers").await["loadbalancers"],
        json!([])
    );
}

/// Addresses not requested come from `[network.noop]`'s range.
async fn noop_addresses_come_from_the_configured_range(db: Db) {
    let toml = format!(
        "{NOOP_NETWORK}[network.noop]\ncidr = \"203.0.113.0/24\"\n\
         allocation_start = \"203.0.113.20\"\nallocation_end = \"203.0.113.21\"\n"
    );
    let s = start(db, &toml, "noop").await;
    let subnet = new_id();
    let mut seen = Vec::new();
    for _ in 0..3 {
        let lb = active(&s, json!({"vip_subnet_id": subnet})).await;
        seen.push(text(&lb, "vip_address"));
    }
    seen.sort();
    // Two free addresses on the subnet, then one of them again: shared, never refused.
    assert!(seen.contains(&"203.0.113.20".to_string()), "{seen:?}");
    assert!(seen.contains(&"203.0.113.21".to_string()), "{seen:?}");
    assert!(
        seen.iter()
            .all(|a| a == "203.0.113.20" || a == "203.0.113.21"),
        "{seen:?}"
    );
}

/// The built-in back-end knows only its declared networks and subnets.
async fn builtin_refuses_unknown_ids(db: Db) {
    let s = TestServer::start(db).await;
    let subnet = new_id();
    let cases = [
        (
            json!({"vip_subnet_id": subnet}),
            format!("Subnet {subnet} not found."),
        ),
        (
            json!({"vip_network_id": subnet}),
            format!("Network {subnet} not found."),
        ),
        (
            json!({"vip_network_id": common::DEFAULT_NETWORK, "vip_subnet_id": subnet}),
            format!("Subnet {subnet} not found."),
        ),
        (
            json!({"vip_port_id": subnet, "vip_subnet_id": DEFAULT_SUBNET}),
            format!("Port {subnet} not found."),
        ),
    ];
    for (body, fault) in cases {
        let got = s
            .call(
                "POST",
                "/v2/lbaas/loadbalancers",
                Some(json!({ "loadbalancer": body })),
            )
            .await;
        assert_fault(&got, 400, &fault);
    }
    let lb = s.active_lb("keep").await;
    let pool = s
        .create(
            "/v2/lbaas/pools",
            "pool",
            json!({"loadbalancer_id": lb["id"], "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}),
        )
        .await;
    s.settle(&text(&lb, "id")).await;
    let got = s
        .call(
            "POST",
            &format!("/v2/lbaas/pools/{}/members", text(&pool, "id")),
            Some(
                json!({"member": {"address": "127.0.0.1", "protocol_port": 80, "subnet_id": subnet}}),
            ),
        )
        .await;
    assert_fault(&got, 400, &format!("Subnet {subnet} not found."));
    // One address serves one load balancer on a built-in subnet.
    let got = s
        .call(
            "POST",
            "/v2/lbaas/loadbalancers",
            Some(json!({"loadbalancer": {"vip_subnet_id": DEFAULT_SUBNET,
                "vip_address": lb["vip_address"]}})),
        )
        .await;
    assert_fault(&got, 409, "The VIP IP address is already in use");
}

fn tls_listener(lb_id: &str, reference: &str) -> Value {
    json!({"listener": {"loadbalancer_id": lb_id, "protocol": "TERMINATED_HTTPS",
        "protocol_port": 443, "default_tls_container_ref": reference,
        "sni_container_refs": [format!("{reference}-sni")]}})
}

async fn noop_certificates_accept_any_reference(db: Db) {
    let s = start(db, NOOP_CERTIFICATES, "noop").await;
    let lb = s.active_lb("tls").await;
    let lb_id = text(&lb, "id");
    let reference = format!("https://barbican.example/v1/containers/{}", new_id());
    let (status, body) = s
        .call(
            "POST",
            "/v2/lbaas/listeners",
            Some(tls_listener(&lb_id, &reference)),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["listener"]["default_tls_container_ref"],
        json!(reference)
    );
    s.settle(&lb_id).await;
    let pool = s
        .create(
            "/v2/lbaas/pools",
            "pool",
            json!({"listener_id": body["listener"]["id"], "protocol": "HTTP",
                "lb_algorithm": "ROUND_ROBIN", "tls_enabled": true,
                "tls_container_ref": new_id(), "ca_tls_container_ref": new_id()}),
        )
        .await;
    assert_eq!(pool["tls_enabled"], true);
    s.settle(&lb_id).await;
}

async fn directory_certificates_refuse_unknown_references(db: Db) {
    let s = start(db, "", "noop").await;
    let lb = s.active_lb("tls").await;
    let got = s
        .call(
            "POST",
            "/v2/lbaas/listeners",
            Some(tls_listener(&text(&lb, "id"), "not-in-the-directory")),
        )
        .await;
    assert_fault(&got, 400, "Could not retrieve certificate");
    assert_eq!(s.get("/v2/lbaas/listeners").await["listeners"], json!([]));
}

on_both_databases!(
    noop_network_takes_any_ids,
    noop_ports_need_a_subnet_and_an_address,
    noop_addresses_come_from_the_configured_range,
    builtin_refuses_unknown_ids,
    noop_certificates_accept_any_reference,
    directory_certificates_refuse_unknown_references,
);

/// HAProxy needs the material a noop store does not hold: the API accepts the listener, and the
/// apply fails with a message that says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn haproxy_with_noop_certificates_fails_when_it_applies() {
    let s = start(Db::Sqlite, NOOP_CERTIFICATES, "haproxy").await;
    let lb = s.active_lb("tls").await;
    let lb_id = text(&lb, "id");
    let (status, body) = s
        .call(
            "POST",
            "/v2/lbaas/listeners",
            Some(tls_listener(&lb_id, "web")),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let listener = text(&body["listener"], "id");
    s.wait_for(
        &format!("/v2/lbaas/listeners/{listener}"),
        "listener",
        "ERROR",
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let expected = "No TLS material for certificate references ['web', 'web-sni']";
    while !s.log().contains(expected) {
        assert!(
            Instant::now() < deadline,
            "no clear reason in the log:\n{}",
            s.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `fulcrum check-config` refuses unknown back-ends, ranges outside their CIDR and a Neutron it
/// cannot reach.
#[test]
fn check_config_refuses_bad_back_ends() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[network]\ndriver = \"nova\"\n",
            "unknown network driver \"nova\" (known: builtin, noop, neutron)",
        ),
        (
            "[network]\ndriver = \"neutron\"\n",
            "network.neutron.endpoint is needed without Keystone (auth.strategy = \"noauth\")",
        ),
        (
            "[network]\ndriver = \"neutron\"\n[network.neutron]\nendpoint = \"neutron:9696\"\n",
            "network.neutron.endpoint \"neutron:9696\" is not an http(s) URL",
        ),
        (
            "[network]\ndriver = \"noop\"\n[network.noop]\ncidr = \"198.51.100.0/24\"\n\
             allocation_end = \"198.51.101.9\"\n",
            "network.noop: allocation range 198.51.100.1-198.51.101.9 is not inside \
             198.51.100.0/24",
        ),
        (
            "[network.noop]\ncidr = \"not-a-cidr\"\n",
            "network.noop.cidr",
        ),
        (
            "[certificates]\nbackend = \"barbican\"\n",
            "unknown certificate backend \"barbican\" (known: directory, noop)",
        ),
    ];
    for (i, (toml, message)) in cases.into_iter().enumerate() {
        let config = dir.path().join(format!("{i}.toml"));
        std::fs::write(
            &config,
            format!(
                "[database]\nurl = \"sqlite://{}\"\n{toml}",
                dir.path().join("f.db").display()
            ),
        )
        .unwrap();
        let out = common::check_config(&config);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{toml} passed");
        assert!(stderr.contains(message), "{toml}: {stderr}");
    }
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        format!(
            "[database]\nurl = \"sqlite://{}\"\n{NOOP_NETWORK}{NOOP_CERTIFICATES}",
            dir.path().join("f.db").display()
        ),
    )
    .unwrap();
    let out = common::check_config(&good);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
