//! NSX-T load balancers on the Tier-1 of their VIP subnet's Neutron router, end to end: a real
//! Fulcrum server with the `neutron` network back-end (the Neutron stand-in of
//! `common/neutron.rs`, with routers and their interface ports) and the `nsxt` provider with
//! `tier1_from = "router"` (the simulated NSX Manager holding a Tier-1 per router, as
//! vmware-nsx makes them), on SQLite and PostgreSQL.

mod common;
#[path = "common/neutron.rs"]
mod neutron;

use common::nsxt::{held, start_manager};
use common::{Db, Options, TestServer, assert_fault};
use neutron::FakeNeutron;
use reqwest::StatusCode;
use serde_json::{Value, json};
use simulators::nsxt::Running;

const LBS: &str = "/v2/lbaas/loadbalancers";

/// Fulcrum on `db` with Neutron's VIPs and the NSX-T provider placing load balancers by their
/// router; `nsxt_toml`: further lines of `[providers.nsxt]`.
async fn start(db: Db, neutron: &FakeNeutron, manager: &Running, nsxt_toml: &str) -> TestServer {
    TestServer::start_with(
        db,
        Options {
            default_provider: "nsxt",
            providers_toml: "enabled = [\"noop\", \"nsxt\"]\n".into(),
            extra_toml: format!(
                "[network]\ndriver = \"neutron\"\n[network.neutron]\nendpoint = \"{}\"\n\
                 timeout_seconds = 2\n\
                 [providers.nsxt]\nmanagers = [\"{}\"]\nusername = \"admin\"\n\
                 password = \"admin\"\nrealization_poll_ms = 50\ntier1_from = \"router\"\n\
                 {nsxt_toml}",
                neutron.url,
                manager.base_url()
            ),
            ..Options::default()
        },
    )
    .await
}

/// A network of project p1 with three subnets: 10.0.1.0/24 behind a router, 10.0.2.0/24 behind
/// a distributed one, 10.0.3.0/24 behind none. The subnets' and the routers' ids.
struct Topology {
    subnets: [String; 3],
    routers: [String; 2],
}

fn seed(neutron: &FakeNeutron) -> Topology {
    let net = neutron.add_network("p1", false);
    let subnet = |n: u8| {
        neutron.add_subnet(
            &net,
            "p1",
            &format!("10.0.{n}.0/24"),
            (&format!("10.0.{n}.10"), &format!("10.0.{n}.200")),
        )
    };
    let subnets = [subnet(1), subnet(2), subnet(3)];
    let routers = [
        neutron.add_router("p1", false),
        neutron.add_router("p1", true),
    ];
    neutron.add_router_interface(&routers[0], &subnets[0]);
    neutron.add_router_interface(&routers[1], &subnets[1]);
    Topology { subnets, routers }
}

async fn create_on(server: &TestServer, subnet: &str) -> (StatusCode, Value) {
    create(server, json!({"vip_subnet_id": subnet})).await
}

async fn create(server: &TestServer, body: Value) -> (StatusCode, Value) {
    server
        .call_as(
            "POST",
            LBS,
            Some(json!({ "loadbalancer": body })),
            Some("p1"),
        )
        .await
}

/// Create a load balancer on `subnet` with a TCP listener and wait until it is ACTIVE; its id.
async fn active_on(server: &TestServer, subnet: &str) -> String {
    let (s, v) = create(
        server,
        json!({"vip_subnet_id": subnet,
               "listeners": [{"protocol": "TCP", "protocol_port": 443}]}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["loadbalancer"]["id"].as_str().unwrap().to_string();
    server.settle(&id).await;
    id
}

async fn delete(server: &TestServer, id: &str) {
    let (s, v) = server
        .call("DELETE", &format!("{LBS}/{id}?cascade=true"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    server
        .wait_for(&format!("{LBS}/{id}"), "loadbalancer", "DELETED")
        .await;
}

fn tier1(router: &str) -> String {
    format!("/infra/tier-1s/{router}")
}

on_both_databases!(
    load_balancers_attach_to_the_tier1_of_their_vip_subnet_s_router,
    shared_services_are_one_per_router_s_tier1,
);

async fn load_balancers_attach_to_the_tier1_of_their_vip_subnet_s_router(db: Db) {
    let neutron = FakeNeutron::start().await;
    let net = seed(&neutron);
    let manager = start_manager(net.routers.to_vec()).await;
    let server = start(db, &neutron, &manager, "").await;

    let mut ids = Vec::new();
    for subnet in &net.subnets[..2] {
        let (s, v) = create_on(&server, subnet).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let id = v["loadbalancer"]["id"].as_str().unwrap().to_string();
        server.settle(&id).await;
        ids.push(id);
    }
    let [first, second] = [&ids[0], &ids[1]];
    for (lb, router) in [(&first, &net.routers[0]), (&second, &net.routers[1])] {
        let service = manager
            .control()
            .object(&format!("/infra/lb-services/fulcrum-lb-{lb}"))
            .expect("the load balancer's service");
        assert_eq!(service["connectivity_path"], tier1(router));
    }
    // A listener's virtual server sits on its own load balancer's service.
    let listener = server
        .create(
            "/v2/lbaas/listeners",
            "listener",
            json!({"loadbalancer_id": second, "protocol": "TCP", "protocol_port": 443}),
        )
        .await;
    server.settle(second).await;
    let vs = manager
        .control()
        .object(&format!(
            "/infra/lb-virtual-servers/fulcrum-listener-{}",
            listener["id"].as_str().unwrap()
        ))
        .expect("the virtual server");
    assert_eq!(
        vs["lb_service_path"],
        format!("/infra/lb-services/fulcrum-lb-{second}")
    );

    // A VIP subnet behind no router: 400 with Octavia's fault, nothing stored, no port left,
    // nothing sent to NSX.
    let ports = neutron.ports().len();
    let objects = held(&manager);
    let (_, listed) = server.call("GET", LBS, None).await;
    let got = create_on(&server, &net.subnets[2]).await;
    assert_fault(
        &got,
        400,
        &format!(
            "Provider 'nsxt' refused the request: VIP subnet {} is not connected to a router; \
             NSX-T load balancers attach to the Tier-1 of their VIP subnet's router.",
            net.subnets[2]
        ),
    );
    assert_eq!(server.call("GET", LBS, None).await.1, listed);
    assert_eq!(neutron.ports().len(), ports, "the port made for it is gone");
    assert_eq!(held(&manager), objects);

    delete(&server, first).await;
    delete(&server, second).await;
    assert!(held(&manager).is_empty(), "{:?}", held(&manager));
}

/// With `share_lb_service`, the load balancers behind one router share the service of its
/// Tier-1, and those on a subnet behind no router share the fallback Tier-1's.
async fn shared_services_are_one_per_router_s_tier1(db: Db) {
    let neutron = FakeNeutron::start().await;
    let net = seed(&neutron);
    let mut tier1s = net.routers.to_vec();
    tier1s.push("fallback-t1".into());
    let manager = start_manager(tier1s).await;
    let server = start(
        db,
        &neutron,
        &manager,
        "share_lb_service = true\ntier1_path = \"/infra/tier-1s/fallback-t1\"\n",
    )
    .await;

    let mut ids = Vec::new();
    for subnet in [
        &net.subnets[0],
        &net.subnets[0],
        &net.subnets[1],
        &net.subnets[2],
    ] {
        ids.push(active_on(&server, subnet).await);
    }
    let service = |tier1_id: &str| format!("/infra/lb-services/fulcrum-lbs-{tier1_id}");
    let services: Vec<String> = held(&manager)
        .into_iter()
        .filter(|p| p.starts_with("/infra/lb-services/"))
        .collect();
    let mut want = vec![
        service(&net.routers[0]),
        service(&net.routers[1]),
        service("fallback-t1"),
    ];
    want.sort();
    assert_eq!(services, want);
    for (path, tier1_id) in [
        (service(&net.routers[0]), net.routers[0].as_str()),
        (service(&net.routers[1]), net.routers[1].as_str()),
        (service("fallback-t1"), "fallback-t1"),
    ] {
        let found = manager.control().object(&path).unwrap();
        assert_eq!(found["connectivity_path"], tier1(tier1_id));
    }

    for id in &ids {
        delete(&server, id).await;
    }
    assert!(held(&manager).is_empty(), "{:?}", held(&manager));
}
