//! Additional VIPs of load balancers (Octavia API 2.26, dual-stack VIPs) over HTTP: addresses
//! allocated on further subnets of the VIP's network, stored and shown back, Octavia's
//! validation, and HAProxy answering on each address.

mod common;

use common::{DEFAULT_NETWORK, DEFAULT_SUBNET, Db, TestServer, assert_fault};
use serde_json::{Value, json};

/// A server whose default network (declared again, as declaring networks replaces it) also has an IPv6 subnet and a second IPv4 one, beside a
/// network of its own with one subnet.
async fn dual_stack_server(db: Db) -> TestServer {
    TestServer::start_with(
        db,
        common::Options {
            providers_toml: "enabled = [\"noop\", \"haproxy\"]\n".into(),
            requests_follow_document: false,
            extra_toml: format!(
                r#"
[[network.networks]]
id = "{DEFAULT_NETWORK}"
name = "loopback"
[[network.networks]]
id = "n-other"
name = "other"
[[network.subnets]]
id = "{DEFAULT_SUBNET}"
name = "loopback-v4"
network_id = "{DEFAULT_NETWORK}"
cidr = "127.0.10.0/24"
allocation_start = "127.0.10.10"
allocation_end = "127.0.10.250"
[[network.subnets]]
id = "s-v6"
name = "v6"
network_id = "{DEFAULT_NETWORK}"
cidr = "fd00:f::/64"
allocation_start = "fd00:f::10"
allocation_end = "fd00:f::20"
[[network.subnets]]
id = "s-v4b"
name = "v4b"
network_id = "{DEFAULT_NETWORK}"
cidr = "127.0.30.0/24"
allocation_start = "127.0.30.10"
allocation_end = "127.0.30.20"
[[network.subnets]]
id = "s-other"
name = "other-v4"
network_id = "n-other"
cidr = "127.0.40.0/24"
allocation_start = "127.0.40.10"
allocation_end = "127.0.40.20"
"#
            ),
            ..Default::default()
        },
    )
    .await
}

async fn lb_count(s: &TestServer) -> usize {
    s.get("/v2/lbaas/loadbalancers").await["loadbalancers"]
        .as_array()
        .unwrap()
        .len()
}

async fn allocated_stored_and_shown(db: Db) {
    let s = dual_stack_server(db).await;
    let lb = s
        .create(
            "/v2/lbaas/loadbalancers",
            "loadbalancer",
            json!({"vip_subnet_id": DEFAULT_SUBNET, "additional_vips": [
                {"subnet_id": "s-v6"},
                {"subnet_id": "s-v4b", "ip_address": "127.0.30.99"}
            ]}),
        )
        .await;
    let vips = lb["additional_vips"].as_array().unwrap().clone();
    assert_eq!(vips.len(), 2, "{lb}");
    assert_eq!(vips[0]["subnet_id"], "s-v6");
    let v6: std::net::Ipv6Addr = vips[0]["ip_address"].as_str().unwrap().parse().unwrap();
    let (first, last): (std::net::Ipv6Addr, std::net::Ipv6Addr) =
        ("fd00:f::10".parse().unwrap(), "fd00:f::20".parse().unwrap());
    assert!(
        v6 >= first && v6 <= last,
        "{v6} is outside the subnet's range"
    );
    assert_eq!(
        vips[1],
        json!({"subnet_id": "s-v4b", "ip_address": "127.0.30.99"})
    );
    let path = format!("/v2/lbaas/loadbalancers/{}", lb["id"].as_str().unwrap());
    let active = s.wait_for(&path, "loadbalancer", "ACTIVE").await;
    assert_eq!(active["additional_vips"], json!(vips), "stored as created");
    let listed = s.get("/v2/lbaas/loadbalancers").await;
    assert_eq!(listed["loadbalancers"][0]["additional_vips"], json!(vips));

    // A load balancer without them shows an empty list, and a graph create carries them too.
    let plain = s.active_lb("plain").await;
    assert_eq!(plain["additional_vips"], json!([]));
    let graph = s
        .create(
            "/v2/lbaas/loadbalancers",
            "loadbalancer",
            json!({"vip_network_id": DEFAULT_NETWORK,
                   "additional_vips": [{"subnet_id": "s-v6", "ip_address": "fd00:f::1:2"}],
                   "listeners": [{"protocol": "HTTP", "protocol_port": 80}]}),
        )
        .await;
    assert_eq!(
        graph["additional_vips"],
        json!([{"subnet_id": "s-v6", "ip_address": "fd00:f::1:2"}])
    );
    assert_eq!(graph["listeners"].as_array().unwrap().len(), 1);
}

async fn bad_requests_change_nothing(db: Db) {
    let s = dual_stack_server(db).await;
    let with = |vips: Value| json!({"loadbalancer": {"vip_subnet_id": DEFAULT_SUBNET, "additional_vips": vips}});
    let duplicate = "Validation failure: Duplicate VIP subnet(s) specified. Only one IP can be \
                     bound per subnet.";
    let cases: Vec<(Value, u16, &str)> = vec![
        (with(json!([{"subnet_id": DEFAULT_SUBNET}])), 400, duplicate),
        (
            with(json!([{"subnet_id": "s-v6"}, {"subnet_id": "s-v6"}])),
            400,
            duplicate,
        ),
        (
            with(json!([{"subnet_id": "s-other"}])),
            400,
            "Validation failure: Additional VIP subnets must all belong to the same network.",
        ),
        (
            with(json!([{"subnet_id": "s-v4b", "ip_address": "127.0.31.5"}])),
            400,
            "Validation failure: Additional VIP address 127.0.31.5 is not in subnet s-v4b.",
        ),
        (
            with(json!([{"subnet_id": "nope"}])),
            400,
            "Subnet nope not found.",
        ),
        (
            with(json!([{"subnet_id": "s-v6", "colour": "red"}])),
            400,
            "Unknown attribute for argument loadbalancer.additional_vips: colour",
        ),
    ];
    for (body, status, text) in cases {
        let got = s.call("POST", "/v2/lbaas/loadbalancers", Some(body)).await;
        assert_fault(&got, status, text);
    }
    assert_eq!(lb_count(&s).await, 0, "nothing was created");

    // An address another load balancer already holds, as its VIP or as an additional VIP.
    let holder = s
        .create(
            "/v2/lbaas/loadbalancers",
            "loadbalancer",
            json!({"vip_subnet_id": DEFAULT_SUBNET,
                   "additional_vips": [{"subnet_id": "s-v4b", "ip_address": "127.0.30.15"}]}),
        )
        .await;
    let taken = holder["vip_address"].as_str().unwrap().to_string();
    let got = s
        .call(
            "POST",
            "/v2/lbaas/loadbalancers",
            Some(with(
                json!([{"subnet_id": "s-v4b", "ip_address": "127.0.30.15"}]),
            )),
        )
        .await;
    assert_fault(
        &got,
        409,
        "The VIP IP address is already in use: 127.0.30.15",
    );
    let got = s
        .call(
            "POST",
            "/v2/lbaas/loadbalancers",
            Some(
                json!({"loadbalancer": {"vip_subnet_id": "s-v4b", "additional_vips": [
                {"subnet_id": DEFAULT_SUBNET, "ip_address": taken}]}}),
            ),
        )
        .await;
    assert_fault(
        &got,
        409,
        &format!("The VIP IP address is already in use: {taken}"),
    );
    assert_eq!(lb_count(&s).await, 1, "only the holder was created");
    let holder_path = format!("/v2/lbaas/loadbalancers/{}", holder["id"].as_str().unwrap());
    s.wait_for(&holder_path, "loadbalancer", "ACTIVE").await;

    // additional_vips cannot be changed once the load balancer exists, as in Octavia.
    let lb = s
        .create(
            "/v2/lbaas/loadbalancers",
            "loadbalancer",
            json!({"vip_subnet_id": DEFAULT_SUBNET, "additional_vips": [{"subnet_id": "s-v6"}]}),
        )
        .await;
    let path = format!("/v2/lbaas/loadbalancers/{}", lb["id"].as_str().unwrap());
    let before = s.wait_for(&path, "loadbalancer", "ACTIVE").await;
    let got = s
        .call(
            "PUT",
            &path,
            Some(json!({"loadbalancer": {"additional_vips": [{"subnet_id": "s-v4b"}]}})),
        )
        .await;
    assert_fault(&got, 400, "Unknown attribute");
    let after = s.get(&path).await["loadbalancer"].clone();
    assert_eq!(after["additional_vips"], before["additional_vips"]);
    assert_eq!(after["provisioning_status"], "ACTIVE");
}

/// A request to an additional VIP of a load balancer realized by HAProxy reaches its member,
/// as one to its VIP does.
async fn haproxy_serves_every_address(db: Db) {
    let s = dual_stack_server(db).await;
    let backend = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let member = backend.local_addr().unwrap();
    let app = axum::Router::new().fallback(|| async { "member" });
    tokio::spawn(async move { axum::serve(backend, app).await });
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let lb = s
        .create(
            "/v2/lbaas/loadbalancers",
            "loadbalancer",
            json!({"vip_subnet_id": DEFAULT_SUBNET, "provider": "haproxy",
                   "additional_vips": [{"subnet_id": "s-v4b"}],
                   "listeners": [{"protocol": "HTTP", "protocol_port": port,
                                  "default_pool": {"name": "p", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                                                   "members": [{"address": member.ip().to_string(),
                                                                "protocol_port": member.port()}]}}]}),
        )
        .await;
    let path = format!("/v2/lbaas/loadbalancers/{}", lb["id"].as_str().unwrap());
    s.wait_for(&path, "loadbalancer", "ACTIVE").await;
    let extra = lb["additional_vips"][0]["ip_address"].as_str().unwrap();
    assert!(extra.starts_with("127.0.30."), "{extra}");
    let http = reqwest::Client::new();
    for address in [lb["vip_address"].as_str().unwrap(), extra] {
        let resp = http
            .get(format!("http://{address}:{port}/"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("request to {address}:{port}: {e}"));
        assert_eq!(resp.status(), 200, "{address}");
        assert_eq!(resp.text().await.unwrap(), "member", "{address}");
    }
    common::stop_haproxies(&s.dir().join("haproxy"));
}

/// POST each load balancer body at once; the answers in the order of `bodies`.
async fn post_at_once(s: &TestServer, bodies: Vec<Value>) -> Vec<(reqwest::StatusCode, Value)> {
    let mut posts = tokio::task::JoinSet::new();
    for (i, body) in bodies.into_iter().enumerate() {
        let request = s
            .http
            .post(format!("{}/v2/lbaas/loadbalancers", s.base))
            .json(&body);
        posts.spawn(async move {
            let resp = request.send().await.expect("request");
            let status = resp.status();
            (
                i,
                status,
                resp.json::<Value>().await.expect("a JSON answer"),
            )
        });
    }
    let mut answers = posts.join_all().await;
    answers.sort_by_key(|(i, _, _)| *i);
    answers
        .into_iter()
        .map(|(_, st, body)| (st, body))
        .collect()
}

/// Concurrent creates asking for the same address, as a VIP or an additional VIP, on a subnet
/// whose addresses serve one load balancer each: exactly one gets it, the others Octavia's 409
/// with nothing stored; deleting the winner frees the address for the next.
async fn racing_creates_never_share_an_address(db: Db) {
    let s = dual_stack_server(db).await;
    let contested = "127.0.30.16";
    let bodies: Vec<Value> = (0..8)
        .map(|i| {
            if i % 2 == 0 {
                json!({"loadbalancer": {"vip_subnet_id": DEFAULT_SUBNET,
                       "additional_vips": [{"subnet_id": "s-v4b", "ip_address": contested}]}})
            } else {
                json!({"loadbalancer": {"vip_subnet_id": "s-v4b", "vip_address": contested}})
            }
        })
        .collect();
    let answers = post_at_once(&s, bodies).await;
    let winners: Vec<&Value> = answers
        .iter()
        .filter(|(status, _)| status.as_u16() == 201)
        .map(|(_, body)| &body["loadbalancer"])
        .collect();
    assert_eq!(winners.len(), 1, "{answers:?}");
    for (status, body) in answers.iter().filter(|(st, _)| st.as_u16() != 201) {
        assert_fault(
            &(*status, body.clone()),
            409,
            &format!("The VIP IP address is already in use: {contested}"),
        );
    }
    assert_eq!(lb_count(&s).await, 1, "the losers stored nothing");

    // Addresses Fulcrum chooses never collide either, however many creates race.
    let auto = post_at_once(
        &s,
        (0..6)
            .map(|_| {
                json!({"loadbalancer": {"vip_subnet_id": DEFAULT_SUBNET,
                        "additional_vips": [{"subnet_id": "s-v4b"}]}})
            })
            .collect(),
    )
    .await;
    let mut chosen: Vec<String> = auto
        .iter()
        .map(|(status, body)| {
            assert_eq!(status.as_u16(), 201, "{body}");
            body["loadbalancer"]["additional_vips"][0]["ip_address"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    chosen.push(contested.to_owned());
    chosen.sort();
    chosen.dedup();
    assert_eq!(chosen.len(), 7, "every address held once: {chosen:?}");

    let winner = winners[0]["id"].as_str().unwrap();
    let path = format!("/v2/lbaas/loadbalancers/{winner}");
    s.wait_for(&path, "loadbalancer", "ACTIVE").await;
    let (status, _) = s.call("DELETE", &path, None).await;
    assert_eq!(status.as_u16(), 204);
    s.wait_for(&path, "loadbalancer", "DELETED").await;
    let again = s
        .create(
            "/v2/lbaas/loadbalancers",
            "loadbalancer",
            json!({"vip_subnet_id": "s-v4b", "vip_address": contested}),
        )
        .await;
    assert_eq!(
        again["vip_address"], contested,
        "a deleted load balancer's address is free"
    );
}

on_both_databases!(
    allocated_stored_and_shown,
    bad_requests_change_nothing,
    racing_creates_never_share_an_address,
    haproxy_serves_every_address
);
