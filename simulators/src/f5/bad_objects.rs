//! Objects a declaration may not contain (a member address or a certificate the device refuses),
//! which fail the declaration with a 422 naming them.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// Objects the devices refuse: a declaration naming one fails with a 422 that names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BadObjects {
    /// Pool member addresses (`serverAddresses` entries).
    pub addresses: BTreeSet<String>,
    /// Certificate object names (the key of a `Certificate` in an Application).
    pub certificates: BTreeSet<String>,
}
