//! Alerts in the running server: Prometheus posts to `/v1/management/api/v2/alerts` behind the
//! API's gate (administrators only); a load balancer whose realization fails raises an alert
//! from orchestration's events, which a webhook configured in `[management.alerts]` is told of;
//! a malformed `[management.alerts]` is refused by `check-config`.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::routing::post;
use common::{DEFAULT_SUBNET, Db, Options, TestServer, assert_fault};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A webhook on 127.0.0.1 recording what it is sent; its URL.
async fn webhook() -> (Arc<Mutex<Vec<Value>>>, String) {
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let record = Arc::clone(&received);
    let app = axum::Router::new().route(
        "/hook",
        post(move |body: axum::Json<Value>| async move {
            record.lock().unwrap().push(body.0);
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (received, url)
}

async fn a_realization_error_is_an_alert_a_webhook_is_told_of(db: Db) {
    let (received, url) = webhook().await;
    let s = TestServer::start_with(
        db,
        Options {
            noop_fail: Some(("boom".into(), 0)),
            default_provider: "noop",
            extra_toml: format!(
                "[management.alerts]\ndelivery_interval_seconds = 1\n\
                 group_by = [\"alertname\", \"load_balancer_id\"]\n\
                 receivers = [{{ name = \"ops\", kind = \"webhook\", url = \"{url}\" }}]\n\
                 inhibit_rules = [{{ source_matchers = ['alertname=\"DeviceUnreachable\"'], \
                 equal = [\"device\"] }}]\n"
            ),
            ..Default::default()
        },
    )
    .await;
    let failing = s
        .create(
            "/v2/lbaas/loadbalancers",
            "loadbalancer",
            json!({"name": "boom-1", "vip_subnet_id": DEFAULT_SUBNET}),
        )
        .await;
    let id = failing["id"].as_str().unwrap().to_owned();
    s.wait_for(
        &format!("/v2/lbaas/loadbalancers/{id}"),
        "loadbalancer",
        "ERROR",
    )
    .await;

    let path = format!("/v1/management/alerts?filter=load_balancer_id%3D%22{id}%22");
    let deadline = Instant::now() + Duration::from_secs(20);
    let alert = loop {
        let listed = s.get(&path).await;
        if let Some(alert) = listed["alerts"].as_array().unwrap().first() {
            break alert.clone();
        }
        assert!(Instant::now() < deadline, "no alert for {id}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(alert["labels"]["alertname"], "LoadBalancerRealizationError");
    assert_eq!(alert["labels"]["provider"], "noop");
    assert_eq!(alert["labels"]["severity"], "critical");
    assert_eq!(alert["status"], "firing");
    assert!(
        alert["annotations"]["summary"]
            .as_str()
            .unwrap()
            .contains("configured to fail"),
        "{alert}"
    );

    let deadline = Instant::now() + Duration::from_secs(20);
    let notification = loop {
        if let Some(body) = received.lock().unwrap().first().cloned() {
            break body;
        }
        assert!(Instant::now() < deadline, "the webhook was not told");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(notification["receiver"], "ops");
    assert_eq!(
        notification["groupLabels"],
        json!({"alertname": "LoadBalancerRealizationError", "load_balancer_id": id})
    );
    assert_eq!(
        notification["alerts"][0]["fingerprint"],
        alert["fingerprint"]
    );
}

on_both_databases!(a_realization_error_is_an_alert_a_webhook_is_told_of);

#[tokio::test]
async fn prometheus_posts_alerts_behind_the_gate() {
    let s = TestServer::start(Db::Sqlite).await;
    let alert = json!([{"labels": {"alertname": "HighLatency", "job": "lb"}}]);
    let refused = s
        .call_as(
            "POST",
            "/v1/management/api/v2/alerts",
            Some(alert.clone()),
            Some("some-project"),
        )
        .await;
    assert_fault(
        &refused,
        403,
        "Policy does not allow this request to be performed.",
    );
    assert_eq!(s.get("/v1/management/api/v2/alerts").await, json!([]));

    let (status, body) = s
        .call("POST", "/v1/management/api/v2/alerts", Some(alert))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let listed = s.get("/v1/management/api/v2/alerts").await;
    assert_eq!(listed[0]["labels"]["alertname"], "HighLatency", "{listed}");
    assert_eq!(listed[0]["status"]["state"], "active");

    let fingerprint = listed[0]["fingerprint"].as_str().unwrap();
    let (status, body) = s
        .call(
            "POST",
            &format!("/v1/management/alerts/{fingerprint}/acknowledge"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let audit = s.get("/v1/management/audit?action=alert.acknowledge").await;
    assert_eq!(audit["audit"][0]["target"], fingerprint, "{audit}");
    assert_eq!(audit["audit"][0]["result"], "success");
}

#[test]
fn check_config_refuses_a_bad_alerts_section() {
    let dir = tempfile::tempdir().unwrap();
    let check = |toml: &str| {
        let config = dir.path().join("fulcrum.toml");
        std::fs::write(
            &config,
            format!(
                "[database]\nurl = \"sqlite://{}\"\n[providers]\nenabled = [\"noop\"]\n\
                 default = \"noop\"\n{toml}",
                dir.path().join("f.db").display()
            ),
        )
        .unwrap();
        let out = common::check_config(&config);
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, stderr) = check(
        "[management.alerts]\ninhibit_rules = [{ source_matchers = ['alertname=~\"(\"'] }]\n",
    );
    assert!(!ok);
    assert!(
        stderr.contains("invalid regex \"(\" in matcher"),
        "{stderr}"
    );
    let (ok, stderr) = check(
        "[management.alerts]\nreceivers = [{ name = \"ops\", kind = \"pager\", url = \"x\" }]\n",
    );
    assert!(!ok);
    assert!(
        stderr.contains("does not have variant constructor pager"),
        "{stderr}"
    );
    let (ok, stderr) = check(
        "[management.alerts]\nresolve_timeout_seconds = 60\n\
         receivers = [{ name = \"am\", kind = \"alertmanager\", url = \"http://am:9093\" }]\n",
    );
    assert!(ok, "{stderr}");
}
