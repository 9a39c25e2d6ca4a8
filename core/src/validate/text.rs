//! Text the store can hold. PostgreSQL refuses the NUL character in text (SQLite stores it), and
//! Octavia has no rule for it, so Fulcrum draws the line at the edge: a NUL in any string of a
//! request body is refused with a 400, and a NUL in an id or filter of a URL names nothing (no
//! stored object can hold one), so it is never sent to the database.

use serde_json::Value;

use crate::Error;

/// Whether `text` can be stored and matched: it holds no NUL character.
pub fn storable(text: &str) -> bool {
    !text.contains('\0')
}

/// Octavia's 400 for the first string of a request body that holds a NUL character, naming its
/// field (the innermost attribute around it; `root` when the body is a bare string).
pub fn body_text(root: &str, body: &Value) -> Result<(), Error> {
    match first_unstorable(root, body) {
        Some((field, text)) => Err(Error::invalid_field(
            field,
            text.replace('\0', "\\x00"),
            "Value must not contain the NUL character",
        )),
        None => Ok(()),
    }
}

fn first_unstorable<'a>(field: &'a str, value: &'a Value) -> Option<(&'a str, &'a str)> {
    match value {
        Value::String(text) if !storable(text) => Some((field, text)),
        Value::Array(items) => items.iter().find_map(|v| first_unstorable(field, v)),
        Value::Object(map) => map.iter().find_map(|(k, v)| first_unstorable(k, v)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_nul_anywhere_in_a_body_names_its_field() {
        let ok = json!({"name": "web", "tags": ["a", "b"], "members": [{"name": "m\t1"}]});
        assert_eq!(body_text("pool", &ok), Ok(()));
        for (body, field) in [
            (json!({"name": "a\u{0}b"}), "name"),
            (json!({"description": "\u{0}"}), "description"),
            (json!({"tags": ["ok", "x\u{0}"]}), "tags"),
            (
                json!({"members": [{"address": "10.0.0.1", "name": "m\u{0}"}]}),
                "name",
            ),
        ] {
            let err = body_text("pool", &body).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!(
                    "Invalid input for field/attribute {field}. Value: '"
                )),
                "{err}"
            );
            assert!(err.contains("\\x00") && !err.contains('\0'), "{err}");
        }
        assert!(storable("a\u{1}b"));
        assert!(!storable("a\u{0}b"));
    }
}
