//! The difference between the desired tree a load balancer has and the one a provider request
//! asks for, and how it is written: new objects inserted (`PENDING_CREATE`), changed ones
//! updated (`PENDING_UPDATE`, keeping their creation time and operating status), missing ones
//! marked `PENDING_DELETE` with what is below them. Statuses and timestamps are not content:
//! sending the same object twice changes nothing.

use fulcrum_core::Error;
use fulcrum_core::driver::LoadBalancerGraph;
use fulcrum_core::model::{Member, ProvisioningStatus};
use fulcrum_core::timestamp;
use fulcrum_store::{Record, Tx};
use serde_json::Value;

/// Fields that record where an object stands, not what it is.
const STATE_FIELDS: [&str; 4] = [
    "provisioning_status",
    "operating_status",
    "created_at",
    "updated_at",
];

fn content<T: Record>(row: &T) -> Value {
    let mut value = serde_json::to_value(row).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        for field in STATE_FIELDS {
            map.remove(field);
        }
    }
    value
}

/// How a request changes a tree.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Difference {
    /// Some object is new or changed (the provider's driver must check the tree).
    pub grows: bool,
    /// Some object goes.
    pub shrinks: bool,
}

impl Difference {
    /// Whether anything changes at all.
    pub(super) fn any(self) -> bool {
        self.grows || self.shrinks
    }
}

fn rows<T: Record>(old: &[T], new: &[T], d: &mut Difference) {
    d.grows |= new.iter().any(|n| {
        old.iter()
            .find(|o| o.id() == n.id())
            .is_none_or(|o| content(o) != content(n))
    });
    d.shrinks |= old.iter().any(|o| !new.iter().any(|n| n.id() == o.id()));
}

/// What changes from `old` to `new`.
pub(super) fn difference(old: &LoadBalancerGraph, new: &LoadBalancerGraph) -> Difference {
    let mut d = Difference::default();
    rows(
        std::slice::from_ref(&old.load_balancer),
        std::slice::from_ref(&new.load_balancer),
        &mut d,
    );
    rows(&old.listeners, &new.listeners, &mut d);
    rows(&old.pools, &new.pools, &mut d);
    rows(&old.members, &new.members, &mut d);
    rows(&old.health_monitors, &new.health_monitors, &mut d);
    rows(&old.l7policies, &new.l7policies, &mut d);
    rows(&old.l7rules, &new.l7rules, &mut d);
    d
}

/// `new` as an update of `old`: `PENDING_UPDATE`, with `old`'s creation time and operating
/// status.
fn restamped<T: Record>(old: &T, new: &T) -> Result<T, Error> {
    let (Value::Object(old), Value::Object(mut row)) = (
        serde_json::to_value(old).map_err(internal)?,
        serde_json::to_value(new).map_err(internal)?,
    ) else {
        return Err(Error::Internal(
            "a stored object is not a JSON object".into(),
        ));
    };
    for field in ["operating_status", "created_at"] {
        if let Some(v) = old.get(field) {
            row.insert(field.into(), v.clone());
        }
    }
    row.insert(
        "provisioning_status".into(),
        ProvisioningStatus::PendingUpdate.as_str().into(),
    );
    row.insert("updated_at".into(), timestamp::now().into());
    serde_json::from_value(Value::Object(row)).map_err(internal)
}

fn internal(e: serde_json::Error) -> Error {
    Error::Internal(format!("restamping an object: {e}"))
}

async fn write_rows<T: Record>(tx: &mut Tx, old: &[T], new: &[T]) -> Result<(), Error> {
    for n in new {
        match old.iter().find(|o| o.id() == n.id()) {
            None => tx.insert(n).await?,
            Some(o) if content(o) != content(n) => tx.update(&restamped(o, n)?).await?,
            Some(_) => {}
        }
    }
    for o in old {
        if !new.iter().any(|n| n.id() == o.id()) {
            tx.mark_subtree(T::KIND, o.id(), ProvisioningStatus::PendingDelete)
                .await?;
        }
    }
    Ok(())
}

/// Write what changes from `old` (`None`: nothing stored yet) to `new`, parents first.
pub(super) async fn write(
    tx: &mut Tx,
    old: Option<&LoadBalancerGraph>,
    new: &LoadBalancerGraph,
) -> Result<(), Error> {
    let empty = LoadBalancerGraph {
        listeners: Vec::new(),
        pools: Vec::new(),
        members: Vec::new(),
        health_monitors: Vec::new(),
        l7policies: Vec::new(),
        l7rules: Vec::new(),
        ..new.clone()
    };
    match old {
        None => tx.insert(&new.load_balancer).await?,
        Some(old) => {
            write_rows(
                tx,
                std::slice::from_ref(&old.load_balancer),
                std::slice::from_ref(&new.load_balancer),
            )
            .await?
        }
    }
    let old = old.unwrap_or(&empty);
    write_rows(tx, &old.pools, &new.pools).await?;
    write_rows(tx, &old.members, &new.members).await?;
    write_rows(tx, &old.health_monitors, &new.health_monitors).await?;
    write_rows(tx, &old.listeners, &new.listeners).await?;
    write_rows(tx, &old.l7policies, &new.l7policies).await?;
    write_rows(tx, &old.l7rules, &new.l7rules).await
}

/// The members that are new or changed from `old` to `new` (their subnets are checked).
pub(super) fn new_members<'a>(
    old: Option<&LoadBalancerGraph>,
    new: &'a LoadBalancerGraph,
) -> Vec<&'a Member> {
    new.members
        .iter()
        .filter(|n| {
            old.and_then(|o| o.members.iter().find(|m| m.id == n.id))
                .is_none_or(|m| content(m) != content(*n))
        })
        .collect()
}
