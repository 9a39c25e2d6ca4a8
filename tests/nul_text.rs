//! A NUL character in a request: refused with a 400 in a body, naming nothing in a URL's id, and
//! matching nothing in a filter; on SQLite, which could store it, and on PostgreSQL, which
//! cannot; never a 500, and nothing stored.

mod common;

use common::{DEFAULT_SUBNET, Db, TestServer, assert_fault};
use serde_json::{Value, json};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

const NUL_FAULT: &str = "Value must not contain the NUL character";

async fn nul_is_refused_in_bodies(db: Db) {
    let s = TestServer::start(db).await;
    let lb = id(&s.active_lb("lb").await);
    let pool = s
        .create(
            "/v2/lbaas/pools",
            "pool",
            json!({"loadbalancer_id": lb, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}),
        )
        .await;
    s.settle(&lb).await;
    let lbs_before = s.get("/v2/lbaas/loadbalancers").await;
    let pools_before = s.get("/v2/lbaas/pools").await;
    for (field, value) in [
        ("name", json!("a\u{0}b")),
        ("description", json!("\u{0}")),
        ("tags", json!(["ok", "t\u{0}"])),
    ] {
        let body = json!({"loadbalancer": {"vip_subnet_id": DEFAULT_SUBNET, field: value}});
        let got = s.call("POST", "/v2/lbaas/loadbalancers", Some(body)).await;
        assert_fault(
            &got,
            400,
            &format!("Invalid input for field/attribute {field}. Value: '"),
        );
        assert_fault(&got, 400, NUL_FAULT);
        let got = s
            .call(
                "PUT",
                &format!("/v2/lbaas/pools/{}", id(&pool)),
                Some(json!({"pool": {field: value}})),
            )
            .await;
        assert_fault(&got, 400, NUL_FAULT);
    }
    let members_url = format!("/v2/lbaas/pools/{}/members", id(&pool));
    let got = s
        .call(
            "POST",
            &members_url,
            Some(
                json!({"member": {"address": "10.0.0.1", "protocol_port": 80,
                "name": "m\u{0}"}}),
            ),
        )
        .await;
    assert_fault(&got, 400, "Invalid input for field/attribute name.");
    let got = s
        .call(
            "PUT",
            &members_url,
            Some(
                json!({"members": [{"address": "10.0.0.2", "protocol_port": 80,
                "name": "\u{0}m"}]}),
            ),
        )
        .await;
    assert_fault(&got, 400, NUL_FAULT);
    let got = s
        .call(
            "POST",
            "/v2/lbaas/listeners",
            Some(
                json!({"listener": {"loadbalancer_id": "\u{0}", "protocol": "HTTP",
                "protocol_port": 80}}),
            ),
        )
        .await;
    assert_fault(
        &got,
        400,
        "Invalid input for field/attribute loadbalancer_id.",
    );

    assert_eq!(s.get("/v2/lbaas/loadbalancers").await, lbs_before);
    assert_eq!(s.get("/v2/lbaas/pools").await, pools_before);
    assert_eq!(s.get(&members_url).await["members"], json!([]));
    assert_eq!(s.get("/v2/lbaas/listeners").await["listeners"], json!([]));
    assert!(
        !s.log().contains("ERROR"),
        "no request was Fulcrum's fault:\n{}",
        s.log()
    );
}

async fn nul_in_urls_names_and_matches_nothing(db: Db) {
    let s = TestServer::start(db).await;
    let lb = id(&s.active_lb("lb").await);
    for path in [
        "/v2/lbaas/loadbalancers/%00",
        "/v2/lbaas/loadbalancers/a%00b",
        "/v2/lbaas/loadbalancers/a%00b/status",
        "/v2/lbaas/listeners/%00",
        "/v2/lbaas/pools/%00",
        "/v2/lbaas/pools/%00/members",
        "/v2/lbaas/healthmonitors/%00",
        "/v2/lbaas/l7policies/%00/rules",
        "/v2/lbaas/flavors/%00",
        "/v2/lbaas/flavorprofiles/%00",
        "/v2/lbaas/availabilityzones/%00",
    ] {
        let got = s.call("GET", path, None).await;
        assert_fault(&got, 404, "not found");
        let got = s.call("DELETE", path, None).await;
        assert!(
            [404, 405].contains(&got.0.as_u16()),
            "DELETE {path}: {} {}",
            got.0,
            got.1
        );
    }
    let got = s
        .call(
            "PUT",
            "/v2/lbaas/loadbalancers/%00",
            Some(json!({"loadbalancer": {"name": "x"}})),
        )
        .await;
    assert_fault(&got, 404, "Load Balancer");

    for query in [
        "name=a%00b",
        "id=%00",
        "project_id=%00",
        "tags=a%00",
        "tags-any=%00",
    ] {
        let got = s.get(&format!("/v2/lbaas/loadbalancers?{query}")).await;
        assert_eq!(got["loadbalancers"], json!([]), "{query}");
    }
    // No object holds such a tag, so excluding those that do excludes none.
    for query in ["not-tags=a,%00", "not-tags-any=%00"] {
        let got = s.get(&format!("/v2/lbaas/loadbalancers?{query}")).await;
        assert_eq!(got["loadbalancers"][0]["id"], lb.as_str(), "{query}");
    }
    let got = s
        .call("GET", "/v2/lbaas/loadbalancers?marker=%00", None)
        .await;
    assert_fault(&got, 400, "Supplied pagination marker");
    assert_eq!(
        s.get("/v2/lbaas/flavors?name=%00").await["flavors"],
        json!([])
    );

    let mut quota = s.get("/v2/lbaas/quotas/%00").await;
    let mut defaults = s.get("/v2/lbaas/quotas/some-project").await;
    for q in [&mut quota, &mut defaults] {
        let q = q["quota"].as_object_mut().unwrap();
        q.remove("project_id");
        q.remove("tenant_id");
    }
    assert_eq!(quota, defaults, "the defaults");
    let got = s
        .call(
            "PUT",
            "/v2/lbaas/quotas/%00",
            Some(json!({"quota": {"load_balancer": 1}})),
        )
        .await;
    assert_fault(&got, 400, NUL_FAULT);
    assert_eq!(s.call("DELETE", "/v2/lbaas/quotas/%00", None).await.0, 204);

    assert_eq!(
        s.get(&format!("/v2/lbaas/loadbalancers/{lb}")).await["loadbalancer"]["provisioning_status"],
        "ACTIVE"
    );
    assert!(
        !s.log().contains("ERROR"),
        "no request was Fulcrum's fault:\n{}",
        s.log()
    );
}

on_both_databases!(
    nul_is_refused_in_bodies,
    nul_in_urls_names_and_matches_nothing
);
