//! L7 policy and rule rules (Octavia's `validate.sanitize_l7policy_api_args` and
//! `validate.l7rule_data`).

use super::{max_len, range, strings_max_len};
use crate::Error;
use crate::model::{L7CompareType, L7Policy, L7PolicyAction, L7Rule, L7RuleType};

/// Status codes a redirect may use.
pub const REDIRECT_HTTP_CODES: [i64; 5] = [301, 302, 303, 307, 308];

/// The position that means "append after the last policy".
pub const MAX_POSITION: i64 = 2_147_483_647;

fn invalid_args(msg: &str) -> Error {
    Error::InvalidInput(format!("Invalid L7 Policy arguments: {msg}"))
}

fn url_ok(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https")
        && !host.is_empty()
        && !url.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// Check an L7 policy as it would be stored and drop the redirect fields its action does not use.
pub fn l7policy(p: &mut L7Policy) -> Result<(), Error> {
    max_len("name", p.name.as_deref(), 255)?;
    max_len("description", p.description.as_deref(), 255)?;
    strings_max_len("tags", &p.tags, 255)?;
    range("position", p.position, 1, MAX_POSITION)?;
    for (field, value) in [
        ("redirect_url", &p.redirect_url),
        ("redirect_prefix", &p.redirect_prefix),
    ] {
        if let Some(url) = value {
            max_len(field, Some(url), 255)?;
            if !url_ok(url) {
                return Err(Error::invalid_field(
                    field,
                    url,
                    "Value must be a valid URL string",
                ));
            }
        }
    }
    if let Some(code) = p.redirect_http_code
        && !REDIRECT_HTTP_CODES.contains(&code)
    {
        return Err(Error::invalid_field(
            "redirect_http_code",
            code,
            "Value should be one of: 301, 302, 303, 307, 308",
        ));
    }
    if p.redirect_pool_id.is_some() && (p.redirect_url.is_some() || p.redirect_prefix.is_some()) {
        return Err(invalid_args(
            "Cannot specify redirect_pool_id and redirect_url or redirect_prefix at the same time",
        ));
    }
    match p.action {
        L7PolicyAction::Reject => {
            p.redirect_url = None;
            p.redirect_pool_id = None;
            p.redirect_prefix = None;
            p.redirect_http_code = None;
        }
        L7PolicyAction::RedirectToUrl => {
            if p.redirect_url.is_none() {
                return Err(invalid_args("redirect_url must not be None"));
            }
            p.redirect_pool_id = None;
            p.redirect_prefix = None;
            p.redirect_http_code.get_or_insert(302);
        }
        L7PolicyAction::RedirectToPool => {
            if p.redirect_pool_id.is_none() {
                return Err(invalid_args(
                    "redirect_pool_id or redirect_pool must not be None",
                ));
            }
            p.redirect_url = None;
            p.redirect_prefix = None;
            p.redirect_http_code = None;
        }
        L7PolicyAction::RedirectPrefix => {
            if p.redirect_prefix.is_none() {
                return Err(invalid_args("redirect_prefix must not be None"));
            }
            p.redirect_pool_id = None;
            p.redirect_url = None;
            p.redirect_http_code.get_or_insert(302);
        }
    }
    Ok(())
}

fn rule_error(msg: impl std::fmt::Display) -> Error {
    Error::InvalidInput(format!("Error parsing L7Rule: {msg}"))
}

fn is_quoted(v: &str) -> bool {
    v.len() >= 2 && v.starts_with('"') && v.ends_with('"')
}

fn header_name_ok(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
}

fn header_value_ok(v: &str) -> bool {
    if is_quoted(v) {
        return !v[1..v.len() - 1]
            .chars()
            .any(|c| c.is_control() && c != '\t');
    }
    !v.is_empty() && v.chars().all(|c| c.is_ascii_graphic())
}

fn cookie_value_ok(v: &str) -> bool {
    !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_graphic() && !"\",;\\".contains(c))
}

fn regex_ok(v: &str) -> Result<(), Error> {
    regex_lite::Regex::new(v)
        .map(|_| ())
        .map_err(|e| rule_error(format!("Unable to parse regular expression: {e}")))
}

/// Check an L7 rule as it would be stored.
pub fn l7rule(r: &L7Rule) -> Result<(), Error> {
    strings_max_len("tags", &r.tags, 255)?;
    max_len("key", r.key.as_deref(), 255)?;
    max_len("value", Some(&r.value), 255)?;
    for (field, text) in [("key", r.key.as_deref()), ("value", Some(r.value.as_str()))] {
        if text.is_some_and(|t| t.contains(['\r', '\n'])) {
            return Err(Error::invalid_field(
                field,
                text.unwrap_or_default(),
                "Value should match the pattern ^[^\\r\\n]*$",
            ));
        }
    }
    let key = r.key.as_deref().filter(|k| !k.is_empty());
    let value = r.value.as_str();
    if value.is_empty() {
        return Err(rule_error("Invalid L7 Rule: L7 rule type requires a value"));
    }
    let check_value = |ok: fn(&str) -> bool, what: &str| -> Result<(), Error> {
        if r.compare_type == L7CompareType::Regex {
            regex_ok(value)
        } else if ok(value) {
            Ok(())
        } else {
            Err(rule_error(format!("Invalid characters in {what}")))
        }
    };
    match r.kind {
        L7RuleType::HostName | L7RuleType::Path => check_value(header_value_ok, "comparison value"),
        L7RuleType::FileType => {
            if !matches!(
                r.compare_type,
                L7CompareType::Regex | L7CompareType::EqualTo
            ) {
                return Err(rule_error(
                    "Invalid L7 Rule: invalid comparison type for rule type",
                ));
            }
            check_value(header_value_ok, "comparison value")
        }
        L7RuleType::Header | L7RuleType::Cookie => {
            let Some(k) = key else {
                return Err(rule_error("Invalid L7 Rule: L7 rule type requires a key"));
            };
            if !header_name_ok(k) {
                return Err(rule_error("Invalid characters in key"));
            }
            if r.kind == L7RuleType::Header {
                check_value(header_value_ok, "header value")
            } else {
                check_value(cookie_value_ok, "cookie value")
            }
        }
        L7RuleType::SslConnHasCert => {
            if key.is_some() {
                return Err(rule_error(
                    "Invalid L7 Rule: L7rule type SSL_CONN_HAS_CERT does not use the \"key\" field.",
                ));
            }
            if r.compare_type != L7CompareType::EqualTo {
                return Err(rule_error(format!(
                    "Invalid L7 Rule: L7rule type {} only supports the EQUAL_TO compare type.",
                    r.kind
                )));
            }
            if !value.eq_ignore_ascii_case("true") {
                return Err(rule_error(format!(
                    "Invalid L7 Rule: L7rule value {value} is not a boolean True string."
                )));
            }
            Ok(())
        }
        L7RuleType::SslVerifyResult => {
            if key.is_some() {
                return Err(rule_error(
                    "Invalid L7 Rule: L7rule type SSL_VERIFY_RESULT does not use the \"key\" field.",
                ));
            }
            if r.compare_type != L7CompareType::EqualTo {
                return Err(rule_error(format!(
                    "Invalid L7 Rule: L7rule type {} only supports the EQUAL_TO compare type.",
                    r.kind
                )));
            }
            if !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(rule_error(
                    "Invalid L7 Rule: L7rule type SSL_VERIFY_RESULT needs a int value, which is >= 0",
                ));
            }
            Ok(())
        }
        L7RuleType::SslDnField => {
            let Some(k) = key else {
                return Err(rule_error(
                    "Invalid L7 Rule: L7rule type SSL_DN_FIELD needs to specify a key and a value.",
                ));
            };
            let dn_ok = k.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            if !dn_ok {
                return Err(rule_error(
                    "Invalid L7 Rule: Invalid L7rule distinguished name field.",
                ));
            }
            if r.compare_type == L7CompareType::Regex {
                regex_ok(value)?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_need_scheme_and_host() {
        assert!(url_ok("https://example.com/x"));
        assert!(!url_ok("example.com"));
        assert!(!url_ok("ftp://example.com"));
        assert!(!url_ok("http:///path"));
    }

    #[test]
    fn header_values() {
        assert!(header_value_ok("/api"));
        assert!(header_value_ok("\"with space\""));
        assert!(!header_value_ok("with space"));
    }
}
