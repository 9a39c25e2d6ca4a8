//! Health monitor rules (Octavia's health monitor controller).

use super::{max_len, range, strings_max_len};
use crate::Error;
use crate::model::{HealthMonitor, HealthMonitorType, PoolProtocol};

/// Shortest delay of a UDP-CONNECT monitor, seconds.
pub const UDP_CONNECT_MIN_DELAY: i64 = 3;

/// Check a health monitor as it would be stored, for a pool of the given protocol.
pub fn health_monitor(h: &HealthMonitor, pool_protocol: PoolProtocol) -> Result<(), Error> {
    max_len("name", h.name.as_deref(), 255)?;
    strings_max_len("tags", &h.tags, 255)?;
    range("delay", h.delay, 0, i64::from(i32::MAX))?;
    range("timeout", h.timeout, 0, i64::from(i32::MAX))?;
    range("max_retries", h.max_retries, 1, 10)?;
    range("max_retries_down", h.max_retries_down, 1, 10)?;
    use HealthMonitorType as T;
    if pool_protocol.is_udp_like() {
        if !matches!(h.kind, T::UdpConnect | T::Sctp | T::Tcp | T::Http) {
            return Err(Error::validation(format!(
                "The associated pool protocol is {pool_protocol}, so only a UDP-CONNECT/SCTP/TCP/HTTP health monitor is supported."
            )));
        }
    } else if matches!(h.kind, T::UdpConnect | T::Sctp) {
        return Err(Error::validation(format!(
            "The {} type is only supported for pools of type UDP/SCTP.",
            h.kind
        )));
    }
    if h.kind == T::UdpConnect && h.delay < UDP_CONNECT_MIN_DELAY {
        return Err(Error::validation(format!(
            "The request delay value {} should be larger than {UDP_CONNECT_MIN_DELAY} for UDP-CONNECT health monitor type.",
            h.delay
        )));
    }
    if !h.kind.is_http() {
        for (field, present) in [
            ("http_method", h.http_method.is_some()),
            ("url_path", h.url_path.is_some()),
            ("expected_codes", h.expected_codes.is_some()),
        ] {
            if present {
                return Err(Error::invalid_option(
                    field,
                    &format!("health monitors of type {}", h.kind),
                ));
            }
        }
    }
    if let Some(path) = &h.url_path
        && (!path.starts_with('/') || path.chars().any(char::is_whitespace))
    {
        return Err(Error::invalid_field(
            "url_path",
            path,
            "Value must be a valid URL Path string",
        ));
    }
    if let Some(codes) = &h.expected_codes
        && !expected_codes_ok(codes)
    {
        return Err(Error::invalid_field(
            "expected_codes",
            codes,
            "Value should match the pattern ^(\\d{3}(\\s*,\\s*\\d{3})*)$|^(\\d{3}-\\d{3})$",
        ));
    }
    if let Some(version) = h.http_version
        && version != 1.0
        && version != 1.1
    {
        return Err(Error::invalid_field(
            "http_version",
            crate::wsme::python::repr_float(version),
            "Value should be one of: 1.0, 1.1",
        ));
    }
    if let Some(domain) = &h.domain_name {
        if !domain_name_ok(domain) {
            return Err(Error::invalid_field(
                "domain_name",
                domain,
                "Value should match the pattern of a host name",
            ));
        }
        match h.http_version {
            None => {
                return Err(Error::validation(
                    "'http_version' must be specified when 'domain_name' is provided.",
                ));
            }
            Some(1.0) => {
                return Err(Error::invalid_option(
                    "http_version 1.0",
                    "health monitors HTTP 1.1 domain name health check",
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn three_digits(s: &str) -> bool {
    s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `200`, `200,202`, `200, 204` or `200-299`.
fn expected_codes_ok(codes: &str) -> bool {
    if let Some((a, b)) = codes.split_once('-') {
        return three_digits(a) && three_digits(b);
    }
    codes.split(',').all(|c| three_digits(c.trim()))
}

/// A DNS host name: labels of letters, digits, `-` and `_`, not starting or ending with `-`.
fn domain_name_ok(name: &str) -> bool {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    !trimmed.is_empty()
        && trimmed.len() <= 253
        && trimmed.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_codes_forms() {
        for ok in ["200", "200,202", "200, 204", "200-299"] {
            assert!(expected_codes_ok(ok), "{ok}");
        }
        for bad in ["2000", "20", "200-", "abc", "200;201"] {
            assert!(!expected_codes_ok(bad), "{bad}");
        }
    }

    #[test]
    fn http_version_shows_as_python_shows_a_float() {
        let mut h =
            crate::driver::fixtures::health_monitor("hm", "lb", "pool", HealthMonitorType::Http);
        h.http_version = Some(2.0);
        assert_eq!(
            health_monitor(&h, PoolProtocol::Http)
                .unwrap_err()
                .to_string(),
            "Invalid input for field/attribute http_version. Value: '2.0'. Value should be one of: 1.0, 1.1"
        );
        h.http_version = Some(f64::NAN);
        assert!(
            health_monitor(&h, PoolProtocol::Http)
                .unwrap_err()
                .to_string()
                .contains("Value: 'nan'.")
        );
    }

    #[test]
    fn domain_names() {
        assert!(domain_name_ok("www.example.com"));
        assert!(!domain_name_ok("-bad.example"));
        assert!(!domain_name_ok("a b"));
    }
}
