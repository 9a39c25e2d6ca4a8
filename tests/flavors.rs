//! Provider capabilities, flavor profiles, flavors, availability zone profiles and zones over
//! HTTP, and load balancers created with a flavor or in a zone.

mod common;

use common::{DEFAULT_SUBNET, Db, TestServer, assert_fault};
use serde_json::{Value, json};

const FP: &str = "/v2/lbaas/flavorprofiles";
const FLAVORS: &str = "/v2/lbaas/flavors";
const AZP: &str = "/v2/lbaas/availabilityzoneprofiles";
const AZS: &str = "/v2/lbaas/availabilityzones";
const LBS: &str = "/v2/lbaas/loadbalancers";

async fn profile(s: &TestServer, name: &str, provider: &str, data: &str) -> String {
    let p = s
        .create(
            FP,
            "flavorprofile",
            json!({"name": name, "provider_name": provider, "flavor_data": data}),
        )
        .await;
    p["id"].as_str().unwrap().to_string()
}

async fn flavor(s: &TestServer, name: &str, profile_id: &str, enabled: bool) -> String {
    let f = s
        .create(
            FLAVORS,
            "flavor",
            json!({"name": name, "flavor_profile_id": profile_id, "enabled": enabled}),
        )
        .await;
    f["id"].as_str().unwrap().to_string()
}

async fn zone(s: &TestServer, name: &str, provider: &str) {
    let data = if provider == "noop" {
        "{\"compute_zone\": \"nova\"}"
    } else {
        "{}"
    };
    let p = s
        .create(
            AZP,
            "availability_zone_profile",
            json!({"name": format!("{name}-p"), "provider_name": provider,
                   "availability_zone_data": data}),
        )
        .await;
    s.create(
        AZS,
        "availability_zone",
        json!({"name": name, "availability_zone_profile_id": p["id"]}),
    )
    .await;
}

fn lb_body(extra: Value) -> Value {
    let mut body = json!({"vip_subnet_id": DEFAULT_SUBNET});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    json!({ "loadbalancer": body })
}

async fn capabilities(db: Db) {
    let s = TestServer::start(db).await;
    let noop = s.get("/v2/lbaas/providers/noop/flavor_capabilities").await;
    assert_eq!(
        noop["flavor_capabilities"][0]["name"], "amp_image_tag",
        "{noop}"
    );
    let haproxy = s
        .get("/v2/lbaas/providers/haproxy/flavor_capabilities")
        .await;
    assert_eq!(
        haproxy["flavor_capabilities"][0]["name"], "nbthread",
        "{haproxy}"
    );
    assert_eq!(
        haproxy["flavor_capabilities"][1]["name"], "maxconn",
        "{haproxy}"
    );
    let zones = s
        .get("/v2/lbaas/providers/noop/availability_zone_capabilities?name=volume_zone")
        .await;
    let names: Vec<&Value> = zones["availability_zone_capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["name"])
        .collect();
    assert_eq!(names, vec![&json!("volume_zone")]);
    let fields = s
        .get("/v2/lbaas/providers/noop/availability_zone_capabilities?fields=name")
        .await;
    assert!(fields["availability_zone_capabilities"][0]["description"].is_null());
    let unknown = s
        .call("GET", "/v2/lbaas/providers/nope/flavor_capabilities", None)
        .await;
    assert_fault(&unknown, 400, "Provider 'nope' is not enabled.");
}

async fn profile_and_flavor_crud(db: Db) {
    let s = TestServer::start(db).await;
    let fp = profile(&s, "small", "noop", "{\"amp_image_tag\": \"x\"}").await;
    let shown = s.get(&format!("{FP}/{fp}")).await;
    assert_eq!(
        shown["flavorprofile"]["flavor_data"],
        "{\"amp_image_tag\": \"x\"}"
    );
    assert_eq!(shown["flavorprofile"]["provider_name"], "noop");
    let listed = s.get(&format!("{FP}?name=small")).await;
    assert_eq!(listed["flavorprofiles"].as_array().unwrap().len(), 1);
    assert!(listed["flavorprofile_links"].is_array());

    let f = flavor(&s, "gold", &fp, true).await;
    let shown = s.get(&format!("{FLAVORS}/{f}")).await["flavor"].clone();
    assert_eq!(shown["name"], "gold");
    assert_eq!(shown["enabled"], true);
    assert_eq!(shown["flavor_profile_id"], fp);
    let dup = s
        .call(
            "POST",
            FLAVORS,
            Some(json!({"flavor": {"name": "gold", "flavor_profile_id": fp}})),
        )
        .await;
    assert_fault(&dup, 409, "A flavor of gold already exists.");
    let missing = s
        .call(
            "POST",
            FLAVORS,
            Some(json!({"flavor": {"name": "x", "flavor_profile_id": "bogus"}})),
        )
        .await;
    assert_fault(&missing, 400, "Value should be UUID format");

    let (status, body) = s
        .call(
            "PUT",
            &format!("{FLAVORS}/{f}"),
            Some(json!({"flavor": {"description": "shiny", "enabled": false}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["flavor"]["description"], "shiny");
    assert_eq!(body["flavor"]["enabled"], false);

    flavor(&s, "silver", &fp, true).await;
    let page = s
        .get(&format!("{FLAVORS}?limit=1&sort=name:asc&fields=name"))
        .await;
    assert_eq!(page["flavors"], json!([{"name": "gold"}]));
    assert_eq!(page["flavors_links"][0]["rel"], "next");

    let in_use = s.call("DELETE", &format!("{FP}/{fp}"), None).await;
    assert_fault(&in_use, 409, "is in use and cannot be modified.");
    let change = s
        .call(
            "PUT",
            &format!("{FP}/{fp}"),
            Some(json!({"flavorprofile": {"flavor_data": "{}"}})),
        )
        .await;
    assert_fault(&change, 409, "is in use and cannot be modified.");
    let renamed = s
        .call(
            "PUT",
            &format!("{FP}/{fp}"),
            Some(json!({"flavorprofile": {"name": "renamed"}})),
        )
        .await;
    assert_eq!(renamed.0, 200, "{}", renamed.1);

    for flavor in s.get(FLAVORS).await["flavors"].as_array().unwrap() {
        let (status, _) = s
            .call(
                "DELETE",
                &format!("{FLAVORS}/{}", flavor["id"].as_str().unwrap()),
                None,
            )
            .await;
        assert_eq!(status, 204);
    }
    let (status, _) = s.call("DELETE", &format!("{FP}/{fp}"), None).await;
    assert_eq!(status, 204);
    let gone = s.call("GET", &format!("{FP}/{fp}"), None).await;
    assert_fault(&gone, 404, &format!("Flavor profile {fp} not found."));
}

async fn invalid_flavor_data(db: Db) {
    let s = TestServer::start(db).await;
    let bad_json = s
        .call(
            "POST",
            FP,
            Some(json!({"flavorprofile": {"name": "a", "provider_name": "noop", "flavor_data": "{nope"}})),
        )
        .await;
    assert_fault(
        &bad_json,
        400,
        "{nope is not a valid option for flavor_data",
    );
    let unsupported = s
        .call(
            "POST",
            FP,
            Some(json!({"flavorprofile": {"name": "a", "provider_name": "haproxy",
                                          "flavor_data": "{\"loadbalancer_topology\": \"ACTIVE_STANDBY\"}"}})),
        )
        .await;
    assert_fault(
        &unsupported,
        501,
        "Unsupported flavor metadata key(s): loadbalancer_topology",
    );
    let disabled = s
        .call(
            "POST",
            FP,
            Some(
                json!({"flavorprofile": {"name": "a", "provider_name": "f5", "flavor_data": "{}"}}),
            ),
        )
        .await;
    assert_fault(&disabled, 400, "Provider 'f5' is not enabled.");
    let missing = s
        .call(
            "POST",
            FP,
            Some(json!({"flavorprofile": {"name": "a", "provider_name": "noop"}})),
        )
        .await;
    assert_fault(
        &missing,
        400,
        "flavor_data. Value: 'None'. Mandatory field missing.",
    );
    assert_eq!(s.get(FP).await["flavorprofiles"], json!([]));
    // The HAProxy provider takes an empty profile.
    profile(&s, "plain", "haproxy", "{}").await;
}

async fn load_balancer_with_flavor(db: Db) {
    let s = TestServer::start(db).await;
    let fp = profile(&s, "p", "noop", "{}").await;
    let f = flavor(&s, "gold", &fp, true).await;
    let off = flavor(&s, "off", &fp, false).await;

    // No provider given: the flavor's provider is used.
    let lb = s
        .create(
            LBS,
            "loadbalancer",
            json!({"vip_subnet_id": DEFAULT_SUBNET, "flavor_id": f}),
        )
        .await;
    assert_eq!(lb["flavor_id"], f);
    assert_eq!(lb["provider"], "noop");
    let id = lb["id"].as_str().unwrap().to_string();
    let active = s.settle(&id).await;
    assert_eq!(active["flavor_id"], f);

    let disabled = s
        .call("POST", LBS, Some(lb_body(json!({"flavor_id": off}))))
        .await;
    assert_fault(
        &disabled,
        400,
        &format!("The selected flavor is not allowed in this deployment: {off}"),
    );
    let wrong = s
        .call(
            "POST",
            LBS,
            Some(lb_body(json!({"flavor_id": f, "provider": "haproxy"}))),
        )
        .await;
    assert_fault(
        &wrong,
        400,
        &format!("Flavor '{f}' is not compatible with provider 'haproxy'"),
    );
    let unknown = s
        .call(
            "POST",
            LBS,
            Some(lb_body(
                json!({"flavor_id": uuid::Uuid::new_v4().to_string()}),
            )),
        )
        .await;
    assert_fault(&unknown, 400, "Validation failure: Invalid flavor_id.");

    let in_use = s.call("DELETE", &format!("{FLAVORS}/{f}"), None).await;
    assert_fault(
        &in_use,
        409,
        &format!("Flavor {f} is in use and cannot be modified."),
    );

    // The graph create goes through the same checks.
    let graph = s
        .call(
            "POST",
            LBS,
            Some(lb_body(json!({"flavor_id": off, "listeners": [
                {"protocol": "HTTP", "protocol_port": 80}
            ]}))),
        )
        .await;
    assert_fault(&graph, 400, "is not allowed in this deployment");
}

async fn zones(db: Db) {
    let s = TestServer::start(db).await;
    zone(&s, "az1", "noop").await;
    zone(&s, "hz", "haproxy").await;
    let shown = s.get(&format!("{AZS}/az1")).await["availability_zone"].clone();
    assert_eq!(shown["enabled"], true);
    let profiles = s.get(AZP).await;
    assert_eq!(
        profiles["availability_zone_profiles"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(profiles["availability_zone_profile_links"].is_array());
    let listed = s.get(&format!("{AZS}?name=az1")).await;
    assert_eq!(listed["availability_zones"].as_array().unwrap().len(), 1);

    let lb = s
        .create(
            LBS,
            "loadbalancer",
            json!({"vip_subnet_id": DEFAULT_SUBNET, "availability_zone": "az1"}),
        )
        .await;
    assert_eq!(lb["availability_zone"], "az1");
    s.settle(lb["id"].as_str().unwrap()).await;

    let unknown = s
        .call(
            "POST",
            LBS,
            Some(lb_body(json!({"availability_zone": "nowhere"}))),
        )
        .await;
    assert_fault(
        &unknown,
        400,
        "Validation failure: Invalid availability zone.",
    );
    let other = s
        .call(
            "POST",
            LBS,
            Some(lb_body(json!({"availability_zone": "hz"}))),
        )
        .await;
    assert_fault(
        &other,
        400,
        "Availability zone 'hz' is not compatible with provider 'noop'",
    );

    let (status, body) = s
        .call(
            "PUT",
            &format!("{AZS}/az1"),
            Some(json!({"availability_zone": {"enabled": false, "description": "d"}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["availability_zone"]["description"], "d");
    let disabled = s
        .call(
            "POST",
            LBS,
            Some(lb_body(json!({"availability_zone": "az1"}))),
        )
        .await;
    assert_fault(
        &disabled,
        400,
        "The selected availability_zone is not allowed in this deployment: az1",
    );
    let in_use = s.call("DELETE", &format!("{AZS}/az1"), None).await;
    assert_fault(
        &in_use,
        409,
        "Availability Zone az1 is in use and cannot be modified.",
    );
    let (status, _) = s.call("DELETE", &format!("{AZS}/hz"), None).await;
    assert_eq!(status, 204);
    let gone = s.call("GET", &format!("{AZS}/hz"), None).await;
    assert_fault(&gone, 404, "Availability Zone hz not found.");
}

async fn admin_only_writes(db: Db) {
    let s = TestServer::start(db).await;
    let project = Some("p1");
    let forbidden = "Policy does not allow this request to be performed.";
    let fp_body =
        json!({"flavorprofile": {"name": "a", "provider_name": "noop", "flavor_data": "{}"}});
    let denied = s.call_as("POST", FP, Some(fp_body.clone()), project).await;
    assert_fault(&denied, 403, forbidden);
    let denied = s
        .call_as(
            "GET",
            "/v2/lbaas/providers/noop/flavor_capabilities",
            None,
            project,
        )
        .await;
    assert_fault(&denied, 403, forbidden);

    let fp = profile(&s, "a", "noop", "{}").await;
    let f = flavor(&s, "gold", &fp, true).await;
    let denied = s
        .call_as(
            "POST",
            FLAVORS,
            Some(json!({"flavor": {"name": "x", "flavor_profile_id": fp}})),
            project,
        )
        .await;
    assert_fault(&denied, 403, forbidden);
    let denied = s
        .call_as("DELETE", &format!("{FLAVORS}/{f}"), None, project)
        .await;
    assert_fault(&denied, 403, forbidden);
    let denied = s
        .call_as(
            "POST",
            AZS,
            Some(json!({"availability_zone": {"name": "z", "availability_zone_profile_id": fp}})),
            project,
        )
        .await;
    assert_fault(&denied, 403, forbidden);

    // Everyone may read flavors and select them; an admin of a project may write.
    let (status, body) = s.call_as("GET", FLAVORS, None, project).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["flavors"].as_array().unwrap().len(), 1);
    let (status, body) = s
        .call_as("POST", LBS, Some(lb_body(json!({"flavor_id": f}))), project)
        .await;
    assert_eq!(status, 201, "{body}");
    let resp = s
        .http
        .post(format!("{}{FP}", s.base))
        .header("X-Project-Id", "p1")
        .header("X-Roles", "member,admin")
        .json(&fp_body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
}

on_both_databases!(
    capabilities,
    profile_and_flavor_crud,
    invalid_flavor_data,
    load_balancer_with_flavor,
    zones,
    admin_only_writes,
);
