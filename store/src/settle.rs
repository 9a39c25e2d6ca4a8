//! Settling finished work in batches: many work items leave the queue, and their trees' statuses
//! settle, in one transaction of a few statements (one per table and status, not one per row).
//!
//! Under load the reconciler finishes many items at once. On PostgreSQL each statement is a round
//! trip during which the transaction holds a pooled connection, and each commit waits for the
//! write-ahead log to reach the disk, so settling a batch together costs little more than
//! settling one item (see `fulcrum::tasks::settler`, which gathers the batches).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use fulcrum_core::driver::Observation;
use fulcrum_core::events::Event;
use fulcrum_core::model::{Kind, OperatingStatus, ProvisioningStatus};
use fulcrum_core::timestamp;
use sqlx::Row;

use crate::table::Table;
use crate::work::{Outcome, WorkAction, WorkItem, rows_of, write_stats};
use crate::{Store, StoreError, Tx, outbox, provider_feed};

/// Ids per `IN (...)` list.
pub(crate) const CHUNK: usize = 200;

/// A claimed item whose work is done: what it converged and how that ended.
#[derive(Debug, Clone)]
pub struct Completion {
    /// The item, as claimed.
    pub item: WorkItem,
    /// The tree the driver was handed (read after the claim).
    pub tree: crate::Tree,
    /// How it ended.
    pub outcome: Outcome,
    /// What the data plane reported right after a converged apply.
    pub observation: Option<Observation>,
    /// The objects a converged apply could not realize (the driver's
    /// [`Applied::refused`](fulcrum_core::driver::Applied)): they settle in ERROR, the rest of
    /// the tree ACTIVE.
    pub refused: BTreeSet<String>,
    /// What the work found out (alerts raised or cleared), written whether or not a newer write
    /// superseded the work, since that does not undo what happened on the backend.
    pub events: Vec<Event>,
}

/// The row changes of a batch, grouped so that each group is one statement.
#[derive(Default)]
struct Plan {
    /// Rows that become ACTIVE, by table and observed operating status.
    activate: BTreeMap<(&'static str, OperatingStatus), Vec<String>>,
    /// Rows whose operating status alone changes, by table and status.
    operating: BTreeMap<(&'static str, OperatingStatus), Vec<String>>,
    /// Rows whose provisioning status is set after a failure, by table and status.
    provisioning: BTreeMap<(&'static str, ProvisioningStatus), Vec<String>>,
    /// Rows a converged apply could not realize, by table: ERROR in both statuses.
    refused: BTreeMap<&'static str, Vec<String>>,
    /// Rows marked for deletion that are removed, by table.
    removed: BTreeMap<&'static str, Vec<String>>,
    /// Listeners among the removed rows (their counters go too).
    removed_listeners: Vec<String>,
    /// Load balancers whose whole tree is removed.
    removed_trees: Vec<String>,
}

impl Plan {
    fn add(&mut self, completion: &Completion) {
        let Completion {
            item,
            tree,
            outcome,
            observation,
            refused,
            ..
        } = completion;
        match (item.action, outcome) {
            (WorkAction::Delete, Outcome::Converged) => {
                self.removed_trees.push(item.load_balancer_id.clone());
            }
            (_, Outcome::Converged) => {
                for (kind, id, prov, op) in rows_of(tree) {
                    let table = Table::of(kind).name;
                    let observed = observation
                        .as_ref()
                        .and_then(|o| o.operating_status.get(id))
                        .copied()
                        .unwrap_or(op);
                    if prov == ProvisioningStatus::PendingDelete {
                        self.removed.entry(table).or_default().push(id.to_string());
                        if kind == Kind::Listener {
                            self.removed_listeners.push(id.to_string());
                        }
                    } else if refused.contains(id) {
                        if (prov, op) != (ProvisioningStatus::Error, OperatingStatus::Error) {
                            self.refused.entry(table).or_default().push(id.to_string());
                        }
                    } else if prov.is_pending() || prov == ProvisioningStatus::Error {
                        // Realized: an object in ERROR (refused before, or failed) is ACTIVE again.
                        self.activate
                            .entry((table, observed))
                            .or_default()
                            .push(id.to_string());
                    } else if observed != op {
                        self.operating
                            .entry((table, observed))
                            .or_default()
                            .push(id.to_string());
                    }
                }
            }
            (action, Outcome::Failed) => {
                let rows = rows_of(tree);
                let children_pending = rows.iter().skip(1).any(|(_, _, prov, _)| prov.is_pending());
                for (kind, id, prov, _) in rows {
                    let to_error = if kind == Kind::LoadBalancer {
                        action == WorkAction::Delete || !children_pending
                    } else {
                        prov.is_pending()
                    };
                    let status = if to_error {
                        ProvisioningStatus::Error
                    } else if prov.is_pending() {
                        ProvisioningStatus::Active
                    } else {
                        continue;
                    };
                    self.provisioning
                        .entry((Table::of(kind).name, status))
                        .or_default()
                        .push(id.to_string());
                }
            }
        }
    }

    async fn apply(&self, tx: &mut Tx) -> Result<(), StoreError> {
        let now = timestamp::now();
        for ((table, observed), ids) in &self.activate {
            let sql = format!(
                "UPDATE {table} SET provisioning_status = 'ACTIVE', operating_status = $1, \
                 updated_at = $2 WHERE id IN"
            );
            each_chunk(tx, &sql, &[observed.as_str(), now.as_str()], ids, "").await?;
        }
        for ((table, observed), ids) in &self.operating {
            let sql = format!("UPDATE {table} SET operating_status = $1 WHERE id IN");
            each_chunk(tx, &sql, &[observed.as_str()], ids, "").await?;
        }
        for (table, ids) in &self.refused {
            let sql = format!(
                "UPDATE {table} SET provisioning_status = 'ERROR', operating_status = 'ERROR', \
                 updated_at = $1 WHERE id IN"
            );
            each_chunk(tx, &sql, &[now.as_str()], ids, "").await?;
        }
        for ((table, status), ids) in &self.provisioning {
            let sql =
                format!("UPDATE {table} SET provisioning_status = $1, updated_at = $2 WHERE id IN");
            each_chunk(tx, &sql, &[status.as_str(), now.as_str()], ids, "").await?;
        }
        for (table, ids) in &self.removed {
            each_chunk(
                tx,
                &format!("DELETE FROM {table} WHERE id IN"),
                &[],
                ids,
                "",
            )
            .await?;
            each_chunk(tx, "DELETE FROM tags WHERE resource_id IN", &[], ids, "").await?;
            if *table == Table::of(Kind::LoadBalancer).name {
                let sql = "DELETE FROM vip_claims WHERE load_balancer_id IN";
                each_chunk(tx, sql, &[], ids, "").await?;
            }
        }
        let listeners = &self.removed_listeners;
        each_chunk(
            tx,
            "DELETE FROM listener_stats WHERE listener_id IN",
            &[],
            listeners,
            "",
        )
        .await?;
        let trees = &self.removed_trees;
        each_chunk(
            tx,
            "DELETE FROM vip_claims WHERE load_balancer_id IN",
            &[],
            trees,
            "",
        )
        .await?;
        for kind in Kind::ALL {
            let table = Table::of(kind);
            let sql = format!(
                "DELETE FROM tags WHERE resource_id IN (SELECT id FROM {} WHERE {} IN",
                table.name, table.tree_column
            );
            each_chunk(tx, &sql, &[], trees, ")").await?;
            let sql = format!("DELETE FROM {} WHERE {} IN", table.name, table.tree_column);
            each_chunk(tx, &sql, &[], trees, "").await?;
        }
        each_chunk(
            tx,
            "DELETE FROM listener_stats WHERE loadbalancer_id IN",
            &[],
            trees,
            "",
        )
        .await
    }
}

/// Run `head (ids...)tail` for each chunk of `ids` (none when there are none), binding
/// `leading` first: the `$1, $2, ...` that `head` names.
async fn each_chunk(
    tx: &mut Tx,
    head: &str,
    leading: &[&str],
    ids: &[String],
    tail: &str,
) -> Result<(), StoreError> {
    for chunk in ids.chunks(CHUNK) {
        let sql = format!(
            "{head} ({}){tail}",
            placeholders(leading.len(), chunk.len())
        );
        let mut query = sqlx::query(&sql);
        for value in leading {
            query = query.bind(*value);
        }
        for id in chunk {
            query = query.bind(id.as_str());
        }
        query.execute(tx.conn()).await?;
    }
    Ok(())
}

/// `$first+1, ..., $first+count`.
pub(crate) fn placeholders(before: usize, count: usize) -> String {
    (before + 1..=before + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// Finish a batch of items claimed by `owner`, in one transaction: each item that is still
    /// `owner`'s at the generation it was claimed at is removed and its tree settled (converged:
    /// pending and ERROR rows ACTIVE but the refused ones ERROR, rows marked for deletion
    /// removed, a deleted load balancer's whole tree removed; failed: pending rows ERROR); an
    /// item a newer write superseded is released, to be claimed again at once. Every completion's events are written either way. Returns,
    /// for each completion in order, whether it settled (`false`: superseded).
    pub async fn complete_all(
        &self,
        owner: &str,
        completions: &[Completion],
    ) -> Result<Vec<bool>, StoreError> {
        if completions.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin().await?;
        let mut settled = HashSet::new();
        for chunk in completions.chunks(CHUNK) {
            let matches: Vec<String> = (0..chunk.len())
                .map(|i| {
                    format!(
                        "(loadbalancer_id = ${} AND generation = ${})",
                        2 * i + 2,
                        2 * i + 3
                    )
                })
                .collect();
            let sql = format!(
                "DELETE FROM work_items WHERE lease_owner = $1 AND ({}) RETURNING loadbalancer_id",
                matches.join(" OR ")
            );
            let mut query = sqlx::query(&sql).bind(owner);
            for c in chunk {
                query = query
                    .bind(c.item.load_balancer_id.as_str())
                    .bind(c.item.generation);
            }
            for row in query.fetch_all(tx.conn()).await? {
                settled.insert(row.try_get::<String, _>(0)?);
            }
        }
        let superseded: Vec<String> = completions
            .iter()
            .map(|c| &c.item.load_balancer_id)
            .filter(|id| !settled.contains(*id))
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        each_chunk(
            &mut tx,
            "UPDATE work_items SET lease_owner = NULL, lease_expires_at = NULL \
             WHERE lease_owner = $1 AND loadbalancer_id IN",
            &[owner],
            &superseded,
            "",
        )
        .await?;
        let mut plan = Plan::default();
        for c in completions
            .iter()
            .filter(|c| settled.contains(&c.item.load_balancer_id))
        {
            plan.add(c);
        }
        plan.apply(&mut tx).await?;
        for c in completions
            .iter()
            .filter(|c| settled.contains(&c.item.load_balancer_id))
        {
            if let (Outcome::Converged, Some(observation)) = (c.outcome, &c.observation)
                && c.item.action != WorkAction::Delete
            {
                write_stats(
                    &mut tx,
                    &c.item.load_balancer_id,
                    &observation.listener_stats,
                )
                .await?;
            }
        }
        let settled_completions: Vec<&Completion> = completions
            .iter()
            .filter(|c| settled.contains(&c.item.load_balancer_id))
            .collect();
        provider_feed::record_settled(&mut tx, &settled_completions).await?;
        let events: Vec<Event> = completions
            .iter()
            .flat_map(|c| c.events.iter().cloned())
            .collect();
        outbox::append(tx.conn(), &events).await?;
        tx.commit().await?;
        Ok(completions
            .iter()
            .map(|c| settled.contains(&c.item.load_balancer_id))
            .collect())
    }
}
