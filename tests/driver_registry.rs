//! A driver registered only here, not in `drivers/`, is served, validated and converged by the
//! server without any change to the binary's code: the server builds providers from whatever
//! factories it is given, and hands each its own `[providers.<name>]` section.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use fulcrum::config::Config;
use fulcrum_core::driver::{
    Capabilities, Driver, DriverContext, DriverError, DriverFactory, LoadBalancerGraph,
    Observation, parse_section,
};
use fulcrum_core::model::{LbAlgorithm, ListenerProtocol, PoolProtocol};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpListener;

const SUBNET: &str = "5f3a0c6e-6a0e-4c59-9a55-000000000002";

/// What the test driver was handed, shared with the test.
#[derive(Default)]
struct Journal {
    greeting: Mutex<Option<String>>,
    applied: Mutex<Vec<LoadBalancerGraph>>,
    removed: Mutex<Vec<String>>,
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RecordingConfig {
    greeting: String,
}

struct RecordingFactory(Arc<Journal>);

impl DriverFactory for RecordingFactory {
    fn name(&self) -> &'static str {
        "recording"
    }

    fn description(&self) -> &'static str {
        "Remembers what it is asked to realize."
    }

    fn build(
        &self,
        _context: &DriverContext,
        section: &Value,
    ) -> Result<Arc<dyn Driver>, DriverError> {
        let config: RecordingConfig = parse_section("recording", section)?;
        *self.0.greeting.lock().unwrap() = Some(config.greeting);
        Ok(Arc::new(Recording(self.0.clone())))
    }
}

struct Recording(Arc<Journal>);

#[async_trait]
impl Driver for Recording {
    fn name(&self) -> &str {
        "recording"
    }

    fn description(&self) -> &str {
        "Remembers what it is asked to realize."
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            listener_protocols: vec![ListenerProtocol::Http],
            pool_protocols: vec![PoolProtocol::Http],
            lb_algorithms: vec![LbAlgorithm::RoundRobin],
            health_monitor_types: vec![],
            l7_listener_protocols: vec![],
        }
    }

    fn validate_flavor(&self, metadata: &Value) -> Result<(), DriverError> {
        match metadata.get("size").and_then(Value::as_str) {
            Some("small" | "large") => Ok(()),
            _ => Err(DriverError::invalid_configuration(
                "size must be small or large",
            )),
        }
    }

    async fn apply(&self, graph: &LoadBalancerGraph) -> Result<(), DriverError> {
        self.0.applied.lock().unwrap().push(graph.clone());
        Ok(())
    }

    async fn remove(&self, load_balancer_id: &str) -> Result<(), DriverError> {
        self.0
            .removed
            .lock()
            .unwrap()
            .push(load_balancer_id.to_string());
        Ok(())
    }

    async fn observe(&self, _graph: &LoadBalancerGraph) -> Result<Observation, DriverError> {
        Ok(Observation::default())
    }

    async fn realized_load_balancers(&self) -> Result<Vec<String>, DriverError> {
        Ok(vec![])
    }
}

struct InProcess {
    base: String,
    http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

fn config(dir: &std::path::Path, extra: &str) -> Config {
    let path = dir.join("fulcrum.toml");
    std::fs::write(
        &path,
        format!(
            "[database]\nurl = \"sqlite://{}\"\n\
             [providers]\nenabled = [\"recording\", \"noop\"]\ndefault = \"recording\"\n\
             certificates_dir = \"{}\"\n\
             [providers.recording]\ngreeting = \"hello from the section\"\n\
             [reconciler]\npoll_interval_ms = 100\n{extra}",
            dir.join("fulcrum.db").display(),
            dir.join("certs").display(),
        ),
    )
    .unwrap();
    let mut config = Config::load(Some(&path)).expect("configuration loads");
    let key_file = dir.join("management.key");
    fulcrum_management::secrets::SecretBox::load_or_create(&key_file).unwrap();
    config.management.secret_key_file = Some(key_file.display().to_string());
    config
}

fn factories(journal: &Arc<Journal>) -> Vec<Arc<dyn DriverFactory>> {
    let mut all = fulcrum_drivers::factories();
    all.push(Arc::new(RecordingFactory(journal.clone())));
    all
}

async fn start(journal: &Arc<Journal>) -> InProcess {
    start_with(journal, "").await
}

/// [`start`] with further configuration.
async fn start_with(journal: &Arc<Journal>, extra: &str) -> InProcess {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), extra);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let factories = factories(journal);
    let served = tokio::spawn(async move {
        fulcrum::server::serve_on(config, &factories, listener, async {
            let _ = stopped.await;
        })
        .await
    });
    InProcess {
        base,
        http: reqwest::Client::new(),
        stop: Some(stop),
        served,
        _dir: dir,
    }
}

impl InProcess {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn wait_until(&self, path: &str, done: impl Fn(StatusCode, &Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (status, body) = self.call(reqwest::Method::GET, path, None).await;
            if done(status, &body) {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "{path} never settled: {status} {body}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.served.await.unwrap().expect("clean shutdown");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_registered_by_its_factory_is_served_validated_and_converged() {
    use reqwest::Method;
    let journal = Arc::new(Journal::default());
    let s = start(&journal).await;
    assert_eq!(
        journal.greeting.lock().unwrap().as_deref(),
        Some("hello from the section"),
        "the factory reads its own section"
    );

    let (_, providers) = s.call(Method::GET, "/v2/lbaas/providers", None).await;
    assert!(
        providers["providers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "recording"
                && p["description"] == "Remembers what it is asked to realize."),
        "{providers}"
    );

    // The driver validates flavor metadata; its message reaches the client, nothing is stored.
    let profile = |data: &str| json!({"flavorprofile": {"name": "p", "provider_name": "recording", "flavor_data": data}});
    let (status, refused) = s
        .call(
            Method::POST,
            "/v2/lbaas/flavorprofiles",
            Some(profile(r#"{"size": "huge"}"#)),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED, "{refused}");
    assert!(
        refused["faultstring"]
            .as_str()
            .unwrap()
            .contains("size must be small or large"),
        "{refused}"
    );
    let (_, listed) = s.call(Method::GET, "/v2/lbaas/flavorprofiles", None).await;
    assert_eq!(listed["flavorprofiles"], json!([]), "nothing stored");
    let (status, created) = s
        .call(
            Method::POST,
            "/v2/lbaas/flavorprofiles",
            Some(profile(r#"{"size": "large"}"#)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, flavor) = s
        .call(
            Method::POST,
            "/v2/lbaas/flavors",
            Some(json!({"flavor": {"name": "big", "flavor_profile_id": created["flavorprofile"]["id"]}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{flavor}");

    // The default provider converges a load balancer with the flavor's metadata.
    let (status, lb) = s
        .call(
            Method::POST,
            "/v2/lbaas/loadbalancers",
            Some(
                json!({"loadbalancer": {"name": "rec", "vip_subnet_id": SUBNET,
                "flavor_id": flavor["flavor"]["id"]}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{lb}");
    assert_eq!(lb["loadbalancer"]["provider"], "recording");
    let id = lb["loadbalancer"]["id"].as_str().unwrap().to_string();
    let path = format!("/v2/lbaas/loadbalancers/{id}");
    s.wait_until(&path, |_, b| {
        b["loadbalancer"]["provisioning_status"] == "ACTIVE"
    })
    .await;
    {
        let applied = journal.applied.lock().unwrap();
        let graph = applied.last().expect("the driver was handed the tree");
        assert_eq!(graph.load_balancer.id, id);
        assert_eq!(graph.flavor_metadata.get("size"), Some(&json!("large")));
    }

    // Its capabilities are enforced before anything is stored.
    let (status, refused) = s
        .call(
            Method::POST,
            "/v2/lbaas/listeners",
            Some(json!({"listener": {"loadbalancer_id": id, "protocol": "TCP", "protocol_port": 80}})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED, "{refused}");
    assert!(
        refused["faultstring"]
            .as_str()
            .unwrap()
            .contains("Provider 'recording' does not support a requested option"),
        "{refused}"
    );

    let (status, _) = s.call(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    s.wait_until(&path, |status, _| status == StatusCode::NOT_FOUND)
        .await;
    assert_eq!(*journal.removed.lock().unwrap(), vec![id]);
    s.stop().await;
}

/// A driver that does not say it realizes additional VIPs gets no load balancer with any:
/// Octavia's 501, and nothing is stored or applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_that_does_not_serve_additional_vips_refuses_them() {
    use reqwest::Method;
    let journal = Arc::new(Journal::default());
    let network = "5f3a0c6e-6a0e-4c59-9a55-000000000001";
    let s = start_with(
        &journal,
        &format!(
            "[[network.networks]]\nid = \"{network}\"\nname = \"n\"\n\
             [[network.subnets]]\nid = \"{SUBNET}\"\nname = \"v4\"\nnetwork_id = \"{network}\"\n\
             cidr = \"127.0.10.0/24\"\nallocation_start = \"127.0.10.10\"\n\
             allocation_end = \"127.0.10.20\"\n\
             [[network.subnets]]\nid = \"s-v6\"\nname = \"v6\"\nnetwork_id = \"{network}\"\n\
             cidr = \"fd00:f::/64\"\nallocation_start = \"fd00:f::10\"\n\
             allocation_end = \"fd00:f::20\"\n"
        ),
    )
    .await;
    let (status, refused) = s
        .call(
            Method::POST,
            "/v2/lbaas/loadbalancers",
            Some(json!({"loadbalancer": {"vip_subnet_id": SUBNET,
                                         "additional_vips": [{"subnet_id": "s-v6"}]}})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED, "{refused}");
    assert_eq!(
        refused["faultstring"],
        "Provider 'recording' does not support a requested option: additional_vips"
    );
    let (_, listed) = s.call(Method::GET, "/v2/lbaas/loadbalancers", None).await;
    assert_eq!(listed["loadbalancers"], json!([]));
    assert!(journal.applied.lock().unwrap().is_empty());
    s.stop().await;
}

#[tokio::test]
async fn a_misspelt_or_unknown_section_is_refused() {
    let journal = Arc::new(Journal::default());
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), "[providers.recordin]\ngreeting = \"x\"\n");
    let err = fulcrum::server::check(&config, &factories(&journal)).unwrap_err();
    assert!(
        format!("{err:#}").contains("unknown section [providers.recordin]"),
        "{err:#}"
    );
    let config = {
        let dir = dir.path().join("bad-key");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("fulcrum.toml");
        std::fs::write(
            &path,
            "[providers]\nenabled = [\"recording\"]\ndefault = \"recording\"\n\
             [providers.recording]\ngreting = \"typo\"\n",
        )
        .unwrap();
        Config::load(Some(&path)).unwrap()
    };
    let err = fulcrum::server::check(&config, &factories(&journal)).unwrap_err();
    assert!(
        format!("{err:#}").contains("[providers.recording]"),
        "{err:#}"
    );
    assert!(format!("{err:#}").contains("greting"), "{err:#}");
}
