//! The hierarchical API: `PATCH /policy/api/v1/infra` with a tree of `Child*` wrappers.
//!
//! A driver sends a whole load balancer — service, virtual servers, profiles, pools — in one
//! call. Each wrapper carries one object (`ChildLBPool` carries `LBPool`); `marked_for_delete`
//! on the wrapper removes it; a `ChildResourceReference` names an existing object (a Tier-1)
//! without changing it. The whole tree is one transaction: objects may reference others of the
//! same call, and any error leaves everything as it was.

use serde_json::{Map, Value};

use super::error::{self, NsxError};
use super::kinds::{self, INFRA};
use super::revision::WriteMode;
use super::store::{RevisionCheck, Transaction};

/// The resource type of a reference to an existing object.
const REFERENCE: &str = "ChildResourceReference";

/// Stage every change an `Infra` body asks for.
pub fn stage(
    tx: &mut Transaction<'_>,
    infra: &Value,
    check: RevisionCheck,
) -> Result<(), NsxError> {
    let infra = infra.as_object().ok_or_else(|| {
        NsxError::bad_request(error::INVALID_REQUEST, "The body must be an Infra object.")
    })?;
    if let Some(kind) = infra.get("resource_type")
        && kind != "Infra"
    {
        return Err(NsxError::bad_request(
            error::INVALID_REQUEST,
            format!("The body's resource_type is {kind}, not Infra."),
        ));
    }
    for child in children_of(infra, INFRA)? {
        stage_child(tx, child, check)?;
    }
    Ok(())
}

fn children_of<'a>(object: &'a Map<String, Value>, at: &str) -> Result<&'a [Value], NsxError> {
    match object.get("children") {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(children)) => Ok(children.as_slice()),
        Some(_) => Err(NsxError::validation(
            at,
            vec!["/children: must be an array".into()],
        )),
    }
}

fn stage_child(
    tx: &mut Transaction<'_>,
    child: &Value,
    check: RevisionCheck,
) -> Result<(), NsxError> {
    let child = child.as_object().ok_or_else(|| {
        NsxError::validation(
            INFRA,
            vec!["/children: each child must be an object".into()],
        )
    })?;
    let wrapper = child
        .get("resource_type")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            NsxError::validation(INFRA, vec!["/children: resource_type is required".into()])
        })?;
    if wrapper == REFERENCE {
        return stage_reference(tx, child);
    }
    let kind = kinds::by_wrapper(wrapper).ok_or_else(|| {
        NsxError::bad_request(
            error::INVALID_CHILD,
            format!("{wrapper} is not a child type the simulated /infra takes."),
        )
    })?;
    let object = child
        .get(kind.base_type)
        .and_then(Value::as_object)
        .ok_or_else(|| {
            NsxError::validation(
                INFRA,
                vec![format!(
                    "{wrapper}: the {} object is required",
                    kind.base_type
                )],
            )
        })?;
    let id = object
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty() && !id.contains('/'))
        .ok_or_else(|| {
            NsxError::validation(
                INFRA,
                vec![format!("{wrapper}: {}.id is required", kind.base_type)],
            )
        })?;
    let marked = |o: &Map<String, Value>| o.get("marked_for_delete") == Some(&Value::Bool(true));
    if marked(child) || marked(object) {
        return tx.delete(&kinds::path_of(kind, id));
    }
    tx.write(kind, id, object, WriteMode::Patch, check)
}

fn stage_reference(tx: &mut Transaction<'_>, child: &Map<String, Value>) -> Result<(), NsxError> {
    let target_type = child.get("target_type").and_then(Value::as_str);
    let id = child.get("id").and_then(Value::as_str);
    let (Some(target_type), Some(id)) = (target_type, id) else {
        return Err(NsxError::validation(
            INFRA,
            vec!["ChildResourceReference: id and target_type are required".into()],
        ));
    };
    let kind = kinds::KINDS
        .iter()
        .find(|kind| kind.base_type == target_type)
        .ok_or_else(|| {
            NsxError::bad_request(
                error::INVALID_CHILD,
                format!("A ChildResourceReference to a {target_type} is not simulated."),
            )
        })?;
    let path = kinds::path_of(kind, id);
    if tx.get(&path).is_none() {
        return Err(NsxError::bad_request(
            error::INVALID_PATH,
            format!("The path=[{path}] of a ChildResourceReference is invalid."),
        ));
    }
    if !children_of(child, &path)?.is_empty() {
        return Err(NsxError::bad_request(
            error::INVALID_CHILD,
            format!(
                "Children under {path} are not simulated: load-balancer objects live under /infra."
            ),
        ));
    }
    Ok(())
}
