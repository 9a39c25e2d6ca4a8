//! Reading HAProxy's runtime API (`show stat` on the stats socket) into Octavia operating
//! statuses and listener counters.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use fulcrum_core::driver::{LoadBalancerGraph, Observation};
use fulcrum_core::model::{OperatingStatus, Stats};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

/// How long one runtime API command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// Send one command to a runtime API socket (a worker's stats socket or the master CLI) and read
/// the whole answer. The write side is closed after the command, which makes the master CLI end
/// the session instead of waiting for more commands.
pub async fn command(socket: &Path, cmd: &str) -> std::io::Result<String> {
    command_within(socket, cmd, COMMAND_TIMEOUT).await
}

/// [`command`] with its own time limit.
pub async fn command_within(socket: &Path, cmd: &str, limit: Duration) -> std::io::Result<String> {
    let exchange = async {
        let mut stream = UnixStream::connect(socket).await?;
        stream.write_all(format!("{cmd}\n").as_bytes()).await?;
        stream.shutdown().await?;
        let mut out = String::new();
        stream.read_to_string(&mut out).await?;
        Ok(out)
    };
    tokio::time::timeout(limit, exchange)
        .await
        .unwrap_or_else(|_| {
            Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("{cmd:?} on {} timed out", socket.display()),
            ))
        })
}

/// One row of `show stat`, by column name.
struct Row<'a> {
    cols: &'a HashMap<&'a str, usize>,
    fields: Vec<&'a str>,
}

impl Row<'_> {
    fn get(&self, name: &str) -> &str {
        self.cols
            .get(name)
            .and_then(|i| self.fields.get(*i))
            .copied()
            .unwrap_or("")
    }

    fn num(&self, name: &str) -> i64 {
        self.get(name).parse().unwrap_or(0)
    }
}

/// Octavia's status of a server (member) from HAProxy's status column.
pub fn member_status(status: &str) -> OperatingStatus {
    let word = status.split([' ', '(']).next().unwrap_or("");
    match word {
        "UP" | "NOLB" => OperatingStatus::Online,
        "DOWN" => OperatingStatus::Error,
        "MAINT" => OperatingStatus::Offline,
        "DRAIN" => OperatingStatus::Draining,
        "no" => OperatingStatus::NoMonitor,
        _ => OperatingStatus::Offline,
    }
}

/// Turn `show stat` CSV into an observation of `graph`.
pub fn parse(csv: &str, graph: &LoadBalancerGraph) -> Observation {
    let mut lines = csv.lines();
    let header = lines
        .next()
        .unwrap_or("")
        .trim_start_matches("# ")
        .trim_end_matches(',');
    let cols: HashMap<&str, usize> = header.split(',').enumerate().map(|(i, c)| (c, i)).collect();
    let mut obs = Observation::default();
    let mut frontend_open: HashMap<String, bool> = HashMap::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let row = Row {
            cols: &cols,
            fields: line.split(',').collect(),
        };
        let (px, sv) = (row.get("pxname"), row.get("svname"));
        match sv {
            "FRONTEND" => {
                frontend_open.insert(px.to_string(), row.get("status") == "OPEN");
                obs.listener_stats.insert(
                    px.to_string(),
                    Stats {
                        bytes_in: row.num("bin"),
                        bytes_out: row.num("bout"),
                        active_connections: row.num("scur"),
                        total_connections: row.num("stot"),
                        request_errors: row.num("ereq"),
                    },
                );
            }
            "BACKEND" => {}
            member => {
                obs.operating_status
                    .insert(member.to_string(), member_status(row.get("status")));
            }
        }
    }
    settle_parents(graph, &frontend_open, &mut obs);
    obs
}

/// Pools, listeners and the load balancer follow from their members and frontends.
fn settle_parents(
    graph: &LoadBalancerGraph,
    frontend_open: &HashMap<String, bool>,
    obs: &mut Observation,
) {
    use OperatingStatus as S;
    let mut worst_pool = S::Online;
    for pool in &graph.pools {
        let statuses: Vec<S> = graph
            .members_of(&pool.id)
            .filter(|m| m.admin_state_up)
            .map(|m| {
                obs.operating_status
                    .get(&m.id)
                    .copied()
                    .unwrap_or(S::Offline)
            })
            .collect();
        let down = statuses.iter().filter(|s| **s == S::Error).count();
        let status = if !pool.admin_state_up {
            S::Offline
        } else if !statuses.is_empty() && down == statuses.len() {
            S::Error
        } else if down > 0 {
            S::Degraded
        } else {
            S::Online
        };
        if matches!(status, S::Error | S::Degraded) {
            worst_pool = S::Degraded;
        }
        obs.operating_status.insert(pool.id.clone(), status);
    }
    let mut all_open = true;
    for l in &graph.listeners {
        let open = l.admin_state_up && frontend_open.get(&l.id).copied().unwrap_or(false);
        all_open &= open;
        obs.operating_status
            .insert(l.id.clone(), if open { S::Online } else { S::Offline });
    }
    obs.set_configured_statuses(graph);
    let lb = &graph.load_balancer;
    let lb_status = if !lb.admin_state_up || !all_open {
        S::Offline
    } else {
        worst_pool
    };
    obs.operating_status.insert(lb.id.clone(), lb_status);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_statuses() {
        assert_eq!(member_status("UP"), OperatingStatus::Online);
        assert_eq!(member_status("UP 1/3"), OperatingStatus::Online);
        assert_eq!(member_status("DOWN"), OperatingStatus::Error);
        assert_eq!(member_status("DOWN 1/2"), OperatingStatus::Error);
        assert_eq!(member_status("MAINT"), OperatingStatus::Offline);
        assert_eq!(member_status("MAINT(via)"), OperatingStatus::Offline);
        assert_eq!(member_status("no check"), OperatingStatus::NoMonitor);
        assert_eq!(member_status("DRAIN"), OperatingStatus::Draining);
    }
}
