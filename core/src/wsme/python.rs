//! Python's `repr()` of JSON values, as Octavia's input layer (WSME) prints them in its messages:
//! `{'listener': {'protocol_port': 'abc', 'admin_state_up': True}}`.
//!
//! [`PyValue`] is a JSON value as Python's `json.loads` makes it: objects keep the order of their
//! keys (a repeated key keeps its first place and its last value), numbers with a fraction or an
//! exponent are floats, the others integers.

use std::collections::HashMap;
use std::fmt::{self, Write};

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A JSON value as Python holds it after `json.loads`.
#[derive(Debug, Clone, PartialEq)]
pub enum PyValue {
    /// `None`.
    None,
    /// `True` or `False`.
    Bool(bool),
    /// An `int`.
    Int(i128),
    /// A `float`.
    Float(f64),
    /// A `str`.
    Str(String),
    /// A `list`.
    List(Vec<PyValue>),
    /// A `dict`, in the order of its keys.
    Dict(Vec<(String, PyValue)>),
}

impl PyValue {
    /// The value of a JSON document, or `None` when it is not valid JSON.
    pub fn parse(bytes: &[u8]) -> Option<PyValue> {
        serde_json::from_slice(bytes).ok()
    }

    /// Python's name of the value's type (`'list'`, `'dict'`, ...), as `TypeError`s show it.
    pub fn type_name(&self) -> &'static str {
        match self {
            PyValue::None => "NoneType",
            PyValue::Bool(_) => "bool",
            PyValue::Int(_) => "int",
            PyValue::Float(_) => "float",
            PyValue::Str(_) => "str",
            PyValue::List(_) => "list",
            PyValue::Dict(_) => "dict",
        }
    }

    /// Python's `str()` of the value: a string as it is, anything else as its `repr()`.
    pub fn str(&self) -> String {
        match self {
            PyValue::Str(s) => s.clone(),
            other => other.to_string(),
        }
    }
}

/// `repr()`.
impl fmt::Display for PyValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PyValue::None => f.write_str("None"),
            PyValue::Bool(true) => f.write_str("True"),
            PyValue::Bool(false) => f.write_str("False"),
            PyValue::Int(i) => write!(f, "{i}"),
            PyValue::Float(x) => f.write_str(&repr_float(*x)),
            PyValue::Str(s) => f.write_str(&repr_str(s)),
            PyValue::List(items) => {
                f.write_char('[')?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_char(']')
            }
            PyValue::Dict(entries) => {
                f.write_char('{')?;
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}: {value}", repr_str(key))?;
                }
                f.write_char('}')
            }
        }
    }
}

impl<'de> Deserialize<'de> for PyValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PyVisitor)
    }
}

struct PyVisitor;

impl<'de> Visitor<'de> for PyVisitor {
    type Value = PyValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<PyValue, E> {
        Ok(PyValue::None)
    }

    fn visit_none<E>(self) -> Result<PyValue, E> {
        Ok(PyValue::None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<PyValue, D::Error> {
        PyValue::deserialize(d)
    }

    fn visit_bool<E>(self, v: bool) -> Result<PyValue, E> {
        Ok(PyValue::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<PyValue, E> {
        Ok(PyValue::Int(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<PyValue, E> {
        Ok(PyValue::Int(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<PyValue, E> {
        Ok(PyValue::Float(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<PyValue, E> {
        Ok(PyValue::Str(v.to_string()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PyValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(PyValue::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PyValue, A::Error> {
        let mut entries: Vec<(String, PyValue)> = Vec::new();
        let mut places: HashMap<String, usize> = HashMap::new();
        while let Some((key, value)) = map.next_entry::<String, PyValue>()? {
            match places.get(&key) {
                Some(&place) => entries[place].1 = value,
                None => {
                    places.insert(key.clone(), entries.len());
                    entries.push((key, value));
                }
            }
        }
        Ok(PyValue::Dict(entries))
    }
}

/// Python's `repr()` of a `str`: single quotes unless the text holds a single quote and no double
/// quote; backslash escapes for the quote, backslashes, `\t`, `\n`, `\r` and characters Python
/// does not print.
///
/// Python's "printable" is a Unicode category test; this knows the control, format, separator,
/// private-use and noncharacter code points that requests can plausibly hold, and prints other
/// (unassigned) code points as they are.
pub fn repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if printable(c) => out.push(c),
            c => {
                let code = u32::from(c);
                let _ = match code {
                    0..=0xff => write!(out, "\\x{code:02x}"),
                    0x100..=0xffff => write!(out, "\\u{code:04x}"),
                    _ => write!(out, "\\U{code:08x}"),
                };
            }
        }
    }
    out.push(quote);
    out
}

/// Whether Python's `str.isprintable()` holds for `c` (see [`repr_str`] for its limits).
fn printable(c: char) -> bool {
    let code = u32::from(c);
    if code < 0x7f {
        return code >= 0x20;
    }
    !matches!(
        code,
        // Cc
        0x7f..=0xa0
            // Zs other than the space, Zl, Zp
            | 0x1680
            | 0x2000..=0x200f
            | 0x2028..=0x202f
            | 0x205f..=0x206f
            | 0x3000
            // Cf
            | 0xad
            | 0x600..=0x605
            | 0x61c
            | 0x6dd
            | 0x70f
            | 0x890..=0x891
            | 0x8e2
            | 0x180e
            | 0xfeff
            | 0xfff9..=0xfffb
            | 0x110bd
            | 0x110cd
            | 0x13430..=0x1343f
            | 0x1bca0..=0x1bca3
            | 0x1d173..=0x1d17a
            | 0xe0001
            | 0xe0020..=0xe007f
            // Co
            | 0xe000..=0xf8ff
            | 0xf0000..=0x10ffff
            // noncharacters
            | 0xfdd0..=0xfdef
    ) && code & 0xfffe != 0xfffe
}

/// Python's `repr()` of a `float`: the shortest digits that read back to the same value, in
/// positional notation (`80.0`, `0.0001`) when the decimal exponent is from -4 to 15, otherwise in
/// scientific notation with a signed, two-digit-or-more exponent (`1e-05`, `1e+16`).
pub fn repr_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let sign = if x.is_sign_negative() { "-" } else { "" };
    // Rust's `{:e}` gives the same shortest digits: "1.2345e2".
    let scientific = format!("{:e}", x.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if !(-4..=15).contains(&exponent) {
        let mantissa = match digits.split_at(1) {
            (first, "") => first.to_string(),
            (first, rest) => format!("{first}.{rest}"),
        };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{mantissa}e{exp_sign}{:02}", exponent.abs());
    }
    // Digits d1 d2 ... with the decimal point after `point` of them.
    let point = exponent + 1;
    let body = if point <= 0 {
        format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
    } else if point as usize >= digits.len() {
        format!("{digits}{}.0", "0".repeat(point as usize - digits.len()))
    } else {
        let (whole, fraction) = digits.split_at(point as usize);
        format!("{whole}.{fraction}")
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repr(json: &str) -> String {
        PyValue::parse(json.as_bytes()).unwrap().to_string()
    }

    #[test]
    fn documents_print_as_python_dicts_in_their_order() {
        assert_eq!(
            repr(r#"{"listener": {"protocol_port": "abc", "name": null, "admin_state_up": true}}"#),
            "{'listener': {'protocol_port': 'abc', 'name': None, 'admin_state_up': True}}"
        );
        assert_eq!(
            repr(r#"{"b": 1, "a": [false, 2.5, -3], "b": 4}"#),
            "{'b': 4, 'a': [False, 2.5, -3]}"
        );
        assert_eq!(repr("[]"), "[]");
        assert_eq!(repr("{}"), "{}");
        assert!(PyValue::parse(b"{nope").is_none());
    }

    #[test]
    fn strings_quote_and_escape_as_python_does() {
        assert_eq!(repr_str("abc"), "'abc'");
        assert_eq!(repr_str("it's"), "\"it's\"");
        assert_eq!(repr_str("it's \"x\""), "'it\\'s \"x\"'");
        assert_eq!(repr_str("a\\b\t\n\r"), "'a\\\\b\\t\\n\\r'");
        // Checked against CPython 3.11: repr('\x07\x7f\x80\xad\u2028\ue000é😀中 ').
        assert_eq!(
            repr_str("\u{7}\u{7f}\u{80}\u{ad}\u{2028}\u{e000}é😀中 \u{a0}\u{1}"),
            "'\\x07\\x7f\\x80\\xad\\u2028\\ue000é😀中 \\xa0\\x01'"
        );
        assert_eq!(repr_str("\u{10ffff}"), "'\\U0010ffff'");
    }

    #[test]
    fn floats_print_as_python_repr() {
        // Checked against CPython 3.11.
        for (x, want) in [
            (80.0, "80.0"),
            (0.1, "0.1"),
            (-0.0, "-0.0"),
            (1.5e300, "1.5e+300"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (12345678901234567.0, "1.2345678901234568e+16"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1e-7, "1e-07"),
            (123.456, "123.456"),
            (100000.0, "100000.0"),
        ] {
            assert_eq!(repr_float(x), want, "{x}");
        }
    }

    #[test]
    fn str_of_a_string_is_the_string() {
        assert_eq!(PyValue::Str("maybe".into()).str(), "maybe");
        assert_eq!(
            PyValue::List(vec![PyValue::Int(1), PyValue::Str("a".into())]).str(),
            "[1, 'a']"
        );
        assert_eq!(PyValue::Dict(vec![]).type_name(), "dict");
    }
}
