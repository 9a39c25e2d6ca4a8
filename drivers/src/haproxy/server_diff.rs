//! The difference between two rendered configurations when it lies only in the server lines of
//! backends, as changes HAProxy's runtime API can make without a reload.
//!
//! The comparison is made on the rendered text, which is exactly what the configuration file
//! says: every section must keep its header and every line other than a server line, in the same
//! order. A server may appear, disappear, or change its weight and whether it is `disabled`; any
//! other difference (its address, health check, backup flag, TLS options, …) needs a reload, and
//! so does a new server line the runtime API's parser would read differently from the file's
//! (quoted words, escapes, command separators).

use std::collections::BTreeMap;

/// One server change that the runtime API can make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerChange {
    /// A new server: its address and options as in the configuration file.
    Add {
        /// The backend (pool id).
        backend: String,
        /// The server (member id).
        server: String,
        /// The words after the server's name, without `disabled`.
        arguments: String,
        /// Whether its health checks run.
        checked: bool,
        /// Whether it takes traffic (not `disabled`).
        enabled: bool,
    },
    /// A server that goes away.
    Remove {
        /// The backend (pool id).
        backend: String,
        /// The server (member id).
        server: String,
    },
    /// A server that stays, with a new weight or administrative state.
    Set {
        /// The backend (pool id).
        backend: String,
        /// The server (member id).
        server: String,
        /// Its new weight, when that changes.
        weight: Option<String>,
        /// Whether it now takes traffic, when that changes.
        enabled: Option<bool>,
    },
}

/// The server changes that turn the `running` configuration into `desired`, or `None` when the
/// two differ in anything else (or are equal: then there is nothing to do without a reload
/// either, and the caller has no runtime update to make).
pub fn server_changes(running: &str, desired: &str) -> Option<Vec<ServerChange>> {
    let (old, new) = (sections(running)?, sections(desired)?);
    if old.len() != new.len() {
        return None;
    }
    let mut changes = Vec::new();
    for (before, after) in old.iter().zip(&new) {
        if before.header != after.header || before.other != after.other {
            return None;
        }
        if before.servers == after.servers {
            continue;
        }
        let backend = before.header.strip_prefix("backend ")?;
        for (name, line) in &before.servers {
            if !after.servers.contains_key(name) {
                changes.push(ServerChange::Remove {
                    backend: backend.to_string(),
                    server: name.to_string(),
                });
            } else if let Some(change) = set(backend, line, &after.servers[name])? {
                changes.push(change);
            }
        }
        for (name, line) in &after.servers {
            if !before.servers.contains_key(name) {
                changes.push(add(backend, line)?);
            }
        }
    }
    (!changes.is_empty()).then_some(changes)
}

/// A section of the configuration: its header, its server lines by name, and its other lines.
struct Section<'a> {
    header: &'a str,
    servers: BTreeMap<&'a str, ServerLine<'a>>,
    other: Vec<&'a str>,
}

/// The text as sections; `None` when a line is neither a header nor indented under one, or a
/// section names one server twice.
fn sections(text: &str) -> Option<Vec<Section<'_>>> {
    let mut out: Vec<Section> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if !line.starts_with(char::is_whitespace) {
            out.push(Section {
                header: line,
                servers: BTreeMap::new(),
                other: Vec::new(),
            });
            continue;
        }
        let section = out.last_mut()?;
        let body = line.trim();
        if body.starts_with("server ") {
            let server = ServerLine::parse(body)?;
            if section.servers.insert(server.name, server).is_some() {
                return None;
            }
        } else {
            section.other.push(body);
        }
    }
    Some(out)
}

/// A server line as the renderer writes it: `server <name> <address> weight <n> <options…>`,
/// where the options may include `disabled`.
#[derive(Debug, PartialEq, Eq)]
struct ServerLine<'a> {
    name: &'a str,
    address: &'a str,
    weight: &'a str,
    disabled: bool,
    options: Vec<&'a str>,
}

impl<'a> ServerLine<'a> {
    fn parse(line: &'a str) -> Option<Self> {
        let mut words = line.split_whitespace();
        let (Some("server"), Some(name), Some(address), Some("weight"), Some(weight)) = (
            words.next(),
            words.next(),
            words.next(),
            words.next(),
            words.next(),
        ) else {
            return None;
        };
        let (disabled, options): (Vec<&str>, Vec<&str>) = words.partition(|w| *w == "disabled");
        Some(ServerLine {
            name,
            address,
            weight,
            disabled: !disabled.is_empty(),
            options,
        })
    }
}

fn set(backend: &str, before: &ServerLine, after: &ServerLine) -> Option<Option<ServerChange>> {
    if before.address != after.address || before.options != after.options {
        return None;
    }
    let weight = (before.weight != after.weight).then(|| after.weight.to_string());
    let enabled = (before.disabled != after.disabled).then_some(!after.disabled);
    Some(
        (weight.is_some() || enabled.is_some()).then(|| ServerChange::Set {
            backend: backend.to_string(),
            server: after.name.to_string(),
            weight,
            enabled,
        }),
    )
}

fn add(backend: &str, line: &ServerLine) -> Option<ServerChange> {
    let words = std::iter::once(line.address)
        .chain(["weight", line.weight])
        .chain(line.options.iter().copied());
    let arguments = words.collect::<Vec<_>>().join(" ");
    // The runtime API reads `\` as an escape and `;` as the end of a command, and does not know
    // the configuration file's quotes.
    if arguments.contains(['\'', '"', '\\', ';']) {
        return None;
    }
    Some(ServerChange::Add {
        backend: backend.to_string(),
        server: line.name.to_string(),
        checked: line.options.contains(&"check"),
        enabled: !line.disabled,
        arguments,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::Path;

    use fulcrum_core::driver::LoadBalancerGraph;
    use fulcrum_core::driver::fixtures;
    use fulcrum_core::model::LbAlgorithm;

    use super::super::render::{RenderSettings, render};
    use super::*;

    const LB: &str = "lb1";

    /// One HTTP listener, pool p1 with an HTTP monitor and members m1, m2.
    fn graph() -> LoadBalancerGraph {
        super::super::test_tree::two_members(LB, 8080, "10.0.0.1", [81, 82])
    }

    fn text(graph: &LoadBalancerGraph) -> String {
        let settings = RenderSettings {
            runtime_dir: Path::new("/run/lb1").to_path_buf(),
            files: HashMap::new(),
        };
        render(graph, &settings).unwrap()
    }

    /// The changes from [`graph`] to the graph `edit` makes of it.
    fn changes(edit: impl FnOnce(&mut LoadBalancerGraph)) -> Option<Vec<ServerChange>> {
        let before = graph();
        let mut after = before.clone();
        edit(&mut after);
        server_changes(&text(&before), &text(&after))
    }

    fn set(server: &str, weight: Option<&str>, enabled: Option<bool>) -> ServerChange {
        ServerChange::Set {
            backend: "p1".into(),
            server: server.into(),
            weight: weight.map(Into::into),
            enabled,
        }
    }

    #[test]
    fn weight_and_admin_state_are_set() {
        assert_eq!(
            changes(|g| g.members[0].weight = 5),
            Some(vec![set("m1", Some("5"), None)])
        );
        assert_eq!(
            changes(|g| g.members[1].admin_state_up = false),
            Some(vec![set("m2", None, Some(false))])
        );
        let mut disabled = graph();
        disabled.members[1].admin_state_up = false;
        assert_eq!(
            server_changes(&text(&disabled), &text(&graph())),
            Some(vec![set("m2", None, Some(true))])
        );
    }

    #[test]
    fn members_are_added_and_removed() {
        let added = changes(|g| {
            let mut m3 = fixtures::member("m3", LB, "p1", "10.0.0.3", 83);
            m3.weight = 2;
            g.members.push(m3);
        });
        assert_eq!(
            added,
            Some(vec![ServerChange::Add {
                backend: "p1".into(),
                server: "m3".into(),
                arguments: "10.0.0.3:83 weight 2 check inter 5s fall 3 rise 2".into(),
                checked: true,
                enabled: true,
            }])
        );
        assert_eq!(
            changes(|g| {
                g.members.remove(0);
            }),
            Some(vec![ServerChange::Remove {
                backend: "p1".into(),
                server: "m1".into(),
            }])
        );
        let disabled = changes(|g| {
            let mut m3 = fixtures::member("m3", LB, "p1", "10.0.0.3", 83);
            m3.admin_state_up = false;
            g.members.push(m3);
        });
        assert!(
            matches!(&disabled.as_deref(), Some([ServerChange::Add { enabled: false, arguments, .. }]) if !arguments.contains("disabled")),
            "{disabled:?}"
        );
    }

    #[test]
    fn anything_else_needs_a_reload() {
        assert_eq!(changes(|_| {}), None, "nothing changes");
        assert_eq!(
            changes(|g| g.pools[0].lb_algorithm = LbAlgorithm::LeastConnections),
            None
        );
        assert_eq!(changes(|g| g.members[0].backup = true), None);
        assert_eq!(changes(|g| g.members[0].monitor_port = Some(9000)), None);
        assert_eq!(changes(|g| g.pools[0].admin_state_up = false), None);
        assert_eq!(changes(|g| g.health_monitors[0].delay = 9), None);
        assert_eq!(
            changes(|g| {
                g.members[0].weight = 3;
                g.listeners[0].connection_limit = 10;
            }),
            None,
            "a server change together with another change"
        );
    }

    #[test]
    fn lines_the_runtime_api_would_read_differently_need_a_reload() {
        let running = "backend p1\n    mode http\n    server m1 10.0.0.1:80 weight 1\n";
        let quoted = format!("{running}    server m2 10.0.0.2:80 weight 1 crt '/a b.pem'\n");
        assert_eq!(server_changes(running, &quoted), None);
        let separated = format!("{running}    server m2 10.0.0.2:80 weight 1;show info\n");
        assert_eq!(server_changes(running, &separated), None);
        let unnamed = format!("{running}    server m2\n");
        assert_eq!(server_changes(running, &unnamed), None);
        let twice = format!("{running}    server m1 10.0.0.2:80 weight 1\n");
        assert_eq!(server_changes(running, &twice), None);
    }
}
