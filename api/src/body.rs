//! [`OctaviaBody`]: a JSON request body wrapped in Octavia's root key (`{"listener": {...}}`),
//! parsed with Octavia's error messages for unknown attributes, missing mandatory fields, bad types
//! and bad enum values.
//!
//! Numbers and booleans are converted as Octavia's WSME converts them (`"80"` is 80, `"yes"` is
//! true: see [`fulcrum_core::wsme`]). A value WSME cannot convert is reported, as WSME reports it,
//! against the whole body: the controller's argument name and Python's `repr()` of the body.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fulcrum_core::Error;
use fulcrum_core::wsme::{body_error_text, python::PyValue};
use serde_json::Value;

use crate::fault::{ApiError, fault};
use crate::shapes::Rooted;

/// The body of a create or update request, already unwrapped from its root key.
#[derive(Debug)]
pub struct OctaviaBody<T>(pub T);

impl<S: Send + Sync, T: Rooted> FromRequest<S> for OctaviaBody<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let mimetype = mimetype(req.headers());
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError(Error::InvalidInput(e.body_text())).into_response())?;
        if !bytes.is_empty() && !JSON_MIMETYPES.contains(&mimetype.as_str()) {
            return Err(fault(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("Unknown mimetype: {mimetype}"),
            ));
        }
        parse::<T>(&bytes)
            .map(OctaviaBody)
            .map_err(|e| ApiError(e).into_response())
    }
}

/// The media types WSME reads a body of as JSON. It refuses a body of any other type (none given
/// included) with 415 before looking at it; Fulcrum, which speaks no XML, refuses `text/xml` too.
const JSON_MIMETYPES: &[&str] = &[
    "application/json",
    "text/javascript",
    "application/javascript",
];

/// The media type of a request's `Content-Type`, without parameters ("" when there is none).
fn mimetype(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Parse `{"<root>": {...}}` into `T`.
pub fn parse<T: Rooted>(bytes: &[u8]) -> Result<T, Error> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|_| Error::InvalidInput("Request is not in valid JSON format".into()))?;
    let Value::Object(mut outer) = value else {
        return Err(Error::InvalidInput(
            "Request is not in valid JSON format".into(),
        ));
    };
    if let Some(extra) = outer.keys().find(|k| k.as_str() != T::ROOT) {
        return Err(Error::InvalidInput(format!(
            "Unknown attribute for argument {}: {extra}",
            T::ROOT
        )));
    }
    let inner = outer.remove(T::ROOT).ok_or_else(|| {
        Error::InvalidInput(format!(
            "Invalid input for field/attribute {}. Value: 'None'. Mandatory field missing.",
            T::ROOT
        ))
    })?;
    fulcrum_core::validate::body_text(T::ROOT, &inner)?;
    let result: Result<T, _> = serde_path_to_error::deserialize(inner);
    result.map_err(|e| describe::<T>(bytes, e))
}

fn describe<T: Rooted>(bytes: &[u8], err: serde_path_to_error::Error<serde_json::Error>) -> Error {
    let root = T::ROOT;
    let path = err.path().to_string();
    let message = err.inner().to_string();
    if let Some(text) = body_error_text(&message) {
        // WSME: InvalidInput(argument name, the parsed body, the ValueError's text).
        let body = PyValue::parse(bytes).map_or_else(String::new, |v| v.to_string());
        return Error::InvalidInput(format!(
            "Invalid input for field/attribute {}. Value: '{body}'. {text}",
            T::ARGUMENT
        ));
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let field = rest.split('`').next().unwrap_or_default();
        // The path ends at the unknown field; its parent objects, without list positions, name the
        // argument as Octavia does ("pool.session_persistence").
        let mut segments: Vec<&str> = path
            .split('.')
            .map(|s| s.split('[').next().unwrap_or(""))
            .filter(|s| !s.is_empty() && *s != "?")
            .collect();
        if segments.last() == Some(&field) {
            segments.pop();
        }
        let mut parent = root.to_string();
        for segment in segments {
            if segment != root {
                parent.push('.');
                parent.push_str(segment);
            }
        }
        return Error::InvalidInput(format!("Unknown attribute for argument {parent}: {field}"));
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or_default();
        return Error::InvalidInput(format!(
            "Invalid input for field/attribute {field}. Value: 'None'. Mandatory field missing."
        ));
    }
    let leaf = path
        .rsplit('.')
        .find(|s| !s.starts_with('[') && !s.is_empty() && *s != "?")
        .unwrap_or(root)
        .trim_end_matches(|c: char| c == ']' || c.is_ascii_digit() || c == '[');
    if message.starts_with("Value: '") {
        Error::InvalidInput(format!(
            "Invalid input for field/attribute {leaf}. {message}"
        ))
    } else {
        Error::InvalidInput(format!(
            "Invalid input for field/attribute {leaf}. {}",
            wrong_type(&message)
        ))
    }
}

fn wrong_type(serde_message: &str) -> String {
    // "invalid type: string \"x\", expected i64" → Octavia-like wording.
    match serde_message.strip_prefix("invalid type: ") {
        Some(rest) => {
            let (got, expected) = rest
                .split_once(", expected ")
                .unwrap_or((rest, "another type"));
            format!("Value: {got}. Wrong type. Expected {expected}.")
        }
        None => serde_message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Thing {
        port: i64,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        inner: Option<Inner>,
        #[serde(default)]
        items: Vec<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        #[serde(default)]
        size: i64,
    }
    impl Rooted for Thing {
        const ROOT: &'static str = "thing";
        const ARGUMENT: &'static str = "thing_";
    }

    fn err(body: &str) -> String {
        parse::<Thing>(body.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn octavia_messages() {
        assert_eq!(err("nope"), "Request is not in valid JSON format");
        assert_eq!(
            err(r#"{"thing": {"port": 1, "colour": "red"}}"#),
            "Unknown attribute for argument thing: colour"
        );
        assert_eq!(
            err(r#"{"thing": {}}"#),
            "Invalid input for field/attribute port. Value: 'None'. Mandatory field missing."
        );
        assert!(
            err(r#"{"thing": {"port": "x"}}"#)
                .starts_with("Invalid input for field/attribute port.")
        );
        assert_eq!(
            err(r#"{"other": {}}"#),
            "Unknown attribute for argument thing: other"
        );
        assert_eq!(
            err(r#"{"thing": {"port": 1, "inner": {"colour": 1}}}"#),
            "Unknown attribute for argument thing.inner: colour"
        );
        assert_eq!(
            err(r#"{"thing": {"port": 1, "items": [{"size": 1}, {"colour": 1}]}}"#),
            "Unknown attribute for argument thing.items: colour"
        );
    }

    use crate::shapes::health_monitors::UpdateHealthMonitor;
    use crate::shapes::listeners::CreateListener;
    use crate::shapes::load_balancers::CreateLoadBalancer;
    use crate::shapes::members::BatchMembers;
    use crate::shapes::pools::CreatePool;
    use crate::shapes::quotas::UpdateQuota;
    use fulcrum_core::patch::Patch;

    #[test]
    fn numbers_and_booleans_convert_as_wsme_does() {
        let l: CreateListener = parse(
            br#"{"listener": {"loadbalancer_id": "lb", "protocol": "HTTP", "protocol_port": "80",
                "connection_limit": "-1", "timeout_client_data": 5000.9, "admin_state_up": "no",
                "hsts_preload": 1}}"#,
        )
        .unwrap();
        assert_eq!(l.protocol_port, 80);
        assert_eq!(l.connection_limit, Some(-1));
        assert_eq!(l.timeout_client_data, Some(5000));
        assert_eq!(l.admin_state_up, Some(false));
        assert_eq!(l.hsts_preload, Some(true));
        assert_eq!(l.timeout_member_data, None);

        let h: UpdateHealthMonitor = parse(
            br#"{"healthmonitor": {"delay": "10", "max_retries": null, "http_version": "1.1"}}"#,
        )
        .unwrap();
        assert_eq!(h.delay, Patch::Value(10));
        assert_eq!(h.max_retries, Patch::Null);
        assert_eq!(h.timeout, Patch::Absent);
        assert_eq!(h.http_version, Patch::Value(1.1));

        let q: UpdateQuota = parse(br#"{"quota": {"member": "-1", "pool": " 7 "}}"#).unwrap();
        assert_eq!(q.member, Patch::Value(-1));
        assert_eq!(q.pool, Patch::Value(7));

        let p: CreatePool = parse(
            br#"{"pool": {"protocol": "UDP", "lb_algorithm": "ROUND_ROBIN",
                "session_persistence": {"type": "SOURCE_IP", "persistence_timeout": "30"}}}"#,
        )
        .unwrap();
        assert_eq!(p.session_persistence.unwrap().persistence_timeout, Some(30));

        let m: BatchMembers = parse(
            br#"{"members": [{"address": "10.0.0.1", "protocol_port": "80", "weight": "5",
                "backup": "true", "monitor_port": 8080.0}]}"#,
        )
        .unwrap();
        let m = &m.members[0];
        assert_eq!(
            (m.protocol_port, m.weight, m.backup, m.monitor_port),
            (80, Some(5), Some(true), Some(8080))
        );

        let graph: CreateLoadBalancer = parse(
            br#"{"loadbalancer": {"vip_subnet_id": "s", "listeners": [{"protocol": "HTTP",
                "protocol_port": "81", "l7policies": [{"action": "REJECT", "position": "2"}]}],
                "pools": [{"name": "p", "healthmonitor": {"type": "PING", "delay": "1",
                "timeout": "2", "max_retries": "3"}}]}}"#,
        )
        .unwrap();
        let listener = &graph.listeners.unwrap()[0];
        assert_eq!(listener.protocol_port, 81);
        assert_eq!(listener.l7policies.as_ref().unwrap()[0].position, Some(2));
        let hm = graph.pools.unwrap().remove(0).healthmonitor.unwrap();
        assert_eq!((hm.delay, hm.timeout, hm.max_retries), (1, 2, 3));
    }

    #[test]
    fn unconvertible_values_name_the_whole_body_as_wsme_does() {
        // Checked against WSME 0.13.0 on CPython 3.11.
        let err = parse::<CreateListener>(
            br#"{"listener": {"protocol_port": "abc", "name": "it's", "admin_state_up": true}}"#,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid input for field/attribute listener_. Value: '{'listener': {'protocol_port': \
             'abc', 'name': \"it's\", 'admin_state_up': True}}'. invalid literal for int() with \
             base 10: 'abc'"
        );
        let err = parse::<CreateLoadBalancer>(
            br#"{"loadbalancer": {"vip_subnet_id": "s", "admin_state_up": "True"}}"#,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid input for field/attribute load_balancer. Value: '{'loadbalancer': \
             {'vip_subnet_id': 's', 'admin_state_up': 'True'}}'. Value not an unambiguous \
             boolean: True"
        );
        let err = parse::<UpdateQuota>(br#"{"quota": {"pool": "1.5"}}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid input for field/attribute quotas. Value: '{'quota': {'pool': '1.5'}}'. \
             invalid literal for int() with base 10: '1.5'"
        );
        let err =
            parse::<BatchMembers>(br#"{"members": [{"address": "a", "protocol_port": [80]}]}"#)
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid input for field/attribute members_. Value: '{'members': [{'address': 'a', \
             'protocol_port': [80]}]}'. int() argument must be a string, a bytes-like object or a \
             real number, not 'list'"
        );
        // Beyond 64 bits: a range error of the field.
        let err =
            parse::<UpdateQuota>(br#"{"quota": {"pool": "99999999999999999999"}}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid input for field/attribute pool. Value: '99999999999999999999'. Value should \
             be lower or equal to 9223372036854775807"
        );
    }
}
