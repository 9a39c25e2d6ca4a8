//! The errors hyper answers on its own, given a fault body.
//!
//! A request hyper cannot parse (a control character in a header, a request target over 64 KiB,
//! headers too large) never reaches the application: hyper writes a bare status line with
//! `content-length: 0` and closes the connection. A [`Connection`](super::Connection) recognizes
//! such an answer on its way out (a 4xx head with no body, which no route sends: the
//! [`middleware`](crate::middleware) gives every error of the application a body) and sends the
//! same status with Octavia's fault body instead.

use axum::http::StatusCode;

use crate::fault::Fault;

/// The status of a bodyless 4xx answer hyper wrote itself, if `head` is one.
pub(super) fn bare_client_error(head: &[u8]) -> Option<StatusCode> {
    // Every write of every response passes here: rule out all but a short 4xx head on the bytes,
    // before anything looks at the whole buffer.
    if head.len() > 1024 || !head.starts_with(b"HTTP/1.1 4") || !head.ends_with(b"\r\n\r\n") {
        return None;
    }
    let text = std::str::from_utf8(head).ok()?;
    let rest = text.strip_prefix("HTTP/1.1 ")?;
    if !text.ends_with("\r\n\r\n")
        || !text
            .to_ascii_lowercase()
            .contains("\r\ncontent-length: 0\r\n")
    {
        return None;
    }
    let status = StatusCode::from_bytes(rest.get(..3)?.as_bytes()).ok()?;
    status.is_client_error().then_some(status)
}

/// The same answer with the fault body; the connection closes after it, as hyper's does.
pub(super) fn with_fault(status: StatusCode) -> Vec<u8> {
    let reason = status.canonical_reason().unwrap_or_default();
    let body = serde_json::to_string(&Fault {
        faultcode: "Client",
        faultstring: reason.to_string(),
        debuginfo: None,
    })
    .unwrap_or_default();
    format!(
        "HTTP/1.1 {} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        status.as_u16(),
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bodyless_client_errors_are_rewritten() {
        let bare = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        assert_eq!(bare_client_error(bare), Some(StatusCode::BAD_REQUEST));
        let long = b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(bare_client_error(long), Some(StatusCode::URI_TOO_LONG));
        let with_body = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(bare_client_error(with_body), None);
        let no_content = b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(bare_client_error(no_content), None);
        let answer = String::from_utf8(with_fault(StatusCode::BAD_REQUEST)).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(body).unwrap(),
            serde_json::json!({"faultcode": "Client", "faultstring": "Bad Request", "debuginfo": null})
        );
    }
}
