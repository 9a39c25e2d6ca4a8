//! Authorization: Octavia's policy rules, evaluated the way oslo.policy evaluates them.
//!
//! [`Policy`] starts from Octavia's defaults ([`defaults`]) and takes overrides from an operator's
//! policy file (JSON, or YAML as oslo.policy writes it: a flat map of rule name to check string).
//! Every API route names the rule it is governed by ([`actions`]); the check's target is the
//! project that owns the object acted on.

pub mod actions;
pub mod check;
pub mod defaults;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

pub use check::{Check, Credentials, Target};

/// The message of every policy refusal (Octavia's `PolicyForbidden`).
pub const FORBIDDEN: &str = "Policy does not allow this request to be performed.";

/// A policy that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file could not be read.
    #[error("policy file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is neither a JSON object nor a flat YAML map of strings.
    #[error("policy file {path}: {message}")]
    Syntax {
        /// The file.
        path: String,
        /// What is wrong, with the line.
        message: String,
    },
    /// A rule's check string is invalid.
    #[error("policy rule {rule:?}: {message}")]
    Rule {
        /// The rule.
        rule: String,
        /// What is wrong.
        message: String,
    },
}

/// The rules in force.
#[derive(Debug, Clone)]
pub struct Policy {
    rules: HashMap<String, Check>,
}

impl Policy {
    /// Octavia's defaults. Unless `enforce_new_defaults`, a rule that replaced a deprecated one
    /// accepts either (as oslo.policy does), so the `load-balancer_*` roles keep working.
    pub fn octavia_defaults(enforce_new_defaults: bool) -> Policy {
        let mut text: BTreeMap<String, String> = BTreeMap::new();
        for rule in defaults::BASE_RULES {
            let check = match rule.deprecated {
                Some(old) if !enforce_new_defaults => format!("({}) or ({old})", rule.check),
                _ => rule.check.to_string(),
            };
            text.insert(rule.name.to_string(), check);
        }
        for (name, check) in defaults::API_RULES {
            text.insert((*name).to_string(), (*check).to_string());
        }
        Policy::compile(text).expect("Octavia's default rules parse")
    }

    /// The defaults with the overrides of `file`, if any.
    pub fn load(file: Option<&Path>, enforce_new_defaults: bool) -> Result<Policy, PolicyError> {
        let mut policy = Policy::octavia_defaults(enforce_new_defaults);
        let Some(path) = file else {
            return Ok(policy);
        };
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: shown.clone(),
            source,
        })?;
        let overrides = parse_file(&text).map_err(|message| PolicyError::Syntax {
            path: shown,
            message,
        })?;
        for (name, check) in overrides {
            let parsed = Check::parse(&check).map_err(|e| PolicyError::Rule {
                rule: name.clone(),
                message: e.0,
            })?;
            policy.rules.insert(name, parsed);
        }
        policy.verify()?;
        Ok(policy)
    }

    fn compile(text: BTreeMap<String, String>) -> Result<Policy, PolicyError> {
        let mut rules = HashMap::new();
        for (name, check) in text {
            let parsed = Check::parse(&check).map_err(|e| PolicyError::Rule {
                rule: name.clone(),
                message: e.0,
            })?;
            rules.insert(name, parsed);
        }
        let policy = Policy { rules };
        policy.verify()?;
        Ok(policy)
    }

    /// Every `rule:` reference resolves and no rule refers to itself, directly or not.
    fn verify(&self) -> Result<(), PolicyError> {
        for (name, check) in &self.rules {
            for referenced in check.referenced_rules() {
                if !self.rules.contains_key(referenced) {
                    return Err(PolicyError::Rule {
                        rule: name.clone(),
                        message: format!("refers to unknown rule {referenced:?}"),
                    });
                }
            }
        }
        let mut done = std::collections::HashSet::new();
        for name in self.rules.keys() {
            self.visit(name, &mut Vec::new(), &mut done)?;
        }
        Ok(())
    }

    fn visit<'a>(
        &'a self,
        name: &'a str,
        path: &mut Vec<&'a str>,
        done: &mut std::collections::HashSet<&'a str>,
    ) -> Result<(), PolicyError> {
        if done.contains(name) {
            return Ok(());
        }
        if path.contains(&name) {
            return Err(PolicyError::Rule {
                rule: name.to_string(),
                message: format!("refers to itself through {}", path.join(" -> ")),
            });
        }
        path.push(name);
        if let Some(check) = self.rules.get(name) {
            for next in check.referenced_rules() {
                self.visit(next, path, done)?;
            }
        }
        path.pop();
        done.insert(name);
        Ok(())
    }

    /// Whether `rule` lets `creds` act on `target`. An unknown rule allows nothing.
    pub fn allows(&self, rule: &str, creds: &Credentials, target: Target<'_>) -> bool {
        let lookup = |name: &str| self.rules.get(name);
        self.rules
            .get(rule)
            .is_some_and(|check| check.evaluate(creds, target, &lookup))
    }

    /// Octavia's `context_is_admin`: whether the caller is an administrator.
    pub fn is_admin(&self, creds: &Credentials) -> bool {
        self.allows(
            "context_is_admin",
            creds,
            Target {
                project_id: creds.project_id.as_deref(),
            },
        )
    }
}

/// A policy file: a JSON object, or a flat YAML map (`"name": "check"` lines, `#` comments).
fn parse_file(text: &str) -> Result<BTreeMap<String, String>, String> {
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(text).map_err(|e| format!("not a JSON map of strings: {e}"));
    }
    let mut rules = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed == "---" {
            continue;
        }
        let fail = |what: &str| format!("line {}: {what}: {trimmed}", index + 1);
        let (key, rest) = take_scalar(trimmed).ok_or_else(|| fail("expected a rule name"))?;
        let rest = rest
            .trim_start()
            .strip_prefix(':')
            .ok_or_else(|| fail("expected \"name\": \"check\""))?
            .trim();
        let (value, tail) = if rest.is_empty() {
            (String::new(), "")
        } else {
            take_scalar(rest).ok_or_else(|| fail("expected a check string"))?
        };
        let tail = tail.trim();
        if !(tail.is_empty() || tail.starts_with('#')) {
            return Err(fail("unexpected text after the check string"));
        }
        rules.insert(key, value);
    }
    Ok(rules)
}

/// A quoted or plain YAML scalar at the start of `s`, and what follows it.
fn take_scalar(s: &str) -> Option<(String, &str)> {
    let quote = s.chars().next()?;
    if quote == '"' || quote == '\'' {
        let mut out = String::new();
        let mut chars = s[1..].char_indices();
        while let Some((i, c)) = chars.next() {
            if c == quote {
                if quote == '\'' && s[1 + i + 1..].starts_with('\'') {
                    out.push('\'');
                    chars.next();
                    continue;
                }
                return Some((out, &s[1 + i + 1..]));
            }
            if c == '\\' && quote == '"' {
                out.push(chars.next()?.1);
                continue;
            }
            out.push(c);
        }
        return None;
    }
    // A plain scalar runs to ": " (for keys), " #" or the end of the line.
    let end = [
        s.find(": "),
        s.find(" #"),
        s.strip_suffix(':').map(|t| t.len()),
    ]
    .into_iter()
    .flatten()
    .min()
    .unwrap_or(s.len());
    let value = s[..end].trim();
    (!value.is_empty()).then(|| (value.to_string(), &s[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(project: &str, roles: &[&str]) -> Credentials {
        let mut c = Credentials {
            project_id: Some(project.into()),
            user_id: Some("user".into()),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            is_admin: false,
        };
        c.is_admin = Policy::octavia_defaults(false).is_admin(&c);
        c
    }

    fn own(p: &str) -> Target<'_> {
        Target {
            project_id: Some(p),
        }
    }

    const GET_ONE: &str = "os_load-balancer_api:loadbalancer:get_one";
    const POST: &str = "os_load-balancer_api:loadbalancer:post";
    const GLOBAL: &str = "os_load-balancer_api:loadbalancer:get_all-global";
    const QUOTA_PUT: &str = "os_load-balancer_api:quota:put";

    #[test]
    fn keystone_default_roles() {
        let p = Policy::octavia_defaults(false);
        let member = creds("a", &["member", "reader"]);
        let reader = creds("a", &["reader"]);
        let admin = creds("x", &["admin"]);
        assert!(p.allows(POST, &member, own("a")));
        assert!(!p.allows(POST, &member, own("b")));
        assert!(p.allows(GET_ONE, &reader, own("a")));
        assert!(!p.allows(POST, &reader, own("a")));
        assert!(!p.allows(GLOBAL, &member, Target::default()));
        assert!(admin.is_admin);
        assert!(p.allows(POST, &admin, own("b")));
        assert!(p.allows(GLOBAL, &admin, Target::default()));
        assert!(!p.allows(QUOTA_PUT, &member, own("a")));
        assert!(p.allows(QUOTA_PUT, &admin, own("a")));
    }

    #[test]
    fn deprecated_roles_only_until_new_defaults_are_enforced() {
        let old = Policy::octavia_defaults(false);
        let new = Policy::octavia_defaults(true);
        let lb_member = creds("a", &["load-balancer_member"]);
        let observer = creds("a", &["load-balancer_observer"]);
        let global = creds("a", &["load-balancer_global_observer"]);
        let quota_admin = creds("a", &["load-balancer_quota_admin"]);
        let lb_admin = creds("a", &["load-balancer_admin"]);
        assert!(old.allows(POST, &lb_member, own("a")));
        assert!(!old.allows(POST, &lb_member, own("b")));
        assert!(old.allows(GET_ONE, &observer, own("a")));
        assert!(!old.allows(POST, &observer, own("a")));
        assert!(old.allows(GLOBAL, &global, Target::default()));
        assert!(!old.allows(POST, &global, own("b")));
        assert!(old.allows(QUOTA_PUT, &quota_admin, own("b")));
        assert!(!old.allows(POST, &quota_admin, own("a")));
        assert!(lb_admin.is_admin);
        assert!(old.allows(POST, &lb_admin, own("b")));
        for c in [&lb_member, &observer, &global, &quota_admin] {
            assert!(!new.allows(GET_ONE, c, own("a")));
        }
        assert!(!new.is_admin(&lb_admin));
    }

    #[test]
    fn noauth_admin_flag_is_honoured() {
        let p = Policy::octavia_defaults(true);
        let c = Credentials {
            is_admin: true,
            ..Credentials::default()
        };
        assert!(p.allows("os_load-balancer_api:flavor:post", &c, Target::default()));
    }

    #[test]
    fn files_override_rules() {
        let dir = tempfile_dir();
        let yaml = dir.join("policy.yaml");
        std::fs::write(
            &yaml,
            "# overrides\n\"os_load-balancer_api:loadbalancer:get_one\": \"role:admin\"\n\
             os_load-balancer_api:loadbalancer:post: 'rule:load-balancer:write or role:creator'  # x\n",
        )
        .unwrap();
        let p = Policy::load(Some(&yaml), false).unwrap();
        let member = creds("a", &["member"]);
        assert!(!p.allows(GET_ONE, &member, own("a")));
        assert!(p.allows(POST, &creds("a", &["creator"]), own("b")));
        let json = dir.join("policy.json");
        std::fs::write(&json, r#"{"os_load-balancer_api:loadbalancer:post": "!"}"#).unwrap();
        let p = Policy::load(Some(&json), false).unwrap();
        assert!(!p.allows(POST, &creds("x", &["admin"]), own("x")));
    }

    #[test]
    fn bad_files_are_refused_with_the_reason() {
        let dir = tempfile_dir();
        let cases = [
            ("a: \"role:x and\"\n", "\"a\""),
            ("\"a\": \"rule:nope\"\n", "unknown rule \"nope\""),
            ("a: rule:b\nb: rule:a\n", "refers to itself"),
            ("just words\n", "line 1"),
            ("{\"a\": 1}", "JSON"),
        ];
        for (text, expected) in cases {
            let f = dir.join("p.yaml");
            std::fs::write(&f, text).unwrap();
            let err = Policy::load(Some(&f), false).unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
        let missing = Policy::load(Some(Path::new("/nonexistent/policy.yaml")), false);
        assert!(
            missing
                .unwrap_err()
                .to_string()
                .contains("/nonexistent/policy.yaml")
        );
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("fulcrum-policy-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
