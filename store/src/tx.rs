//! [`Tx`]: one write transaction. The API records intent through it: the desired objects, their
//! `PENDING_*` statuses and the work item for the reconciler, committed together or not at all.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use fulcrum_core::model::{Kind, LoadBalancer, ProvisioningStatus};
use fulcrum_core::timestamp;
use sqlx::{Any, Transaction};

use crate::StoreError;
use crate::connect::{read_tree, select_where};
use crate::record::{Record, Tree, bind_record, decode};
use crate::table::Table;
use crate::work::WorkAction;

/// What trying to lock a load balancer found.
#[derive(Debug, Clone, PartialEq)]
pub enum LockOutcome {
    /// It is now in the requested pending state; this is the updated row.
    Locked(Box<LoadBalancer>),
    /// No such load balancer.
    NotFound,
    /// It is in a state the lock may not be taken from.
    Busy(ProvisioningStatus),
}

/// A write transaction. Dropping it without [`Tx::commit`] rolls everything back.
pub struct Tx {
    inner: Transaction<'static, Any>,
    epoch: Arc<AtomicU64>,
}

impl Tx {
    pub(crate) fn new(inner: Transaction<'static, Any>, epoch: Arc<AtomicU64>) -> Self {
        Tx { inner, epoch }
    }

    /// Make every change of this transaction durable (and invalidate reads cached before it).
    pub async fn commit(self) -> Result<(), StoreError> {
        self.inner.commit().await?;
        self.epoch.fetch_add(1, Ordering::Release);
        Ok(())
    }

    /// One object by id.
    pub async fn get<T: Record>(&mut self, id: &str) -> Result<Option<T>, StoreError> {
        let table = Table::of(T::KIND);
        let sql = format!(
            "SELECT {} FROM {} WHERE id = $1",
            table.column_list(),
            table.name
        );
        match sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&mut *self.inner)
            .await?
        {
            Some(row) => Ok(Some(decode(&row)?)),
            None => Ok(None),
        }
    }

    /// Objects of one kind whose `column` equals `value`.
    pub async fn children<T: Record>(
        &mut self,
        column: &str,
        value: &str,
    ) -> Result<Vec<T>, StoreError> {
        select_where(&mut *self.inner, column, value).await
    }

    /// Every row of a load balancer's tree.
    pub async fn tree(&mut self, load_balancer_id: &str) -> Result<Option<Tree>, StoreError> {
        read_tree(&mut self.inner, load_balancer_id).await
    }

    /// Store a new object (and its tags).
    pub async fn insert<T: Record>(&mut self, record: &T) -> Result<(), StoreError> {
        let table = Table::of(T::KIND);
        let placeholders: Vec<String> =
            (1..=table.columns.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            table.name,
            table.column_list(),
            placeholders.join(", ")
        );
        bind_record(sqlx::query(&sql), record)?
            .execute(&mut *self.inner)
            .await
            .map_err(StoreError::from_write)?;
        self.write_tags(record.id(), record.tags(), false).await
    }

    /// Overwrite a stored object (and its tags) with a new version.
    pub async fn update<T: Record>(&mut self, record: &T) -> Result<(), StoreError> {
        let table = Table::of(T::KIND);
        let sets: Vec<String> = table
            .columns
            .iter()
            .enumerate()
            .map(|(i, (n, _))| format!("\"{n}\" = ${}", i + 1))
            .collect();
        let sql = format!(
            "UPDATE {} SET {} WHERE id = ${}",
            table.name,
            sets.join(", "),
            table.columns.len() + 1
        );
        bind_record(sqlx::query(&sql), record)?
            .bind(record.id().to_owned())
            .execute(&mut *self.inner)
            .await
            .map_err(StoreError::from_write)?;
        self.write_tags(record.id(), record.tags(), true).await
    }

    async fn write_tags(
        &mut self,
        id: &str,
        tags: &[String],
        replace: bool,
    ) -> Result<(), StoreError> {
        if replace {
            sqlx::query("DELETE FROM tags WHERE resource_id = $1")
                .bind(id)
                .execute(&mut *self.inner)
                .await?;
        }
        let mut unique: Vec<&String> = tags.iter().collect();
        unique.sort();
        unique.dedup();
        for tag in unique {
            sqlx::query("INSERT INTO tags (resource_id, tag) VALUES ($1, $2)")
                .bind(id)
                .bind(tag.clone())
                .execute(&mut *self.inner)
                .await?;
        }
        Ok(())
    }

    /// Set the provisioning status of one object.
    pub async fn set_status(
        &mut self,
        kind: Kind,
        id: &str,
        status: ProvisioningStatus,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "UPDATE {} SET provisioning_status = $1, updated_at = $2 WHERE id = $3",
            Table::of(kind).name
        );
        sqlx::query(&sql)
            .bind(status.as_str())
            .bind(timestamp::now())
            .bind(id)
            .execute(&mut *self.inner)
            .await?;
        Ok(())
    }

    /// Move a load balancer to `to` if it is in one of `from`, atomically: of two concurrent
    /// writers to one tree, exactly one gets the lock.
    pub async fn lock_load_balancer(
        &mut self,
        id: &str,
        to: ProvisioningStatus,
        from: &[ProvisioningStatus],
    ) -> Result<LockOutcome, StoreError> {
        let allowed: Vec<String> = from.iter().map(|s| format!("'{}'", s.as_str())).collect();
        let sql = format!(
            "UPDATE load_balancers SET provisioning_status = $1, updated_at = $2 \
             WHERE id = $3 AND provisioning_status IN ({})",
            allowed.join(", ")
        );
        let done = sqlx::query(&sql)
            .bind(to.as_str())
            .bind(timestamp::now())
            .bind(id)
            .execute(&mut *self.inner)
            .await?
            .rows_affected();
        Ok(match self.get::<LoadBalancer>(id).await? {
            None => LockOutcome::NotFound,
            Some(lb) if done == 1 => LockOutcome::Locked(Box::new(lb)),
            Some(lb) => LockOutcome::Busy(lb.provisioning_status),
        })
    }

    /// Record that a load balancer's tree needs converging. Supersedes any earlier item for it.
    pub async fn enqueue(
        &mut self,
        load_balancer_id: &str,
        action: WorkAction,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO work_items (loadbalancer_id, action, generation, attempts, not_before) \
             VALUES ($1, $2, 1, 0, 0) \
             ON CONFLICT (loadbalancer_id) DO UPDATE SET action = excluded.action, \
             generation = work_items.generation + 1, attempts = 0, not_before = 0, last_error = NULL",
        )
        .bind(load_balancer_id)
        .bind(action.as_str())
        .execute(&mut *self.inner)
        .await?;
        Ok(())
    }

    pub(crate) fn conn(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.inner
    }
}
