//! Certificates about to expire, in the whole server: a TERMINATED_HTTPS listener whose
//! certificate ends within `[certificates] expiry_warning_days` raises a `CertificateExpiring`
//! alert in management naming the load balancer and the certificate; renewing the certificate
//! clears it.

mod common;

use std::time::{Duration, Instant};

use common::pki::make_cert;
use common::{Db, Options, TestServer};
use serde_json::{Value, json};

/// The `CertificateExpiring` alerts, firing or resolved.
async fn certificate_alerts(s: &TestServer) -> Vec<Value> {
    let alerts = s.get("/v1/management/alerts?resolved=true").await;
    alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["labels"]["alertname"] == "CertificateExpiring")
        .cloned()
        .collect()
}

async fn wait_for_alert(s: &TestServer, what: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let alerts = certificate_alerts(s).await;
        if pred(&alerts) {
            return alerts;
        }
        assert!(Instant::now() < deadline, "{what}: {alerts:?}\n{}", s.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn an_expiring_certificate_raises_an_alert_until_renewed(db: Db) {
    let mut s = TestServer::start_with(
        db,
        Options {
            extra_toml: "[certificates]\nexpiry_warning_days = 30\n\
                         expiry_check_interval_seconds = 1\n"
                .to_owned(),
            ..Options::default()
        },
    )
    .await;
    let certs = s.dir().join("certs");
    make_cert(&certs, "shop", "shop.test", 10);
    make_cert(&certs, "blog", "blog.test", 400);
    let lb = s.active_lb("tls").await;
    let lb_id = lb["id"].as_str().unwrap().to_owned();
    for (name, port) in [("shop", 443), ("blog", 8443)] {
        s.create(
            "/v2/lbaas/listeners",
            "listener",
            json!({"loadbalancer_id": lb_id, "protocol": "TERMINATED_HTTPS",
                   "protocol_port": port, "default_tls_container_ref": name}),
        )
        .await;
        s.settle(&lb_id).await;
    }

    let alerts = wait_for_alert(&s, "the expiring certificate raised no alert", |alerts| {
        alerts.iter().any(|a| a["status"] == "firing")
    })
    .await;
    assert_eq!(
        alerts.len(),
        1,
        "only the certificate ending in 10 days: {alerts:?}"
    );
    let alert = &alerts[0];
    assert_eq!(alert["labels"]["load_balancer_id"], lb_id.as_str());
    assert_eq!(alert["labels"]["key"], "certificate-expiring:shop");
    let summary = alert["annotations"]["summary"].as_str().unwrap();
    assert!(
        summary.contains("the certificate shop (shop.test) of listener")
            && (summary.contains("(9 days)") || summary.contains("(10 days)")),
        "{summary}"
    );

    // Renewed, the alert resolves; a restart in between changes nothing.
    make_cert(&certs, "shop", "shop.test", 365);
    s.restart().await;
    wait_for_alert(
        &s,
        "the renewed certificate's alert was not cleared",
        |alerts| alerts.len() == 1 && alerts[0]["status"] == "resolved",
    )
    .await;
}

on_both_databases!(an_expiring_certificate_raises_an_alert_until_renewed);
