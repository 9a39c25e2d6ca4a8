//! Octavia's input conversions. WSME, the layer under Octavia's API, converts each JSON value to
//! the type of its attribute with Python's own constructors before anything checks it, so Octavia
//! accepts `"protocol_port": "80"`, `"weight": 5.7` (5), `"admin_state_up": "yes"` and
//! `"http_version": "1.1"`. Request shapes get the same conversions through
//! `#[serde(deserialize_with = "wsme::convert")]` on their integer, boolean and float fields
//! (plain, `Option` or [`Patch`]); the published schemas do not change.
//!
//! What WSME 0.13 does, and so what [`convert`] does:
//!
//! - **integers** (`int(value)`): an integer as it is; a float truncated toward zero; `true` and
//!   `false` as 1 and 0; a string as Python's `int()` reads it (surrounding whitespace, a sign,
//!   ASCII digits with single underscores between them: `" +8_0 "` is 80, `"80.0"` is refused).
//! - **booleans**: a boolean as it is; an integer as "not zero"; exactly the strings `true t yes y
//!   on 1` and `false f no n off 0`; anything else is refused ("Value not an unambiguous
//!   boolean: ...").
//! - **floats** (`float(value)`): a number or boolean as a float; a string as Python's `float()`
//!   reads it.
//!
//! A value that cannot be converted is refused the way WSME refuses it: its `ValueError` names the
//! whole body, not the field (`Invalid input for field/attribute listener_. Value: '{...}'.
//! invalid literal for int() with base 10: 'abc'`). Such errors carry the [`BODY_ERROR`] prefix
//! for the body parser to format. Where Octavia fails with a `TypeError` (a list or an object for
//! a number: a 500 in Octavia) Fulcrum refuses the request the same way, with Python's text.
//! Integers beyond 64 bits are refused as out of range for the field.
//!
//! Known differences: Python's `int()` and `float()` also read non-ASCII decimal digits
//! (`"８０"`), which are refused here as invalid literals; and a JSON integer beyond 64 bits is
//! shown in messages as a float.

pub mod python;

use std::fmt;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::patch::Patch;
use python::{PyValue, repr_float, repr_str};

/// The prefix of a deserialization error that WSME reports against the whole request body (a
/// `ValueError` of a conversion) rather than against the field; the rest is Python's message.
pub const BODY_ERROR: &str = "WSME body error: ";

/// Python's message of a body-level error made by [`convert`], if `message` is one.
pub fn body_error_text(message: &str) -> Option<&str> {
    message.strip_prefix(BODY_ERROR)
}

/// WSME's strings for `True` (`wsme.rest.json.ENUM_TRUE`).
const ENUM_TRUE: [&str; 6] = ["true", "t", "yes", "y", "on", "1"];
/// WSME's strings for `False` (`wsme.rest.json.ENUM_FALSE`).
const ENUM_FALSE: [&str; 6] = ["false", "f", "no", "n", "off", "0"];
/// Python's limit on the digits of an integer read from a string (`sys.get_int_max_str_digits()`).
const MAX_STR_DIGITS: usize = 4300;

/// A field type WSME converts from other JSON types: `i64`, `bool`, `f64`, and `Option` or
/// [`Patch`] of one of them (`null` stays `None` / [`Patch::Null`]).
pub trait Convert: Sized {
    /// Deserialize with WSME's conversions.
    fn convert<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
}

/// Deserialize a field with WSME's conversions; for `#[serde(deserialize_with = ...)]` (an
/// optional field also needs `#[serde(default)]`).
pub fn convert<'de, D: Deserializer<'de>, T: Convert>(d: D) -> Result<T, D::Error> {
    T::convert(d)
}

impl Convert for i64 {
    fn convert<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(IntVisitor)
    }
}

impl Convert for bool {
    fn convert<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(BoolVisitor)
    }
}

impl Convert for f64 {
    fn convert<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FloatVisitor)
    }
}

impl<T: Convert> Convert for Option<T> {
    fn convert<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Option::<Converted<T>>::deserialize(d)?.map(|Converted(v)| v))
    }
}

impl<T: Convert> Convert for Patch<T> {
    fn convert<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<Converted<T>>::deserialize(d)? {
            None => Patch::Null,
            Some(Converted(v)) => Patch::Value(v),
        })
    }
}

/// A value deserialized through [`Convert`], for `Option` and `Patch`.
struct Converted<T>(T);

impl<'de, T: Convert> Deserialize<'de> for Converted<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::convert(d).map(Converted)
    }
}

/// A `ValueError` (or `TypeError`) WSME reports against the whole body.
fn body_error<E: de::Error>(text: impl fmt::Display) -> E {
    E::custom(format!("{BODY_ERROR}{text}"))
}

/// An integer outside what Fulcrum stores, in WSME's range wording.
fn out_of_range<E: de::Error>(value: impl fmt::Display, negative: bool) -> E {
    let bound = if negative {
        format!("greater or equal to {}", i64::MIN)
    } else {
        format!("lower or equal to {}", i64::MAX)
    };
    E::custom(format!("Value: '{value}'. Value should be {bound}"))
}

/// Python's `TypeError` for a list or an object given to `int()` or `float()`.
fn type_error<E: de::Error>(function: &str, expected: &str, given: &str) -> E {
    body_error(format!(
        "{function}() argument must be {expected}, not '{given}'"
    ))
}

const INT_EXPECTED: &str = "a string, a bytes-like object or a real number";
const FLOAT_EXPECTED: &str = "a string or a real number";

struct IntVisitor;

impl<'de> Visitor<'de> for IntVisitor {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("i64")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<i64, E> {
        Ok(i64::from(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| out_of_range(v, false))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
        let whole = v.trunc();
        // i64::MAX is not a float; 2^63 is the first value past it.
        if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&whole) {
            Ok(whole as i64)
        } else {
            Err(out_of_range(format!("{whole:.0}"), whole < 0.0))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
        python_int(v)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<i64, A::Error> {
        Err(type_error("int", INT_EXPECTED, "list"))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<i64, A::Error> {
        Err(type_error("int", INT_EXPECTED, "dict"))
    }
}

/// Python's `int(text)`, base 10, within `i64`.
fn python_int<E: de::Error>(text: &str) -> Result<i64, E> {
    let invalid = || {
        let repr: String = repr_str(text).chars().take(200).collect();
        body_error(format!("invalid literal for int() with base 10: {repr}"))
    };
    let trimmed = text.trim_matches(char::is_whitespace);
    let (negative, rest) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    let mut digits = String::new();
    let mut after_digit = false;
    let mut end = rest.len();
    for (i, c) in rest.char_indices() {
        if c.is_ascii_digit() {
            digits.push(c);
            after_digit = true;
        } else if c == '_' && after_digit {
            after_digit = false;
        } else if c == '_' {
            return Err(invalid());
        } else {
            end = i;
            break;
        }
    }
    if !after_digit {
        return Err(invalid());
    }
    if digits.len() > MAX_STR_DIGITS {
        return Err(body_error(format!(
            "Exceeds the limit ({MAX_STR_DIGITS} digits) for integer string conversion: value \
             has {} digits; use sys.set_int_max_str_digits() to increase the limit",
            digits.len()
        )));
    }
    if end < rest.len() {
        return Err(invalid());
    }
    let significant = digits.trim_start_matches('0');
    let magnitude = if significant.is_empty() {
        "0"
    } else {
        significant
    };
    let sign = if negative && magnitude != "0" {
        "-"
    } else {
        ""
    };
    let value = format!("{sign}{magnitude}");
    value
        .parse::<i64>()
        .map_err(|_| out_of_range(&value, negative))
}

struct BoolVisitor;

fn ambiguous<E: de::Error>(shown: impl fmt::Display) -> E {
    body_error(format!("Value not an unambiguous boolean: {shown}"))
}

impl<'de> Visitor<'de> for BoolVisitor {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a boolean")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
        Ok(v != 0)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
        Ok(v != 0)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<bool, E> {
        Err(ambiguous(repr_float(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        if ENUM_TRUE.contains(&v) {
            Ok(true)
        } else if ENUM_FALSE.contains(&v) {
            Ok(false)
        } else {
            Err(ambiguous(v))
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<bool, A::Error> {
        let value = PyValue::deserialize(SeqAccessDeserializer::new(seq))?;
        Err(ambiguous(value.str()))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<bool, A::Error> {
        let value = PyValue::deserialize(MapAccessDeserializer::new(map))?;
        Err(ambiguous(value.str()))
    }
}

struct FloatVisitor;

impl<'de> Visitor<'de> for FloatVisitor {
    type Value = f64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("f64")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<f64, E> {
        Ok(if v { 1.0 } else { 0.0 })
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        python_float(v).ok_or_else(|| {
            body_error(format!(
                "could not convert string to float: {}",
                repr_str(v)
            ))
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<f64, A::Error> {
        Err(type_error("float", FLOAT_EXPECTED, "list"))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<f64, A::Error> {
        Err(type_error("float", FLOAT_EXPECTED, "dict"))
    }
}

/// Python's `float(text)`: surrounding whitespace, underscores only between digits, then the
/// decimal, `inf`/`infinity` and `nan` forms (any case, signed) that Rust's parser shares with it.
fn python_float(text: &str) -> Option<f64> {
    let trimmed = text.trim_matches(char::is_whitespace);
    let chars: Vec<char> = trimmed.chars().collect();
    let mut plain = String::with_capacity(trimmed.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' {
            let between_digits = i > 0
                && chars[i - 1].is_ascii_digit()
                && chars.get(i + 1).is_some_and(char::is_ascii_digit);
            if !between_digits {
                return None;
            }
        } else {
            plain.push(c);
        }
    }
    plain.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Body {
        #[serde(default, deserialize_with = "convert")]
        int: Option<i64>,
        #[serde(default, deserialize_with = "convert")]
        flag: Option<bool>,
        #[serde(default, deserialize_with = "convert")]
        float: Option<f64>,
        #[serde(default, deserialize_with = "convert")]
        patch: Patch<i64>,
        #[serde(default, deserialize_with = "convert")]
        required: i64,
    }

    fn body(json: &str) -> Result<Body, String> {
        serde_json::from_value(serde_json::from_str(json).unwrap()).map_err(|e| e.to_string())
    }

    fn int(value: &str) -> Result<i64, String> {
        body(&format!(r#"{{"int": {value}}}"#)).map(|b| b.int.unwrap())
    }

    fn flag(value: &str) -> Result<bool, String> {
        body(&format!(r#"{{"flag": {value}}}"#)).map(|b| b.flag.unwrap())
    }

    fn float(value: &str) -> Result<f64, String> {
        body(&format!(r#"{{"float": {value}}}"#)).map(|b| b.float.unwrap())
    }

    fn body_text(result: Result<impl fmt::Debug, String>) -> String {
        let message = result.unwrap_err();
        body_error_text(&message)
            .unwrap_or_else(|| panic!("not a body error: {message}"))
            .to_string()
    }

    // Every expectation below was checked against WSME 0.13.0 on CPython 3.11.
    #[test]
    fn integers_convert_as_python_int() {
        for (json, want) in [
            ("80", 80),
            ("-1", -1),
            (r#""80""#, 80),
            (r#""-1""#, -1),
            (r#"" +0080\n""#, 80),
            (r#""8_0""#, 80),
            (r#""-0""#, 0),
            (r#""\u3000 7\u00a0""#, 7),
            ("80.9", 80),
            ("-0.5", 0),
            ("1e3", 1000),
            ("true", 1),
            ("false", 0),
        ] {
            assert_eq!(int(json), Ok(want), "{json}");
        }
    }

    #[test]
    fn non_numeric_strings_are_value_errors() {
        for (json, text) in [
            (r#""abc""#, "invalid literal for int() with base 10: 'abc'"),
            (
                r#""80.5""#,
                "invalid literal for int() with base 10: '80.5'",
            ),
            (r#""""#, "invalid literal for int() with base 10: ''"),
            (
                r#""- 80""#,
                "invalid literal for int() with base 10: '- 80'",
            ),
            (r#""_1""#, "invalid literal for int() with base 10: '_1'"),
            (
                r#""1__0""#,
                "invalid literal for int() with base 10: '1__0'",
            ),
            (r#""1_""#, "invalid literal for int() with base 10: '1_'"),
            (
                r#""0x50""#,
                "invalid literal for int() with base 10: '0x50'",
            ),
            (
                r#""\u001c8""#,
                "invalid literal for int() with base 10: '\\x1c8'",
            ),
            (
                r#""it's""#,
                "invalid literal for int() with base 10: \"it's\"",
            ),
            (
                "[1]",
                "int() argument must be a string, a bytes-like object or a real number, not 'list'",
            ),
            (
                r#"{"a": 1}"#,
                "int() argument must be a string, a bytes-like object or a real number, not 'dict'",
            ),
        ] {
            assert_eq!(body_text(int(json)), text, "{json}");
        }
        // Python shows at most 200 characters of the literal.
        let long = "a".repeat(300);
        let text = body_text(int(&format!("\"{long}\"")));
        assert_eq!(
            text,
            format!(
                "invalid literal for int() with base 10: '{}",
                "a".repeat(199)
            )
        );
        let many = "1".repeat(4301);
        assert_eq!(
            body_text(int(&format!("\"{many}x\""))),
            "Exceeds the limit (4300 digits) for integer string conversion: value has 4301 \
             digits; use sys.set_int_max_str_digits() to increase the limit"
        );
    }

    #[test]
    fn integers_beyond_64_bits_are_out_of_range() {
        assert_eq!(
            int(r#""9223372036854775808""#).unwrap_err(),
            "Value: '9223372036854775808'. Value should be lower or equal to 9223372036854775807"
        );
        assert_eq!(int(r#""-9223372036854775808""#), Ok(i64::MIN));
        assert_eq!(
            int("-1e30").unwrap_err(),
            "Value: '-1000000000000000019884624838656'. Value should be greater or equal to \
             -9223372036854775808"
        );
        assert_eq!(
            int("18446744073709551615").unwrap_err(),
            "Value: '18446744073709551615'. Value should be lower or equal to 9223372036854775807"
        );
    }

    #[test]
    fn booleans_convert_as_wsme_does() {
        for (json, want) in [
            ("true", true),
            ("false", false),
            ("1", true),
            ("2", true),
            ("-1", true),
            ("0", false),
            (r#""true""#, true),
            (r#""yes""#, true),
            (r#""on""#, true),
            (r#""1""#, true),
            (r#""f""#, false),
            (r#""off""#, false),
            (r#""0""#, false),
        ] {
            assert_eq!(flag(json), Ok(want), "{json}");
        }
        for (json, text) in [
            (r#""True""#, "Value not an unambiguous boolean: True"),
            (r#""maybe""#, "Value not an unambiguous boolean: maybe"),
            ("1.0", "Value not an unambiguous boolean: 1.0"),
            (r#"[1, "a"]"#, "Value not an unambiguous boolean: [1, 'a']"),
            (
                r#"{"a": null}"#,
                "Value not an unambiguous boolean: {'a': None}",
            ),
        ] {
            assert_eq!(body_text(flag(json)), text, "{json}");
        }
    }

    #[test]
    fn floats_convert_as_python_float() {
        for (json, want) in [
            ("1.1", 1.1),
            ("1", 1.0),
            ("true", 1.0),
            (r#"" 1.1 ""#, 1.1),
            (r#""1_1e-1""#, 1.1),
            (r#""5.""#, 5.0),
            (r#""Infinity""#, f64::INFINITY),
        ] {
            assert_eq!(float(json), Ok(want), "{json}");
        }
        assert!(float(r#""-NaN""#).unwrap().is_nan());
        for (json, text) in [
            (r#""x""#, "could not convert string to float: 'x'"),
            (r#""1._1""#, "could not convert string to float: '1._1'"),
            (r#""1_e5""#, "could not convert string to float: '1_e5'"),
            (r#""0x10""#, "could not convert string to float: '0x10'"),
            (
                "[1]",
                "float() argument must be a string or a real number, not 'list'",
            ),
        ] {
            assert_eq!(body_text(float(json)), text, "{json}");
        }
    }

    #[test]
    fn null_absent_and_patches_keep_their_meaning() {
        let b = body(r#"{"int": null, "patch": "7"}"#).unwrap();
        assert_eq!(b.int, None);
        assert_eq!(b.patch, Patch::Value(7));
        assert_eq!(b.flag, None);
        assert_eq!(body(r#"{"patch": null}"#).unwrap().patch, Patch::Null);
        assert_eq!(body("{}").unwrap().patch, Patch::Absent);
        // A required number given as null keeps serde's wording.
        assert_eq!(
            body(r#"{"required": null}"#).unwrap_err(),
            "invalid type: null, expected i64"
        );
        assert_eq!(body(r#"{"required": "12"}"#).unwrap().required, 12);
    }
}
