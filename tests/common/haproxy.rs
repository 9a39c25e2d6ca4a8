//! The HAProxy processes a test's Fulcrum started, found in `/proc` by their `-f
//! <state_dir>/<load balancer id>/haproxy.cfg` argument (masters, workers and old workers alike).

use std::collections::HashMap;
use std::path::Path;

/// A live HAProxy process of one load balancer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaproxyProcess {
    /// Its pid.
    pub pid: u32,
    /// Its parent's pid.
    pub parent: u32,
    /// The load balancer whose configuration it runs.
    pub load_balancer: String,
}

/// Every live (not zombie) HAProxy process running a configuration under `state_dir`.
pub fn haproxy_processes(state_dir: &Path) -> Vec<HaproxyProcess> {
    let prefix = format!("{}/", state_dir.display());
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let Some(load_balancer) = args.windows(2).find_map(|w| {
            let rest = w[1].strip_prefix(&prefix).filter(|_| w[0] == "-f")?;
            let (id, file) = rest.split_once('/')?;
            (file == "haproxy.cfg").then(|| id.to_string())
        }) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let mut fields = stat
            .rsplit_once(')')
            .map_or("", |(_, rest)| rest)
            .split_whitespace();
        if matches!(fields.next(), Some("Z" | "X") | None) {
            continue;
        }
        let parent = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        found.push(HaproxyProcess {
            pid,
            parent,
            load_balancer,
        });
    }
    found
}

/// The masters under `state_dir` by load balancer: the processes whose parent is not one of them.
pub fn masters_by_load_balancer(state_dir: &Path) -> HashMap<String, Vec<u32>> {
    let all = haproxy_processes(state_dir);
    let mut out: HashMap<String, Vec<u32>> = HashMap::new();
    for p in &all {
        if !all.iter().any(|q| q.pid == p.parent) {
            out.entry(p.load_balancer.clone()).or_default().push(p.pid);
        }
    }
    out
}
