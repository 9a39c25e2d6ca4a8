//! Load balancers over HTTP: life cycle, VIP allocation, validation, version discovery, Neutron view.

mod common;

use common::{DEFAULT_NETWORK, DEFAULT_SUBNET, Db, TestServer, assert_fault};
use serde_json::{Value, json};

async fn lb_count(s: &TestServer) -> usize {
    s.get("/v2/lbaas/loadbalancers").await["loadbalancers"]
        .as_array()
        .unwrap()
        .len()
}

async fn life_cycle(db: Db) {
    let s = TestServer::start(db).await;
    let (status, body) = s
        .call(
            "POST",
            "/v2/lbaas/loadbalancers",
            Some(json!({"loadbalancer": {"name": "web", "vip_subnet_id": DEFAULT_SUBNET, "tags": ["a", "b"]}})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let lb = &body["loadbalancer"];
    assert_eq!(lb["provisioning_status"], "PENDING_CREATE");
    assert_eq!(lb["operating_status"], "OFFLINE");
    assert_eq!(lb["vip_network_id"], DEFAULT_NETWORK);
    assert_eq!(lb["provider"], "noop");
    assert_eq!(lb["admin_state_up"], true);
    assert_eq!(lb["description"], "");
    assert_eq!(lb["tenant_id"], lb["project_id"]);
    assert_eq!(lb["listeners"], json!([]));
    assert!(lb["vip_address"].as_str().unwrap().starts_with("127.0.10."));
    let id = lb["id"].as_str().unwrap().to_string();
    let path = format!("/v2/lbaas/loadbalancers/{id}");

    let active = s.wait_for(&path, "loadbalancer", "ACTIVE").await;
    assert_eq!(
        active["operating_status"], "OFFLINE",
        "noop reports OFFLINE like Octavia"
    );

    let (status, body) = s
        .call(
            "PUT",
            &path,
            Some(json!({"loadbalancer": {"name": "web2", "description": "d"}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["loadbalancer"]["provisioning_status"],
        "PENDING_UPDATE"
    );
    let updated = s.wait_for(&path, "loadbalancer", "ACTIVE").await;
    assert_eq!(updated["name"], "web2");
    assert_eq!(updated["description"], "d");
    assert_eq!(updated["tags"], json!(["a", "b"]));

    // The /v2.0 prefix is an alias.
    let (status, v) = s
        .call("GET", &format!("/v2.0/lbaas/loadbalancers/{id}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(v["loadbalancer"]["id"], id.as_str());

    let (status, _) = s.call("DELETE", &path, None).await;
    assert_eq!(status, 204);
    s.wait_for(&path, "loadbalancer", "DELETED").await;
    assert_eq!(
        lb_count(&s).await,
        0,
        "deleted load balancers vanish from lists"
    );
}

async fn vip_allocation(db: Db) {
    let s = TestServer::start(db).await;
    let a = s.active_lb("a").await;
    let b = s.active_lb("b").await;
    assert_ne!(a["vip_address"], b["vip_address"]);

    // A requested address that is taken is refused and nothing is stored.
    let taken = a["vip_address"].clone();
    let got = s
        .call(
            "POST",
            "/v2/lbaas/loadbalancers",
            Some(json!({"loadbalancer": {"vip_subnet_id": DEFAULT_SUBNET, "vip_address": taken}})),
        )
        .await;
    assert_fault(&got, 409, "The VIP IP address is already in use");
    assert_eq!(lb_count(&s).await, 2);

    // Deleting releases the address for reuse.
    let path = format!("/v2/lbaas/loadbalancers/{}", a["id"].as_str().unwrap());
    assert_eq!(s.call("DELETE", &path, None).await.0, 204);
    s.wait_for(&path, "loadbalancer", "DELETED").await;
    let c = s
        .create(
            "/v2/lbaas/loadbalancers",
            "loadbalancer",
            json!({"vip_network_id": DEFAULT_NETWORK, "vip_address": taken}),
        )
        .await;
    assert_eq!(c["vip_address"], taken);
    assert_eq!(c["vip_subnet_id"], DEFAULT_SUBNET);
}

async fn exhausted_range(db: Db) {
    let s = TestServer::start_with(
        db,
        common::Options {
            extra_toml: r#"
[[network.networks]]
id = "n-small"
name = "small"
[[network.subnets]]
id = "s-small"
name = "small-v4"
network_id = "n-small"
cidr = "127.0.20.0/30"
allocation_start = "127.0.20.1"
allocation_end = "127.0.20.2"
"#
            .into(),
            ..Default::default()
        },
    )
    .await;
    for _ in 0..2 {
        s.create(
            "/v2/lbaas/loadbalancers",
            "loadbalancer",
            json!({"vip_subnet_id": "s-small"}),
        )
        .await;
    }
    let got = s
        .call(
            "POST",
            "/v2/lbaas/loadbalancers",
            Some(json!({"loadbalancer": {"vip_subnet_id": "s-small"}})),
        )
        .await;
    assert_fault(&got, 400, "No free VIP address left in subnet s-small");
    assert_eq!(lb_count(&s).await, 2);
}

/// A new load balancer on `subnet`, as created (PENDING_CREATE).
async fn on_subnet(s: &TestServer, subnet: &str) -> Value {
    s.create(
        "/v2/lbaas/loadbalancers",
        "loadbalancer",
        json!({"vip_subnet_id": subnet}),
    )
    .await
}

/// After a restart the search for a free address starts at the range's beginning again: it
/// walks past the addresses in use, reuses a released one first, and never hands out a taken one.
async fn allocation_after_restart(db: Db) {
    let mut s = TestServer::start_with(
        db,
        common::Options {
            extra_toml: r#"
[[network.networks]]
id = "n-run"
name = "run"
[[network.subnets]]
id = "s-run"
name = "run-v4"
network_id = "n-run"
cidr = "127.0.21.0/24"
allocation_start = "127.0.21.1"
allocation_end = "127.0.21.40"
"#
            .into(),
            ..Default::default()
        },
    )
    .await;
    let mut ids = Vec::new();
    for n in 1..=12 {
        let lb = on_subnet(&s, "s-run").await;
        assert_eq!(lb["vip_address"], format!("127.0.21.{n}"));
        ids.push(lb["id"].as_str().unwrap().to_string());
    }
    let path = format!("/v2/lbaas/loadbalancers/{}", ids[1]);
    assert_eq!(s.call("DELETE", &path, None).await.0, 204);
    s.wait_for(&path, "loadbalancer", "DELETED").await;

    s.restart().await;
    assert_eq!(on_subnet(&s, "s-run").await["vip_address"], "127.0.21.2");
    assert_eq!(on_subnet(&s, "s-run").await["vip_address"], "127.0.21.13");
    assert_eq!(on_subnet(&s, "s-run").await["vip_address"], "127.0.21.14");
    assert_eq!(lb_count(&s).await, 14);
}

async fn bad_requests_change_nothing(db: Db) {
    let s = TestServer::start(db).await;
    s.active_lb("keep").await;
    // WSME names the whole body when it cannot convert a value.
    let ambiguous = format!(
        "Invalid input for field/attribute load_balancer. Value: '{{'loadbalancer': \
         {{'admin_state_up': 'maybe', 'vip_subnet_id': '{DEFAULT_SUBNET}'}}}}'. Value not an \
         unambiguous boolean: maybe"
    );
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"loadbalancer": {"name": "x"}}),
            400,
            "VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id.",
        ),
        (
            json!({"loadbalancer": {"vip_subnet_id": "nope"}}),
            400,
            "Subnet nope not found.",
        ),
        (
            json!({"loadbalancer": {"vip_network_id": "nope"}}),
            400,
            "Network nope not found.",
        ),
        (
            json!({"loadbalancer": {"vip_port_id": "p1"}}),
            400,
            "Port p1 not found.",
        ),
        (
            json!({"loadbalancer": {"vip_subnet_id": DEFAULT_SUBNET, "colour": "red"}}),
            400,
            "Unknown attribute for argument loadbalancer: colour",
        ),
        (
            json!({"loadbalancer": {"vip_subnet_id": DEFAULT_SUBNET, "vip_address": "10.9.9.9"}}),
            400,
            "is not in subnet",
        ),
        (
            json!({"loadbalancer": {"vip_subnet_id": DEFAULT_SUBNET, "vip_address": "banana"}}),
            400,
            "Value should be IPv4 or IPv6 format",
        ),
        (
            json!({"loadbalancer": {"vip_subnet_id": DEFAULT_SUBNET, "provider": "f5"}}),
            400,
            "Provider 'f5' is not enabled.",
        ),
        (
            json!({"loadbalancer": {"vip_subnet_id": DEFAULT_SUBNET, "name": "n".repeat(256)}}),
            400,
            "maximum character requirement of 255",
        ),
        (
            json!({"loadbalancer": {"vip_subnet_id": DEFAULT_SUBNET, "admin_state_up": "maybe"}}),
            400,
            &ambiguous,
        ),
        (json!({"load_balancer": {}}), 400, "Unknown attribute"),
    ];
    for (body, status, text) in cases {
        let got = s
            .call("POST", "/v2/lbaas/loadbalancers", Some(body.clone()))
            .await;
        assert_fault(&got, status, text);
    }
    let raw = s
        .http
        .post(format!("{}/v2/lbaas/loadbalancers", s.base))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    assert_eq!(lb_count(&s).await, 1, "no bad request stored anything");

    let missing = s
        .call("GET", "/v2/lbaas/loadbalancers/does-not-exist", None)
        .await;
    assert_fault(&missing, 404, "Load Balancer does-not-exist not found.");
    let missing = s
        .call("DELETE", "/v2/lbaas/loadbalancers/does-not-exist", None)
        .await;
    assert_fault(&missing, 404, "not found");
}

async fn projects_are_isolated(db: Db) {
    let s = TestServer::start(db).await;
    let (status, body) = s
        .call_as(
            "POST",
            "/v2/lbaas/loadbalancers",
            Some(json!({"loadbalancer": {"vip_subnet_id": DEFAULT_SUBNET}})),
            Some("project-a"),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(body["loadbalancer"]["project_id"], "project-a");
    let id = body["loadbalancer"]["id"].as_str().unwrap();
    let (_, list_b) = s
        .call_as("GET", "/v2/lbaas/loadbalancers", None, Some("project-b"))
        .await;
    assert_eq!(list_b["loadbalancers"], json!([]));
    let refused = s
        .call_as(
            "GET",
            &format!("/v2/lbaas/loadbalancers/{id}"),
            None,
            Some("project-b"),
        )
        .await;
    // Octavia loads the object, then applies the policy to its project: 403, not 404.
    assert_fault(
        &refused,
        403,
        "Policy does not allow this request to be performed.",
    );
    let (_, list_a) = s
        .call_as("GET", "/v2/lbaas/loadbalancers", None, Some("project-a"))
        .await;
    assert_eq!(list_a["loadbalancers"].as_array().unwrap().len(), 1);
}

async fn discovery_and_neutron(db: Db) {
    let s = TestServer::start(db).await;
    let root = s.get("/").await;
    let versions = root["versions"].as_array().unwrap();
    assert_eq!(versions[0]["id"], "v2.0");
    assert_eq!(versions.last().unwrap()["status"], "CURRENT");
    assert!(
        versions[0]["links"][0]["href"]
            .as_str()
            .unwrap()
            .ends_with("/v2")
    );
    assert_eq!(s.get("/v2").await, json!("v2"));

    let nets = s.get("/v2.0/networks?name=fulcrum-loopback").await;
    assert_eq!(nets["networks"][0]["id"], DEFAULT_NETWORK);
    let subnets = s.get("/v2.0/subnets?name=fulcrum-loopback-v4").await;
    assert_eq!(subnets["subnets"][0]["id"], DEFAULT_SUBNET);
    assert_eq!(subnets["subnets"][0]["cidr"], "127.0.10.0/24");
    assert_eq!(
        s.get("/v2.0/subnets?name=other").await["subnets"],
        json!([])
    );

    let lb = s.active_lb("p").await;
    let ports = s
        .get(&format!(
            "/v2.0/ports?id={}",
            lb["vip_port_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        ports["ports"][0]["fixed_ips"][0]["ip_address"],
        lb["vip_address"]
    );

    // Every response carries a request id; a client that accepts no JSON gets 406.
    let resp = s
        .http
        .get(format!("{}/v2/lbaas/loadbalancers", s.base))
        .send()
        .await
        .unwrap();
    let id = resp.headers()["x-openstack-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(id.starts_with("req-"), "{id}");
    let resp = s
        .http
        .get(format!("{}/v2/lbaas/loadbalancers", s.base))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 406);
    assert!(resp.headers().contains_key("x-openstack-request-id"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["description"],
        "Only content type application/json is accepted."
    );

    // No amphora provider: no amphorae.
    let amphorae = s.get("/v2/octavia/amphorae").await;
    assert_eq!(amphorae["amphorae"], json!([]));
    assert_fault(
        &s.call("GET", "/v2.0/octavia/amphorae/a1", None).await,
        404,
        "Amphora a1 not found.",
    );

    let providers = s.get("/v2/lbaas/providers").await;
    let names: Vec<&str> = providers["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["haproxy", "noop"]);
}

on_both_databases!(
    life_cycle,
    vip_allocation,
    exhausted_range,
    allocation_after_restart,
    bad_requests_change_nothing,
    projects_are_isolated,
    discovery_and_neutron
);
