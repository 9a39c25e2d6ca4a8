//! Policy objects by path, and the transactions that change them all or not at all.
//!
//! Every write — a single-object call, a hierarchical `PATCH /infra`, a change made "behind the
//! driver's back" — goes through a [`Transaction`]: changes are staged over the stored objects,
//! references are checked against the result, and only then are they applied. A failure
//! anywhere leaves the store as it was.
//!
//! A field a write sends as `null` is unset, so that a PATCH can drop what an earlier one set.
//!
//! A write whose fields equal the stored ones changes nothing: the object keeps its
//! `_revision` and its realization, so a driver that applies the same tree twice leaves no trace.
//!
//! An object a principal identity (a client certificate) creates is protected, as on NSX: it
//! reads `_protection: PROTECTED` with the identity as `_create_user`, and anybody else's write
//! or delete of it is refused with 403 unless the call carries `X-Allow-Overwrite: true`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use super::error::{self, NsxError};
use super::kinds::{self, INFRA, Kind};
use super::revision::{self, WriteMode};
use super::schema::Schema;

/// Fields the manager owns: whatever a client sends for them is dropped.
const SYSTEM_FIELDS: &[&str] = &[
    "_revision",
    "_create_user",
    "_create_time",
    "_last_modified_user",
    "_last_modified_time",
    "_system_owned",
    "_protection",
    "_links",
    "_self",
    "_schema",
    "path",
    "parent_path",
    "relative_path",
    "unique_id",
    "marked_for_delete",
    "overridden",
    "children",
];

/// One stored object.
#[derive(Debug, Clone)]
pub struct StoredObject {
    /// Its kind.
    pub kind: &'static Kind,
    /// The body a GET returns, system fields included.
    pub body: Value,
    /// Its `_revision`.
    pub revision: i64,
    /// When its content last changed (realization starts again from there).
    pub changed_at: Instant,
}

impl StoredObject {
    /// The fields a client set: the body without the system fields.
    fn content(&self) -> Map<String, Value> {
        content_of(&self.body)
    }
}

fn content_of(body: &Value) -> Map<String, Value> {
    let mut content = body.as_object().cloned().unwrap_or_default();
    for field in SYSTEM_FIELDS {
        content.remove(*field);
    }
    content
}

/// Milliseconds since the epoch, as NSX writes times.
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// The stored objects, ordered by path.
#[derive(Debug, Default, Clone)]
pub struct Store {
    objects: BTreeMap<String, StoredObject>,
}

impl Store {
    /// The object at a path.
    pub fn get(&self, path: &str) -> Option<&StoredObject> {
        self.objects.get(path)
    }

    /// Every object, in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &StoredObject)> {
        self.objects.iter()
    }

    /// The objects of one kind, in path order.
    pub fn of_kind(&self, kind: &'static Kind) -> impl Iterator<Item = &StoredObject> {
        let prefix = format!("{INFRA}/{}/", kind.collection);
        self.objects
            .range(prefix.clone()..)
            .take_while(move |(path, _)| path.starts_with(&prefix))
            .map(|(_, object)| object)
    }

    /// Start a transaction made by `user`, validating bodies against `schema` when there is one.
    pub fn begin<'a>(&'a self, schema: Option<&'a Schema>, user: &str) -> Transaction<'a> {
        Transaction {
            store: self,
            schema,
            user: user.to_owned(),
            principal_identity: false,
            allow_overwrite: false,
            changes: BTreeMap::new(),
        }
    }

    /// Apply what a checked transaction staged.
    pub fn apply(&mut self, changes: Changes) {
        for (path, change) in changes.0 {
            match change {
                Some(object) => {
                    self.objects.insert(path, object);
                }
                None => {
                    self.objects.remove(&path);
                }
            }
        }
    }
}

/// The changes of a transaction whose references were checked, ready to apply.
#[derive(Debug)]
pub struct Changes(BTreeMap<String, Option<StoredObject>>);

/// Changes staged over the store; nothing is stored until [`Store::apply`].
pub struct Transaction<'a> {
    store: &'a Store,
    schema: Option<&'a Schema>,
    user: String,
    principal_identity: bool,
    allow_overwrite: bool,
    changes: BTreeMap<String, Option<StoredObject>>,
}

/// How a write checks `_revision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevisionCheck {
    /// Refuse a stale `_revision` (single-object calls, and the hierarchical API with
    /// `enforce_revision_check=true`).
    Enforce,
    /// Ignore any `_revision` sent (the hierarchical API by default, and changes behind the
    /// driver's back).
    Skip,
}

impl Transaction<'_> {
    /// The same transaction made by a principal identity: what it creates is protected.
    pub fn by_principal_identity(mut self, principal_identity: bool) -> Self {
        self.principal_identity = principal_identity;
        self
    }

    /// The same transaction allowed to change protected objects of others
    /// (`X-Allow-Overwrite: true`).
    pub fn allowing_overwrite(mut self, allow_overwrite: bool) -> Self {
        self.allow_overwrite = allow_overwrite;
        self
    }

    /// Refuse to change a protected object another identity created, unless allowed.
    fn check_owner(&self, path: &str, existing: Option<&StoredObject>) -> Result<(), NsxError> {
        let Some(existing) = existing else {
            return Ok(());
        };
        let owner = existing.body["_create_user"].as_str().unwrap_or_default();
        if existing.body["_protection"] == "PROTECTED"
            && owner != self.user
            && !self.allow_overwrite
        {
            return Err(NsxError::protected(path, owner, &self.user));
        }
        Ok(())
    }

    /// The object at a path as this transaction sees it.
    pub fn get(&self, path: &str) -> Option<&StoredObject> {
        match self.changes.get(path) {
            Some(change) => change.as_ref(),
            None => self.store.get(path),
        }
    }

    /// Create or change the object `id` of `kind` from a body sent by a client.
    pub fn write(
        &mut self,
        kind: &'static Kind,
        id: &str,
        sent: &Map<String, Value>,
        mode: WriteMode,
        check: RevisionCheck,
    ) -> Result<(), NsxError> {
        let path = kinds::path_of(kind, id);
        let existing = self.get(&path);
        self.check_owner(&path, existing)?;
        if check == RevisionCheck::Enforce {
            revision::check(
                &path,
                mode,
                sent.get("_revision"),
                existing.map(|o| o.revision),
            )?;
        }
        if let Some(sent_id) = sent.get("id")
            && sent_id.as_str() != Some(id)
        {
            return Err(NsxError::bad_request(
                error::INVALID_REQUEST,
                format!("The id {sent_id} in the body is not the id {id} of the path {path}."),
            ));
        }
        if sent
            .get("children")
            .and_then(Value::as_array)
            .is_some_and(|children| !children.is_empty())
        {
            return Err(NsxError::bad_request(
                error::INVALID_CHILD,
                format!("{} objects take no children ({path}).", kind.base_type),
            ));
        }

        let mut content = match (mode, existing) {
            (WriteMode::Patch, Some(existing)) => existing.content(),
            _ => Map::new(),
        };
        for (key, value) in sent {
            if SYSTEM_FIELDS.contains(&key.as_str()) {
                continue;
            }
            // A field sent as null is unset: that is how a merging PATCH drops a value.
            if value.is_null() {
                content.remove(key);
            } else {
                content.insert(key.clone(), value.clone());
            }
        }
        content.insert("id".into(), Value::String(id.to_owned()));
        content
            .entry("display_name")
            .or_insert_with(|| Value::String(id.to_owned()));
        let resource_type = resource_type_of(kind, &path, &mut content)?;
        if let Some(schema) = self.schema
            && kind.in_schema
        {
            schema
                .validate(&resource_type, &Value::Object(content.clone()))
                .map_err(|violations| NsxError::validation(&path, violations))?;
        }

        if existing.is_some_and(|existing| existing.content() == content) {
            return Ok(());
        }
        let object = self.finish(kind, &path, content, existing);
        self.changes.insert(path, Some(object));
        Ok(())
    }

    /// Change an object as an administrator would behind the driver's back: merge `fields` in
    /// without validation or revision checks (the revision still grows).
    pub fn write_unchecked(&mut self, path: &str, fields: &Map<String, Value>) -> bool {
        let Some(existing) = self.get(path) else {
            return false;
        };
        let mut content = existing.content();
        for (key, value) in fields {
            if !SYSTEM_FIELDS.contains(&key.as_str()) {
                content.insert(key.clone(), value.clone());
            }
        }
        let kind = existing.kind;
        let object = self.finish(kind, path, content, Some(existing));
        self.changes.insert(path.to_owned(), Some(object));
        true
    }

    fn finish(
        &self,
        kind: &'static Kind,
        path: &str,
        mut content: Map<String, Value>,
        existing: Option<&StoredObject>,
    ) -> StoredObject {
        let now = now_millis();
        let revision = existing.map_or(0, |o| o.revision + 1);
        let created = |field: &str, fallback: Value| {
            existing
                .and_then(|o| o.body.get(field).cloned())
                .unwrap_or(fallback)
        };
        let id = content["id"].clone();
        let system = [
            ("path", Value::String(path.to_owned())),
            ("parent_path", Value::String(INFRA.to_owned())),
            ("relative_path", id),
            (
                "unique_id",
                created("unique_id", uuid::Uuid::new_v4().to_string().into()),
            ),
            ("marked_for_delete", Value::Bool(false)),
            ("overridden", Value::Bool(false)),
            (
                "_create_user",
                created("_create_user", self.user.clone().into()),
            ),
            ("_create_time", created("_create_time", now.into())),
            ("_last_modified_user", self.user.clone().into()),
            ("_last_modified_time", now.into()),
            ("_system_owned", Value::Bool(false)),
            (
                "_protection",
                created(
                    "_protection",
                    if self.principal_identity {
                        "PROTECTED"
                    } else {
                        "NOT_PROTECTED"
                    }
                    .into(),
                ),
            ),
            ("_revision", revision.into()),
        ];
        for (field, value) in system {
            content.insert(field.to_owned(), value);
        }
        StoredObject {
            kind,
            body: Value::Object(content),
            revision,
            changed_at: Instant::now(),
        }
    }

    /// Remove the object at a path; removing one that does not exist succeeds, as in NSX.
    pub fn delete(&mut self, path: &str) -> Result<(), NsxError> {
        let existing = self.get(path);
        self.check_owner(path, existing)?;
        if existing.is_some() {
            self.changes.insert(path.to_owned(), None);
        }
        Ok(())
    }

    /// Hand the staged changes over to apply without checking references (changes made
    /// behind the driver's back may leave a reference dangling, as on a real manager).
    pub fn commit_unchecked(self) -> Changes {
        Changes(self.changes)
    }

    /// Check the staged changes' references and hand them over to apply.
    ///
    /// Every reference of a written object must name an object of the right collection that
    /// exists once the transaction is applied, and no remaining object may reference a deleted
    /// one.
    pub fn commit(self) -> Result<Changes, NsxError> {
        for (path, object) in &self.changes {
            let Some(object) = object else { continue };
            for (reference, target) in object.kind.references_of(&object.body) {
                let expected = format!("{INFRA}/{}/", reference.target);
                if !target.starts_with(&expected) || self.get(target).is_none() {
                    return Err(NsxError::bad_request(
                        error::INVALID_PATH,
                        format!(
                            "The path=[{target}] in {} of {path} is invalid: it names no object under {expected}.",
                            reference.field
                        ),
                    ));
                }
            }
        }
        let deleted: BTreeSet<&str> = self
            .changes
            .iter()
            .filter(|(_, change)| change.is_none())
            .map(|(path, _)| path.as_str())
            .collect();
        if !deleted.is_empty() {
            let remaining = self
                .store
                .objects
                .iter()
                .filter(|(path, _)| !self.changes.contains_key(*path))
                .chain(
                    self.changes
                        .iter()
                        .filter_map(|(path, change)| change.as_ref().map(|o| (path, o))),
                );
            for (path, object) in remaining {
                for (reference, target) in object.kind.references_of(&object.body) {
                    if deleted.contains(target) {
                        return Err(NsxError::bad_request(
                            error::STILL_REFERENCED,
                            format!(
                                "Cannot delete {target}: it is referenced by {path} ({}).",
                                reference.field
                            ),
                        ));
                    }
                }
            }
        }
        Ok(Changes(self.changes))
    }
}

/// The concrete `resource_type` of a body: the one sent, or the kind's only one.
fn resource_type_of(
    kind: &Kind,
    path: &str,
    content: &mut Map<String, Value>,
) -> Result<String, NsxError> {
    let resource_type = match content.get("resource_type") {
        Some(Value::String(sent)) => sent.clone(),
        Some(other) => {
            return Err(NsxError::validation(
                path,
                vec![format!("/resource_type: {other} is not a string")],
            ));
        }
        None if kind.resource_types.len() == 1 => kind.resource_types[0].to_owned(),
        None => {
            return Err(NsxError::validation(
                path,
                vec![format!(
                    "resource_type is required: one of {}",
                    kind.resource_types.join(", ")
                )],
            ));
        }
    };
    if !kind.resource_types.contains(&resource_type.as_str()) {
        return Err(NsxError::validation(
            path,
            vec![format!(
                "/resource_type: {resource_type} is not one of {}",
                kind.resource_types.join(", ")
            )],
        ));
    }
    content.insert("resource_type".into(), Value::String(resource_type.clone()));
    Ok(resource_type)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn kind(collection: &str) -> &'static Kind {
        kinds::by_collection(collection).unwrap()
    }

    #[test]
    fn revisions_start_at_zero_and_grow_with_each_change() {
        let mut store = Store::default();
        let mut tx = store.begin(None, "admin");
        let pool = kind("lb-pools");
        tx.write(
            pool,
            "p",
            &body(json!({})),
            WriteMode::Patch,
            RevisionCheck::Enforce,
        )
        .unwrap();
        let changes = tx.commit().unwrap();
        store.apply(changes);
        assert_eq!(store.get("/infra/lb-pools/p").unwrap().revision, 0);

        let mut tx = store.begin(None, "admin");
        tx.write(
            pool,
            "p",
            &body(json!({"algorithm": "ROUND_ROBIN"})),
            WriteMode::Patch,
            RevisionCheck::Enforce,
        )
        .unwrap();
        let changes = tx.commit().unwrap();
        store.apply(changes);
        let stored = store.get("/infra/lb-pools/p").unwrap();
        assert_eq!(stored.revision, 1);
        assert_eq!(stored.body["_revision"], 1);
        assert_eq!(stored.body["path"], "/infra/lb-pools/p");
        assert_eq!(stored.body["_create_user"], "admin");
    }

    #[test]
    fn writing_the_same_fields_again_changes_nothing() {
        let mut store = Store::default();
        let pool = kind("lb-pools");
        for _ in 0..2 {
            let mut tx = store.begin(None, "admin");
            tx.write(
                pool,
                "p",
                &body(json!({"algorithm": "ROUND_ROBIN"})),
                WriteMode::Patch,
                RevisionCheck::Enforce,
            )
            .unwrap();
            let changes = tx.commit().unwrap();
            store.apply(changes);
        }
        assert_eq!(store.get("/infra/lb-pools/p").unwrap().revision, 0);
    }

    #[test]
    fn a_dangling_reference_fails_the_whole_transaction() {
        let store = Store::default();
        let mut tx = store.begin(None, "admin");
        tx.write(
            kind("lb-pools"),
            "p",
            &body(json!({"active_monitor_paths": ["/infra/lb-monitor-profiles/m"]})),
            WriteMode::Patch,
            RevisionCheck::Enforce,
        )
        .unwrap();
        let refused = tx.commit().unwrap_err();
        assert_eq!(refused.error_code, error::INVALID_PATH);
    }

    #[test]
    fn a_field_sent_as_null_is_unset() {
        let mut store = Store::default();
        let pool = kind("lb-pools");
        for sent in [
            json!({"algorithm": "IP_HASH", "min_active_members": 2}),
            json!({"min_active_members": null}),
        ] {
            let mut tx = store.begin(None, "admin");
            tx.write(
                pool,
                "p",
                &body(sent),
                WriteMode::Patch,
                RevisionCheck::Enforce,
            )
            .unwrap();
            let changes = tx.commit().unwrap();
            store.apply(changes);
        }
        let stored = store.get("/infra/lb-pools/p").unwrap();
        assert_eq!(stored.body["algorithm"], "IP_HASH");
        assert!(stored.body.get("min_active_members").is_none());
        assert_eq!(stored.revision, 1);
    }

    #[test]
    fn a_referenced_object_cannot_be_deleted() {
        let mut store = Store::default();
        let mut tx = store.begin(None, "admin");
        tx.write(
            kind("lb-monitor-profiles"),
            "m",
            &body(json!({"resource_type": "LBTcpMonitorProfile"})),
            WriteMode::Patch,
            RevisionCheck::Enforce,
        )
        .unwrap();
        tx.write(
            kind("lb-pools"),
            "p",
            &body(json!({"active_monitor_paths": ["/infra/lb-monitor-profiles/m"]})),
            WriteMode::Patch,
            RevisionCheck::Enforce,
        )
        .unwrap();
        let changes = tx.commit().unwrap();
        store.apply(changes);
        let mut tx = store.begin(None, "admin");
        tx.delete("/infra/lb-monitor-profiles/m").unwrap();
        assert_eq!(tx.commit().unwrap_err().error_code, error::STILL_REFERENCED);
    }
}
