//! A listener's L7 policies as an AS3 `Endpoint_Policy` (strategy `first-match`, one rule per
//! Octavia policy in position order, every rule of the policy a condition that must hold).
//!
//! | Octavia | AS3 |
//! |---|---|
//! | rule HOST_NAME, PATH, FILE_TYPE, HEADER, COOKIE | condition `httpHost` (host), `httpUri` (path; a file type is a path ending in `.<type>`), `httpHeader`, `httpCookie` |
//! | EQUAL_TO, STARTS_WITH, ENDS_WITH, CONTAINS (inverted: `does-not-…`) | the operand of the same name |
//! | REJECT | `drop` |
//! | REDIRECT_TO_POOL | `forward` selecting the pool |
//! | REDIRECT_TO_URL, REDIRECT_PREFIX | `httpRedirect` to the URL, or to the prefix followed by the request's URI |
//!
//! REGEX comparisons and the SSL rule types have no AS3 condition without iRules; such trees are
//! refused before they are stored ([`check`]).

use fulcrum_core::driver::{DriverError, LoadBalancerGraph};
use fulcrum_core::model::{Kind, L7CompareType, L7PolicyAction, L7Rule, L7RuleType, Listener};
use serde_json::{Value, json};

use crate::kit::backend_name;

/// The name of a listener's Endpoint_Policy.
pub fn policy_name(listener: &Listener) -> String {
    format!("{}-policy", backend_name(Kind::Listener, &listener.id))
}

/// Refuse rules AS3 cannot express.
pub fn check(graph: &LoadBalancerGraph) -> Result<(), DriverError> {
    for rule in graph
        .l7rules
        .iter()
        .filter(|r| LoadBalancerGraph::is_live(r.provisioning_status))
    {
        if rule.compare_type == L7CompareType::Regex {
            return Err(DriverError::unsupported(format!(
                "L7 rule {}: the F5 provider does not support REGEX comparisons.",
                rule.id
            )));
        }
        if matches!(
            rule.kind,
            L7RuleType::SslConnHasCert | L7RuleType::SslVerifyResult | L7RuleType::SslDnField
        ) {
            return Err(DriverError::unsupported(format!(
                "L7 rule {}: the F5 provider does not support {} rules.",
                rule.id, rule.kind
            )));
        }
    }
    Ok(())
}

/// The Endpoint_Policy of a listener, or `None` when no policy takes effect on it.
pub fn endpoint_policy(graph: &LoadBalancerGraph, listener: &Listener) -> Option<Value> {
    let policies = graph.effective_policies_of(&listener.id);
    if policies.is_empty() {
        return None;
    }
    let rules: Vec<Value> = policies
        .into_iter()
        .map(|(policy, rules)| {
            let action = match policy.action {
                L7PolicyAction::Reject => json!({ "type": "drop", "event": "request" }),
                L7PolicyAction::RedirectToPool => {
                    let pool = policy.redirect_pool_id.as_deref().unwrap_or_default();
                    json!({ "type": "forward", "event": "request",
                            "select": { "pool": { "use": backend_name(Kind::Pool, pool) } } })
                }
                L7PolicyAction::RedirectToUrl => redirect(
                    policy.redirect_url.clone().unwrap_or_default(),
                    policy.redirect_http_code,
                ),
                L7PolicyAction::RedirectPrefix => redirect(
                    format!(
                        "tcl:{}[HTTP::uri]",
                        policy.redirect_prefix.as_deref().unwrap_or_default()
                    ),
                    policy.redirect_http_code,
                ),
            };
            json!({
                "name": backend_name(Kind::L7Policy, &policy.id),
                "conditions": rules.into_iter().map(condition).collect::<Vec<_>>(),
                "actions": [action],
            })
        })
        .collect();
    Some(json!({
        "class": "Endpoint_Policy",
        "strategy": "first-match",
        "rules": rules,
        "remark": format!("fulcrum listener={}", listener.id),
    }))
}

fn redirect(location: String, code: Option<i64>) -> Value {
    let mut action = json!({ "type": "httpRedirect", "event": "request", "location": location });
    if let Some(code) = code {
        action["code"] = json!(code);
    }
    action
}

fn condition(rule: &L7Rule) -> Value {
    let operand = match (rule.compare_type, rule.invert) {
        (L7CompareType::StartsWith, false) => "starts-with",
        (L7CompareType::StartsWith, true) => "does-not-start-with",
        (L7CompareType::EndsWith, false) => "ends-with",
        (L7CompareType::EndsWith, true) => "does-not-end-with",
        (L7CompareType::Contains, false) => "contains",
        (L7CompareType::Contains, true) => "does-not-contain",
        (_, false) => "equals",
        (_, true) => "does-not-equal",
    };
    let compare = json!({ "operand": operand, "values": [rule.value] });
    let key = rule.key.clone().unwrap_or_default();
    match rule.kind {
        L7RuleType::HostName => json!({ "type": "httpHost", "event": "request", "host": compare }),
        L7RuleType::FileType => {
            let ends = if rule.invert {
                "does-not-end-with"
            } else {
                "ends-with"
            };
            json!({ "type": "httpUri", "event": "request",
                    "path": { "operand": ends, "values": [format!(".{}", rule.value)] } })
        }
        L7RuleType::Header => {
            json!({ "type": "httpHeader", "event": "request", "name": key, "all": compare })
        }
        L7RuleType::Cookie => {
            json!({ "type": "httpCookie", "event": "request", "name": key, "all": compare })
        }
        _ => json!({ "type": "httpUri", "event": "request", "path": compare }),
    }
}
