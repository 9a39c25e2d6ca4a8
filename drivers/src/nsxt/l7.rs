//! L7 policies and rules as NSX `LBRule`s of a virtual server: one rule per effective policy, in
//! position order, matching when all the policy's rules do (`match_strategy: ALL`), with one
//! action: `LBSelectPoolAction` naming the pool by its Policy path, `LBHttpRedirectAction` (a URL,
//! or a prefix followed by NSX's `$_request_uri`), or `LBHttpRejectAction` (403).

use fulcrum_core::driver::{DriverError, LoadBalancerGraph};
use fulcrum_core::model::{L7CompareType, L7Policy, L7PolicyAction, L7Rule, L7RuleType, Listener};
use serde_json::{Value, json};

use super::render::pool_path;

/// The `rules` of a listener's virtual server.
pub fn rules(graph: &LoadBalancerGraph, listener: &Listener) -> Result<Vec<Value>, DriverError> {
    let mut rules = Vec::new();
    for (policy, l7rules) in graph.effective_policies_of(&listener.id) {
        let conditions = l7rules
            .iter()
            .map(|rule| condition(rule))
            .collect::<Result<Vec<_>, _>>()?;
        rules.push(json!({
            "display_name": policy.name.as_deref().filter(|n| !n.is_empty()).unwrap_or(&policy.id),
            "phase": "HTTP_FORWARDING",
            "match_strategy": "ALL",
            "match_conditions": conditions,
            "actions": [action(graph, policy)?],
        }));
    }
    Ok(rules)
}

/// What a policy does, as an NSX rule action.
fn action(graph: &LoadBalancerGraph, policy: &L7Policy) -> Result<Value, DriverError> {
    let status = policy.redirect_http_code.unwrap_or(302).to_string();
    Ok(match policy.action {
        L7PolicyAction::Reject => json!({"type": "LBHttpRejectAction", "reply_status": "403"}),
        L7PolicyAction::RedirectToUrl => json!({
            "type": "LBHttpRedirectAction",
            "redirect_status": status,
            "redirect_url": policy.redirect_url.clone().unwrap_or_default(),
        }),
        L7PolicyAction::RedirectPrefix => json!({
            "type": "LBHttpRedirectAction",
            "redirect_status": status,
            "redirect_url": format!(
                "{}$_request_uri",
                policy.redirect_prefix.as_deref().unwrap_or_default().trim_end_matches('/')
            ),
        }),
        L7PolicyAction::RedirectToPool => {
            let pool = policy
                .redirect_pool_id
                .as_deref()
                .and_then(|id| graph.live_pool(id))
                .ok_or_else(|| {
                    DriverError::rejected(format!(
                        "The pool L7 policy {} redirects to is not part of the load balancer.",
                        policy.id
                    ))
                })?;
            json!({"type": "LBSelectPoolAction", "pool_id": pool_path(&pool.id)})
        }
    })
}

/// An L7 rule as an NSX match condition.
fn condition(rule: &L7Rule) -> Result<Value, DriverError> {
    let match_type = match rule.compare_type {
        L7CompareType::Regex => "REGEX",
        L7CompareType::StartsWith => "STARTS_WITH",
        L7CompareType::EndsWith => "ENDS_WITH",
        L7CompareType::Contains => "CONTAINS",
        L7CompareType::EqualTo => "EQUALS",
    };
    let key = rule.key.clone().unwrap_or_default();
    let mut condition = match rule.kind {
        L7RuleType::HostName => json!({
            "type": "LBHttpRequestHeaderCondition",
            "header_name": "Host",
            "header_value": rule.value,
            "match_type": match_type,
        }),
        L7RuleType::Path => json!({
            "type": "LBHttpRequestUriCondition",
            "uri": rule.value,
            "match_type": match_type,
        }),
        L7RuleType::FileType => {
            let (uri, match_type) = if rule.compare_type == L7CompareType::EqualTo {
                (
                    format!(".{}", rule.value.trim_start_matches('.')),
                    "ENDS_WITH",
                )
            } else {
                (rule.value.clone(), match_type)
            };
            json!({"type": "LBHttpRequestUriCondition", "uri": uri, "match_type": match_type})
        }
        L7RuleType::Header => json!({
            "type": "LBHttpRequestHeaderCondition",
            "header_name": key,
            "header_value": rule.value,
            "match_type": match_type,
        }),
        L7RuleType::Cookie => json!({
            "type": "LBHttpRequestCookieCondition",
            "cookie_name": key,
            "cookie_value": rule.value,
            "match_type": match_type,
        }),
        other => {
            return Err(DriverError::unsupported(format!(
                "NSX-T rules cannot match {other}."
            )));
        }
    };
    if rule.invert {
        condition["inverse"] = json!(true);
    }
    Ok(condition)
}
