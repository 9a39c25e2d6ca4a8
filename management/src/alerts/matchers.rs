//! Alertmanager's label matchers: `name="value"`, `name!="value"`, `name=~"regex"`,
//! `name!~"regex"`. A regex must match the whole value (it is anchored as `^(?:regex)$`, as
//! Alertmanager anchors it), and a label an alert lacks matches as the empty string.

use std::fmt;

use regex_lite::Regex;
use serde::Deserialize;

use super::model::{Labels, valid_label_name};

/// How a matcher compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchType {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regex,
    /// `!~`
    NotRegex,
}

impl MatchType {
    fn operator(self) -> &'static str {
        match self {
            MatchType::Equal => "=",
            MatchType::NotEqual => "!=",
            MatchType::Regex => "=~",
            MatchType::NotRegex => "!~",
        }
    }
}

/// One matcher on one label.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct Matcher {
    /// The label.
    pub name: String,
    /// The comparison.
    pub kind: MatchType,
    /// The value, or the regex's text.
    pub value: String,
    regex: Option<Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.kind == other.kind && self.value == other.value
    }
}

impl Matcher {
    /// A matcher; fails on an invalid label name or regex, saying which.
    pub fn new(name: &str, kind: MatchType, value: &str) -> Result<Self, String> {
        if !valid_label_name(name) {
            return Err(format!("invalid label name {name:?} in matcher."));
        }
        let regex = match kind {
            MatchType::Regex | MatchType::NotRegex => Some(
                Regex::new(&format!("^(?:{value})$"))
                    .map_err(|e| format!("invalid regex {value:?} in matcher: {e}"))?,
            ),
            MatchType::Equal | MatchType::NotEqual => None,
        };
        Ok(Matcher {
            name: name.to_owned(),
            kind,
            value: value.to_owned(),
            regex,
        })
    }

    /// A matcher from its text, `name=~"value"` (the value may be unquoted).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let name_end = text
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(text.len());
        let (name, rest) = text.split_at(name_end);
        let rest = rest.trim_start();
        let operators = [
            ("=~", MatchType::Regex),
            ("!~", MatchType::NotRegex),
            ("!=", MatchType::NotEqual),
            ("=", MatchType::Equal),
        ];
        let Some((value, kind)) = operators
            .iter()
            .find_map(|(op, kind)| rest.strip_prefix(op).map(|value| (value, *kind)))
        else {
            return Err(format!(
                "invalid matcher {text:?}: expected name=\"value\" with =, !=, =~ or !~."
            ));
        };
        let value = unquote(value.trim())
            .ok_or_else(|| format!("invalid matcher {text:?}: the quoted value is not closed."))?;
        Matcher::new(name, kind, &value)
    }

    /// Whether `labels` satisfy this matcher.
    pub fn matches(&self, labels: &Labels) -> bool {
        let value = labels.get(&self.name).map_or("", String::as_str);
        match (&self.kind, &self.regex) {
            (MatchType::Equal, _) => value == self.value,
            (MatchType::NotEqual, _) => value != self.value,
            (MatchType::Regex, Some(regex)) => regex.is_match(value),
            (MatchType::NotRegex, Some(regex)) => !regex.is_match(value),
            (MatchType::Regex | MatchType::NotRegex, None) => {
                unreachable!("a regex matcher is built with its regex")
            }
        }
    }

    /// Whether it compares with a regex.
    pub fn is_regex(&self) -> bool {
        matches!(self.kind, MatchType::Regex | MatchType::NotRegex)
    }

    /// Whether it asks for a match (`=`, `=~`) rather than a mismatch.
    pub fn is_equal(&self) -> bool {
        matches!(self.kind, MatchType::Equal | MatchType::Regex)
    }
}

impl TryFrom<String> for Matcher {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Matcher::parse(&text)
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.kind.operator(), self.value)
    }
}

/// Whether every matcher matches `labels`.
pub fn all_match(matchers: &[Matcher], labels: &Labels) -> bool {
    matchers.iter().all(|m| m.matches(labels))
}

/// A value as written after the operator: bare, or double-quoted with `\"`, `\\` and `\n`
/// escapes. `None` when a quote is opened and never closed.
fn unquote(value: &str) -> Option<String> {
    let Some(inner) = value.strip_prefix('"') else {
        return Some(value.to_owned());
    };
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return chars.as_str().is_empty().then_some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                other => out.push(other),
            },
            other => out.push(other),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn each_operator_compares_as_alertmanager_does() {
        let alert = labels(&[("alertname", "MemberDown"), ("severity", "warning")]);
        for (text, expected) in [
            ("alertname=\"MemberDown\"", true),
            ("alertname=MemberDown", true),
            ("alertname!=\"MemberDown\"", false),
            ("severity=~\"warn|crit\"", false),
            ("severity=~\"warn.*\"", true),
            ("severity!~\"crit.*\"", true),
            ("device=\"\"", true),
            ("device=~\".+\"", false),
        ] {
            let matcher = Matcher::parse(text).unwrap();
            assert_eq!(matcher.matches(&alert), expected, "{text}");
        }
    }

    #[test]
    fn regexes_are_anchored_at_both_ends() {
        let matcher = Matcher::parse("alertname=~\"Member\"").unwrap();
        assert!(!matcher.matches(&labels(&[("alertname", "MemberDown")])));
        assert!(matcher.matches(&labels(&[("alertname", "Member")])));
    }

    #[test]
    fn malformed_matchers_say_what_is_wrong() {
        assert!(
            Matcher::parse("alertname")
                .unwrap_err()
                .contains("expected")
        );
        assert!(Matcher::parse("=x").unwrap_err().contains("label name"));
        assert!(Matcher::parse("a=~\"(\"").unwrap_err().contains("regex"));
        assert!(
            Matcher::parse("a=\"open")
                .unwrap_err()
                .contains("not closed")
        );
    }

    #[test]
    fn quoted_values_unescape_and_print_back() {
        let matcher = Matcher::parse(r#"msg="say \"hi\"""#).unwrap();
        assert_eq!(matcher.value, "say \"hi\"");
        assert_eq!(Matcher::parse(&matcher.to_string()).unwrap(), matcher);
    }
}
