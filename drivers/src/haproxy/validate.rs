//! What the HAProxy driver refuses before a write is stored: every tree the API would hand to
//! [`apply`](super::HaproxyDriver) is rendered here first, with the renderer itself, so the
//! check and the configuration file cannot disagree.
//!
//! Rendering covers what the configuration holds now. What the tree holds but does not render
//! yet (a disabled L7 policy or rule, a disabled health monitor) goes through the renderer's
//! functions for that object too, so that enabling it later never reveals a refusal. The limits
//! HAProxy itself puts on what the renderer writes (its timers, its PCRE2 regular expressions)
//! are rules of this module that the renderer applies.

use std::collections::HashMap;
use std::path::PathBuf;

use fulcrum_core::driver::LoadBalancerGraph;
use fulcrum_core::model::L7PolicyAction;

use super::render::{self, RenderError, RenderSettings};

/// The longest time an HAProxy timer holds, in seconds (2^31 - 1 ms, about 24.8 days).
pub(super) const MAX_TIMER_SECONDS: i64 = 2_147_483;

/// The largest count a PCRE2 quantifier (`{n}`, `{n,m}`) takes.
const MAX_REGEX_REPEAT: u32 = 65_535;

/// The longest name of a PCRE2 capture group.
const MAX_REGEX_GROUP_NAME: usize = 32;

/// Check that HAProxy can realize `graph`: the reason it cannot, as the renderer gives it.
pub(super) fn validate(graph: &LoadBalancerGraph) -> Result<(), RenderError> {
    let files: HashMap<String, PathBuf> = graph
        .certificate_references()
        .into_iter()
        .enumerate()
        .map(|(i, reference)| (reference.to_string(), PathBuf::from(format!("{i}.pem"))))
        .collect();
    let settings = RenderSettings {
        runtime_dir: PathBuf::from("validate"),
        files,
    };
    render::render(graph, &settings)?;
    let live = |status| LoadBalancerGraph::is_live(status);
    for policy in graph
        .l7policies
        .iter()
        .filter(|p| live(p.provisioning_status))
    {
        if policy.action != L7PolicyAction::RedirectToPool {
            render::http_request(policy)?;
        }
    }
    for rule in graph.l7rules.iter().filter(|r| live(r.provisioning_status)) {
        render::acl(rule)?;
    }
    for monitor in graph
        .health_monitors
        .iter()
        .filter(|h| live(h.provisioning_status))
    {
        render::monitor_lines(monitor, &mut Vec::new())?;
    }
    Ok(())
}

/// A health monitor time in seconds that an HAProxy timer holds.
pub(super) fn timer_seconds(field: &str, seconds: i64) -> Result<(), RenderError> {
    if seconds > MAX_TIMER_SECONDS {
        return Err(RenderError::Unsupported(format!(
            "A health monitor {field} over {MAX_TIMER_SECONDS} seconds is not supported."
        )));
    }
    Ok(())
}

/// A regular expression that HAProxy's PCRE2 compiles. The API has already parsed it; these are
/// the limits of PCRE2 that a valid expression may still exceed: the count of a quantifier and
/// the characters and length of a group name.
pub(super) fn regex(pattern: &str) -> Result<(), RenderError> {
    let refuse = |why: &str| {
        Err(RenderError::Unsupported(format!(
            "Regular expression {pattern:?} is not supported: {why}."
        )))
    };
    let chars: Vec<char> = pattern.chars().collect();
    let mut in_class = false;
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '{' if !in_class
                && quantifier_counts(&chars[i + 1..]).any(|n| n > MAX_REGEX_REPEAT) =>
            {
                return refuse(&format!("a count above {MAX_REGEX_REPEAT}"));
            }
            '(' if !in_class => {
                if let Some(name) = group_name(&chars[i + 1..])
                    && !pcre2_group_name(&name)
                {
                    return refuse(&format!("the group name {name:?}"));
                }
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// The counts of a quantifier whose text follows its `{` (none when it is not one).
fn quantifier_counts(rest: &[char]) -> impl Iterator<Item = u32> {
    let end = rest.iter().position(|c| *c == '}');
    let body: String = end.map(|e| rest[..e].iter().collect()).unwrap_or_default();
    let is_quantifier = !body.is_empty()
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || c == ',' || c == ' ')
        && body.chars().filter(|c| *c == ',').count() <= 1;
    let counts: Vec<u32> = if is_quantifier {
        body.split(',')
            .filter_map(|n| n.trim().parse::<u64>().ok())
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
            .collect()
    } else {
        Vec::new()
    };
    counts.into_iter()
}

/// The name of a named group whose text follows its `(`: `?<name>` or `?P<name>`.
fn group_name(rest: &[char]) -> Option<String> {
    let text: String = rest.iter().take(MAX_REGEX_GROUP_NAME + 8).collect();
    let after = text
        .strip_prefix("?P<")
        .or_else(|| text.strip_prefix("?<"))?;
    if after.starts_with(['=', '!']) {
        return None;
    }
    Some(after.split('>').next().unwrap_or_default().to_string())
}

/// PCRE2's rule for group names: ASCII letters, digits and underscores, not starting with a
/// digit, at most 32 characters.
fn pcre2_group_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_REGEX_GROUP_NAME
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::Command;

    use fulcrum_core::driver::fixtures::{self, Object};
    use fulcrum_core::model::{
        HealthMonitorType, L7CompareType, L7RuleType, LbAlgorithm, ListenerProtocol, LoadBalancer,
        PoolProtocol,
    };

    use super::*;

    const LB: &str = "lb1";

    /// An HTTP listener on port 80 with pool p1 (one member) and an L7 policy rejecting what
    /// its rule matches.
    fn tree() -> LoadBalancerGraph {
        let mut g = fixtures::graph(LoadBalancer {
            provider: "haproxy".into(),
            ..fixtures::load_balancer(LB)
        });
        let mut listener = fixtures::listener("l1", LB, ListenerProtocol::Http, 80);
        listener.default_pool_id = Some("p1".into());
        g.listeners.push(listener);
        g.pools.push(fixtures::pool(
            "p1",
            LB,
            PoolProtocol::Http,
            LbAlgorithm::RoundRobin,
        ));
        g.members
            .push(fixtures::member("m1", LB, "p1", "10.0.0.1", 80));
        g.health_monitors.push(fixtures::health_monitor(
            "hm1",
            LB,
            "p1",
            HealthMonitorType::Http,
        ));
        g.l7policies.push(fixtures::l7policy(
            "pol",
            LB,
            "l1",
            1,
            L7PolicyAction::Reject,
        ));
        g.l7rules.push(fixtures::l7rule(
            "r1",
            LB,
            "pol",
            L7RuleType::Path,
            L7CompareType::StartsWith,
            "/api",
        ));
        g
    }

    fn refusal(g: &LoadBalancerGraph) -> String {
        match validate(g) {
            Err(RenderError::Unsupported(message)) => message,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    /// Whether the real HAProxy accepts a configuration with these frontend and backend lines
    /// (None without HAProxy).
    fn haproxy_accepts(frontend: &str, backend: &str) -> Option<bool> {
        let binary = Path::new("/usr/sbin/haproxy");
        if !binary.exists() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("haproxy.cfg");
        let config = format!(
            "defaults\n    mode http\n    timeout connect 5s\n    timeout client 5s\n    \
             timeout server 5s\nfrontend f\n    bind 127.0.0.1:8000\n    {frontend}\n    \
             default_backend b\nbackend b\n    {backend}\n    server s 127.0.0.1:80 check\n"
        );
        std::fs::write(&file, config).unwrap();
        let out = Command::new(binary)
            .args(["-c", "-f"])
            .arg(&file)
            .output()
            .unwrap();
        Some(out.status.success())
    }

    fn haproxy_takes_regex(pattern: &str) -> Option<bool> {
        haproxy_accepts(&format!("acl a path -m reg '{pattern}'"), "")
    }

    fn haproxy_takes_check_timeout(seconds: i64) -> Option<bool> {
        haproxy_accepts("", &format!("timeout check {seconds}s"))
    }

    #[test]
    fn a_tree_the_renderer_takes_is_accepted() {
        assert_eq!(validate(&tree()), Ok(()));
    }

    #[test]
    fn a_cookie_name_that_cannot_be_a_fetch_argument_is_refused() {
        let mut g = tree();
        let rule = &mut g.l7rules[0];
        rule.kind = L7RuleType::Cookie;
        rule.key = Some("a'b".into());
        assert_eq!(refusal(&g), "COOKIE rule key \"a'b\" is not supported.");
    }

    #[test]
    fn what_is_disabled_is_checked_as_if_enabled() {
        let mut g = tree();
        g.l7rules[0].kind = L7RuleType::Header;
        g.l7rules[0].key = Some("X#Y".into());
        g.l7rules[0].admin_state_up = false;
        assert_eq!(refusal(&g), "HEADER rule key \"X#Y\" is not supported.");
        g.l7rules[0].key = Some("X-Y".into());
        assert_eq!(validate(&g), Ok(()));

        g.l7policies[0].admin_state_up = false;
        g.l7policies[0].action = L7PolicyAction::RedirectToUrl;
        g.l7policies[0].redirect_http_code = Some(300);
        g.l7policies[0].redirect_url = Some("http://example.com".into());
        assert_eq!(refusal(&g), "Redirect code 300 is not supported.");
        g.l7policies[0].redirect_http_code = Some(301);

        g.health_monitors[0].admin_state_up = false;
        g.health_monitors[0].timeout = MAX_TIMER_SECONDS + 1;
        assert!(refusal(&g).contains("timeout over 2147483 seconds"));
    }

    #[test]
    fn what_is_marked_for_deletion_is_not_checked() {
        let mut g = tree();
        g.l7rules[0].kind = L7RuleType::Cookie;
        g.l7rules[0].key = Some("a'b".into());
        g.l7rules[0] = g.l7rules[0].clone().pending_delete();
        assert_eq!(validate(&g), Ok(()));
    }

    #[test]
    fn health_monitor_times_beyond_haproxy_timers_are_refused() {
        let mut g = tree();
        g.health_monitors[0].delay = MAX_TIMER_SECONDS;
        g.health_monitors[0].timeout = MAX_TIMER_SECONDS;
        assert_eq!(validate(&g), Ok(()));
        assert_ne!(haproxy_takes_check_timeout(MAX_TIMER_SECONDS), Some(false));
        assert_ne!(
            haproxy_takes_check_timeout(MAX_TIMER_SECONDS + 1),
            Some(true)
        );
        g.health_monitors[0].delay = MAX_TIMER_SECONDS + 1;
        assert_eq!(
            refusal(&g),
            "A health monitor delay over 2147483 seconds is not supported."
        );
    }

    #[test]
    fn regular_expressions_beyond_pcre2_limits_are_refused() {
        let mut g = tree();
        g.l7rules[0].compare_type = L7CompareType::Regex;
        for accepted in [
            r"^/a{65535}$",
            r"^/(?<part>[a-z]+)/\d{1,3}$",
            r"[{]99999}",
            r"\{99999}",
            r"x{,}",
        ] {
            g.l7rules[0].value = accepted.into();
            assert_eq!(validate(&g), Ok(()), "{accepted}");
            assert_ne!(haproxy_takes_regex(accepted), Some(false), "{accepted}");
        }
        for refused in [r"^/a{65536}$", r"a{1,70000}", r"(?<a.b>x)", r"(?P<é>x)"] {
            g.l7rules[0].value = refused.into();
            assert!(refusal(&g).starts_with("Regular expression"), "{refused}");
            assert_ne!(haproxy_takes_regex(refused), Some(true), "{refused}");
        }
    }
}
