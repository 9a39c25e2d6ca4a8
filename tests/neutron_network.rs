//! The `neutron` network back-end over real HTTP: a real Fulcrum server in front of a Neutron
//! stand-in (`common/neutron.rs`, the networking API reference's networks, subnets and ports).
//! VIPs are Neutron ports made as Octavia makes them, refused as Octavia refuses them, released
//! with their load balancer, and removed by the full sync when a crash leaked them.

mod common;
#[path = "common/neutron.rs"]
mod neutron;

use std::time::{Duration, Instant};

use common::keystone::{FulcrumAuth, Keystone};
use common::{Db, Options, TestServer, assert_fault};
use neutron::FakeNeutron;
use reqwest::StatusCode;
use serde_json::{Value, json};

const LBS: &str = "/v2/lbaas/loadbalancers";
/// How Fulcrum describes the VIP ports it creates.
const MARK: &str = "VIP port of a Fulcrum load balancer";

async fn start(db: Db, neutron: &FakeNeutron, sync_interval_seconds: u64) -> TestServer {
    TestServer::start_with(
        db,
        Options {
            sync_interval_seconds,
            extra_toml: format!(
                "[network]\ndriver = \"neutron\"\n[network.neutron]\nendpoint = \"{}\"\n\
                 timeout_seconds = 2\nleaked_port_grace_seconds = 300\n",
                neutron.url
            ),
            ..Options::default()
        },
    )
    .await
}

/// A network and subnet (10.0.0.0/24, pool .10-.20) of `project`.
fn seed(neutron: &FakeNeutron, project: &str, shared: bool) -> (String, String) {
    let net = neutron.add_network(project, shared);
    let subnet = neutron.add_subnet(&net, project, "10.0.0.0/24", ("10.0.0.10", "10.0.0.20"));
    (net, subnet)
}

async fn create_as(server: &TestServer, project: Option<&str>, body: Value) -> (StatusCode, Value) {
    server
        .call_as("POST", LBS, Some(json!({ "loadbalancer": body })), project)
        .await
}

async fn stored_lbs(server: &TestServer) -> usize {
    let (s, v) = server.call("GET", LBS, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["loadbalancers"].as_array().unwrap().len()
}

async fn eventually(what: &str, server: &TestServer, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen\nlog:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

on_both_databases!(
    vip_ports_are_made_as_octavia_makes_them,
    addresses_in_use_are_refused_and_nothing_is_stored,
    leaked_ports_are_removed_by_the_full_sync,
    qos_policies_follow_the_load_balancer_to_its_port,
    additional_vips_are_further_addresses_of_the_vip_port,
);

async fn vip_ports_are_made_as_octavia_makes_them(db: Db) {
    let neutron = FakeNeutron::start().await;
    let (net, subnet) = seed(&neutron, "p1", false);
    neutron.add_qos_policy("qos-1");
    let server = start(db, &neutron, 60).await;

    let (s, v) = create_as(
        &server,
        Some("p1"),
        json!({"vip_subnet_id": subnet, "vip_qos_policy_id": "qos-1"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let lb = &v["loadbalancer"];
    let lb_id = lb["id"].as_str().unwrap();
    let port = neutron
        .port(lb["vip_port_id"].as_str().unwrap())
        .expect("the VIP port");
    assert_eq!(port["name"], format!("octavia-lb-{lb_id}"));
    assert_eq!(port["device_id"], format!("lb-{lb_id}"));
    assert_eq!(port["device_owner"], "Octavia");
    assert_eq!(port["project_id"], "p1");
    assert_eq!(port["admin_state_up"], false);
    assert_eq!(port["qos_policy_id"], "qos-1");
    assert_eq!(port["network_id"], net);
    assert_eq!(port["fixed_ips"][0]["subnet_id"], subnet);
    // Neutron allocated the address: the pool's first.
    assert_eq!(lb["vip_address"], "10.0.0.10");
    assert_eq!(lb["vip_network_id"], net);
    assert_eq!(lb["vip_subnet_id"], subnet);

    // A fixed address is honoured.
    let (s, v) = create_as(
        &server,
        Some("p1"),
        json!({"vip_subnet_id": subnet, "vip_address": "10.0.0.15"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["loadbalancer"]["vip_address"], "10.0.0.15");
    let fixed_port = neutron
        .port(v["loadbalancer"]["vip_port_id"].as_str().unwrap())
        .unwrap();
    assert_eq!(fixed_port["fixed_ips"][0]["ip_address"], "10.0.0.15");

    // By network: the port is made on the network's subnet.
    let (s, v) = create_as(&server, Some("p1"), json!({"vip_network_id": net})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["loadbalancer"]["vip_subnet_id"], subnet);
    assert_eq!(v["loadbalancer"]["vip_address"], "10.0.0.11");

    // By port: the user's port is used as it is, and never deleted.
    let user_port = neutron.add_port(json!({
        "network_id": net, "project_id": "p1",
        "fixed_ips": [{"subnet_id": subnet, "ip_address": "10.0.0.30"}],
    }));
    let ports_before = neutron.ports().len();
    let (s, v) = create_as(&server, Some("p1"), json!({"vip_port_id": user_port})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let by_port = v["loadbalancer"].clone();
    assert_eq!(by_port["vip_port_id"], user_port.as_str());
    assert_eq!(by_port["vip_address"], "10.0.0.30");
    assert_eq!(by_port["vip_network_id"], net);
    assert_eq!(neutron.ports().len(), ports_before, "no port was created");

    // Deleting a load balancer releases the port Fulcrum made, and only that one.
    for id in [lb_id, by_port["id"].as_str().unwrap()] {
        let path = format!("{LBS}/{id}");
        server.wait_for(&path, "loadbalancer", "ACTIVE").await;
        let (s, v) = server.call("DELETE", &path, None).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
        server.wait_for(&path, "loadbalancer", "DELETED").await;
    }
    let vip_port = lb["vip_port_id"].as_str().unwrap().to_string();
    eventually("the VIP port's release", &server, || {
        neutron.port(&vip_port).is_none()
    })
    .await;
    assert!(neutron.port(&user_port).is_some(), "the user's port stays");
    assert!(neutron.port(fixed_port["id"].as_str().unwrap()).is_some());
}

async fn addresses_in_use_are_refused_and_nothing_is_stored(db: Db) {
    let neutron = FakeNeutron::start().await;
    let (_, subnet) = seed(&neutron, "p1", false);
    let (shared_net, shared_subnet) = seed(&neutron, "p2", true);
    let (_, private_subnet) = seed(&neutron, "p2", false);
    let server = start(db, &neutron, 60).await;

    let (s, v) = create_as(
        &server,
        Some("p1"),
        json!({"vip_subnet_id": subnet, "vip_address": "10.0.0.12"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let ports = neutron.ports().len();

    // An address in use: Octavia's 409, nothing stored, no port left.
    let got = create_as(
        &server,
        Some("p1"),
        json!({"vip_subnet_id": subnet, "vip_address": "10.0.0.12"}),
    )
    .await;
    assert_fault(&got, 409, "The VIP IP address is already in use: 10.0.0.12");
    assert_eq!(stored_lbs(&server).await, 1);
    assert_eq!(neutron.ports().len(), ports);

    // Another project's subnet is not found, as a missing one; its network neither.
    let got = create_as(
        &server,
        Some("p1"),
        json!({"vip_subnet_id": private_subnet}),
    )
    .await;
    assert_fault(&got, 400, &format!("Subnet {private_subnet} not found."));
    let missing = "8d3c2f39-1bd0-4a3c-9a1d-3cf6d1c5f3a4";
    let got = create_as(&server, Some("p1"), json!({"vip_subnet_id": missing})).await;
    assert_fault(&got, 400, &format!("Subnet {missing} not found."));
    assert_eq!(stored_lbs(&server).await, 1);
    assert_eq!(neutron.ports().len(), ports);

    // An additional VIP on another project's subnet is not found either: no port is made.
    let got = create_as(
        &server,
        Some("p1"),
        json!({"vip_subnet_id": subnet, "additional_vips": [{"subnet_id": private_subnet}]}),
    )
    .await;
    assert_fault(&got, 400, &format!("Subnet {private_subnet} not found."));
    assert_eq!(stored_lbs(&server).await, 1);
    assert_eq!(neutron.ports().len(), ports);

    // A subnet of a shared network may be used by every project; an administrator sees all.
    let (s, v) = create_as(&server, Some("p1"), json!({"vip_subnet_id": shared_subnet})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["loadbalancer"]["vip_network_id"], shared_net);
    let (s, v) = create_as(&server, None, json!({"vip_subnet_id": private_subnet})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    // A port Fulcrum made is deleted when the load balancer cannot be stored (quota met).
    let (s, v) = server
        .call(
            "PUT",
            "/v2/lbaas/quotas/p1",
            Some(json!({"quota": {"loadbalancer": 2}})),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let ports = neutron.ports().len();
    let got = create_as(&server, Some("p1"), json!({"vip_subnet_id": subnet})).await;
    assert_eq!(got.0, StatusCode::FORBIDDEN, "{}", got.1);
    assert_eq!(neutron.ports().len(), ports, "the port made for it is gone");
    assert_eq!(stored_lbs(&server).await, 3);

    // Neutron down: a server error (what failed is logged, as for every 500), nothing stored.
    neutron.stop().await;
    let got = create_as(&server, None, json!({"vip_subnet_id": subnet})).await;
    assert_fault(&got, 500, "Internal server error.");
    assert!(
        server.log().contains("Neutron is unavailable"),
        "{}",
        server.log()
    );
    assert_eq!(stored_lbs(&server).await, 3);
}

async fn leaked_ports_are_removed_by_the_full_sync(db: Db) {
    let neutron = FakeNeutron::start().await;
    let (net, subnet) = seed(&neutron, "p1", false);
    let leaked_port = |lb: &str, created_at: &str, description: &str| {
        neutron.add_port(json!({
            "network_id": net, "project_id": "p1", "device_owner": "Octavia",
            "device_id": format!("lb-{lb}"), "description": description,
            "name": format!("octavia-lb-{lb}"), "created_at": created_at,
            "fixed_ips": [{"subnet_id": subnet, "ip_address": "10.0.0.40"}],
        }))
    };
    // As if Fulcrum had crashed between creating the port and storing the load balancer.
    let old = leaked_port(
        "1b7f4c33-8f0e-4b8e-9a43-5d1f2b6f0001",
        "2020-01-01T00:00:00Z",
        MARK,
    );
    // A create in flight: its load balancer is not stored yet.
    let fresh = leaked_port("1b7f4c33-8f0e-4b8e-9a43-5d1f2b6f0002", &now(), MARK);
    // Octavia's own port (no mark) is not Fulcrum's to remove.
    let octavias = leaked_port(
        "1b7f4c33-8f0e-4b8e-9a43-5d1f2b6f0003",
        "2020-01-01T00:00:00Z",
        "",
    );
    let server = start(db, &neutron, 1).await;
    let (s, v) = create_as(&server, Some("p1"), json!({"vip_subnet_id": subnet})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let kept = v["loadbalancer"]["vip_port_id"]
        .as_str()
        .unwrap()
        .to_string();
    neutron.age_port(&kept);

    eventually("the leaked port's removal", &server, || {
        neutron.port(&old).is_none()
    })
    .await;
    // Give a few more syncs the chance to remove what they must not.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(neutron.port(&fresh).is_some(), "a fresh port is kept");
    assert!(
        neutron.port(&octavias).is_some(),
        "a port without the mark is kept"
    );
    assert!(
        neutron.port(&kept).is_some(),
        "a stored load balancer's port is kept"
    );
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// With Keystone, Neutron is found in the catalog and called with Fulcrum's service token, which
/// is obtained again when Neutron refuses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neutron_is_found_in_the_catalog_and_called_with_the_service_token() {
    let neutron = FakeNeutron::start().await;
    let keystone = Keystone::start().await;
    let admin = keystone.admin().await;
    admin.service_user().await;
    admin.register("network", "RegionOne", &neutron.url).await;
    let project = admin.create_project("neutron").await;
    let user = admin.user_with_roles(&project, &["member"]).await;
    let (_, subnet) = seed(&neutron, &project.id, false);
    let server = TestServer::start_with(
        Db::Sqlite,
        Options {
            extra_toml: format!(
                "{}[network]\ndriver = \"neutron\"\n[network.neutron]\ninterface = \"public\"\n\
                 region = \"RegionOne\"\n",
                keystone.fulcrum_toml(&FulcrumAuth::default())
            ),
            ..Options::default()
        },
    )
    .await;
    let token = keystone.token(&user).await;
    let create = |token: String| {
        let http = server.http.clone();
        let url = format!("{}{LBS}", server.base);
        let subnet = subnet.clone();
        async move {
            let r = http
                .post(url)
                .header("X-Auth-Token", token)
                .json(&json!({"loadbalancer": {"vip_subnet_id": subnet}}))
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }
    };
    let (s, v) = create(token.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}\n{}", server.log());
    let port = neutron
        .port(v["loadbalancer"]["vip_port_id"].as_str().unwrap())
        .unwrap();
    assert_eq!(port["project_id"], project.id.as_str());
    let tokens = neutron.tokens();
    assert!(
        tokens
            .iter()
            .all(|t| t.as_deref().is_some_and(|t| t != token)),
        "every call carries Fulcrum's own token: {tokens:?}"
    );

    // Neutron stops accepting that token: Fulcrum gets a new one and the create goes through.
    neutron.revoke_next_token();
    let (s, v) = create(token).await;
    assert_eq!(s, StatusCode::CREATED, "{v}\n{}", server.log());
    let tokens = neutron.tokens();
    let distinct: std::collections::HashSet<_> = tokens.iter().flatten().collect();
    assert_eq!(distinct.len(), 2, "{tokens:?}");
}

/// `vip_qos_policy_id` reaches the VIP port on create and on every update that changes it; a
/// policy Neutron does not know is refused with Octavia's message and changes nothing.
async fn qos_policies_follow_the_load_balancer_to_its_port(db: Db) {
    let neutron = FakeNeutron::start().await;
    let (_, subnet) = seed(&neutron, "p1", false);
    neutron.add_qos_policy("qos-1");
    neutron.add_qos_policy("qos-2");
    let server = start(db, &neutron, 60).await;

    let refused = create_as(
        &server,
        Some("p1"),
        json!({"vip_subnet_id": subnet, "vip_qos_policy_id": "qos-x"}),
    )
    .await;
    assert_fault(&refused, 400, "qos_policy qos-x not found.");
    assert_eq!(stored_lbs(&server).await, 0);
    assert!(neutron.ports().is_empty(), "no port is left behind");

    let (s, v) = create_as(
        &server,
        Some("p1"),
        json!({"vip_subnet_id": subnet, "vip_qos_policy_id": "qos-1"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["loadbalancer"]["id"].as_str().unwrap().to_string();
    let port_id = v["loadbalancer"]["vip_port_id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("{LBS}/{id}");
    server.wait_for(&path, "loadbalancer", "ACTIVE").await;
    let qos = |neutron: &FakeNeutron| neutron.port(&port_id).unwrap()["qos_policy_id"].clone();
    assert_eq!(qos(&neutron), "qos-1");

    let update = |policy: Value| json!({"loadbalancer": {"vip_qos_policy_id": policy}});
    let (s, v) = server
        .call_as("PUT", &path, Some(update(json!("qos-2"))), Some("p1"))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["loadbalancer"]["vip_qos_policy_id"], "qos-2");
    assert_eq!(qos(&neutron), "qos-2");
    server.wait_for(&path, "loadbalancer", "ACTIVE").await;

    let refused = server
        .call_as("PUT", &path, Some(update(json!("qos-x"))), Some("p1"))
        .await;
    assert_fault(&refused, 400, "qos_policy qos-x not found.");
    let (_, v) = server.call_as("GET", &path, None, Some("p1")).await;
    assert_eq!(v["loadbalancer"]["vip_qos_policy_id"], "qos-2");
    assert_eq!(
        v["loadbalancer"]["provisioning_status"], "ACTIVE",
        "a refused update leaves the load balancer as it was"
    );
    assert_eq!(qos(&neutron), "qos-2");

    let (s, v) = server
        .call_as("PUT", &path, Some(update(Value::Null)), Some("p1"))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(qos(&neutron), Value::Null);
}

async fn additional_vips_are_further_addresses_of_the_vip_port(db: Db) {
    let neutron = FakeNeutron::start().await;
    let (net, subnet) = seed(&neutron, "p1", false);
    let second = neutron.add_subnet(&net, "p1", "10.0.1.0/24", ("10.0.1.10", "10.0.1.20"));
    let third = neutron.add_subnet(&net, "p1", "10.0.2.0/24", ("10.0.2.10", "10.0.2.20"));
    let (_, elsewhere) = seed(&neutron, "p1", false);
    let server = start(db, &neutron, 60).await;

    // One port carries the VIP and each additional VIP: allocated by Neutron or as asked.
    let (s, v) = create_as(
        &server,
        Some("p1"),
        json!({"vip_subnet_id": subnet, "additional_vips": [
            {"subnet_id": second},
            {"subnet_id": third, "ip_address": "10.0.2.15"},
        ]}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let lb = v["loadbalancer"].clone();
    let lb_id = lb["id"].as_str().unwrap().to_owned();
    assert_eq!(lb["vip_address"], "10.0.0.10");
    assert_eq!(
        lb["additional_vips"],
        json!([
            {"subnet_id": second, "ip_address": "10.0.1.10"},
            {"subnet_id": third, "ip_address": "10.0.2.15"},
        ])
    );
    let vip_port = lb["vip_port_id"].as_str().unwrap().to_owned();
    let port = neutron.port(&vip_port).expect("the VIP port");
    assert_eq!(
        port["fixed_ips"],
        json!([
            {"subnet_id": subnet, "ip_address": "10.0.0.10"},
            {"subnet_id": second, "ip_address": "10.0.1.10"},
            {"subnet_id": third, "ip_address": "10.0.2.15"},
        ])
    );
    assert_eq!(
        neutron.ports().len(),
        1,
        "one port for all of its addresses"
    );
    let path = format!("{LBS}/{lb_id}");
    server.wait_for(&path, "loadbalancer", "ACTIVE").await;
    let (s, shown) = server.call("GET", &path, None).await;
    assert_eq!(s, StatusCode::OK, "{shown}");
    assert_eq!(
        shown["loadbalancer"]["additional_vips"],
        lb["additional_vips"]
    );

    // An additional address in use: Octavia's 409 naming it, nothing stored, no port left.
    let got = create_as(
        &server,
        Some("p1"),
        json!({"vip_subnet_id": subnet,
               "additional_vips": [{"subnet_id": third, "ip_address": "10.0.2.15"}]}),
    )
    .await;
    assert_fault(&got, 409, "The VIP IP address is already in use: 10.0.2.15");
    // A subnet of another network: Octavia's 400, before Neutron is asked.
    let got = create_as(
        &server,
        Some("p1"),
        json!({"vip_subnet_id": subnet, "additional_vips": [{"subnet_id": elsewhere}]}),
    )
    .await;
    assert_fault(
        &got,
        400,
        "Validation failure: Additional VIP subnets must all belong to the same network.",
    );
    // A port the user made cannot take further addresses from Fulcrum.
    let user_port = neutron.add_port(json!({
        "network_id": net, "project_id": "p1",
        "fixed_ips": [{"subnet_id": subnet, "ip_address": "10.0.0.30"}],
    }));
    let got = create_as(
        &server,
        Some("p1"),
        json!({"vip_port_id": user_port, "additional_vips": [{"subnet_id": second}]}),
    )
    .await;
    assert_fault(&got, 400, "Leave out vip_port_id to have one made.");
    assert_eq!(stored_lbs(&server).await, 1);
    assert_eq!(neutron.ports().len(), 2, "the VIP port and the user's port");

    // The load balancer's delete releases its one port, with every address on it.
    let (s, v) = server.call("DELETE", &path, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    server.wait_for(&path, "loadbalancer", "DELETED").await;
    eventually("the VIP port's release", &server, || {
        neutron.port(&vip_port).is_none()
    })
    .await;
    assert!(neutron.port(&user_port).is_some());
}
