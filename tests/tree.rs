//! Listeners, pools, members, health monitors and L7 policies and rules over HTTP: create, show,
//! list, update, delete, validation, the status tree, statistics and cascade delete.

mod common;

use common::{Db, TestServer, assert_fault};
use serde_json::{Value, json};

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

async fn full_tree(db: Db) {
    let s = TestServer::start(db).await;
    let lb = s.active_lb("tree").await;
    let lb_id = id(&lb);

    let listener = s
        .create(
            "/v2/lbaas/listeners",
            "listener",
            json!({"loadbalancer_id": lb_id, "protocol": "HTTP", "protocol_port": 80, "name": "web",
                   "insert_headers": {"X-Forwarded-For": "true"}, "allowed_cidrs": ["10.1.2.3/8"]}),
        )
        .await;
    assert_eq!(listener["provisioning_status"], "PENDING_CREATE");
    assert_eq!(listener["connection_limit"], -1);
    assert_eq!(listener["timeout_client_data"], 50000);
    assert_eq!(listener["allowed_cidrs"], json!(["10.0.0.0/8"]));
    assert_eq!(listener["loadbalancers"], json!([{"id": lb_id}]));
    let listener_id = id(&listener);
    s.settle(&lb_id).await;

    let pool = s
        .create(
            "/v2/lbaas/pools",
            "pool",
            json!({"listener_id": listener_id, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                   "session_persistence": {"type": "APP_COOKIE", "cookie_name": "sid"}}),
        )
        .await;
    let pool_id = id(&pool);
    s.settle(&lb_id).await;
    let shown = s.get(&format!("/v2/lbaas/listeners/{listener_id}")).await;
    assert_eq!(shown["listener"]["default_pool_id"], pool_id.as_str());
    assert_eq!(shown["listener"]["provisioning_status"], "ACTIVE");

    let member = s
        .create(
            &format!("/v2/lbaas/pools/{pool_id}/members"),
            "member",
            json!({"address": "127.0.0.1", "protocol_port": 8080, "weight": 5}),
        )
        .await;
    assert_eq!(member["operating_status"], "NO_MONITOR");
    let member_id = id(&member);
    s.settle(&lb_id).await;
    let hm = s
        .create(
            "/v2/lbaas/healthmonitors",
            "healthmonitor",
            json!({"pool_id": pool_id, "type": "HTTP", "delay": 5, "timeout": 3, "max_retries": 2}),
        )
        .await;
    assert_eq!(hm["http_method"], "GET");
    assert_eq!(hm["url_path"], "/");
    assert_eq!(hm["expected_codes"], "200");
    assert_eq!(hm["max_retries_down"], 3);
    s.settle(&lb_id).await;
    // A member of a monitored pool is created OFFLINE, and stays so under the noop provider,
    // which gets no health data.
    let monitored = s
        .create(
            &format!("/v2/lbaas/pools/{pool_id}/members"),
            "member",
            json!({"address": "127.0.0.2", "protocol_port": 8080}),
        )
        .await;
    assert_eq!(monitored["operating_status"], "OFFLINE");
    s.settle(&lb_id).await;
    common::sync::after_activations(&s, "observer", 2).await;
    let shown = s
        .get(&format!(
            "/v2/lbaas/pools/{pool_id}/members/{}",
            id(&monitored)
        ))
        .await;
    assert_eq!(shown["member"]["operating_status"], "OFFLINE");
    let (status, _) = s
        .call(
            "DELETE",
            &format!("/v2/lbaas/pools/{pool_id}/members/{}", id(&monitored)),
            None,
        )
        .await;
    assert_eq!(status, 204);
    s.settle(&lb_id).await;

    let pool2 = s
        .create(
            "/v2/lbaas/pools",
            "pool",
            json!({"loadbalancer_id": lb_id, "protocol": "HTTP", "lb_algorithm": "LEAST_CONNECTIONS"}),
        )
        .await;
    s.settle(&lb_id).await;
    let policy = s
        .create(
            "/v2/lbaas/l7policies",
            "l7policy",
            json!({"listener_id": listener_id, "action": "REDIRECT_TO_POOL", "redirect_pool_id": id(&pool2)}),
        )
        .await;
    assert_eq!(policy["position"], 1);
    let policy_id = id(&policy);
    s.settle(&lb_id).await;
    let rule = s
        .create(
            &format!("/v2/lbaas/l7policies/{policy_id}/rules"),
            "rule",
            json!({"type": "PATH", "compare_type": "STARTS_WITH", "value": "/api"}),
        )
        .await;
    let rule_id = id(&rule);
    s.settle(&lb_id).await;

    // Everything settles with the operating statuses the noop provider reports.
    let m = s
        .get(&format!("/v2/lbaas/pools/{pool_id}/members/{member_id}"))
        .await;
    assert_eq!(m["member"]["provisioning_status"], "ACTIVE");
    assert_eq!(m["member"]["weight"], 5);
    let r = s
        .get(&format!("/v2/lbaas/l7policies/{policy_id}/rules/{rule_id}"))
        .await;
    assert_eq!(r["rule"]["operating_status"], "ONLINE");
    let p = s.get(&format!("/v2/lbaas/pools/{pool_id}")).await;
    assert_eq!(p["pool"]["healthmonitor_id"], id(&hm).as_str());
    assert_eq!(p["pool"]["members"], json!([{"id": member_id}]));
    assert_eq!(p["pool"]["listeners"], json!([{"id": listener_id}]));

    // The status tree shows the whole hierarchy.
    let tree = s
        .get(&format!("/v2/lbaas/loadbalancers/{lb_id}/status"))
        .await;
    let l = &tree["statuses"]["loadbalancer"]["listeners"][0];
    assert_eq!(l["id"], listener_id.as_str());
    assert_eq!(
        l["pools"].as_array().unwrap().len(),
        2,
        "default pool and redirect pool"
    );
    assert_eq!(l["pools"][0]["members"][0]["address"], "127.0.0.1");
    assert_eq!(l["pools"][0]["health_monitor"]["type"], "HTTP");

    let stats = s
        .get(&format!("/v2/lbaas/loadbalancers/{lb_id}/stats"))
        .await;
    assert_eq!(stats["stats"]["bytes_in"], 0);
    let stats = s
        .get(&format!("/v2/lbaas/listeners/{listener_id}/stats"))
        .await;
    assert_eq!(stats["stats"]["total_connections"], 0);

    // Updates.
    let (status, body) = s
        .call(
            "PUT",
            &format!("/v2/lbaas/pools/{pool_id}/members/{member_id}"),
            Some(json!({"member": {"weight": 0, "backup": true}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["member"]["provisioning_status"], "PENDING_UPDATE");
    s.settle(&lb_id).await;
    let (status, _) = s
        .call(
            "PUT",
            &format!("/v2/lbaas/listeners/{listener_id}"),
            Some(json!({"listener": {"connection_limit": 100, "timeout_client_data": null}})),
        )
        .await;
    assert_eq!(status, 200);
    s.settle(&lb_id).await;
    let l = s.get(&format!("/v2/lbaas/listeners/{listener_id}")).await;
    assert_eq!(l["listener"]["connection_limit"], 100);
    assert_eq!(
        l["listener"]["timeout_client_data"], 50000,
        "null resets to the default"
    );

    // A pool used by a policy cannot go; a listener delete takes its policies with it.
    let got = s
        .call("DELETE", &format!("/v2/lbaas/pools/{}", id(&pool2)), None)
        .await;
    assert_fault(&got, 409, "is in use by L7 policy");
    assert_eq!(
        s.call(
            "DELETE",
            &format!("/v2/lbaas/l7policies/{policy_id}/rules/{rule_id}"),
            None
        )
        .await
        .0,
        204
    );
    s.settle(&lb_id).await;
    assert_eq!(
        s.call(
            "GET",
            &format!("/v2/lbaas/l7policies/{policy_id}/rules/{rule_id}"),
            None
        )
        .await
        .0,
        404
    );

    // Deleting a load balancer with children needs cascade.
    let lb_path = format!("/v2/lbaas/loadbalancers/{lb_id}");
    assert_fault(
        &s.call("DELETE", &lb_path, None).await,
        400,
        "it has children",
    );
    assert_eq!(
        s.call("DELETE", &format!("{lb_path}?cascade=true"), None)
            .await
            .0,
        204
    );
    s.wait_for(&lb_path, "loadbalancer", "DELETED").await;
    for path in [
        "/v2/lbaas/listeners",
        "/v2/lbaas/pools",
        "/v2/lbaas/healthmonitors",
        "/v2/lbaas/l7policies",
    ] {
        let root = path.rsplit('/').next().unwrap();
        assert_eq!(
            s.get(path).await[root],
            json!([]),
            "{path} empty after cascade delete"
        );
    }
}

async fn listener_rules(db: Db) {
    let s = TestServer::start(db).await;
    let lb_id = id(&s.active_lb("rules").await);
    let post = |body: Value| {
        let mut body = body;
        body["loadbalancer_id"] = json!(lb_id);
        s.call(
            "POST",
            "/v2/lbaas/listeners",
            Some(json!({"listener": body})),
        )
    };
    assert_fault(
        &post(json!({"protocol": "HTTP", "protocol_port": 0})).await,
        400,
        "Value should be greater or equal to 1",
    );
    assert_fault(
        &post(json!({"protocol": "FTP", "protocol_port": 21})).await,
        400,
        "Value should be one of:",
    );
    assert_fault(
        &post(json!({"protocol_port": 21})).await,
        400,
        "Mandatory field missing",
    );
    assert_fault(&post(json!({"protocol": "TCP", "protocol_port": 80, "insert_headers": {"X-Forwarded-For": "true"}})).await, 400, "insert-headers is not a valid option for a TCP protocol listener.");
    assert_fault(
        &post(json!({"protocol": "TERMINATED_HTTPS", "protocol_port": 443})).await,
        400,
        "An SNI or default certificate container reference must be provided",
    );
    assert_fault(
        &post(json!({"protocol": "HTTP", "protocol_port": 80, "default_tls_container_ref": "x"}))
            .await,
        400,
        "Certificate container references are not allowed on HTTP protocol listeners.",
    );
    assert_fault(
        &post(json!({"protocol": "HTTP", "protocol_port": 80, "allowed_cidrs": ["::/0"]})).await,
        400,
        "IP version incompatible",
    );
    assert_fault(
        &post(json!({"protocol": "HTTP", "protocol_port": 80, "hsts_preload": true})).await,
        400,
        "hsts_max_age",
    );
    assert_fault(
        &post(json!({"protocol": "HTTP", "protocol_port": 80, "timeout_client_data": -1})).await,
        400,
        "timeout_client_data",
    );
    assert_eq!(
        s.get("/v2/lbaas/listeners").await["listeners"],
        json!([]),
        "nothing stored"
    );
    let lb = s.get(&format!("/v2/lbaas/loadbalancers/{lb_id}")).await;
    assert_eq!(
        lb["loadbalancer"]["provisioning_status"], "ACTIVE",
        "refused writes do not lock"
    );

    let (status, _) = post(json!({"protocol": "TCP", "protocol_port": 80})).await;
    assert_eq!(status, 201);
    s.settle(&lb_id).await;
    assert_fault(
        &post(json!({"protocol": "HTTP", "protocol_port": 80})).await,
        409,
        "Another Listener on this Load Balancer is already using protocol TCP and protocol_port 80",
    );
    let (status, _) = post(json!({"protocol": "UDP", "protocol_port": 80})).await;
    assert_eq!(status, 201, "UDP may share a port number with TCP");
    s.settle(&lb_id).await;

    // Pool protocol must fit the listener.
    let listeners = s
        .get(&format!(
            "/v2/lbaas/listeners?protocol=UDP&loadbalancer_id={lb_id}"
        ))
        .await;
    let udp = id(&listeners["listeners"][0]);
    let got = s
        .call("POST", "/v2/lbaas/pools", Some(json!({"pool": {"listener_id": udp, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}})))
        .await;
    assert_fault(
        &got,
        400,
        "The pool protocol 'HTTP' is invalid while the listener protocol is 'UDP'.",
    );
    let got = s
        .call(
            "POST",
            "/v2/lbaas/pools",
            Some(json!({"pool": {"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}})),
        )
        .await;
    assert_fault(
        &got,
        400,
        "Must provide at least one of: loadbalancer_id, listener_id",
    );
    let got = s
        .call("POST", "/v2/lbaas/pools", Some(json!({"pool": {"loadbalancer_id": lb_id, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN", "session_persistence": {"type": "APP_COOKIE"}}})))
        .await;
    assert_fault(&got, 400, "cookie_name");
    assert_eq!(s.get("/v2/lbaas/pools").await["pools"], json!([]));
}

async fn children_rules(db: Db) {
    let s = TestServer::start(db).await;
    let lb_id = id(&s.active_lb("children").await);
    let listener = s
        .create(
            "/v2/lbaas/listeners",
            "listener",
            json!({"loadbalancer_id": lb_id, "protocol": "HTTP", "protocol_port": 80}),
        )
        .await;
    s.settle(&lb_id).await;
    let pool = s
        .create(
            "/v2/lbaas/pools",
            "pool",
            json!({"loadbalancer_id": lb_id, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}),
        )
        .await;
    let pool_id = id(&pool);
    s.settle(&lb_id).await;
    let members = format!("/v2/lbaas/pools/{pool_id}/members");
    assert_fault(
        &s.call(
            "POST",
            &members,
            Some(json!({"member": {"address": "169.254.169.254", "protocol_port": 80}})),
        )
        .await,
        400,
        "169.254.169.254 is not a valid option for member address",
    );
    assert_fault(
        &s.call(
            "POST",
            &members,
            Some(json!({"member": {"address": "127.0.0.1", "protocol_port": 80, "weight": 257}})),
        )
        .await,
        400,
        "Value should be lower or equal to 256",
    );
    assert_fault(
        &s.call(
            "POST",
            "/v2/lbaas/pools/nope/members",
            Some(json!({"member": {"address": "127.0.0.1", "protocol_port": 80}})),
        )
        .await,
        404,
        "Pool nope not found.",
    );
    s.create(
        &members,
        "member",
        json!({"address": "127.0.0.1", "protocol_port": 80}),
    )
    .await;
    s.settle(&lb_id).await;
    assert_fault(
        &s.call(
            "POST",
            &members,
            Some(json!({"member": {"address": "127.0.0.1", "protocol_port": 80}})),
        )
        .await,
        409,
        "Another member on this pool is already using ip 127.0.0.1 on protocol_port 80",
    );

    // Batch update replaces the pool's members.
    let (status, _) = s
        .call(
            "PUT",
            &members,
            Some(json!({"members": [
            {"address": "127.0.0.2", "protocol_port": 80},
            {"address": "127.0.0.3", "protocol_port": 80, "weight": 3}]})),
        )
        .await;
    assert_eq!(status, 202);
    s.settle(&lb_id).await;
    let listed = s.get(&members).await;
    let mut addrs: Vec<&str> = listed["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["address"].as_str().unwrap())
        .collect();
    addrs.sort();
    assert_eq!(addrs, ["127.0.0.2", "127.0.0.3"]);

    let hms = "/v2/lbaas/healthmonitors";
    assert_fault(&s.call("POST", hms, Some(json!({"healthmonitor": {"pool_id": pool_id, "type": "TCP", "delay": 5, "timeout": 3, "max_retries": 3, "url_path": "/x"}}))).await, 400, "url_path is not a valid option for health monitors of type TCP");
    assert_fault(&s.call("POST", hms, Some(json!({"healthmonitor": {"pool_id": pool_id, "type": "HTTP", "delay": 5, "timeout": 3, "max_retries": 11}}))).await, 400, "Value should be lower or equal to 10");
    assert_fault(&s.call("POST", hms, Some(json!({"healthmonitor": {"pool_id": pool_id, "type": "UDP-CONNECT", "delay": 5, "timeout": 3, "max_retries": 3}}))).await, 400, "only supported for pools of type UDP/SCTP");
    s.create(
        hms,
        "healthmonitor",
        json!({"pool_id": pool_id, "type": "PING", "delay": 5, "timeout": 3, "max_retries": 3}),
    )
    .await;
    s.settle(&lb_id).await;
    assert_fault(&s.call("POST", hms, Some(json!({"healthmonitor": {"pool_id": pool_id, "type": "TCP", "delay": 5, "timeout": 3, "max_retries": 3}}))).await, 409, "This pool already has a health monitor");

    let listener_id = id(&listener);
    let policies = "/v2/lbaas/l7policies";
    assert_fault(
        &s.call(
            "POST",
            policies,
            Some(json!({"l7policy": {"listener_id": listener_id, "action": "REDIRECT_TO_URL"}})),
        )
        .await,
        400,
        "redirect_url must not be None",
    );
    assert_fault(&s.call("POST", policies, Some(json!({"l7policy": {"listener_id": listener_id, "action": "REDIRECT_TO_URL", "redirect_url": "not a url"}}))).await, 400, "Value must be a valid URL string");
    let p1 = s
        .create(
            policies,
            "l7policy",
            json!({"listener_id": listener_id, "action": "REJECT"}),
        )
        .await;
    s.settle(&lb_id).await;
    let p2 = s.create(policies, "l7policy", json!({"listener_id": listener_id, "action": "REDIRECT_TO_URL", "redirect_url": "https://example.com/", "position": 1})).await;
    assert_eq!(p2["redirect_http_code"], 302);
    s.settle(&lb_id).await;
    let p1_now = s.get(&format!("{policies}/{}", id(&p1))).await;
    assert_eq!(
        p1_now["l7policy"]["position"], 2,
        "inserting at 1 shifts the others"
    );
    let rules = format!("{policies}/{}/rules", id(&p1));
    assert_fault(
        &s.call(
            "POST",
            &rules,
            Some(json!({"rule": {"type": "HEADER", "compare_type": "EQUAL_TO", "value": "x"}})),
        )
        .await,
        400,
        "Error parsing L7Rule",
    );
    assert_fault(
        &s.call(
            "POST",
            &rules,
            Some(json!({"rule": {"type": "PATH", "compare_type": "REGEX", "value": "(unclosed"}})),
        )
        .await,
        400,
        "Unable to parse regular expression",
    );
    assert_fault(&s.call("POST", &rules, Some(json!({"rule": {"type": "SSL_CONN_HAS_CERT", "compare_type": "CONTAINS", "value": "true"}}))).await, 400, "only supports the EQUAL_TO compare type");
    assert_eq!(s.get(&rules).await["rules"], json!([]));
}

on_both_databases!(full_tree, listener_rules, children_rules);
