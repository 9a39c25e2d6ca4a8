//! What an apply realized short of the whole tree.
//!
//! A backend may take a tree but for some of its objects: a BIG-IP refuses one pool member's
//! address, or one listener's certificate, and the driver declares the rest without them. Those
//! objects end in ERROR alone, as Octavia shows an object its provider failed, while the rest of
//! the tree is ACTIVE; an object in ERROR stays updatable and deletable, and returns to ACTIVE
//! once an apply realizes it.

use std::collections::BTreeMap;

/// The outcome of [`Driver::apply_reporting`](super::Driver::apply_reporting) that succeeded:
/// the tree is realized but for the objects in [`Applied::refused`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// The objects of the tree the backend refused, by id (any kind: a member, a listener, an
    /// L7 policy), each with the backend's words.
    pub refused: BTreeMap<String, String>,
}
