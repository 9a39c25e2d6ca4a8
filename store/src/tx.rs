//! [`Tx`]: one write transaction. The API records intent through it: the desired objects, their
//! `PENDING_*` statuses and the work item for the reconciler, committed together or not at all.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use fulcrum_core::model::{Kind, LoadBalancer, ProvisioningStatus};
use fulcrum_core::timestamp;
use sqlx::{Any, Transaction};
use tokio::sync::Notify;

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
    announce: Option<Arc<Notify>>,
}

impl Tx {
    pub(crate) fn new(
        inner: Transaction<'static, Any>,
        epoch: Arc<AtomicU64>,
        announce: Option<Arc<Notify>>,
    ) -> Self {
        Tx {
            inner,
            epoch,
            announce,
        }
    }

    /// Make every change of this transaction durable, invalidate reads this process cached
    /// before it and, on PostgreSQL, have it announced to the other processes
    /// ([`crate::Store::follow_writes`]).
    pub async fn commit(self) -> Result<(), StoreError> {
        self.inner.commit().await?;
        self.epoch.fetch_add(1, Ordering::Release);
        if let Some(announce) = &self.announce {
            announce.notify_one();
        }
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
        self.insert_row(record, "").await
    }

    /// Store a new load balancer (and its tags) with its VIP address claimed for it alone: a
    /// [`StoreError::Conflict`] when another claimed load balancer has the same address on the
    /// same subnet. Load balancers stored with [`Tx::insert`] are not claimed (VIPs of a network
    /// back-end that lets several share an address) and may share it with any other.
    pub async fn insert_claiming_vip(
        &mut self,
        load_balancer: &LoadBalancer,
    ) -> Result<(), StoreError> {
        self.insert_row(load_balancer, "vip_claimed").await
    }

    /// Claim `addresses` (subnet id, address) for load balancer `load_balancer_id` alone: a
    /// [`StoreError::Conflict`] when any of them is claimed already, by a VIP or an additional
    /// VIP of another load balancer. The claims go when the load balancer's row does.
    pub async fn claim_vip_addresses(
        &mut self,
        load_balancer_id: &str,
        addresses: &[(&str, &str)],
    ) -> Result<(), StoreError> {
        for (subnet_id, address) in addresses {
            sqlx::query(
                "INSERT INTO vip_claims (subnet_id, ip_address, load_balancer_id) \
                 VALUES ($1, $2, $3)",
            )
            .bind(subnet_id.to_string())
            .bind(address.to_string())
            .bind(load_balancer_id.to_owned())
            .execute(&mut *self.inner)
            .await
            .map_err(StoreError::from_write)?;
        }
        Ok(())
    }

    /// Insert `record`, and 1 in `flag` unless it is empty, in one statement.
    async fn insert_row<T: Record>(&mut self, record: &T, flag: &str) -> Result<(), StoreError> {
        let table = Table::of(T::KIND);
        let mut columns = table.column_list();
        let mut values: Vec<String> = (1..=table.columns.len()).map(|i| format!("${i}")).collect();
        if !flag.is_empty() {
            columns.push_str(&format!(", {flag}"));
            values.push("1".to_string());
        }
        let sql = format!(
            "INSERT INTO {} ({columns}) VALUES ({})",
            table.name,
            values.join(", ")
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
        // All of them in one statement (in chunks, to stay far below any limit on parameters).
        for chunk in unique.chunks(500) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| format!("($1, ${})", i + 2))
                .collect();
            let sql = format!(
                "INSERT INTO tags (resource_id, tag) VALUES {}",
                rows.join(", ")
            );
            let mut query = sqlx::query(&sql).bind(id);
            for tag in chunk {
                query = query.bind(tag.as_str());
            }
            query.execute(&mut *self.inner).await?;
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

    /// Set the provisioning status of an object and of everything below it in its tree: a load
    /// balancer's whole tree, a listener's L7 policies and their rules, a pool's members and
    /// health monitor, a policy's rules. One statement per table.
    pub async fn mark_subtree(
        &mut self,
        kind: Kind,
        id: &str,
        status: ProvisioningStatus,
    ) -> Result<(), StoreError> {
        let now = timestamp::now();
        for (table, condition) in subtree(kind) {
            let sql = format!(
                "UPDATE {} SET provisioning_status = $1, updated_at = $2 WHERE {condition}",
                Table::of(*table).name
            );
            sqlx::query(&sql)
                .bind(status.as_str())
                .bind(now.clone())
                .bind(id)
                .execute(&mut *self.inner)
                .await?;
        }
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

    /// Record that a load balancer's tree needs converging. Supersedes any earlier item for it,
    /// keeping the time the earlier one was queued.
    pub async fn enqueue(
        &mut self,
        load_balancer_id: &str,
        action: WorkAction,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO work_items (loadbalancer_id, action, generation, attempts, not_before, \
             queued_at) VALUES ($1, $2, 1, 0, 0, $3) \
             ON CONFLICT (loadbalancer_id) DO UPDATE SET action = excluded.action, \
             generation = work_items.generation + 1, attempts = 0, not_before = 0, last_error = NULL, \
             queued_at = COALESCE(work_items.queued_at, excluded.queued_at)",
        )
        .bind(load_balancer_id)
        .bind(action.as_str())
        .bind(fulcrum_core::timestamp::now_millis())
        .execute(&mut *self.inner)
        .await?;
        Ok(())
    }

    pub(crate) fn conn(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.inner
    }
}

/// The rows of an object's subtree: each table with the condition (on `$3`, the object's id) that
/// selects them, the object itself first.
fn subtree(kind: Kind) -> &'static [(Kind, &'static str)] {
    match kind {
        Kind::LoadBalancer => &[
            (Kind::LoadBalancer, "id = $3"),
            (Kind::Listener, "loadbalancer_id = $3"),
            (Kind::Pool, "loadbalancer_id = $3"),
            (Kind::Member, "loadbalancer_id = $3"),
            (Kind::HealthMonitor, "loadbalancer_id = $3"),
            (Kind::L7Policy, "loadbalancer_id = $3"),
            (Kind::L7Rule, "loadbalancer_id = $3"),
        ],
        Kind::Listener => &[
            (Kind::Listener, "id = $3"),
            (Kind::L7Policy, "listener_id = $3"),
            (
                Kind::L7Rule,
                "l7policy_id IN (SELECT id FROM l7policies WHERE listener_id = $3)",
            ),
        ],
        Kind::Pool => &[
            (Kind::Pool, "id = $3"),
            (Kind::Member, "pool_id = $3"),
            (Kind::HealthMonitor, "pool_id = $3"),
        ],
        Kind::L7Policy => &[
            (Kind::L7Policy, "id = $3"),
            (Kind::L7Rule, "l7policy_id = $3"),
        ],
        Kind::Member => &[(Kind::Member, "id = $3")],
        Kind::HealthMonitor => &[(Kind::HealthMonitor, "id = $3")],
        Kind::L7Rule => &[(Kind::L7Rule, "id = $3")],
    }
}

#[cfg(test)]
mod tests {
    use fulcrum_core::model::{
        HealthMonitor, Kind, L7Policy, L7Rule, Listener, LoadBalancer, Member, Pool,
        ProvisioningStatus,
    };
    use serde::de::DeserializeOwned;
    use serde_json::{Value, json};

    use crate::{Record, Store, StoreOptions};

    /// An ACTIVE object of the tree `lb` from the fields that tell it apart.
    fn row<T: DeserializeOwned>(fields: Value) -> T {
        let mut object = json!({
            "loadbalancer_id": "lb", "admin_state_up": true, "provisioning_status": "ACTIVE",
            "operating_status": "ONLINE", "tags": [], "created_at": "t",
        });
        if let (Value::Object(o), Value::Object(f)) = (&mut object, fields) {
            o.extend(f);
        }
        serde_json::from_value(object).unwrap()
    }

    /// A load balancer with a listener (`l`, with policy `p` and its rule `r`), and a pool (`pool`,
    /// with member `m` and monitor `h`).
    async fn seeded(dir: &std::path::Path) -> Store {
        let store = Store::connect(&StoreOptions {
            url: format!("sqlite://{}", dir.join("tx.db").display()),
            max_connections: 2,
        })
        .await
        .unwrap();
        store.migrate().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let lb: LoadBalancer = row(json!({"id": "lb", "vip_address": "127.0.0.9",
            "vip_port_id": "port", "vip_subnet_id": "s", "vip_network_id": "n",
            "provider": "noop"}));
        tx.insert(&lb).await.unwrap();
        let listener: Listener = row(json!({"id": "l", "protocol": "HTTP", "protocol_port": 80,
            "connection_limit": -1, "sni_container_refs": [], "insert_headers": {},
            "timeout_client_data": 1, "timeout_member_connect": 1, "timeout_member_data": 1,
            "timeout_tcp_inspect": 0, "client_authentication": "NONE", "allowed_cidrs": [],
            "hsts_include_subdomains": false, "hsts_preload": false}));
        tx.insert(&listener).await.unwrap();
        let policy: L7Policy =
            row(json!({"id": "p", "listener_id": "l", "action": "REJECT", "position": 1}));
        tx.insert(&policy).await.unwrap();
        let rule: L7Rule = row(json!({"id": "r", "l7policy_id": "p", "type": "PATH",
            "compare_type": "EQUAL_TO", "value": "/", "invert": false}));
        tx.insert(&rule).await.unwrap();
        let pool: Pool = row(json!({"id": "pool", "protocol": "HTTP",
            "lb_algorithm": "ROUND_ROBIN", "tls_enabled": false}));
        tx.insert(&pool).await.unwrap();
        let member: Member = row(json!({"id": "m", "pool_id": "pool", "address": "127.0.0.2",
            "protocol_port": 80, "weight": 1, "backup": false}));
        tx.insert(&member).await.unwrap();
        let monitor: HealthMonitor = row(json!({"id": "h", "pool_id": "pool", "type": "HTTP",
            "delay": 1, "timeout": 1, "max_retries": 1, "max_retries_down": 1}));
        tx.insert(&monitor).await.unwrap();
        tx.commit().await.unwrap();
        store
    }

    /// The ids of the tree's objects that are PENDING_DELETE.
    async fn pending(store: &Store) -> Vec<String> {
        let tree = store.tree("lb").await.unwrap().unwrap().rows;
        let mut ids: Vec<(&str, ProvisioningStatus)> = vec![(
            tree.load_balancer.id(),
            tree.load_balancer.provisioning_status,
        )];
        ids.extend(
            tree.listeners
                .iter()
                .map(|o| (o.id(), o.provisioning_status)),
        );
        ids.extend(tree.pools.iter().map(|o| (o.id(), o.provisioning_status)));
        ids.extend(tree.members.iter().map(|o| (o.id(), o.provisioning_status)));
        ids.extend(
            tree.health_monitors
                .iter()
                .map(|o| (o.id(), o.provisioning_status)),
        );
        ids.extend(
            tree.l7policies
                .iter()
                .map(|o| (o.id(), o.provisioning_status)),
        );
        ids.extend(tree.l7rules.iter().map(|o| (o.id(), o.provisioning_status)));
        let mut marked: Vec<String> = ids
            .into_iter()
            .filter(|(_, s)| *s == ProvisioningStatus::PendingDelete)
            .map(|(id, _)| id.to_string())
            .collect();
        marked.sort();
        marked
    }

    #[tokio::test]
    async fn a_subtree_is_its_object_and_everything_below_it() {
        let cases: [(Kind, &str, &[&str]); 5] = [
            (Kind::Member, "m", &["m"]),
            (Kind::L7Policy, "p", &["p", "r"]),
            (Kind::Pool, "pool", &["h", "m", "pool"]),
            (Kind::Listener, "l", &["l", "p", "r"]),
            (
                Kind::LoadBalancer,
                "lb",
                &["h", "l", "lb", "m", "p", "pool", "r"],
            ),
        ];
        for (kind, id, expected) in cases {
            let dir = tempfile::tempdir().unwrap();
            let store = seeded(dir.path()).await;
            let mut tx = store.begin().await.unwrap();
            tx.mark_subtree(kind, id, ProvisioningStatus::PendingDelete)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            assert_eq!(pending(&store).await, expected, "subtree of {kind:?} {id}");
        }
    }

    #[tokio::test]
    async fn claimed_vip_addresses_are_unique_and_unclaimed_ones_shared() {
        let dir = tempfile::tempdir().unwrap();
        let store = seeded(dir.path()).await;
        let lb = |id: &str| -> LoadBalancer {
            row(
                json!({"id": id, "vip_address": "127.0.0.9", "vip_port_id": id,
                "vip_subnet_id": "s", "vip_network_id": "n", "provider": "noop"}),
            )
        };
        // "lb" of the seed holds 127.0.0.9 on s, unclaimed: others may show it too.
        let mut tx = store.begin().await.unwrap();
        tx.insert(&lb("shared")).await.unwrap();
        tx.insert_claiming_vip(&lb("claimed")).await.unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        let e = tx
            .insert_claiming_vip(&lb("second-claim"))
            .await
            .unwrap_err();
        assert!(matches!(e, crate::StoreError::Conflict(_)), "{e}");
        drop(tx);

        let used = store
            .used_vip_addresses("s", &["127.0.0.9".into(), "127.0.0.10".into()])
            .await
            .unwrap();
        assert!(used.contains(&"127.0.0.9".to_string()));
        assert!(!used.contains(&"127.0.0.10".to_string()));
    }
}
