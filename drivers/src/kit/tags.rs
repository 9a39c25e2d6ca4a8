//! Names and tags that make every backend object traceable to its Octavia object.
//!
//! Invariant 4 of the design: the backend holds nothing we don't know about. A full sync lists
//! what a backend holds, keeps what belongs to a live load balancer, and removes the rest, which
//! it can only do if each object says whose it is. So every object a driver creates
//!
//! - is named deterministically from the Octavia object it realizes ([`backend_name`]), so that
//!   applying twice finds the same object instead of making another, and a name alone tells the
//!   kind and id back ([`parse_backend_name`]);
//! - carries its [`Ownership`]: the load balancer and project it belongs to and that Fulcrum
//!   created it, as `{scope, tag}` pairs ([`Tag`], the shape NSX-T takes as is) or, where a
//!   backend only has a short free-text field (an F5 `remark`, 64 characters), as a
//!   [remark](Ownership::remark).
//!
//! What is read back is only ever trusted when it carries `created-by: fulcrum`: objects that
//! operators made by hand are never mistaken for orphans.

use fulcrum_core::driver::{DriverError, LoadBalancerGraph};
use fulcrum_core::model::Kind;
use serde::{Deserialize, Serialize};

/// What every backend name Fulcrum gives starts with.
pub const NAME_PREFIX: &str = "fulcrum";

/// The value of the [`CREATED_BY`] tag.
pub const CREATOR: &str = "fulcrum";

/// Scope of the tag that says Fulcrum created the object.
pub const CREATED_BY: &str = "created-by";

/// Scope of the tag holding the Octavia id of the object's load balancer.
pub const LOAD_BALANCER_ID: &str = "os-lbaas-lb-id";

/// Scope of the tag holding the id of the project that owns the load balancer.
pub const PROJECT_ID: &str = "os-project-id";

/// The short word a kind has in names and tag scopes.
pub fn kind_word(kind: Kind) -> &'static str {
    match kind {
        Kind::LoadBalancer => "lb",
        Kind::Listener => "listener",
        Kind::Pool => "pool",
        Kind::Member => "member",
        Kind::HealthMonitor => "monitor",
        Kind::L7Policy => "l7policy",
        Kind::L7Rule => "l7rule",
    }
}

/// The backend name of an Octavia object: `fulcrum-<kind>-<id>`, e.g.
/// `fulcrum-pool-8e1c…`. Names use letters, digits, `-`, `_` and `.` only (ids that are
/// Octavia's UUIDs do) and start with a letter, which NSX-T ids and F5 names all accept.
pub fn backend_name(kind: Kind, id: &str) -> String {
    format!("{NAME_PREFIX}-{}-{id}", kind_word(kind))
}

/// [`backend_name`] within `max_len` characters: when the full name is too long and the id is
/// a UUID, the UUID is written without its dashes (32 characters instead of 36), which
/// [`parse_backend_name`] reads back. A name that still does not fit is an error, never a
/// truncation that could make two objects share a name.
pub fn backend_name_within(kind: Kind, id: &str, max_len: usize) -> Result<String, DriverError> {
    let full = backend_name(kind, id);
    if full.len() <= max_len {
        return Ok(full);
    }
    if let Some(compact) = compact_uuid(id) {
        let short = backend_name(kind, &compact);
        if short.len() <= max_len {
            return Ok(short);
        }
    }
    Err(DriverError::unsupported(format!(
        "The backend name of {} {id} does not fit in {max_len} characters.",
        kind.display_name()
    )))
}

/// The kind and id a name made by [`backend_name`] or [`backend_name_within`] stands for, with a
/// compacted UUID written out again; `None` for a name Fulcrum did not give.
pub fn parse_backend_name(name: &str) -> Option<(Kind, String)> {
    let rest = name.strip_prefix(NAME_PREFIX)?.strip_prefix('-')?;
    let (word, id) = rest.split_once('-')?;
    let kind = Kind::ALL.into_iter().find(|k| kind_word(*k) == word)?;
    if id.is_empty() {
        return None;
    }
    Some((kind, expand_uuid(id).unwrap_or_else(|| id.to_string())))
}

/// A UUID in canonical form (8-4-4-4-12 hex digits) without its dashes.
fn compact_uuid(id: &str) -> Option<String> {
    let groups: Vec<&str> = id.split('-').collect();
    let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    let hex = groups
        .iter()
        .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()));
    (lengths == [8, 4, 4, 4, 12] && hex).then(|| groups.concat())
}

/// The canonical form of 32 hex digits read as a UUID.
fn expand_uuid(hex: &str) -> Option<String> {
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

/// A `{scope, tag}` pair, serialized as NSX-T's `Tag`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tag {
    /// What the value means.
    pub scope: String,
    /// The value.
    pub tag: String,
}

impl Tag {
    /// A tag from its scope and value.
    pub fn new(scope: impl Into<String>, tag: impl Into<String>) -> Self {
        Tag {
            scope: scope.into(),
            tag: tag.into(),
        }
    }
}

/// Whose a backend object is: the load balancer it belongs to and that load balancer's project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ownership {
    /// The Octavia id of the load balancer.
    pub load_balancer_id: String,
    /// The project that owns it, when it has one.
    pub project_id: Option<String>,
}

impl Ownership {
    /// The ownership of everything realized for this load balancer.
    pub fn of(graph: &LoadBalancerGraph) -> Self {
        Ownership {
            load_balancer_id: graph.load_balancer.id.clone(),
            project_id: graph.load_balancer.project_id.clone(),
        }
    }

    /// The tags every object of the load balancer carries: `created-by: fulcrum`, the load
    /// balancer id and, when known, the project id.
    pub fn tags(&self) -> Vec<Tag> {
        let mut tags = vec![
            Tag::new(CREATED_BY, CREATOR),
            Tag::new(LOAD_BALANCER_ID, &self.load_balancer_id),
        ];
        if let Some(project) = &self.project_id {
            tags.push(Tag::new(PROJECT_ID, project));
        }
        tags
    }

    /// The tags of one object: [`Self::tags`] and the object's own id, under the scope
    /// `os-lbaas-<kind>-id` (the load balancer's own object needs no second tag).
    pub fn object_tags(&self, kind: Kind, id: &str) -> Vec<Tag> {
        let mut tags = self.tags();
        if kind != Kind::LoadBalancer {
            tags.push(Tag::new(object_scope(kind), id));
        }
        tags
    }

    /// The ownership a tag set records, if Fulcrum created the object: `created-by: fulcrum`
    /// and a load balancer id must both be there.
    pub fn from_tags<'a>(tags: impl IntoIterator<Item = &'a Tag>) -> Option<Self> {
        let mut created_by_fulcrum = false;
        let mut load_balancer_id = None;
        let mut project_id = None;
        for t in tags {
            match t.scope.as_str() {
                CREATED_BY => created_by_fulcrum |= t.tag == CREATOR,
                LOAD_BALANCER_ID if !t.tag.is_empty() => load_balancer_id = Some(t.tag.clone()),
                PROJECT_ID if !t.tag.is_empty() => project_id = Some(t.tag.clone()),
                _ => {}
            }
        }
        Some(Ownership {
            load_balancer_id: load_balancer_id.filter(|_| created_by_fulcrum)?,
            project_id,
        })
    }

    /// A remark for backends with only a short text field: `fulcrum lb=<id>`, 47 characters for
    /// a UUID, within F5's 64. The project does not fit; it is known from the load balancer.
    pub fn remark(&self) -> String {
        format!("{CREATOR} lb={}", self.load_balancer_id)
    }

    /// The ownership a [remark](Self::remark) records (without a project), if it is Fulcrum's.
    pub fn from_remark(remark: &str) -> Option<Self> {
        let id = remark
            .strip_prefix(CREATOR)?
            .strip_prefix(" lb=")?
            .trim_end();
        (!id.is_empty() && !id.contains(char::is_whitespace)).then(|| Ownership {
            load_balancer_id: id.to_string(),
            project_id: None,
        })
    }
}

/// The tag scope of an object's own id: `os-lbaas-<kind>-id`.
pub fn object_scope(kind: Kind) -> String {
    format!("os-lbaas-{}-id", kind_word(kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    const UUID: &str = "8e1c5a52-7f0e-4d0b-9a55-3c1f2b7d9e10";

    #[test]
    fn names_are_deterministic_and_read_back() {
        let name = backend_name(Kind::Pool, UUID);
        assert_eq!(name, format!("fulcrum-pool-{UUID}"));
        assert_eq!(parse_backend_name(&name), Some((Kind::Pool, UUID.into())));
        for kind in Kind::ALL {
            let name = backend_name(kind, "x-1");
            assert_eq!(parse_backend_name(&name), Some((kind, "x-1".into())));
        }
        for foreign in [
            "web-pool",
            "fulcrum",
            "fulcrum-pool-",
            "fulcrum-bogus-1",
            "fulcrumx-lb-1",
        ] {
            assert_eq!(parse_backend_name(foreign), None, "{foreign}");
        }
    }

    #[test]
    fn long_names_compact_the_uuid_and_never_truncate() {
        let full = backend_name(Kind::L7Policy, UUID);
        assert_eq!(full.len(), 53);
        assert_eq!(backend_name_within(Kind::L7Policy, UUID, 60).unwrap(), full);
        let compact = backend_name_within(Kind::L7Policy, UUID, 49).unwrap();
        assert_eq!(compact, "fulcrum-l7policy-8e1c5a527f0e4d0b9a553c1f2b7d9e10");
        assert_eq!(
            parse_backend_name(&compact),
            Some((Kind::L7Policy, UUID.into()))
        );
        let e = backend_name_within(Kind::L7Policy, UUID, 40).unwrap_err();
        assert_eq!(
            e.message(),
            format!("The backend name of L7 Policy {UUID} does not fit in 40 characters.")
        );
        assert!(backend_name_within(Kind::Pool, &"a".repeat(40), 40).is_err());
    }

    #[test]
    fn tags_record_ownership_and_read_back() {
        let owner = Ownership {
            load_balancer_id: UUID.into(),
            project_id: Some("p1".into()),
        };
        let tags = owner.object_tags(Kind::Member, "m1");
        assert_eq!(
            tags,
            [
                Tag::new("created-by", "fulcrum"),
                Tag::new("os-lbaas-lb-id", UUID),
                Tag::new("os-project-id", "p1"),
                Tag::new("os-lbaas-member-id", "m1"),
            ]
        );
        assert_eq!(owner.object_tags(Kind::LoadBalancer, UUID), owner.tags());
        assert_eq!(Ownership::from_tags(&tags), Some(owner.clone()));
        assert_eq!(
            serde_json::to_value(&tags[0]).unwrap(),
            serde_json::json!({"scope": "created-by", "tag": "fulcrum"})
        );
    }

    #[test]
    fn only_objects_fulcrum_created_are_claimed() {
        let by_hand = [
            Tag::new("os-lbaas-lb-id", UUID),
            Tag::new("created-by", "operator"),
        ];
        assert_eq!(Ownership::from_tags(&by_hand), None);
        let no_lb = [Tag::new("created-by", "fulcrum")];
        assert_eq!(Ownership::from_tags(&no_lb), None);
        let without_project = [
            Tag::new("created-by", "fulcrum"),
            Tag::new("os-lbaas-lb-id", "lb-1"),
        ];
        assert_eq!(
            Ownership::from_tags(&without_project),
            Some(Ownership {
                load_balancer_id: "lb-1".into(),
                project_id: None
            })
        );
    }

    #[test]
    fn remarks_fit_f5_and_read_back() {
        let owner = Ownership {
            load_balancer_id: UUID.into(),
            project_id: Some("0123456789abcdef0123456789abcdef".into()),
        };
        let remark = owner.remark();
        assert_eq!(remark, format!("fulcrum lb={UUID}"));
        assert!(remark.len() <= 64);
        let read = Ownership::from_remark(&remark).unwrap();
        assert_eq!(read.load_balancer_id, UUID);
        for foreign in [
            "",
            "web tier",
            "fulcrum lb=",
            "fulcrum lb=a b",
            "fulcrumlb=x",
        ] {
            assert_eq!(Ownership::from_remark(foreign), None, "{foreign:?}");
        }
    }
}
