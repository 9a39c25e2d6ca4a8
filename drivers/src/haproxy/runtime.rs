//! Server changes made through HAProxy's runtime API (the stats socket, at admin level) instead
//! of a reload: weights, administrative states, and servers added or deleted.
//!
//! A running HAProxy is updated this way only when the new configuration differs from the
//! running one in nothing but such server changes (see [`server_diff`](super::server_diff)).
//! Once every command has succeeded, the new configuration is written in place, without a reload,
//! so that the file always says what the process does: a later reload, restart or adoption reads
//! the same servers. Any command HAProxy refuses (a static balancing algorithm, a server option
//! dynamic servers do not take, a server that still has connections) leaves the update to a
//! reload, which installs the whole new configuration and so also settles the commands that did
//! succeed.

use std::path::Path;

use fulcrum_core::driver::DriverError;

use super::process::Instance;
use super::server_diff::{ServerChange, server_changes};
use super::stats;

/// One runtime API command and the answer it gives when it succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Command {
    /// The command line.
    line: String,
    /// Its answer on success, trimmed (most commands answer nothing).
    success: &'static str,
}

impl Command {
    fn new(line: String, success: &'static str) -> Self {
        Command { line, success }
    }
}

/// The commands that make one change, in order.
fn commands(change: &ServerChange) -> Vec<Command> {
    match change {
        ServerChange::Add {
            backend,
            server,
            arguments,
            checked,
            enabled,
        } => {
            let target = format!("{backend}/{server}");
            // A dynamic server starts in maintenance, with its health checks off.
            let mut out = vec![Command::new(
                format!("add server {target} {arguments}"),
                "New server registered.",
            )];
            if *checked {
                out.push(Command::new(format!("enable health {target}"), ""));
            }
            if *enabled {
                out.push(Command::new(format!("set server {target} state ready"), ""));
            }
            out
        }
        ServerChange::Remove { backend, server } => {
            let target = format!("{backend}/{server}");
            vec![
                Command::new(format!("set server {target} state maint"), ""),
                Command::new(format!("del server {target}"), "Server deleted."),
            ]
        }
        ServerChange::Set {
            backend,
            server,
            weight,
            enabled,
        } => {
            let target = format!("{backend}/{server}");
            let mut out = Vec::new();
            if let Some(weight) = weight {
                out.push(Command::new(
                    format!("set server {target} weight {weight}"),
                    "",
                ));
            }
            if let Some(enabled) = enabled {
                let state = if *enabled { "ready" } else { "maint" };
                out.push(Command::new(
                    format!("set server {target} state {state}"),
                    "",
                ));
            }
            out
        }
    }
}

/// Run `commands` on the runtime API at `socket`, one at a time; the first that fails (no answer,
/// or an answer other than its success) ends the run with an error.
async fn run(socket: &Path, commands: &[Command]) -> Result<(), DriverError> {
    for command in commands {
        let answer = stats::command(socket, &command.line)
            .await
            .map_err(|e| DriverError::transient(format!("{:?}: {e}", command.line)))?;
        if answer.trim() != command.success {
            return Err(DriverError::transient(format!(
                "{:?}: haproxy answered {:?}",
                command.line,
                answer.trim()
            )));
        }
    }
    Ok(())
}

/// Bring the running HAProxy of `instance` from its configuration file `running` to `desired`
/// without a reload. `Ok(true)`: every change was made and `desired` is the configuration file;
/// `Ok(false)`: a reload is needed, because the difference is not only servers or a command
/// failed (the file is then left as it was). An error is a failure to write the file after the
/// changes were made.
pub async fn update_without_reload(
    instance: &Instance,
    running: &str,
    desired: &str,
) -> Result<bool, DriverError> {
    let Some(changes) = server_changes(running, desired) else {
        return Ok(false);
    };
    let commands: Vec<Command> = changes.iter().flat_map(commands).collect();
    if let Err(e) = run(&instance.stats_socket(), &commands).await {
        tracing::info!(error = %e, dir = %instance.dir.display(), "runtime update refused; reloading");
        return Ok(false);
    }
    instance.write_config(desired).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::UnixListener;

    use super::*;

    const RUNNING: &str = "backend p1\n    mode http\n    server m1 10.0.0.1:80 weight 1\n";
    const REWEIGHTED: &str = "backend p1\n    mode http\n    server m1 10.0.0.1:80 weight 4\n";

    fn lines(change: &ServerChange) -> Vec<String> {
        commands(change).into_iter().map(|c| c.line).collect()
    }

    #[test]
    fn each_change_is_its_commands() {
        let add = ServerChange::Add {
            backend: "p1".into(),
            server: "m3".into(),
            arguments: "10.0.0.3:80 weight 2 check inter 5s".into(),
            checked: true,
            enabled: true,
        };
        assert_eq!(
            lines(&add),
            [
                "add server p1/m3 10.0.0.3:80 weight 2 check inter 5s",
                "enable health p1/m3",
                "set server p1/m3 state ready",
            ]
        );
        let add_disabled = ServerChange::Add {
            backend: "p1".into(),
            server: "m3".into(),
            arguments: "10.0.0.3:80 weight 2".into(),
            checked: false,
            enabled: false,
        };
        assert_eq!(
            lines(&add_disabled),
            ["add server p1/m3 10.0.0.3:80 weight 2"]
        );
        let remove = ServerChange::Remove {
            backend: "p1".into(),
            server: "m1".into(),
        };
        assert_eq!(
            lines(&remove),
            ["set server p1/m1 state maint", "del server p1/m1"]
        );
        let set = ServerChange::Set {
            backend: "p1".into(),
            server: "m1".into(),
            weight: Some("0".into()),
            enabled: Some(false),
        };
        assert_eq!(
            lines(&set),
            ["set server p1/m1 weight 0", "set server p1/m1 state maint"]
        );
    }

    /// A stats socket in `dir` that answers each connection with the next of `answers` and
    /// records the commands it was sent.
    fn fake_socket(
        dir: &Path,
        answers: &'static [&'static str],
    ) -> tokio::task::JoinHandle<Vec<String>> {
        let listener = UnixListener::bind(dir.join("stats.sock")).unwrap();
        tokio::spawn(async move {
            let mut seen = Vec::new();
            for answer in answers {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut command = String::new();
                stream.read_to_string(&mut command).await.unwrap();
                seen.push(command.trim().to_string());
                stream.write_all(answer.as_bytes()).await.unwrap();
            }
            seen
        })
    }

    fn instance(state: &Path) -> Instance {
        let instance = Instance::new(state, "lb1", &PathBuf::from("/usr/sbin/haproxy"));
        std::fs::create_dir_all(&instance.dir).unwrap();
        std::fs::write(instance.config_path(), RUNNING).unwrap();
        instance
    }

    #[tokio::test]
    async fn accepted_changes_install_the_file_without_a_reload() {
        let state = tempfile::tempdir().unwrap();
        let instance = instance(state.path());
        let socket = fake_socket(&instance.dir, &["\n"]);
        assert!(
            update_without_reload(&instance, RUNNING, REWEIGHTED)
                .await
                .unwrap()
        );
        assert_eq!(socket.await.unwrap(), ["set server p1/m1 weight 4"]);
        assert_eq!(instance.current_config().as_deref(), Some(REWEIGHTED));
    }

    #[tokio::test]
    async fn a_refused_command_leaves_it_to_a_reload() {
        let state = tempfile::tempdir().unwrap();
        let instance = instance(state.path());
        let socket = fake_socket(&instance.dir, &["No such server.\n"]);
        assert!(
            !update_without_reload(&instance, RUNNING, REWEIGHTED)
                .await
                .unwrap()
        );
        socket.await.unwrap();
        assert_eq!(instance.current_config().as_deref(), Some(RUNNING));
    }

    #[tokio::test]
    async fn a_closed_socket_leaves_it_to_a_reload() {
        let state = tempfile::tempdir().unwrap();
        let instance = instance(state.path());
        // A socket file nobody listens on any more.
        drop(UnixListener::bind(instance.stats_socket()).unwrap());
        assert!(
            !update_without_reload(&instance, RUNNING, REWEIGHTED)
                .await
                .unwrap()
        );
        assert_eq!(instance.current_config().as_deref(), Some(RUNNING));
    }

    #[tokio::test]
    async fn other_differences_send_no_command() {
        let state = tempfile::tempdir().unwrap();
        let instance = instance(state.path());
        let other = "backend p1\n    mode tcp\n    server m1 10.0.0.1:80 weight 4\n";
        // No socket at all: a command would fail, but none is sent.
        assert!(
            !update_without_reload(&instance, RUNNING, other)
                .await
                .unwrap()
        );
        assert_eq!(instance.current_config().as_deref(), Some(RUNNING));
    }
}
