//! How a REST backend's failures become [`DriverError`]s.
//!
//! The reconciler acts on the kind alone (see [`fulcrum_core::driver::DriverError`]), so every
//! REST driver must draw the same line between "try again" and "this will not work": a backend
//! that cannot be reached, times out, drops the connection, fails on its side (5xx) or asks us to
//! slow down (429) is [transient](DriverError::transient), and its `Retry-After` rides along so
//! nobody retries sooner than the backend asked. Everything the backend refuses on purpose keeps
//! its meaning: 401/403 are [authentication](DriverError::authentication) failures, 404 is
//! [not found](DriverError::not_found), 409/412 a [conflict](DriverError::conflict) (another
//! writer, a stale revision), any other 4xx a [rejection](DriverError::rejected)
//! quoting the backend's own explanation.
//!
//! Messages are written for the owner of the load balancer and never name the backend's address;
//! the URL, status and body excerpt are kept in the source error ([`StatusError`] or the
//! transport error) for the operator's log, and the whole body for a driver that reads a
//! backend's own error codes.

use std::time::{Duration, SystemTime};

use fulcrum_core::driver::DriverError;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// How many characters of a backend's answer an error message quotes at most.
pub const EXCERPT_CHARS: usize = 300;

/// An answer whose status is not a success: the source of a classified error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusError {
    /// The URL that was called.
    pub url: String,
    /// The status of the answer.
    pub status: StatusCode,
    /// A short excerpt of the answer's body (see [`excerpt`]).
    pub excerpt: String,
    /// The answer's whole body, for a driver that reads the backend's own error fields (NSX's
    /// `error_code`).
    pub body: String,
}

impl std::fmt::Display for StatusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} answered {}", self.url, self.status)?;
        if !self.excerpt.is_empty() {
            write!(f, ": {}", self.excerpt)?;
        }
        Ok(())
    }
}

impl std::error::Error for StatusError {}

/// Classify a call that got no usable answer: the request could not be built (invalid
/// configuration), was redirected too often (rejected), or failed on the way (transient:
/// connect errors, timeouts, resets, a body cut short).
pub fn transport_error(error: reqwest::Error) -> DriverError {
    let classified = if error.is_builder() {
        DriverError::invalid_configuration(format!(
            "The request to the backend could not be built: {error}"
        ))
    } else if error.is_redirect() {
        DriverError::rejected("The backend redirected the request too many times.")
    } else if error.is_timeout() {
        DriverError::transient("The backend did not answer in time.")
    } else if error.is_connect() {
        DriverError::transient("The backend cannot be reached.")
    } else if error.is_body() || error.is_decode() {
        DriverError::transient("The connection to the backend failed while it was answering.")
    } else {
        DriverError::transient("The connection to the backend failed before it answered.")
    };
    classified.with_source(error)
}

/// Classify an answer with an unsuccessful status, `now` being the moment it arrived (for a
/// `Retry-After` given as a date).
pub fn status_error(
    url: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> DriverError {
    let source = StatusError {
        url: url.to_string(),
        status,
        excerpt: excerpt(body),
        body: String::from_utf8_lossy(body).into_owned(),
    };
    let code = status.as_u16();
    let quoted = if source.excerpt.is_empty() {
        String::new()
    } else {
        format!(": {}", source.excerpt)
    };
    let error = match code {
        429 => DriverError::transient(format!(
            "The backend is limiting the rate of requests (HTTP {code}){quoted}"
        )),
        500..=599 => DriverError::transient(format!(
            "The backend failed to handle the request (HTTP {code}){quoted}"
        )),
        401 | 403 => DriverError::authentication(format!(
            "The backend refused Fulcrum's credentials (HTTP {code}){quoted}"
        )),
        404 => DriverError::not_found(format!(
            "The backend does not have the object (HTTP {code}){quoted}"
        )),
        409 | 412 => DriverError::conflict(format!(
            "The backend holds a conflicting object (HTTP {code}){quoted}"
        )),
        400..=499 => DriverError::rejected(format!(
            "The backend rejected the request (HTTP {code}){quoted}"
        )),
        _ => DriverError::rejected(format!(
            "The backend gave an unexpected answer (HTTP {code}){quoted}"
        )),
    };
    error
        .with_retry_after(retry_after(headers, now))
        .with_source(source)
}

/// Pass a successful answer through; classify any other (reading its body for the message).
pub async fn check(response: reqwest::Response) -> Result<reqwest::Response, DriverError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let now = SystemTime::now();
    let url = response.url().to_string();
    let headers = response.headers().clone();
    let body = response.bytes().await.unwrap_or_default();
    Err(status_error(&url, status, &headers, &body, now))
}

/// The backend's `Retry-After` hint: delay seconds or an HTTP date (a date already past means
/// now). `None` without the header or when it is not readable.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse().ok().map(Duration::from_secs);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A short, single-line excerpt of a backend's answer for a message: the explanation of a JSON
/// error body when it has one in a field backends commonly use (`error_message`, `message`,
/// `detail`, `error`, followed by the strings of an `errors` list), else the body itself; at most
/// [`EXCERPT_CHARS`] characters.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let explained = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|json| explanation(&json));
    let text = explained.as_deref().unwrap_or(&text);
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(EXCERPT_CHARS) {
        Some((end, _)) => format!("{}…", &line[..end]),
        None => line,
    }
}

/// The explanation a JSON error body carries, if it is in a field we know.
fn explanation(json: &serde_json::Value) -> Option<String> {
    let message = ["error_message", "message", "detail", "error"]
        .iter()
        .find_map(|key| json.get(key)?.as_str())
        .map(str::to_string);
    let details: Vec<&str> = json
        .get("errors")
        .and_then(|e| e.as_array())
        .map(|errors| errors.iter().filter_map(|e| e.as_str()).collect())
        .unwrap_or_default();
    match (message, details.is_empty()) {
        (Some(m), true) => Some(m),
        (Some(m), false) => Some(format!("{m}: {}", details.join("; "))),
        (None, false) => Some(details.join("; ")),
        (None, true) => None,
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use fulcrum_core::driver::DriverErrorKind;
    use reqwest::header::HeaderValue;

    use super::*;

    fn classify(code: u16, body: &str) -> DriverError {
        let status = StatusCode::from_u16(code).unwrap();
        let now = SystemTime::UNIX_EPOCH;
        status_error(
            "https://backend/x",
            status,
            &HeaderMap::new(),
            body.as_bytes(),
            now,
        )
    }

    fn with_retry_after(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn statuses_map_to_kinds() {
        let transient = DriverErrorKind::Transient { retry_after: None };
        for (code, kind) in [
            (429, transient),
            (500, transient),
            (502, transient),
            (503, transient),
            (504, transient),
            (401, DriverErrorKind::Authentication),
            (403, DriverErrorKind::Authentication),
            (404, DriverErrorKind::NotFound),
            (409, DriverErrorKind::Conflict),
            (412, DriverErrorKind::Conflict),
            (400, DriverErrorKind::Rejected),
            (422, DriverErrorKind::Rejected),
            (304, DriverErrorKind::Rejected),
        ] {
            assert_eq!(classify(code, "").kind(), kind, "HTTP {code}");
        }
    }

    #[test]
    fn rejections_quote_the_backend_and_keep_the_source() {
        let e = classify(
            400,
            r#"{"httpStatus": "BAD_REQUEST", "error_message": "Invalid port."}"#,
        );
        assert_eq!(
            e.message(),
            "The backend rejected the request (HTTP 400): Invalid port."
        );
        let source = e.source().unwrap().downcast_ref::<StatusError>().unwrap();
        assert_eq!(source.url, "https://backend/x");
        assert_eq!(source.status, StatusCode::BAD_REQUEST);
        assert!(source.body.contains(r#""httpStatus": "BAD_REQUEST""#));
        assert_eq!(
            source.to_string(),
            "https://backend/x answered 400 Bad Request: Invalid port."
        );
        let not_found = classify(404, "");
        assert_eq!(
            not_found.message(),
            "The backend does not have the object (HTTP 404)"
        );
        assert_eq!(
            not_found.source().unwrap().to_string(),
            "https://backend/x answered 404 Not Found"
        );
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(
            retry_after(&with_retry_after(" 120 "), now),
            Some(Duration::from_secs(120))
        );
        // 784111777 is Sun, 06 Nov 1994 08:49:37 GMT.
        assert_eq!(
            retry_after(&with_retry_after("Sun, 06 Nov 1994 08:50:07 GMT"), now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after(&with_retry_after("Sun, 06 Nov 1994 08:00:00 GMT"), now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&with_retry_after("soon"), now), None);
        assert_eq!(retry_after(&with_retry_after("-5"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn the_retry_hint_rides_on_transient_errors() {
        let headers = with_retry_after("7");
        let now = SystemTime::now();
        let busy = status_error("u", StatusCode::TOO_MANY_REQUESTS, &headers, b"", now);
        assert_eq!(busy.retry_after(), Some(Duration::from_secs(7)));
        let down = status_error("u", StatusCode::SERVICE_UNAVAILABLE, &headers, b"", now);
        assert_eq!(down.retry_after(), Some(Duration::from_secs(7)));
        let conflict = status_error("u", StatusCode::CONFLICT, &headers, b"", now);
        assert_eq!(conflict.retry_after(), None);
    }

    #[test]
    fn excerpts_are_short_single_lines() {
        assert_eq!(
            excerpt(b"  Service\r\n  Unavailable \n"),
            "Service Unavailable"
        );
        assert_eq!(
            excerpt(br#"{"code": 422, "message": "declaration is invalid", "errors": ["/T/A: bad", "/T/B: worse"]}"#),
            "declaration is invalid: /T/A: bad; /T/B: worse"
        );
        assert_eq!(excerpt(br#"{"detail": "no"}"#), "no");
        assert_eq!(excerpt(br#"{"unknown": 1}"#), r#"{"unknown": 1}"#);
        let long = "é".repeat(EXCERPT_CHARS + 10);
        let cut = excerpt(long.as_bytes());
        assert_eq!(cut.chars().count(), EXCERPT_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(excerpt(&[0xff, b'o', b'k']), "\u{fffd}ok");
    }
}
