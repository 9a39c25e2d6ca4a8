//! Inhibition, with Alertmanager's `inhibit_rules` semantics: while an alert matching a rule's
//! source matchers fires, every other alert matching its target matchers whose `equal` labels
//! have the same values (a label both lack counts as equal) is inhibited. The default rule makes
//! a `DeviceUnreachable` alert inhibit the other alerts of its `device`: when a device is down,
//! its members and load balancers failing is a consequence, not news. An inhibiting alert is
//! one that fires, silenced or not; an alert never inhibits itself.

use crate::config::InhibitRuleConfig;

use super::matchers::all_match;
use super::model::Alert;

/// The fingerprints of the firing alerts among `firing` that inhibit `target`, per `rules`.
pub fn inhibited_by(rules: &[InhibitRuleConfig], firing: &[&Alert], target: &Alert) -> Vec<String> {
    let mut by = Vec::new();
    for rule in rules {
        if !all_match(&rule.target_matchers, &target.labels) {
            continue;
        }
        for source in firing {
            let equal = rule
                .equal
                .iter()
                .all(|name| source.labels.get(name) == target.labels.get(name));
            if source.fingerprint != target.fingerprint
                && equal
                && all_match(&rule.source_matchers, &source.labels)
                && !by.contains(&source.fingerprint)
            {
                by.push(source.fingerprint.clone());
            }
        }
    }
    by.sort();
    by
}
