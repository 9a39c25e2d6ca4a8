//! The TLS settings listeners and pools share: a cipher string, TLS versions and ALPN protocols,
//! each defaulting to Octavia's when TLS is on and to nothing when it is off.

use fulcrum_core::patch::Patch;
use fulcrum_core::validate;

/// A cipher string, TLS versions and ALPN protocols.
pub(crate) type Tls = (Option<String>, Option<Vec<String>>, Option<Vec<String>>);

/// The settings of a new object: the given ones, Octavia's defaults for the rest when `on`.
pub(crate) fn new_tls(on: bool, (ciphers, versions, alpn): Tls) -> Tls {
    (
        ciphers.or_else(|| on.then(default_ciphers)),
        versions.or_else(|| on.then(validate::default_tls_versions)),
        alpn.or_else(|| on.then(validate::default_alpn_protocols)),
    )
}

/// Apply an update's patches to stored settings: a value replaces, `null` resets to the default
/// (nothing when TLS is off), an absent field is kept.
pub(crate) fn patch_tls(
    on: bool,
    (ciphers, versions, alpn): (Patch<String>, Patch<Vec<String>>, Patch<Vec<String>>),
    slots: (
        &mut Option<String>,
        &mut Option<Vec<String>>,
        &mut Option<Vec<String>>,
    ),
) {
    reset_or_set(ciphers, slots.0, || on.then(default_ciphers));
    reset_or_set(versions, slots.1, || {
        on.then(validate::default_tls_versions)
    });
    reset_or_set(alpn, slots.2, || on.then(validate::default_alpn_protocols));
}

fn default_ciphers() -> String {
    validate::DEFAULT_TLS_CIPHERS.to_string()
}

fn reset_or_set<T>(patch: Patch<T>, slot: &mut Option<T>, default: impl FnOnce() -> Option<T>) {
    match patch {
        Patch::Absent => {}
        Patch::Null => *slot = default(),
        Patch::Value(v) => *slot = Some(v),
    }
}
