//! What a state directory realizes, for the full sync's drift check: each load balancer that has
//! a configuration file or a process, with a fingerprint of the configuration it serves.
//!
//! A load balancer realizes its configuration file only when exactly one master serves it and
//! its pid file names that master; anything else (no process, a dead one, a stray second master,
//! a process whose directory is gone) realizes nothing the driver can vouch for. One scan of
//! `/proc` and one read of each configuration and pid file: no process is started or asked.

use std::collections::HashSet;
use std::path::Path;

use fulcrum_core::driver::Fingerprint;

use super::processes::{self, CONFIG_FILE};

/// The pid file of a load balancer inside its directory.
pub const PID_FILE: &str = "haproxy.pid";

/// Every load balancer `state_dir` holds, with what it serves now (`None`: nothing provably).
pub fn realized(state_dir: &Path) -> std::io::Result<Vec<(String, Option<Fingerprint>)>> {
    let running = processes::scan(state_dir);
    let masters = processes::masters(&running);
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(state_dir) {
        Ok(entries) => entries.flatten().collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let Ok(id) = entry.file_name().into_string() else {
            continue;
        };
        let dir = entry.path();
        let config = std::fs::read(dir.join(CONFIG_FILE)).ok();
        let master = masters.get(id.as_str());
        if config.is_none() && master.is_none() {
            continue;
        }
        let named = std::fs::read_to_string(dir.join(PID_FILE))
            .ok()
            .and_then(|pid| pid.trim().parse::<u32>().ok());
        let serving = matches!((master, named), (Some(m), Some(pid)) if m.as_slice() == [pid]);
        let now = if serving && config.is_some() {
            served(&dir)
        } else {
            None
        };
        out.push((id, now));
    }
    // Processes whose directory is gone.
    let listed: HashSet<String> = out.iter().map(|(id, _)| id.clone()).collect();
    for id in masters.keys().filter(|id| !listed.contains(**id)) {
        out.push((id.to_string(), None));
    }
    Ok(out)
}

/// The fingerprint of what a load balancer's directory `dir` gives HAProxy to serve: its
/// configuration file and its TLS material (each file of `certs/`, by name and content), so that
/// a certificate changed behind the driver's back is drift as much as a changed configuration.
/// `None` without a configuration file.
pub fn served(dir: &Path) -> Option<Fingerprint> {
    let mut bytes = std::fs::read(dir.join(CONFIG_FILE)).ok()?;
    let mut certificates: Vec<_> = std::fs::read_dir(dir.join("certs"))
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    certificates.sort();
    for path in certificates {
        bytes.extend_from_slice(b"\0");
        bytes.extend_from_slice(path.as_os_str().as_encoded_bytes());
        bytes.extend_from_slice(b"\0");
        bytes.extend(std::fs::read(&path).unwrap_or_default());
    }
    Some(Fingerprint::of(bytes))
}
