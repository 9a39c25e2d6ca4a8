//! [`Patch`]: a field of an update request that distinguishes "absent" from "null".
//!
//! Octavia's PUT bodies give `null` a meaning of its own (reset to the default, or clear), which a
//! plain `Option` cannot express.

use serde::{Deserialize, Deserializer};

/// One field of an update request.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Patch<T> {
    /// The field was not in the body: keep the stored value.
    #[default]
    Absent,
    /// The field was `null`: reset to the default or clear it.
    Null,
    /// The field has a value.
    Value(T),
}

impl<T> Patch<T> {
    /// Whether the field appeared in the body at all (as a value or `null`).
    pub fn is_present(&self) -> bool {
        !matches!(self, Patch::Absent)
    }

    /// Apply the patch to `slot`; `null` stores what `reset` returns.
    pub fn apply_to(self, slot: &mut T, reset: impl FnOnce() -> T) {
        match self {
            Patch::Absent => {}
            Patch::Null => *slot = reset(),
            Patch::Value(v) => *slot = v,
        }
    }

    /// Apply the patch to an optional slot; `null` clears it.
    pub fn apply_opt(self, slot: &mut Option<T>) {
        match self {
            Patch::Absent => {}
            Patch::Null => *slot = None,
            Patch::Value(v) => *slot = Some(v),
        }
    }

    /// The value, if one was given.
    pub fn value(&self) -> Option<&T> {
        match self {
            Patch::Value(v) => Some(v),
            _ => None,
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(d)? {
            None => Patch::Null,
            Some(v) => Patch::Value(v),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Patch;

    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(default)]
        a: Patch<i64>,
        #[serde(default)]
        b: Patch<i64>,
        #[serde(default)]
        c: Patch<i64>,
    }

    #[test]
    fn absent_null_and_value_are_distinct() {
        let body: Body = serde_json::from_str(r#"{"b": null, "c": 3}"#).unwrap();
        assert_eq!(body.a, Patch::Absent);
        assert_eq!(body.b, Patch::Null);
        assert_eq!(body.c, Patch::Value(3));
    }
}
