//! One load balancer = one HAProxy in master-worker mode, daemonized so that it keeps serving
//! while Fulcrum restarts. Its files live in `<state_dir>/<load balancer id>/`: the configuration,
//! the master's pid file, the master CLI socket and the stats socket.
//!
//! A new configuration for a running HAProxy is written next to the live one, checked with
//! `haproxy -c`, renamed into place, and applied with a hitless reload through the master CLI (the
//! old worker finishes its connections while the new one takes new ones). A first start needs no
//! separate check: HAProxy validates the configuration itself before it binds anything.
//!
//! Exactly one master serves a load balancer: the one its pid file names. Before a start, and
//! whenever the configuration is made live, every other process of the load balancer (found by
//! [`processes`]: one left behind when its state directory was deleted, or started by a caller
//! that raced this one) is stopped.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fulcrum_core::driver::DriverError;
use tokio::process::Command;

use super::inventory::PID_FILE;
use super::processes::{self, CONFIG_FILE, HaproxyProcess, is_alive};
use super::stats;

/// How long a master that stopped answering may be re-executing itself during a reload before it
/// counts as gone.
const REEXEC_WINDOW: Duration = Duration::from_millis(300);

/// The files of one load balancer's HAProxy.
#[derive(Debug, Clone)]
pub struct Instance {
    /// `<state_dir>/<id>`.
    pub dir: PathBuf,
    binary: PathBuf,
}

impl Instance {
    /// The instance of load balancer `id` under `state_dir`.
    pub fn new(state_dir: &Path, id: &str, binary: &Path) -> Self {
        Instance {
            dir: state_dir.join(id),
            binary: binary.to_path_buf(),
        }
    }

    /// The live configuration file.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join(CONFIG_FILE)
    }

    /// The state directory the instance's directory is in.
    fn state_dir(&self) -> &Path {
        self.dir.parent().unwrap_or(&self.dir)
    }

    /// The load balancer's id: the directory's name.
    fn load_balancer_id(&self) -> String {
        self.dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// Every live process that serves this load balancer's configuration, whether this instance
    /// accounts for it or not.
    async fn processes(&self) -> Vec<HaproxyProcess> {
        let (state_dir, id) = (self.state_dir().to_path_buf(), self.load_balancer_id());
        tokio::task::spawn_blocking(move || processes::scan(&state_dir))
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|p| p.load_balancer_id == id)
            .collect()
    }

    /// Stop every process of this load balancer but the master `keep` and its workers; returns
    /// the pids stopped.
    async fn stop_processes(&self, keep: Option<u32>) -> Vec<u32> {
        let pids: Vec<u32> = self
            .processes()
            .await
            .into_iter()
            .filter(|p| Some(p.pid) != keep && Some(p.parent) != keep)
            .map(|p| p.pid)
            .collect();
        processes::stop(&pids).await;
        pids
    }

    /// Stop the processes of this load balancer that its master `keep` (none: no master) does not
    /// account for, saying so.
    async fn stop_strays(&self, keep: Option<u32>) {
        let strays = self.stop_processes(keep).await;
        if !strays.is_empty() {
            tracing::warn!(load_balancer = %self.load_balancer_id(), pids = ?strays, "stopped haproxy processes that no pid file named");
        }
    }

    fn pid_path(&self) -> PathBuf {
        self.dir.join(PID_FILE)
    }

    fn master_socket(&self) -> PathBuf {
        self.dir.join("master.sock")
    }

    /// The stats socket the configuration declares.
    pub fn stats_socket(&self) -> PathBuf {
        self.dir.join("stats.sock")
    }

    /// The master's pid, if its process is alive and is this instance's HAProxy.
    pub fn running_pid(&self) -> Option<u32> {
        let pid: u32 = std::fs::read_to_string(self.pid_path())
            .ok()?
            .trim()
            .parse()
            .ok()?;
        if !is_alive(pid) {
            return None;
        }
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let cmdline = String::from_utf8_lossy(&cmdline);
        let ours = cmdline.contains("haproxy")
            && cmdline.contains(self.config_path().to_string_lossy().as_ref());
        ours.then_some(pid)
    }

    /// Whether this instance's HAProxy is alive: its master answers on the CLI socket or its pid
    /// file names a live HAProxy. While a reload is in progress the master re-executes itself and,
    /// for a moment, neither answers; they are polled through that window rather than after a fixed
    /// pause, so that an apply right after a reload waits only as long as the re-execution takes.
    pub async fn is_running(&self) -> bool {
        if !self.pid_path().exists() && !self.master_socket().exists() {
            return false;
        }
        let deadline = Instant::now() + REEXEC_WINDOW;
        loop {
            if self.running_pid().is_some() || !self.worker_pids().await.is_empty() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// The live configuration text, if any.
    pub fn current_config(&self) -> Option<String> {
        std::fs::read_to_string(self.config_path()).ok()
    }

    /// Make the running HAProxy serve `config`: no-op when it already does, a start when none
    /// runs, a hitless reload otherwise. Either way, it is then the load balancer's only master.
    pub async fn ensure(&self, config: &str, material_changed: bool) -> Result<(), DriverError> {
        let master = if self.is_running().await {
            self.running_pid()
        } else {
            None
        };
        let running = master.is_some();
        if running {
            self.stop_strays(master).await;
        }
        if running && !material_changed && self.current_config().as_deref() == Some(config) {
            return Ok(());
        }
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| io_error("creating the state directory", e))?;
        if running {
            self.install_checked(config).await?;
            self.reload().await
        } else {
            // Nothing serves yet, so there is nothing to protect: HAProxy's own start-up runs the
            // same checks as `haproxy -c` before it binds anything, and refuses to start on an
            // invalid configuration. That saves a whole extra process start.
            self.write_config(config).await?;
            self.start().await
        }
    }

    /// Replace the configuration file with `config` (written next to it, then renamed), without
    /// touching the process.
    pub async fn write_config(&self, config: &str) -> Result<(), DriverError> {
        let candidate = self.dir.join("haproxy.cfg.new");
        tokio::fs::write(&candidate, config)
            .await
            .map_err(|e| io_error("writing the configuration", e))?;
        tokio::fs::rename(&candidate, self.config_path())
            .await
            .map_err(|e| io_error("installing the configuration", e))
    }

    /// Write the configuration next to the live one, check it with `haproxy -c`, then rename it
    /// into place: a configuration HAProxy refuses never replaces a working one.
    async fn install_checked(&self, config: &str) -> Result<(), DriverError> {
        let candidate = self.dir.join("haproxy.cfg.new");
        tokio::fs::write(&candidate, config)
            .await
            .map_err(|e| io_error("writing the configuration", e))?;
        let check = Command::new(&self.binary)
            .arg("-c")
            .arg("-q")
            .arg("-f")
            .arg(&candidate)
            .output()
            .await
            .map_err(|e| io_error("running haproxy -c", e))?;
        if !check.status.success() {
            let _ = tokio::fs::remove_file(&candidate).await;
            return Err(DriverError::rejected(format!(
                "haproxy rejected the configuration: {}",
                String::from_utf8_lossy(&check.stderr).trim()
            )));
        }
        tokio::fs::rename(&candidate, self.config_path())
            .await
            .map_err(|e| io_error("installing the configuration", e))
    }

    async fn start(&self) -> Result<(), DriverError> {
        self.stop_strays(None).await;
        let _ = tokio::fs::remove_file(self.master_socket()).await;
        let out = Command::new(&self.binary)
            .arg("-W")
            .arg("-D")
            .arg("-S")
            .arg(self.master_socket())
            .arg("-p")
            .arg(self.pid_path())
            .arg("-f")
            .arg(self.config_path())
            .output()
            .await
            .map_err(|e| io_error("starting haproxy", e))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let message = format!("haproxy did not start: {}", stderr.trim());
            // A port in use may free up; a configuration HAProxy refuses will not fix itself.
            return Err(if stderr.contains("cannot bind") {
                DriverError::transient(message)
            } else {
                DriverError::rejected(message)
            });
        }
        // The daemonized master writes its pid file shortly after the starting process exits.
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.running_pid().is_none() {
            if Instant::now() > deadline {
                return Err(DriverError::transient(
                    "haproxy started but wrote no pid file",
                ));
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        self.wait_for_stats().await
    }

    /// Reload through the master CLI and wait until a new worker serves.
    async fn reload(&self) -> Result<(), DriverError> {
        let before = self.worker_pids().await;
        if before.is_empty() {
            return Err(DriverError::transient(
                "the haproxy master CLI does not list a worker",
            ));
        }
        stats::command(&self.master_socket(), "reload")
            .await
            .map_err(|e| io_error("reloading haproxy", e))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let now = self.worker_pids().await;
            if now.iter().any(|p| !before.contains(p)) {
                return self.wait_for_stats().await;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Err(DriverError::transient(
            "haproxy did not start a new worker after reload",
        ))
    }

    /// Pids of the current workers (not the old ones finishing connections after a reload), from
    /// the master CLI's `show proc`; empty while the master is busy re-executing.
    pub async fn worker_pids(&self) -> Vec<String> {
        let Ok(text) = stats::command_within(
            &self.master_socket(),
            "show proc",
            Duration::from_millis(250),
        )
        .await
        else {
            return vec![];
        };
        text.lines()
            .take_while(|l| !l.starts_with("# old workers"))
            .filter(|l| !l.starts_with('#'))
            .filter(|l| l.split_whitespace().nth(1) == Some("worker"))
            .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
            .collect()
    }

    async fn wait_for_stats(&self) -> Result<(), DriverError> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if stats::command(&self.stats_socket(), "show info")
                .await
                .is_ok()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Err(DriverError::transient(
            "haproxy started but its stats socket does not answer",
        ))
    }

    /// Stop every process of the load balancer (their connections are cut), whether its pid file
    /// names it or not, and remove every file.
    pub async fn destroy(&self) -> Result<(), DriverError> {
        self.stop_processes(None).await;
        match tokio::fs::remove_dir_all(&self.dir).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error("removing the state directory", e)),
        }
    }
}

fn io_error(what: &str, e: std::io::Error) -> DriverError {
    DriverError::transient(format!("{what}: {e}"))
}
