//! A health check's answer in the shapes oslo.middleware's `healthcheck` gives (not in its
//! detailed mode, which Octavia leaves off):
//!
//! - `HEAD`: 204 when healthy, 503 when not, no body;
//! - `GET`: 200 or 503, the reasons in the type the `Accept` header prefers among `text/plain`
//!   (also the answer when it allows none of them: one reason per line), `text/html` (a table)
//!   and `application/json` (`{"detailed": false, "reasons": [...]}`, indented by four).
//!
//! A healthy answer has the one reason `OK`.

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The reason of a healthy answer.
const OK: &str = "OK";

/// The types a `GET` can be answered in, in oslo's order of preference on a tie.
const OFFERS: [Format; 3] = [Format::Text, Format::Html, Format::Json];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Text,
    Html,
    Json,
}

impl Format {
    fn media_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain",
            Format::Html => "text/html",
            Format::Json => "application/json",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; charset=UTF-8",
            Format::Html => "text/html; charset=UTF-8",
            Format::Json => "application/json",
        }
    }
}

/// The answer to a health check that found `failures` (healthy when there are none).
pub(super) fn render(method: &Method, headers: &HeaderMap, failures: &[&str]) -> Response {
    let healthy = failures.is_empty();
    let reasons: Vec<&str> = if healthy { vec![OK] } else { failures.to_vec() };
    let (status, format, body) = if method == Method::HEAD {
        let status = if healthy {
            StatusCode::NO_CONTENT
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        (status, Format::Text, String::new())
    } else {
        let status = if healthy {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        let format = preferred(headers);
        let body = match format {
            Format::Text => reasons.join("\n"),
            Format::Html => html(&reasons),
            Format::Json => json(&reasons),
        };
        (status, format, body)
    };
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    response
}

/// The offer the `Accept` header prefers: the highest quality, oslo's order on a tie, plain
/// text when the header allows none.
fn preferred(headers: &HeaderMap) -> Format {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Format::Text;
    };
    let mut best: Option<(Format, f32)> = None;
    for offer in OFFERS {
        let quality = quality_of(accept, offer.media_type());
        if quality > 0.0 && best.is_none_or(|(_, q)| quality > q) {
            best = Some((offer, quality));
        }
    }
    best.map_or(Format::Text, |(format, _)| format)
}

/// The quality an `Accept` header gives `media_type`: that of its most specific matching range
/// (`type/subtype`, then `type/*`, then `*/*`), 0 when none matches.
fn quality_of(accept: &str, media_type: &str) -> f32 {
    let (kind, _) = media_type.split_once('/').unwrap_or((media_type, ""));
    let mut best: Option<(u8, f32)> = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let range = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let specificity = if range == media_type {
            3
        } else if range.strip_suffix("/*") == Some(kind) {
            2
        } else if range == "*/*" {
            1
        } else {
            continue;
        };
        let quality = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if best.is_none_or(|(s, _)| specificity > s) {
            best = Some((specificity, quality));
        }
    }
    best.map_or(0.0, |(_, quality)| quality)
}

#[derive(Serialize)]
struct JsonReport<'a> {
    detailed: bool,
    reasons: &'a [&'a str],
}

/// oslo's JSON: sorted keys, indented by four spaces.
fn json(reasons: &[&str]) -> String {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    JsonReport {
        detailed: false,
        reasons,
    }
    .serialize(&mut serializer)
    .expect("serializing strings and a boolean cannot fail");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// oslo's HTML: a table of the reasons.
fn html(reasons: &[&str]) -> String {
    let rows: String = reasons
        .iter()
        .map(|reason| format!("<TR>\n    <TD>{}</TD>\n</TR>\n", escape(reason)))
        .collect();
    format!(
        "<HTML>\n<HEAD><TITLE>Healthcheck Status</TITLE></HEAD>\n<BODY>\n\
         <H2>Result of {} checks:</H2>\n<TABLE bgcolor=\"#ffffff\" border=\"1\">\n<TBODY>\n\
         <TR>\n<TH>\nReason\n</TH>\n</TR>\n{rows}</TBODY>\n</TABLE>\n<HR></HR>\n</BODY>\n</HTML>",
        reasons.len()
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepting(accept: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(accept).unwrap());
        headers
    }

    #[test]
    fn the_accept_header_chooses_among_the_offers() {
        assert_eq!(preferred(&HeaderMap::new()), Format::Text);
        assert_eq!(preferred(&accepting("application/json")), Format::Json);
        assert_eq!(preferred(&accepting("text/html")), Format::Html);
        assert_eq!(preferred(&accepting("*/*")), Format::Text);
        assert_eq!(preferred(&accepting("text/*")), Format::Text);
        assert_eq!(
            preferred(&accepting("text/plain;q=0.5, application/json")),
            Format::Json
        );
        assert_eq!(
            preferred(&accepting("application/*, text/html;q=0")),
            Format::Json
        );
        assert_eq!(preferred(&accepting("image/png")), Format::Text);
    }

    #[test]
    fn json_is_oslos_shape() {
        assert_eq!(
            json(&["OK"]),
            "{\n    \"detailed\": false,\n    \"reasons\": [\n        \"OK\"\n    ]\n}"
        );
    }

    #[tokio::test]
    async fn head_has_no_body_and_says_no_content_when_healthy() {
        let response = render(&Method::HEAD, &HeaderMap::new(), &[]);
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let response = render(&Method::HEAD, &HeaderMap::new(), &["down"]);
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        assert!(body.is_empty());
    }

    #[tokio::test]
    async fn reasons_are_one_a_line_and_escaped_in_html() {
        let response = render(&Method::GET, &HeaderMap::new(), &["a", "b"]);
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(&body[..], b"a\nb");
        assert!(html(&["<x>"]).contains("<TD>&lt;x&gt;</TD>"));
        assert!(html(&["OK"]).contains("Result of 1 checks:"));
    }
}
