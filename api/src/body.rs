//! [`OctaviaBody`]: a JSON request body wrapped in Octavia's root key (`{"listener": {...}}`),
//! parsed with Octavia's error messages for unknown attributes, missing mandatory fields, bad types
//! and bad enum values.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use fulcrum_core::Error;
use serde_json::Value;

use crate::fault::ApiError;
use crate::shapes::Rooted;

/// The body of a create or update request, already unwrapped from its root key.
#[derive(Debug)]
pub struct OctaviaBody<T>(pub T);

impl<S: Send + Sync, T: Rooted> FromRequest<S> for OctaviaBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| Error::InvalidInput(e.body_text()))?;
        parse::<T>(&bytes).map(OctaviaBody).map_err(ApiError)
    }
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
    let result: Result<T, _> = serde_path_to_error::deserialize(inner);
    result.map_err(|e| describe(T::ROOT, e))
}

fn describe(root: &str, err: serde_path_to_error::Error<serde_json::Error>) -> Error {
    let path = err.path().to_string();
    let message = err.inner().to_string();
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
}
