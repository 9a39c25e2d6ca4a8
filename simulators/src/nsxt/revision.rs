//! NSX's optimistic concurrency: every object carries `_revision`, which starts at 0 and grows
//! by one with each change. A write that sends a `_revision` other than the stored one was made
//! against an old copy and is refused with 412, so a client re-reads and retries rather than
//! overwriting a change it has not seen.

use serde_json::Value;

use super::error::NsxError;

/// How a write treats the object already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Merge the sent fields into the stored object; `_revision` is checked when sent.
    Patch,
    /// Replace the stored object; updating one needs its `_revision`.
    Put,
}

/// Check the `_revision` a write sends against the stored object's (`None`: no object yet).
pub fn check(
    path: &str,
    mode: WriteMode,
    sent: Option<&Value>,
    stored: Option<i64>,
) -> Result<(), NsxError> {
    let sent = match sent {
        None | Some(Value::Null) => None,
        Some(value) => Some(value.as_i64().ok_or_else(|| {
            NsxError::validation(path, vec![format!("/_revision: {value} is not an integer")])
        })?),
    };
    match (sent, stored) {
        (Some(sent), Some(stored)) if sent != stored => Err(NsxError::stale_revision(
            path,
            &format!("_revision {sent} sent, {stored} stored"),
        )),
        (None, Some(_)) if mode == WriteMode::Put => Err(NsxError::stale_revision(
            path,
            "an update by PUT must send the stored _revision",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_stale_revision_is_refused() {
        let stale = check("/p", WriteMode::Patch, Some(&json!(1)), Some(2)).unwrap_err();
        assert_eq!(stale.status.as_u16(), 412);
        assert!(check("/p", WriteMode::Patch, Some(&json!(2)), Some(2)).is_ok());
    }

    #[test]
    fn patch_without_revision_passes_and_put_needs_one_for_an_update() {
        assert!(check("/p", WriteMode::Patch, None, Some(3)).is_ok());
        assert!(check("/p", WriteMode::Put, None, None).is_ok());
        assert_eq!(
            check("/p", WriteMode::Put, None, Some(3))
                .unwrap_err()
                .status
                .as_u16(),
            412
        );
    }
}
