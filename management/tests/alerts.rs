//! Alerts as an operator and Prometheus meet them: posted in Alertmanager's v2 shape, one alert
//! per label set however often it is posted, resolved by its end, hidden by silences and by
//! inhibition, listed with filters, acknowledged, and raised from orchestration's events; over
//! real HTTP, on SQLite and PostgreSQL.

mod common;

use std::sync::Arc;

use common::{Alone, Served, assert_fault};
use fulcrum_core::events::Event;
use fulcrum_core::tasks::BackgroundTask;
use fulcrum_management::ManagementConfig;
use fulcrum_management::alerts::from_events::AlertEvents;
use fulcrum_management::alerts::model::{Labels, fingerprint};
use fulcrum_management::events::{EventHandler, EventsTask};
use fulcrum_store::Store;
use reqwest::StatusCode;
use serde_json::{Value, json};

const ALERTS: &str = "/v1/management/api/v2/alerts";
const SILENCES: &str = "/v1/management/api/v2/silences";

fn labels(value: &Value) -> Labels {
    serde_json::from_value(value.clone()).unwrap()
}

fn in_minutes(minutes: i64) -> String {
    let at = time::OffsetDateTime::now_utc() + time::Duration::minutes(minutes);
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

async fn post_alerts(s: &Served, alerts: Value) {
    let (status, body) = s.call("POST", ALERTS, Some(alerts)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.is_null(),
        "Alertmanager answers with an empty body: {body}"
    );
}

async fn the_same_alert_posted_100_times_is_one_alert(store: Store) {
    let s = Served::start(&store, ManagementConfig::default()).await;
    let alert_labels =
        json!({"alertname": "HighLatency", "instance": "lb-1:9100", "severity": "warning"});
    for i in 0..100 {
        post_alerts(
            &s,
            json!([{
                "labels": alert_labels,
                "annotations": {"summary": format!("post {i}")},
                "startsAt": format!("2026-01-01T00:{:02}:00Z", i % 60),
                "generatorURL": "http://prometheus:9090/graph",
            }]),
        )
        .await;
    }
    let alerts = s.get(ALERTS).await;
    let alerts = alerts.as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let alert = &alerts[0];
    assert_eq!(alert["fingerprint"], fingerprint(&labels(&alert_labels)));
    assert_eq!(alert["labels"], alert_labels);
    assert_eq!(
        alert["annotations"]["summary"], "post 99",
        "the latest post wins"
    );
    assert_eq!(alert["status"]["state"], "active");
    assert_eq!(alert["status"]["silencedBy"], json!([]));
    assert_eq!(alert["generatorURL"], "http://prometheus:9090/graph");
    assert_eq!(
        alert["startsAt"], "2026-01-01T00:00:00Z",
        "a firing alert keeps the start it was first posted with"
    );
}

on_both_databases!(the_same_alert_posted_100_times_is_one_alert);

async fn resolution_clears_the_alert(store: Store) {
    let config = ManagementConfig {
        alerts: fulcrum_management::config::AlertsConfig {
            resolve_timeout_seconds: 1,
            ..Default::default()
        },
        ..Default::default()
    };
    let s = Served::start(&store, config).await;
    post_alerts(
        &s,
        json!([
            {"labels": {"alertname": "Explicit"}, "endsAt": in_minutes(10)},
            {"labels": {"alertname": "TimesOut"}},
        ]),
    )
    .await;
    assert_eq!(s.get(ALERTS).await.as_array().unwrap().len(), 2);

    post_alerts(
        &s,
        json!([{"labels": {"alertname": "Explicit"}, "startsAt": in_minutes(-5), "endsAt": in_minutes(-1)}]),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(
        s.get(ALERTS).await,
        json!([]),
        "an endsAt in the past resolves, and so does the resolve timeout"
    );
    let listed = s.get("/v1/management/alerts?resolved=true").await;
    let statuses: Vec<&Value> = listed["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["status"])
        .collect();
    assert_eq!(
        statuses,
        [&json!("resolved"), &json!("resolved")],
        "{listed}"
    );

    let explicit = fingerprint(&Labels::from([(
        "alertname".to_owned(),
        "Explicit".to_owned(),
    )]));
    let answer = s
        .call(
            "POST",
            &format!("/v1/management/alerts/{explicit}/acknowledge"),
            None,
        )
        .await;
    assert_fault(
        &answer,
        409,
        &format!("Alert {explicit} is resolved; there is nothing to acknowledge."),
    );

    post_alerts(&s, json!([{"labels": {"alertname": "TimesOut"}}])).await;
    let again = s.get(ALERTS).await;
    assert_eq!(
        again.as_array().unwrap().len(),
        1,
        "a resolved alert can fire again: {again}"
    );
}

on_both_databases!(resolution_clears_the_alert);

async fn a_silence_hides_the_alert_until_it_expires(store: Store) {
    let s = Served::start(&store, ManagementConfig::default()).await;
    post_alerts(
        &s,
        json!([
            {"labels": {"alertname": "MemberDown", "device": "bigip-1"}},
            {"labels": {"alertname": "MemberDown", "device": "bigip-2"}},
        ]),
    )
    .await;
    let (status, created) = s
        .call(
            "POST",
            SILENCES,
            Some(json!({
                "matchers": [
                    {"name": "alertname", "value": "MemberDown", "isRegex": false},
                    {"name": "device", "value": "bigip-[1]", "isRegex": true, "isEqual": true},
                ],
                "startsAt": in_minutes(-1),
                "endsAt": in_minutes(60),
                "createdBy": "ops",
                "comment": "maintenance of bigip-1",
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let id = created["silenceID"].as_str().unwrap().to_owned();

    let alerts = s.get(ALERTS).await;
    let silenced = alerts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["labels"]["device"] == "bigip-1")
        .unwrap();
    assert_eq!(silenced["status"]["state"], "suppressed");
    assert_eq!(silenced["status"]["silencedBy"], json!([id]));
    let visible = s.get(&format!("{ALERTS}?silenced=false")).await;
    let devices: Vec<&Value> = visible
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["labels"]["device"])
        .collect();
    assert_eq!(
        devices,
        [&json!("bigip-2")],
        "the silence hides bigip-1's alert only"
    );

    let (status, updated) = s
        .call(
            "POST",
            SILENCES,
            Some(json!({
                "id": id,
                "matchers": [
                    {"name": "alertname", "value": "MemberDown", "isRegex": false},
                    {"name": "device", "value": "bigip-[1]", "isRegex": true, "isEqual": true},
                ],
                "startsAt": in_minutes(-1),
                "endsAt": in_minutes(120),
                "createdBy": "ops",
                "comment": "maintenance of bigip-1, extended",
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(
        updated["silenceID"],
        id.as_str(),
        "posting with its id updates it"
    );

    let listed = s.get(SILENCES).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["comment"], "maintenance of bigip-1, extended");
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["status"]["state"], "active");
    assert_eq!(listed[0]["createdBy"], "ops");
    let filtered = s
        .get(&format!("{SILENCES}?filter=alertname%3D%22Other%22"))
        .await;
    assert_eq!(filtered, json!([]));

    let (status, _) = s
        .call(
            "DELETE",
            &format!("/v1/management/api/v2/silence/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let expired = s.get(&format!("/v1/management/api/v2/silence/{id}")).await;
    assert_eq!(expired["status"]["state"], "expired");
    let visible = s.get(&format!("{ALERTS}?silenced=false")).await;
    assert_eq!(
        visible.as_array().unwrap().len(),
        2,
        "expiry unmutes at once"
    );

    let again = s
        .call(
            "DELETE",
            &format!("/v1/management/api/v2/silence/{id}"),
            None,
        )
        .await;
    assert_fault(&again, 409, &format!("Silence {id} has already expired."));
    let unknown = s
        .call("DELETE", "/v1/management/api/v2/silence/nope", None)
        .await;
    assert_fault(&unknown, 404, "Silence nope not found.");

    let audit = s.get("/v1/management/audit").await;
    let actions: Vec<(&str, &str)> = audit["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["result"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [
            ("silence.expire", "failure"),
            ("silence.expire", "failure"),
            ("silence.expire", "success"),
            ("silence.update", "success"),
            ("silence.create", "success"),
        ]
    );
}

on_both_databases!(a_silence_hides_the_alert_until_it_expires);

async fn alerts_are_filtered_and_acknowledged(store: Store) {
    let s = Served::start(&store, ManagementConfig::default()).await;
    post_alerts(
        &s,
        json!([
            {"labels": {"alertname": "DiskFull", "severity": "critical"}},
            {"labels": {"alertname": "DiskSlow", "severity": "warning"}},
            {"labels": {"alertname": "CpuHot", "severity": "warning"}},
        ]),
    )
    .await;
    let names = |body: &Value| -> Vec<String> {
        let list = body.get("alerts").unwrap_or(body);
        let mut names: Vec<String> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["labels"]["alertname"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    let by_regex = s
        .get(&format!("{ALERTS}?filter=alertname%3D~%22Disk.%2A%22"))
        .await;
    assert_eq!(names(&by_regex), ["DiskFull", "DiskSlow"]);
    let anchored = s
        .get(&format!("{ALERTS}?filter=alertname%3D~%22Disk%22"))
        .await;
    assert_eq!(
        names(&anchored),
        Vec::<String>::new(),
        "regexes are anchored"
    );
    let two = s
        .get(&format!(
            "{ALERTS}?filter=severity%3D%22warning%22&filter=alertname%21%3D%22CpuHot%22"
        ))
        .await;
    assert_eq!(names(&two), ["DiskSlow"]);

    let fp = fingerprint(&Labels::from([
        ("alertname".to_owned(), "DiskFull".to_owned()),
        ("severity".to_owned(), "critical".to_owned()),
    ]));
    let (status, acked) = s
        .call(
            "POST",
            &format!("/v1/management/alerts/{fp}/acknowledge"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{acked}");
    assert_eq!(acked["alert"]["acknowledged"], true);
    assert_eq!(acked["alert"]["fingerprint"], fp.as_str());
    let acknowledged = s.get("/v1/management/alerts?acknowledged=true").await;
    assert_eq!(names(&acknowledged), ["DiskFull"]);
    let open = s.get("/v1/management/alerts?acknowledged=false").await;
    assert_eq!(names(&open), ["CpuHot", "DiskSlow"]);

    let unknown = s
        .call(
            "POST",
            "/v1/management/alerts/0123456789abcdef/acknowledge",
            None,
        )
        .await;
    assert_fault(&unknown, 404, "Alert 0123456789abcdef not found.");
    let audit = s.get("/v1/management/audit?action=alert.acknowledge").await;
    let results: Vec<(&Value, &Value)> = audit["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (&e["target"], &e["result"]))
        .collect();
    assert_eq!(
        results,
        [
            (&json!("0123456789abcdef"), &json!("failure")),
            (&json!(fp), &json!("success")),
        ]
    );
}

on_both_databases!(alerts_are_filtered_and_acknowledged);

#[tokio::test]
async fn bad_input_is_refused_with_the_reason_and_changes_nothing() {
    common::on_sqlite(|store| async move {
        let s = Served::start(&store, ManagementConfig::default()).await;
        let good = json!({"labels": {"alertname": "Good"}});
        for (bad, reason) in [
            (
                json!({"labels": {}}),
                "alert 1: an alert needs at least one label with a value.",
            ),
            (
                json!({"labels": {"a": ""}}),
                "alert 1: an alert needs at least one label with a value.",
            ),
            (
                json!({"labels": {"bad-name": "x"}}),
                "alert 1: invalid label name \"bad-name\".",
            ),
            (
                json!({"labels": {"a": "b"}, "startsAt": "yesterday"}),
                "alert 1: startsAt \"yesterday\" is not an RFC 3339 time.",
            ),
            (
                json!({"labels": {"a": "b"}, "startsAt": in_minutes(0), "endsAt": in_minutes(-10)}),
                "alert 1: endsAt must not be before startsAt.",
            ),
        ] {
            let answer = s.call("POST", ALERTS, Some(json!([good, bad]))).await;
            assert_fault(&answer, 400, reason);
        }
        let (status, body) = s.call("POST", ALERTS, Some(json!({"labels": {}}))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(
            s.get(ALERTS).await,
            json!([]),
            "a refused batch records nothing"
        );

        let silence = |matchers: Value, ends: String| {
            json!({"matchers": matchers, "startsAt": in_minutes(0), "endsAt": ends,
                   "createdBy": "ops", "comment": "why"})
        };
        let matcher = json!([{"name": "a", "value": "b", "isRegex": false}]);
        for (bad, reason) in [
            (
                silence(json!([]), in_minutes(5)),
                "a silence needs at least one matcher.",
            ),
            (
                silence(
                    json!([{"name": "a", "value": "(", "isRegex": true}]),
                    in_minutes(5),
                ),
                "invalid regex \"(\" in matcher: ",
            ),
            (
                silence(matcher.clone(), in_minutes(-5)),
                "endsAt must be after startsAt.",
            ),
        ] {
            let (status, body) = s.call("POST", SILENCES, Some(bad)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert!(
                body["faultstring"].as_str().unwrap().starts_with(reason),
                "{body} should say {reason}"
            );
        }
        let mut no_comment = silence(matcher.clone(), in_minutes(5));
        no_comment["comment"] = json!(" ");
        let answer = s.call("POST", SILENCES, Some(no_comment)).await;
        assert_fault(&answer, 400, "comment is required.");
        let mut unknown = silence(matcher, in_minutes(5));
        unknown["id"] = json!("no-such-silence");
        let answer = s.call("POST", SILENCES, Some(unknown)).await;
        assert_fault(&answer, 404, "Silence no-such-silence not found.");
        assert_eq!(s.get(SILENCES).await, json!([]), "no silence was made");

        let answer = s
            .call("GET", &format!("{ALERTS}?filter=alertname"), None)
            .await;
        assert_fault(
            &answer,
            400,
            "filter: invalid matcher \"alertname\": expected name=\"value\" with =, !=, =~ or !~.",
        );
        let answer = s
            .call("GET", &format!("{ALERTS}?silenced=maybe"), None)
            .await;
        assert_fault(
            &answer,
            400,
            "silenced must be true or false, not \"maybe\".",
        );
        let answer = s
            .call("GET", "/v1/management/alerts?colour=red", None)
            .await;
        assert_fault(&answer, 400, "Invalid query: unknown parameter \"colour\".");
        let audit = s.get("/v1/management/audit").await;
        assert_eq!(
            audit["audit"].as_array().unwrap().len(),
            1,
            "only the update of an unknown silence was an action: {audit}"
        );
    })
    .await;
}

/// Orchestration's events become alerts with Fulcrum's labels; a clearing event resolves its
/// alert; handling the same events again changes nothing.
async fn events_raise_and_clear_alerts(store: Store) {
    let s = Served::start(&store, ManagementConfig::default()).await;
    store
        .append_events(&[
            Event::AlertRaised {
                key: "converge:lb-1".into(),
                load_balancer_id: "lb-1".into(),
                provider: "f5".into(),
                message: "AS3 declaration refused".into(),
            },
            Event::AlertRaised {
                key: "member-down:m-1".into(),
                load_balancer_id: "lb-1".into(),
                provider: "f5".into(),
                message: "member m-1 (10.0.0.5:80) is down".into(),
            },
            Event::DayTwoRequest {
                action: "failover".into(),
                load_balancer_id: "lb-1".into(),
            },
        ])
        .await
        .unwrap();
    let handler = Arc::new(AlertEvents::new(s.management.alerts.clone()));
    let reader = EventsTask::new(store.clone(), vec![handler.clone()], Arc::new(Alone));
    reader.activate().await.unwrap();

    let alerts = s.get(ALERTS).await;
    let mut by_name: Vec<(String, Value)> = alerts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["labels"]["alertname"].as_str().unwrap().to_owned(),
                a.clone(),
            )
        })
        .collect();
    by_name.sort_by(|a, b| a.0.cmp(&b.0));
    let names: Vec<&str> = by_name.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["LoadBalancerRealizationError", "MemberDown"]);
    let realization = &by_name[0].1;
    assert_eq!(
        realization["labels"],
        json!({"alertname": "LoadBalancerRealizationError", "key": "converge:lb-1",
               "load_balancer_id": "lb-1", "provider": "f5", "severity": "critical",
               "source": "fulcrum"})
    );
    assert_eq!(
        realization["annotations"]["summary"],
        "AS3 declaration refused"
    );
    assert!(
        realization["endsAt"].is_null(),
        "a raised alert fires until cleared"
    );

    store
        .append_events(&[Event::AlertCleared {
            key: "member-down:m-1".into(),
            load_balancer_id: "lb-1".into(),
        }])
        .await
        .unwrap();
    reader.activate().await.unwrap();
    let before = s.get("/v1/management/alerts?resolved=true").await;
    let firing = s.get(ALERTS).await;
    assert_eq!(firing.as_array().unwrap().len(), 1);
    assert_eq!(
        firing[0]["labels"]["alertname"],
        "LoadBalancerRealizationError"
    );

    let mut replayed = fulcrum_store::EventConsumer::new(store.clone(), "replay");
    for event in replayed.poll(100).await.unwrap() {
        handler.handle(&event).await.unwrap();
    }
    assert_eq!(
        s.get("/v1/management/alerts?resolved=true").await,
        before,
        "handling the events again leaves the same alerts"
    );
}

on_both_databases!(events_raise_and_clear_alerts);

/// While a device is unreachable its other alerts are inhibited; once it is back, they are not.
async fn an_unreachable_device_inhibits_its_other_alerts(store: Store) {
    let s = Served::start(&store, ManagementConfig::default()).await;
    let alerts = &s.management.alerts;
    let unreachable = fulcrum_management::alerts::from_events::Raised {
        key: "device-unreachable:bigip-1".into(),
        load_balancer_id: String::new(),
        provider: "f5".into(),
        message: "bigip-1 does not answer".into(),
    };
    alerts.raise(&unreachable, 1_000).await.unwrap();
    post_alerts(
        &s,
        json!([
            {"labels": {"alertname": "LicenseExpiring", "device": "bigip-1"}},
            {"labels": {"alertname": "LicenseExpiring", "device": "bigip-2"}},
        ]),
    )
    .await;
    let source = fingerprint(&unreachable.labels());
    let state = |body: &Value, device: &str, alertname: &str| -> Value {
        body.as_array()
            .unwrap()
            .iter()
            .find(|a| a["labels"]["device"] == device && a["labels"]["alertname"] == alertname)
            .map(|a| a["status"].clone())
            .unwrap_or(Value::Null)
    };
    let listed = s.get(ALERTS).await;
    assert_eq!(
        state(&listed, "bigip-1", "LicenseExpiring"),
        json!({"state": "suppressed", "silencedBy": [], "inhibitedBy": [source]})
    );
    assert_eq!(
        state(&listed, "bigip-2", "LicenseExpiring")["state"],
        "active"
    );
    assert_eq!(
        state(&listed, "bigip-1", "DeviceUnreachable")["state"],
        "active",
        "the inhibiting alert does not inhibit itself"
    );
    let uninhibited = s.get(&format!("{ALERTS}?inhibited=false")).await;
    assert_eq!(uninhibited.as_array().unwrap().len(), 2);
    let suppressed_only = s.get(&format!("{ALERTS}?active=false")).await;
    assert_eq!(suppressed_only.as_array().unwrap().len(), 1);

    alerts
        .clear("device-unreachable:bigip-1", "", 2_000)
        .await
        .unwrap();
    let listed = s.get(ALERTS).await;
    assert_eq!(
        state(&listed, "bigip-1", "LicenseExpiring")["state"],
        "active"
    );
}

on_both_databases!(an_unreachable_device_inhibits_its_other_alerts);
