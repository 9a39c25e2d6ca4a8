//! Receivers told of alerts: a webhook (a real HTTP server in the test) gets exactly one
//! notification per group per change, retried while it answers 5xx and never sent again once it
//! answered 2xx, even by a restarted job; a real Alertmanager (`/usr/bin/prometheus-alertmanager`,
//! Debian package `prometheus-alertmanager`) receives forwarded alerts.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode as AxumStatus;
use axum::routing::post;
use common::{Alone, Served};
use fulcrum_core::tasks::BackgroundTask;
use fulcrum_management::ManagementConfig;
use fulcrum_management::alerts::model::{Labels, fingerprint};
use fulcrum_management::alerts::receivers::DeliveryTask;
use fulcrum_management::config::{AlertsConfig, ReceiverConfig, ReceiverKind};
use fulcrum_store::Store;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Row;

const ALERTS: &str = "/v1/management/api/v2/alerts";

/// A webhook receiver: records every body, answers `failures` 5xx first (or always `status`).
#[derive(Clone)]
struct Webhook {
    received: Arc<Mutex<Vec<(u16, Value)>>>,
    answers: Arc<Mutex<Vec<u16>>>,
    then: u16,
}

impl Webhook {
    /// A receiver on 127.0.0.1 that answers `answers` in turn, then `then`; its URL.
    async fn start(answers: Vec<u16>, then: u16) -> (Webhook, String) {
        let hook = Webhook {
            received: Arc::default(),
            answers: Arc::new(Mutex::new(answers)),
            then,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route("/hook", post(receive))
            .with_state(hook.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (hook, url)
    }

    fn received(&self) -> Vec<(u16, Value)> {
        self.received.lock().unwrap().clone()
    }

    fn delivered(&self) -> Vec<Value> {
        self.received()
            .into_iter()
            .filter(|(status, _)| *status == 200)
            .map(|(_, body)| body)
            .collect()
    }
}

async fn receive(State(hook): State<Webhook>, body: axum::Json<Value>) -> AxumStatus {
    let status = {
        let mut answers = hook.answers.lock().unwrap();
        if answers.is_empty() {
            hook.then
        } else {
            answers.remove(0)
        }
    };
    hook.received.lock().unwrap().push((status, body.0));
    AxumStatus::from_u16(status).unwrap()
}

fn config(kind: ReceiverKind, url: &str) -> ManagementConfig {
    ManagementConfig {
        alerts: AlertsConfig {
            receivers: vec![ReceiverConfig {
                name: "ops".into(),
                kind,
                url: url.into(),
            }],
            retry_initial_ms: 20,
            retry_max_ms: 100,
            ..AlertsConfig::default()
        },
        ..ManagementConfig::default()
    }
}

fn delivery(s: &Served) -> DeliveryTask {
    DeliveryTask::new(
        s.management.alerts.clone(),
        s.management.db.clone(),
        Arc::new(Alone),
    )
}

/// Activate `task` until `done` holds, waiting between activations for retries to fall due.
async fn activate_until(task: &DeliveryTask, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        task.activate().await.unwrap();
        if done() {
            return;
        }
        assert!(Instant::now() < deadline, "delivery did not happen");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

/// Activate `task` a few times, past any retry wait.
async fn settle(task: &DeliveryTask) {
    for _ in 0..4 {
        task.activate().await.unwrap();
        tokio::time::sleep(Duration::from_millis(120)).await;
    }
}

async fn post_alerts(s: &Served, alerts: Value) {
    let (status, body) = s.call("POST", ALERTS, Some(alerts)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

fn statuses(payload: &Value) -> Vec<(String, String)> {
    let mut statuses: Vec<(String, String)> = payload["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["labels"]["instance"].as_str().unwrap_or("").to_owned(),
                a["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    statuses.sort();
    statuses
}

async fn a_webhook_gets_one_notification_per_group_with_retries(store: Store) {
    let (hook, url) = Webhook::start(vec![500, 503], 200).await;
    let s = Served::start(&store, config(ReceiverKind::Webhook, &url)).await;
    let disk = |instance: &str| json!({"labels": {"alertname": "DiskFull", "instance": instance}});
    for _ in 0..100 {
        post_alerts(&s, json!([disk("a"), disk("b")])).await;
    }
    post_alerts(
        &s,
        json!([{"labels": {"alertname": "CpuHot", "instance": "c"}}]),
    )
    .await;
    let (status, silence) = s
        .call(
            "POST",
            "/v1/management/api/v2/silences",
            Some(json!({
                "matchers": [{"name": "alertname", "value": "CpuHot", "isRegex": false}],
                "startsAt": "2020-01-01T00:00:00Z",
                "endsAt": "2099-01-01T00:00:00Z",
                "createdBy": "ops",
                "comment": "known",
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{silence}");

    let task = delivery(&s);
    activate_until(&task, || !hook.delivered().is_empty()).await;
    settle(&task).await;
    let received = hook.received();
    let answers: Vec<u16> = received.iter().map(|(status, _)| *status).collect();
    assert_eq!(
        answers,
        [500, 503, 200],
        "retried on 5xx until delivered, once"
    );
    assert!(
        received.iter().all(|(_, body)| *body == received[0].1),
        "every attempt carries the same notification"
    );
    let payload = &received[2].1;
    assert_eq!(payload["version"], "4");
    assert_eq!(payload["receiver"], "ops");
    assert_eq!(payload["status"], "firing");
    assert_eq!(payload["groupKey"], "{}:{alertname=\"DiskFull\"}");
    assert_eq!(payload["groupLabels"], json!({"alertname": "DiskFull"}));
    assert_eq!(payload["commonLabels"], json!({"alertname": "DiskFull"}));
    assert_eq!(
        statuses(payload),
        [
            ("a".to_owned(), "firing".to_owned()),
            ("b".to_owned(), "firing".to_owned())
        ],
        "one notification for the group, none for the silenced alert"
    );

    let for_ops = s.get(&format!("{ALERTS}?receiver=op.")).await;
    assert_eq!(
        for_ops.as_array().unwrap().len(),
        3,
        "every alert goes to ops"
    );
    assert_eq!(for_ops[0]["receivers"], json!([{"name": "ops"}]));
    let for_others = s.get(&format!("{ALERTS}?receiver=op")).await;
    assert_eq!(for_others, json!([]), "the receiver regex is anchored");

    let restarted = delivery(&s);
    settle(&restarted).await;
    assert_eq!(
        hook.received().len(),
        3,
        "a restarted job sends nothing already acknowledged"
    );

    post_alerts(
        &s,
        json!([{"labels": {"alertname": "DiskFull", "instance": "a"},
                "startsAt": "2020-01-01T00:00:00Z", "endsAt": "2020-01-01T00:01:00Z"}]),
    )
    .await;
    activate_until(&restarted, || hook.delivered().len() == 2).await;
    let resolved = &hook.delivered()[1];
    assert_eq!(
        statuses(resolved),
        [
            ("a".to_owned(), "resolved".to_owned()),
            ("b".to_owned(), "firing".to_owned())
        ]
    );
    assert_eq!(
        resolved["status"], "firing",
        "the group still has a firing alert"
    );

    let id = silence["silenceID"].as_str().unwrap();
    let (status, _) = s
        .call(
            "DELETE",
            &format!("/v1/management/api/v2/silence/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    activate_until(&restarted, || hook.delivered().len() == 3).await;
    settle(&restarted).await;
    let delivered = hook.delivered();
    assert_eq!(delivered.len(), 3, "one notification per change");
    assert_eq!(delivered[2]["groupLabels"], json!({"alertname": "CpuHot"}));
}

on_both_databases!(a_webhook_gets_one_notification_per_group_with_retries);

#[tokio::test]
async fn a_4xx_answer_is_final() {
    common::on_sqlite(|store| async move {
        let (hook, url) = Webhook::start(Vec::new(), 400).await;
        let s = Served::start(&store, config(ReceiverKind::Webhook, &url)).await;
        post_alerts(&s, json!([{"labels": {"alertname": "DiskFull"}}])).await;
        let task = delivery(&s);
        settle(&task).await;
        assert_eq!(
            hook.received().len(),
            1,
            "a refused notification is not retried"
        );
        let row = sqlx::query(
            "SELECT attempts, delivered_at_ms, failed_at_ms, last_error \
             FROM mgmt_alert_notifications",
        )
        .fetch_one(s.management.db.reader())
        .await
        .unwrap();
        assert_eq!(row.get::<i64, _>("attempts"), 1);
        assert!(row.get::<Option<i64>, _>("delivered_at_ms").is_none());
        assert!(row.get::<Option<i64>, _>("failed_at_ms").is_some());
        let error: String = row.get("last_error");
        assert!(error.ends_with("HTTP 400 Bad Request"), "{error}");
    })
    .await;
}

/// A real Alertmanager on a free port, with its storage in a temporary directory.
struct Alertmanager {
    _child: tokio::process::Child,
    _dir: tempfile::TempDir,
    url: String,
}

impl Alertmanager {
    async fn start() -> Alertmanager {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("alertmanager.yml");
        std::fs::write(
            &config,
            "route:\n  receiver: \"null\"\nreceivers:\n  - name: \"null\"\n",
        )
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = tokio::process::Command::new("/usr/bin/prometheus-alertmanager")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect(
                "/usr/bin/prometheus-alertmanager runs (Debian package prometheus-alertmanager)",
            );
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = reqwest::get(format!("{url}/-/ready")).await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            assert!(Instant::now() < deadline, "Alertmanager did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Alertmanager {
            _child: child,
            _dir: dir,
            url,
        }
    }

    async fn alerts(&self) -> Vec<Value> {
        reqwest::get(format!("{}/api/v2/alerts", self.url))
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }
}

#[tokio::test]
async fn a_real_alertmanager_receives_forwarded_alerts() {
    common::on_sqlite(|store| async move {
        let am = Alertmanager::start().await;
        let s = Served::start(&store, config(ReceiverKind::Alertmanager, &am.url)).await;
        post_alerts(
            &s,
            json!([{"labels": {"alertname": "DiskFull", "device": "bigip-1"},
                    "annotations": {"summary": "disk is full"}}]),
        )
        .await;
        let raised = fulcrum_management::alerts::from_events::Raised {
            key: "backup-failed:bigip-2".into(),
            load_balancer_id: String::new(),
            provider: "f5".into(),
            message: "the nightly backup failed".into(),
        };
        s.management
            .alerts
            .raise(&raised, fulcrum_core::timestamp::now_millis())
            .await
            .unwrap();
        let task = delivery(&s);
        task.activate().await.unwrap();

        let mut forwarded = am.alerts().await;
        forwarded.sort_by_key(|a| a["labels"]["alertname"].as_str().unwrap().to_owned());
        let names: Vec<&Value> = forwarded
            .iter()
            .map(|a| &a["labels"]["alertname"])
            .collect();
        assert_eq!(names, [&json!("BackupFailed"), &json!("DiskFull")]);
        let disk = &forwarded[1];
        assert_eq!(disk["annotations"]["summary"], "disk is full");
        let labels: Labels = serde_json::from_value(disk["labels"].clone()).unwrap();
        assert_eq!(
            disk["fingerprint"],
            fingerprint(&labels),
            "Alertmanager computes the same fingerprint"
        );
        assert_eq!(forwarded[0]["labels"]["device"], "bigip-2");

        post_alerts(
            &s,
            json!([{"labels": {"alertname": "DiskFull", "device": "bigip-1"},
                    "startsAt": "2020-01-01T00:00:00Z", "endsAt": "2020-01-01T00:01:00Z"}]),
        )
        .await;
        task.activate().await.unwrap();
        let left: Vec<Value> = am
            .alerts()
            .await
            .iter()
            .map(|a| a["labels"]["alertname"].clone())
            .collect();
        assert_eq!(
            left,
            [json!("BackupFailed")],
            "the resolution is forwarded too"
        );
    })
    .await;
}
