//! The HAProxy processes of a state directory, found in `/proc` by what marks them: the
//! configuration path on their command line, `-f <state_dir>/<load balancer id>/haproxy.cfg`.
//!
//! Masters, their workers and old workers finishing connections after a reload all carry it (a
//! worker is forked from its master, and a reload re-executes the master with its own arguments).
//! So a process keeps its mark when its state directory, pid file and sockets are deleted behind
//! Fulcrum's back: it can still be found and stopped. A process of another state directory
//! (another Fulcrum, another test) never matches, and is never touched.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use tokio::process::Command;

/// The configuration file of a load balancer inside its directory.
pub const CONFIG_FILE: &str = "haproxy.cfg";

/// A live HAProxy process serving a load balancer of the scanned state directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaproxyProcess {
    /// Its pid.
    pub pid: u32,
    /// Its parent's pid: a worker's parent is its master.
    pub parent: u32,
    /// The load balancer whose configuration it reads.
    pub load_balancer_id: String,
}

/// The masters among `all` by load balancer: the processes whose parent is no process of the
/// same load balancer (a worker's parent is its master).
pub fn masters(all: &[HaproxyProcess]) -> HashMap<&str, Vec<u32>> {
    let load_balancer_of: HashMap<u32, &str> = all
        .iter()
        .map(|p| (p.pid, p.load_balancer_id.as_str()))
        .collect();
    let mut out: HashMap<&str, Vec<u32>> = HashMap::new();
    for p in all {
        if load_balancer_of.get(&p.parent) != Some(&p.load_balancer_id.as_str()) {
            out.entry(&p.load_balancer_id).or_default().push(p.pid);
        }
    }
    out
}

/// Every live HAProxy process of `state_dir` (an absolute path). Reads `/proc`: call it off the
/// async runtime's worker threads when it matters.
pub fn scan(state_dir: &Path) -> Vec<HaproxyProcess> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            // The program's name first: reading another program's command line waits for its
            // memory map, which a busy process (a linker) may hold for a while.
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
            if !comm.contains("haproxy") {
                return None;
            }
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let load_balancer_id = load_balancer_of(&cmdline, state_dir)?;
            let parent = live_parent(pid)?;
            Some(HaproxyProcess {
                pid,
                parent,
                load_balancer_id,
            })
        })
        .collect()
}

/// The load balancer whose configuration a command line (its NUL-separated arguments) reads,
/// when the program is an HAProxy and the configuration is one of `state_dir`'s.
fn load_balancer_of(cmdline: &[u8], state_dir: &Path) -> Option<String> {
    let args: Vec<&str> = cmdline
        .split(|b| *b == 0)
        .map(|a| std::str::from_utf8(a).unwrap_or(""))
        .collect();
    let program = Path::new(args.first()?).file_name()?.to_str()?;
    if !program.contains("haproxy") {
        return None;
    }
    let config = args.windows(2).find(|w| w[0] == "-f").map(|w| w[1])?;
    let config = Path::new(config);
    if config.file_name()? != CONFIG_FILE {
        return None;
    }
    let dir = config.parent()?;
    if dir.parent()? != state_dir {
        return None;
    }
    dir.file_name()?.to_str().map(str::to_owned)
}

/// The parent of a process that has not exited; `None` for a zombie or a process that is gone.
fn live_parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The state and the parent follow the command name, which is in parentheses and may contain
    // spaces.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    let state = fields.next()?;
    if matches!(state, "Z" | "X") {
        return None;
    }
    fields.next()?.parse().ok()
}

/// Whether a process exists and has not exited. An exited daemon whose parent does not reap it
/// (a container's PID 1 may not) stays in the process table as a zombie: that counts as gone.
pub fn is_alive(pid: u32) -> bool {
    live_parent(pid).is_some()
}

/// Stop processes: SIGTERM to each (a master stops its workers), up to 5 s for them to exit,
/// then SIGKILL for what is left.
pub async fn stop(pids: &[u32]) {
    if pids.is_empty() {
        return;
    }
    signal("-TERM", pids).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while pids.iter().any(|p| is_alive(*p)) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let left: Vec<u32> = pids.iter().copied().filter(|p| is_alive(*p)).collect();
    if !left.is_empty() {
        signal("-KILL", &left).await;
    }
}

async fn signal(signal: &str, pids: &[u32]) {
    let _ = Command::new("kill")
        .arg(signal)
        .args(pids.iter().map(u32::to_string))
        .status()
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmdline(args: &[&str]) -> Vec<u8> {
        let mut out = args.join("\0").into_bytes();
        out.push(0);
        out
    }

    #[test]
    fn only_configurations_of_this_state_directory_match() {
        let state = Path::new("/var/lib/fulcrum/haproxy");
        let ours = |args: &[&str]| load_balancer_of(&cmdline(args), state);
        let master = [
            "/usr/sbin/haproxy",
            "-W",
            "-D",
            "-S",
            "/var/lib/fulcrum/haproxy/lb-1/master.sock",
            "-f",
            "/var/lib/fulcrum/haproxy/lb-1/haproxy.cfg",
        ];
        assert_eq!(ours(&master).as_deref(), Some("lb-1"));
        let worker = [
            "/usr/sbin/haproxy",
            "-sf",
            "12",
            "-x",
            "sockpair@3",
            "-f",
            "/var/lib/fulcrum/haproxy/lb-1/haproxy.cfg",
        ];
        assert_eq!(ours(&worker).as_deref(), Some("lb-1"));
        // Another state directory, even one whose name starts with ours.
        for other in [
            "/var/lib/fulcrum/haproxy-2/lb-1/haproxy.cfg",
            "/var/lib/other/lb-1/haproxy.cfg",
            "/var/lib/fulcrum/haproxy/lb-1/deep/haproxy.cfg",
        ] {
            assert_eq!(ours(&["/usr/sbin/haproxy", "-f", other]), None, "{other}");
        }
        // A configuration check of a candidate file, and programs that are no HAProxy.
        let check = "/var/lib/fulcrum/haproxy/lb-1/haproxy.cfg.new";
        assert_eq!(ours(&["/usr/sbin/haproxy", "-c", "-f", check]), None);
        let config = "/var/lib/fulcrum/haproxy/lb-1/haproxy.cfg";
        assert_eq!(ours(&["/usr/bin/tail", "-f", config]), None);
        assert_eq!(ours(&[]), None);
    }

    #[test]
    fn a_master_is_a_process_whose_parent_is_not_of_its_load_balancer() {
        let process = |pid, parent, lb: &str| HaproxyProcess {
            pid,
            parent,
            load_balancer_id: lb.into(),
        };
        let all = [
            process(10, 1, "a"),
            process(11, 10, "a"),
            process(20, 1, "a"),
            process(30, 10, "b"),
        ];
        let masters = masters(&all);
        assert_eq!(masters["a"], [10, 20]);
        assert_eq!(masters["b"], [30]);
        assert_eq!(masters.len(), 2);
    }

    #[test]
    fn this_test_process_is_alive_and_has_a_parent() {
        let me = std::process::id();
        assert!(is_alive(me));
        assert!(live_parent(me).is_some_and(|p| p != me));
        assert!(!is_alive(u32::MAX));
    }
}
