//! The HAProxy driver: Fulcrum's embedded data plane. Every load balancer is one supervised
//! HAProxy on this host, configured from the whole desired tree.
//!
//! - [`flavor`] reads the flavor metadata it understands (`nbthread`, `maxconn`), strictly;
//! - [`render`] turns a load balancer tree into an HAProxy configuration (pure, deterministic);
//! - [`process`] keeps one daemonized master-worker HAProxy per load balancer in line with it;
//!   [`processes`] finds every HAProxy of the state directory by its command line, so that none
//!   is left serving unaccounted for; [`locks`] keeps changes to one load balancer from
//!   overlapping;
//! - [`server_diff`] and [`runtime`] make a change that only touches servers (member weights,
//!   admin states, members added or removed) through the runtime API, without a reload;
//! - [`stats`] reads the runtime API into operating statuses and counters;
//! - [`validate`] refuses, before a write is stored, a tree the renderer would refuse;
//! - [`inventory`] fingerprints what the state directory serves, for the full sync's drift check.
//!
//! Processes survive a restart of Fulcrum and are adopted again (their configuration and pid file
//! are in the state directory). When a load balancer's status is observed and its process has
//! died or its directory is gone, it is realized again from the desired tree at once.
//! TLS material comes from a [`CertificateStore`] and is written next to the configuration.

mod factory;
mod flavor;
mod inventory;
mod locks;
mod process;
mod processes;
mod render;
mod runtime;
mod server_diff;
mod stats;
#[cfg(test)]
mod test_tree;
mod validate;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use fulcrum_core::driver::{
    Capabilities, Driver, DriverError, Fingerprint, LoadBalancerGraph, Observation, Realized,
};
use fulcrum_core::events::Event;
use fulcrum_core::model::{HealthMonitorType, LbAlgorithm, ListenerProtocol, PoolProtocol, Stats};
use fulcrum_core::secrets::CertificateStore;
use serde::Deserialize;

use crate::kit::tree::resolve_certificates;
use locks::LoadBalancerLocks;

pub use factory::HaproxyFactory;
pub use process::Instance;
pub use render::{RenderError, RenderSettings, render};

/// The oldest HAProxy this driver's configurations are written for.
pub const MIN_VERSION: (u32, u32) = (2, 4);

/// The providers list's description of this driver.
const DESCRIPTION: &str = "HAProxy on this host: one supervised process per load balancer.";

/// How the HAProxy driver runs (`[providers.haproxy]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HaproxyConfig {
    /// The `haproxy` binary.
    pub binary: PathBuf,
    /// Where each load balancer's configuration, sockets and pid file live.
    pub state_dir: PathBuf,
}

impl Default for HaproxyConfig {
    fn default() -> Self {
        HaproxyConfig {
            binary: PathBuf::from("/usr/sbin/haproxy"),
            state_dir: PathBuf::from("state/haproxy"),
        }
    }
}

/// The HAProxy driver.
pub struct HaproxyDriver {
    config: HaproxyConfig,
    certificates: Arc<dyn CertificateStore>,
    /// Per load balancer and listener, the counters of workers replaced by reloads: a new worker
    /// starts from zero, so its readings are added to these.
    retired_counters: Mutex<HashMap<String, HashMap<String, Stats>>>,
    /// Per load balancer, the fingerprint of the configuration this process last made live: the
    /// load balancers the driver accounts for.
    applied: Mutex<HashMap<String, Fingerprint>>,
    /// Serializes what is done to each load balancer's HAProxy.
    locks: LoadBalancerLocks,
}

impl HaproxyDriver {
    /// A driver with its configuration and certificate source.
    pub fn new(mut config: HaproxyConfig, certificates: Arc<dyn CertificateStore>) -> Self {
        // HAProxy reads a socket path that is not absolute as an address: anchor a relative state
        // directory where Fulcrum was started.
        if let Ok(absolute) = std::path::absolute(&config.state_dir) {
            config.state_dir = absolute;
        }
        HaproxyDriver {
            config,
            certificates,
            retired_counters: Mutex::default(),
            applied: Mutex::default(),
            locks: LoadBalancerLocks::default(),
        }
    }

    fn applied(&self) -> std::sync::MutexGuard<'_, HashMap<String, Fingerprint>> {
        self.applied.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn retired(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashMap<String, Stats>>> {
        self.retired_counters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Keep the counters of the worker a reload is about to replace.
    async fn retire_counters(&self, instance: &Instance, graph: &LoadBalancerGraph) {
        let Ok(csv) = stats::command(&instance.stats_socket(), "show stat").await else {
            return;
        };
        let seen = stats::parse(&csv, graph).listener_stats;
        let mut retired = self.retired();
        let totals = retired.entry(graph.load_balancer.id.clone()).or_default();
        for (listener, s) in seen {
            let entry = totals.entry(listener).or_default();
            *entry = *entry
                + Stats {
                    active_connections: 0,
                    ..s
                };
        }
    }

    fn instance(&self, id: &str) -> Instance {
        Instance::new(&self.config.state_dir, id, &self.config.binary)
    }

    /// Make the load balancer's HAProxy serve `graph` (the caller holds its lock), and remember
    /// what it serves.
    async fn realize(&self, graph: &LoadBalancerGraph) -> Result<(), DriverError> {
        let lb_id = &graph.load_balancer.id;
        let instance = self.instance(lb_id);
        let material = self.materialize(graph, &instance.dir).await?;
        let settings = RenderSettings {
            runtime_dir: instance.dir.clone(),
            files: material.files,
        };
        let config = render(graph, &settings).map_err(|e| DriverError::rejected(e.to_string()))?;
        let running = instance.current_config();
        let reloads = (material.changed || running.as_deref() != Some(config.as_str()))
            && instance.is_running().await;
        let mut updated = false;
        if reloads {
            // New TLS material is read only by a new worker: the runtime API cannot hand it over.
            if let (Some(running), false) = (&running, material.changed) {
                updated = runtime::update_without_reload(&instance, running, &config).await?;
            }
            if !updated {
                self.retire_counters(&instance, graph).await;
            }
        }
        if !updated {
            instance.ensure(&config, material.changed).await?;
        }
        let dir = instance.dir.clone();
        let served = tokio::task::spawn_blocking(move || inventory::served(&dir))
            .await
            .map_err(|e| DriverError::transient(format!("reading what is served: {e}")))?;
        match served {
            Some(fingerprint) => self.applied().insert(lb_id.clone(), fingerprint),
            None => self.applied().remove(lb_id),
        };
        Ok(())
    }

    /// Realize a load balancer this driver accounts for again when its HAProxy died or its
    /// directory is gone; says what was lost, if anything.
    async fn repair(&self, graph: &LoadBalancerGraph) -> Result<Option<&'static str>, DriverError> {
        let lb_id = &graph.load_balancer.id;
        let _serialized = self.locks.lock(lb_id).await;
        if !self.applied().contains_key(lb_id) {
            // Not applied by this process (yet), or removed meanwhile: nothing to repair.
            return Ok(None);
        }
        let instance = self.instance(lb_id);
        let lost = if instance.current_config().is_none() {
            "the HAProxy state directory had been removed and was rebuilt"
        } else if !instance.is_running().await {
            "the HAProxy process had died and was restarted"
        } else {
            return Ok(None);
        };
        tracing::warn!(load_balancer = %lb_id, "{lost}");
        self.realize(graph).await?;
        Ok(Some(lost))
    }

    /// Write the TLS material the tree refers to into the instance's directory, and remove what
    /// it no longer refers to, so that the directory holds exactly what the configuration uses.
    async fn materialize(
        &self,
        graph: &LoadBalancerGraph,
        dir: &Path,
    ) -> Result<Material, DriverError> {
        let certs_dir = dir.join("certs");
        let mut material = Material::default();
        for (reference, pem) in resolve_certificates(self.certificates.as_ref(), graph)? {
            tokio::fs::create_dir_all(&certs_dir)
                .await
                .map_err(|e| DriverError::transient(format!("creating {certs_dir:?}: {e}")))?;
            let path = certs_dir.join(format!("{}.pem", file_name(&reference)));
            if tokio::fs::read(&path).await.ok().as_deref() != Some(pem.as_slice()) {
                tokio::fs::write(&path, &pem)
                    .await
                    .map_err(|e| DriverError::transient(format!("writing {path:?}: {e}")))?;
                material.changed = true;
            }
            material.files.insert(reference, path);
        }
        if let Ok(mut entries) = tokio::fs::read_dir(&certs_dir).await {
            while let Ok(Some(entry)) = entries.next_entry().await {
                let path = entry.path();
                if !material.files.values().any(|used| used == &path) {
                    tokio::fs::remove_file(&path)
                        .await
                        .map_err(|e| DriverError::transient(format!("removing {path:?}: {e}")))?;
                }
            }
        }
        Ok(material)
    }
}

/// The TLS material of a load balancer, as written into its directory.
#[derive(Debug, Default)]
struct Material {
    /// The file of each certificate reference.
    files: HashMap<String, PathBuf>,
    /// Whether a file was written (new, or with content that changed).
    changed: bool,
}

/// A file name for a reference: its characters that are safe in a path, plus a short hash so that
/// distinct references never share a file.
fn file_name(reference: &str) -> String {
    let safe: String = reference
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    let hash = reference.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    format!("{safe}-{hash:016x}")
}

#[async_trait]
impl Driver for HaproxyDriver {
    fn name(&self) -> &str {
        "haproxy"
    }

    fn description(&self) -> &str {
        DESCRIPTION
    }

    fn capabilities(&self) -> Capabilities {
        use ListenerProtocol as L;
        Capabilities {
            listener_protocols: vec![L::Http, L::Https, L::Tcp, L::TerminatedHttps, L::Prometheus],
            pool_protocols: vec![
                PoolProtocol::Http,
                PoolProtocol::Https,
                PoolProtocol::Tcp,
                PoolProtocol::Proxy,
                PoolProtocol::ProxyV2,
            ],
            lb_algorithms: vec![
                LbAlgorithm::RoundRobin,
                LbAlgorithm::LeastConnections,
                LbAlgorithm::SourceIp,
            ],
            health_monitor_types: vec![
                HealthMonitorType::Http,
                HealthMonitorType::Https,
                HealthMonitorType::Tcp,
                HealthMonitorType::TlsHello,
            ],
            l7_listener_protocols: vec![L::Http, L::TerminatedHttps],
        }
    }

    fn observes_data_plane(&self) -> bool {
        true
    }

    /// Each host runs its own HAProxy processes, repaired and synced by its own process.
    fn realizes_on_this_host(&self) -> bool {
        true
    }

    /// Every listener binds each additional VIP as well as the VIP.
    fn realizes_additional_vips(&self) -> bool {
        true
    }

    /// The configuration file HAProxy would run, with the paths of its TLS material as
    /// [`Driver::apply`] writes them.
    fn render(&self, graph: &LoadBalancerGraph) -> Option<Result<String, DriverError>> {
        let dir = self.instance(&graph.load_balancer.id).dir;
        let files = graph
            .certificate_references()
            .into_iter()
            .map(|reference| {
                let path = dir
                    .join("certs")
                    .join(format!("{}.pem", file_name(reference)));
                (reference.to_string(), path)
            })
            .collect();
        let settings = RenderSettings {
            runtime_dir: dir,
            files,
        };
        Some(render(graph, &settings).map_err(|e| DriverError::rejected(e.to_string())))
    }

    fn flavor_capabilities(&self) -> Vec<(String, String)> {
        flavor::capabilities()
    }

    fn validate_flavor(&self, metadata: &serde_json::Value) -> Result<(), DriverError> {
        flavor::validate(metadata).map_err(DriverError::invalid_configuration)
    }

    fn validates_trees(&self) -> bool {
        true
    }

    fn validate(&self, graph: &LoadBalancerGraph) -> Result<(), DriverError> {
        validate::validate(graph).map_err(|e| match e {
            RenderError::Flavor(message) => DriverError::invalid_configuration(message),
            other => DriverError::unsupported(other.to_string()),
        })
    }

    async fn apply(&self, graph: &LoadBalancerGraph) -> Result<(), DriverError> {
        let _serialized = self.locks.lock(&graph.load_balancer.id).await;
        self.realize(graph).await
    }

    async fn remove(&self, load_balancer_id: &str) -> Result<(), DriverError> {
        let serialized = self.locks.lock(load_balancer_id).await;
        self.applied().remove(load_balancer_id);
        self.retired().remove(load_balancer_id);
        let removed = self.instance(load_balancer_id).destroy().await;
        drop(serialized);
        self.locks.forget(load_balancer_id);
        removed
    }

    async fn observe(&self, graph: &LoadBalancerGraph) -> Result<Observation, DriverError> {
        let lb_id = &graph.load_balancer.id;
        let instance = self.instance(lb_id);
        let mut events = Vec::new();
        if let Some(lost) = self.repair(graph).await? {
            events.push(Event::AlertRaised {
                key: format!("haproxy-process:{lb_id}"),
                load_balancer_id: lb_id.clone(),
                provider: "haproxy".into(),
                message: lost.into(),
            });
        }
        let csv = stats::command(&instance.stats_socket(), "show stat")
            .await
            .map_err(|e| DriverError::transient(format!("reading haproxy stats: {e}")))?;
        let mut observation = stats::parse(&csv, graph);
        observation.events = events;
        if let Some(retired) = self.retired().get(lb_id) {
            for (listener, counters) in observation.listener_stats.iter_mut() {
                if let Some(old) = retired.get(listener) {
                    *counters = *counters + *old;
                }
            }
        }
        Ok(observation)
    }

    async fn realized_load_balancers(&self) -> Result<Vec<String>, DriverError> {
        let realized = self.realized_fingerprints().await?;
        Ok(realized.into_iter().map(|r| r.load_balancer_id).collect())
    }

    /// What each load balancer's one master serves now (its configuration file), against what
    /// this process last made live; a load balancer without exactly one master named by its pid
    /// file (or with no directory) has no fingerprint now.
    async fn realized_fingerprints(&self) -> Result<Vec<Realized>, DriverError> {
        let state_dir = self.config.state_dir.clone();
        let found = tokio::task::spawn_blocking(move || inventory::realized(&state_dir))
            .await
            .map_err(|e| DriverError::transient(format!("listing state: {e}")))?
            .map_err(|e| DriverError::transient(format!("listing state: {e}")))?;
        let applied = self.applied();
        Ok(found
            .into_iter()
            .map(|(id, now)| Realized {
                applied: applied.get(&id).copied(),
                load_balancer_id: id,
                now,
            })
            .collect())
    }
}

/// Check that `binary` exists and is at least [`MIN_VERSION`]; returns its version text.
pub fn check_binary(binary: &Path) -> Result<String, String> {
    let out = std::process::Command::new(binary)
        .arg("-v")
        .output()
        .map_err(|e| {
            format!(
                "the haproxy binary {} cannot be run ({e}); install it with `apt-get install haproxy`",
                binary.display()
            )
        })?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let version = text
        .split_whitespace()
        .skip_while(|w| *w != "version")
        .nth(1)
        .unwrap_or("")
        .to_string();
    let mut parts = version
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let found = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if found < MIN_VERSION {
        return Err(format!(
            "haproxy {version} at {} is too old: Fulcrum needs {}.{} or newer",
            binary.display(),
            MIN_VERSION.0,
            MIN_VERSION.1
        ));
    }
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_haproxy(dir: &Path, version: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("haproxy");
        std::fs::write(
            &path,
            format!("#!/bin/sh\necho 'HAProxy version {version} 2020/01/01'\n"),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn binary_check_names_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            check_binary(&fake_haproxy(dir.path(), "2.6.12-1")).unwrap(),
            "2.6.12-1"
        );
        let old = tempfile::tempdir().unwrap();
        let err = check_binary(&fake_haproxy(old.path(), "1.8.19")).unwrap_err();
        assert!(err.contains("too old"), "{err}");
        let err = check_binary(Path::new("/nonexistent/haproxy")).unwrap_err();
        assert!(err.contains("apt-get install haproxy"), "{err}");
    }

    #[test]
    fn a_relative_state_directory_is_anchored() {
        let driver = HaproxyDriver::new(
            HaproxyConfig {
                binary: PathBuf::from("/usr/sbin/haproxy"),
                state_dir: PathBuf::from("state/haproxy"),
            },
            Arc::new(fulcrum_core::secrets::DirectoryCertificates::new("certs")),
        );
        let instance = driver.instance("lb-1");
        assert!(
            instance.stats_socket().is_absolute(),
            "{:?}",
            instance.stats_socket()
        );
    }

    /// Stops an instance's HAProxy when a test ends, even by a panic.
    struct StopOnDrop(Instance);

    impl Drop for StopOnDrop {
        fn drop(&mut self) {
            if let Some(pid) = self.0.running_pid() {
                let _ = std::process::Command::new("kill")
                    .arg(pid.to_string())
                    .status();
            }
        }
    }

    /// A load balancer listening on `port`, with pool p1 (HTTP monitor) of members m1 and m2.
    fn tree(port: i64) -> LoadBalancerGraph {
        super::test_tree::two_members("lb-runtime", port, "127.0.0.1", [1, 2])
    }

    /// The current worker of an instance. Right after a start or a reload, the master may still
    /// be busy and list none for a moment.
    async fn worker(instance: &Instance) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let workers = instance.worker_pids().await;
            if workers.len() == 1 {
                return workers[0].clone();
            }
            assert!(std::time::Instant::now() < deadline, "{workers:?}");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Apply `graph` and check that the configuration file is its full rendering; returns whether
    /// HAProxy reloaded (its worker changed).
    async fn reloads(driver: &HaproxyDriver, graph: &LoadBalancerGraph) -> bool {
        let instance = driver.instance(&graph.load_balancer.id);
        let before = worker(&instance).await;
        driver.apply(graph).await.unwrap();
        let settings = RenderSettings {
            runtime_dir: instance.dir.clone(),
            files: HashMap::new(),
        };
        assert_eq!(
            instance.current_config().unwrap(),
            render(graph, &settings).unwrap()
        );
        worker(&instance).await != before
    }

    /// Each server of p1 as HAProxy runs it: name, whether it is in maintenance, weight.
    async fn servers(driver: &HaproxyDriver) -> Vec<(String, bool, u32)> {
        // Forced, inherited or DNS maintenance; 0x04 only remembers `disabled` in the file.
        const MAINTENANCE: u32 = 0x23;
        let socket = driver.instance("lb-runtime").stats_socket();
        let text = stats::command(&socket, "show servers state p1")
            .await
            .unwrap();
        text.lines()
            .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()) && l.contains(" p1 "))
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (
                    f[3].to_string(),
                    f[6].parse::<u32>().unwrap() & MAINTENANCE != 0,
                    f[7].parse().unwrap(),
                )
            })
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn server_changes_reach_a_running_haproxy_without_a_reload() {
        let binary = Path::new("/usr/sbin/haproxy");
        if !binary.exists() {
            println!("skipping: {} is absent", binary.display());
            return;
        }
        let state = tempfile::tempdir().unwrap();
        let driver = HaproxyDriver::new(
            HaproxyConfig {
                binary: binary.to_path_buf(),
                state_dir: state.path().to_path_buf(),
            },
            Arc::new(fulcrum_core::secrets::DirectoryCertificates::new(
                state.path().join("certs"),
            )),
        );
        let _stop = StopOnDrop(driver.instance("lb-runtime"));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut graph = tree(i64::from(port));
        graph.members[1].admin_state_up = false;
        driver.apply(&graph).await.unwrap();

        // A member disabled in the configuration file is enabled, another one reweighted.
        graph.members[0].weight = 3;
        graph.members[1].admin_state_up = true;
        assert!(!reloads(&driver, &graph).await);
        assert_eq!(
            servers(&driver).await,
            [("m1".to_string(), false, 3), ("m2".to_string(), false, 1)]
        );

        // One member added, one removed, one disabled.
        let mut m3 = graph.members[0].clone();
        m3.id = "m3".into();
        m3.protocol_port = 3;
        m3.weight = 2;
        graph.members.push(m3);
        graph.members.remove(0);
        graph.members[0].admin_state_up = false;
        assert!(!reloads(&driver, &graph).await);
        assert_eq!(
            servers(&driver).await,
            [("m2".to_string(), true, 1), ("m3".to_string(), false, 2)]
        );

        graph.members[0].backup = true;
        assert!(reloads(&driver, &graph).await, "backup needs a reload");
        graph.pools[0].lb_algorithm = LbAlgorithm::LeastConnections;
        graph.members[1].weight = 5;
        assert!(
            reloads(&driver, &graph).await,
            "the algorithm needs a reload"
        );
        assert_eq!(
            servers(&driver).await,
            [("m2".to_string(), true, 1), ("m3".to_string(), false, 5)]
        );
        driver.remove("lb-runtime").await.unwrap();
    }

    #[test]
    fn reference_file_names_are_distinct_and_safe() {
        let a = file_name("https://kms/v1/containers/a");
        let b = file_name("https://kms/v1/containers/b");
        assert_ne!(a, b);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }
}
