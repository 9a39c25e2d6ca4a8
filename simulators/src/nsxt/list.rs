//! Lists and searches: NSX pages with an opaque `cursor` and `page_size` (at most 1,000) and
//! reports the total in `result_count`.
//!
//! The cursor names the last object of the page (objects come in path order), so a page never
//! repeats or skips an object that was there before and after the walk.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::error::{self, NsxError};

/// The page size NSX uses when none is asked for, and the most it gives.
pub const MAX_PAGE_SIZE: usize = 1000;

/// The query parameters of a request, each once.
pub fn params(raw: Option<&str>) -> Result<HashMap<String, String>, NsxError> {
    let mut params = HashMap::new();
    for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        if params.insert(key.to_string(), value.to_string()).is_some() {
            return Err(NsxError::bad_request(
                error::INVALID_REQUEST,
                format!("The query parameter {key} is repeated."),
            ));
        }
    }
    Ok(params)
}

/// One page of `(path, body)` items given in path order, as NSX's list result.
pub fn page<'a>(
    items: impl Iterator<Item = (&'a str, &'a Value)>,
    params: &HashMap<String, String>,
) -> Result<Value, NsxError> {
    let page_size = match params.get("page_size") {
        None => MAX_PAGE_SIZE,
        Some(size) => size
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
            .ok_or_else(|| {
                NsxError::bad_request(
                    error::INVALID_REQUEST,
                    format!("page_size must be between 1 and {MAX_PAGE_SIZE}, not {size}."),
                )
            })?,
    };
    let after = match params.get("cursor") {
        None => None,
        Some(cursor) => Some(decode_cursor(cursor).ok_or_else(|| {
            NsxError::bad_request(
                error::INVALID_REQUEST,
                format!("The cursor {cursor} is invalid."),
            )
        })?),
    };
    let mut total = 0;
    let mut results = Vec::new();
    let mut last = None;
    let mut more = false;
    for (path, body) in items {
        total += 1;
        if after.as_deref().is_some_and(|after| path <= after) {
            continue;
        }
        if results.len() == page_size {
            more = true;
            continue;
        }
        results.push(body.clone());
        last = Some(path);
    }
    let mut list = json!({
        "results": results,
        "result_count": total,
        "sort_by": "path",
        "sort_ascending": true,
    });
    if more && let Some(last) = last {
        list["cursor"] = Value::String(encode_cursor(last));
    }
    Ok(list)
}

fn encode_cursor(path: &str) -> String {
    path.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_cursor(cursor: &str) -> Option<String> {
    if !cursor.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..cursor.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(cursor.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

/// One `field:value` term of a search query; `field:(a OR b)` matches either value.
#[derive(Debug, PartialEq, Eq)]
enum Term {
    Field(&'static str, Vec<String>),
    TagScope(Vec<String>),
    Tag(Vec<String>),
    MarkedForDelete(bool),
}

/// A search query of the form NSX drivers send: terms joined by `AND`, each `field:value` or
/// `field:(value OR value ...)`, with `resource_type`, `id`, `display_name`, `path`,
/// `parent_path`, `lb_service_path` (a virtual server's service), `intent_paths` (a realized
/// entity's, see [`Query::intent_paths`]), `tags.scope`, `tags.tag` and `marked_for_delete` as
/// the fields. A `tags.scope` and a `tags.tag` term each match any of the object's tags, and an
/// `intent_paths` term any of the entity's paths, as NSX's search does.
#[derive(Debug)]
pub struct Query(Vec<Term>);

impl Query {
    /// Parse a query.
    pub fn parse(query: &str) -> Result<Self, NsxError> {
        let invalid = |why: String| NsxError::bad_request(error::INVALID_REQUEST, why);
        let mut terms = Vec::new();
        for term in query.split(" AND ") {
            let term = term.trim();
            let (field, value) = term
                .split_once(':')
                .ok_or_else(|| invalid(format!("The search term {term} is not field:value.")))?;
            let value = value.trim();
            let values: Vec<String> =
                match value.strip_prefix('(').and_then(|v| v.strip_suffix(')')) {
                    Some(group) => group
                        .split(" OR ")
                        .map(|v| unescape(v.trim().trim_matches('"')))
                        .collect(),
                    None => vec![unescape(value.trim_matches('"'))],
                };
            terms.push(match field {
                "resource_type" => Term::Field("resource_type", values),
                "id" => Term::Field("id", values),
                "display_name" => Term::Field("display_name", values),
                "path" => Term::Field("path", values),
                "parent_path" => Term::Field("parent_path", values),
                "lb_service_path" => Term::Field("lb_service_path", values),
                "intent_paths" => Term::Field("intent_paths", values),
                "tags.scope" => Term::TagScope(values),
                "tags.tag" => Term::Tag(values),
                "marked_for_delete" => Term::MarkedForDelete(values.iter().any(|v| v == "true")),
                other => {
                    return Err(invalid(format!(
                        "Searching by {other} is not simulated: resource_type, id, display_name, path, parent_path, lb_service_path, intent_paths, tags.scope, tags.tag and marked_for_delete are."
                    )));
                }
            });
        }
        Ok(Self(terms))
    }

    /// Whether the query asks for realized entities (`resource_type:GenericPolicyRealizedResource`)
    /// rather than intent objects.
    pub fn asks_for_realized_entities(&self) -> bool {
        self.0.iter().any(|t| {
            matches!(t, Term::Field("resource_type", values)
                if values.iter().any(|v| v == REALIZED_ENTITY))
        })
    }

    /// The intent paths an `intent_paths` term names, if the query has one.
    pub fn intent_paths(&self) -> Option<&[String]> {
        self.0.iter().find_map(|t| match t {
            Term::Field("intent_paths", values) => Some(values.as_slice()),
            _ => None,
        })
    }

    /// Whether an object's body matches every term.
    pub fn matches(&self, body: &Value) -> bool {
        let tags = body["tags"].as_array();
        let any_tag = |key: &str, values: &[String]| {
            tags.into_iter()
                .flatten()
                .any(|tag| values.iter().any(|v| tag[key].as_str() == Some(v.as_str())))
        };
        let field_is = |field: &str, value: &str| match &body[field] {
            Value::String(s) => s == value,
            Value::Array(items) => items.iter().any(|i| i.as_str() == Some(value)),
            _ => false,
        };
        self.0.iter().all(|term| match term {
            Term::Field(field, values) => values.iter().any(|v| field_is(field, v)),
            Term::TagScope(scopes) => any_tag("scope", scopes),
            Term::Tag(tags) => any_tag("tag", tags),
            Term::MarkedForDelete(marked) => !marked,
        })
    }
}

/// The resource type of realized entities.
pub const REALIZED_ENTITY: &str = "GenericPolicyRealizedResource";

/// Lucene's backslash escapes taken off.
fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_matches_type_and_tags() {
        let query =
            Query::parse(r"resource_type:LBPool AND tags.scope:os-lbaas-lb-id AND tags.tag:lb\-1")
                .unwrap();
        let body = json!({"resource_type": "LBPool",
            "tags": [{"scope": "os-lbaas-lb-id", "tag": "lb-1"}]});
        assert!(query.matches(&body));
        let other = json!({"resource_type": "LBPool",
            "tags": [{"scope": "os-lbaas-lb-id", "tag": "lb-2"}]});
        assert!(!query.matches(&other));
        assert!(Query::parse("owner:me").is_err());
        let on_service = Query::parse(
            r"resource_type:LBVirtualServer AND lb_service_path:\/infra\/lb\-services\/s",
        )
        .unwrap();
        let vs =
            json!({"resource_type": "LBVirtualServer", "lb_service_path": "/infra/lb-services/s"});
        assert!(on_service.matches(&vs));
        assert!(!on_service.matches(&json!({"resource_type": "LBVirtualServer"})));
        let either = Query::parse(
            r"resource_type:GenericPolicyRealizedResource AND intent_paths:(\/a OR \/b\-c)",
        )
        .unwrap();
        assert!(either.asks_for_realized_entities());
        assert_eq!(either.intent_paths().unwrap(), ["/a", "/b-c"]);
        let entity = |path: &str| json!({"resource_type": "GenericPolicyRealizedResource", "intent_paths": [path]});
        assert!(either.matches(&entity("/b-c")));
        assert!(!either.matches(&entity("/d")));
    }

    #[test]
    fn cursors_round_trip() {
        let path = "/infra/lb-pools/p-1";
        assert_eq!(decode_cursor(&encode_cursor(path)).as_deref(), Some(path));
        assert!(decode_cursor("zz").is_none());
    }
}
