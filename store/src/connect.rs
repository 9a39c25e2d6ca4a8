//! [`Store`]: connecting, migrating, and the read side.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use fulcrum_core::model::{Kind, Stats};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Executor, Row};

use crate::flavors::{metadata_subqueries, resolve_metadata};
use crate::list::{ListQuery, build_list};
use crate::record::{Record, Tree, decode};
use crate::table::Table;
use crate::{StoreError, Tx};

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file (embedded default).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Backend {
    /// The database `url` names (`sqlite:...`, `postgres:...` or `postgresql:...`), if any.
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    /// The pool's size when none is configured: 4 on SQLite (for reads; its writes use one
    /// connection of their own), 16 on PostgreSQL, where the pool serves writes too and each
    /// write transaction holds a connection until it commits.
    pub fn default_connections(self) -> u32 {
        match self {
            Backend::Sqlite => 4,
            Backend::Postgres => 16,
        }
    }
}

/// How to connect.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// `sqlite://path` or `postgres://...`.
    pub url: String,
    /// Connections for reads (and, on PostgreSQL, writes).
    pub max_connections: u32,
}

/// The durable store. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    read: AnyPool,
    write: AnyPool,
    backend: Backend,
    /// Bumped after every committed write transaction of this process and, on PostgreSQL, on every
    /// write another process commits (see [`Store::read_epoch`] and [`Store::follow_writes`]).
    pub(crate) epoch: Arc<AtomicU64>,
    /// Whether [`Store::epoch`] moves with every write that commits (always on SQLite; on
    /// PostgreSQL while [`Store::follow_writes`] listens).
    pub(crate) epoch_follows_writes: Arc<AtomicBool>,
    /// The database URL, for the connection that listens for other processes' writes.
    pub(crate) url: Arc<str>,
    /// On PostgreSQL, woken by every commit of this process, so that [`Store::follow_writes`]
    /// announces it to the other processes.
    pub(crate) announce: Option<Arc<tokio::sync::Notify>>,
    /// This store's name in its announcements, so that it passes over its own.
    pub(crate) origin: Arc<str>,
}

static INSTALL_DRIVERS: Once = Once::new();

/// A migration's SQL: the same on both databases, or PostgreSQL's own (SQLite then records the
/// version with nothing to do).
enum MigrationSql {
    /// Portable between SQLite and PostgreSQL.
    Both(&'static str),
    /// Only PostgreSQL needs it.
    PostgresOnly(&'static str),
    /// Each database its own (e.g. where they read JSON differently).
    PerBackend {
        /// SQLite's.
        sqlite: &'static str,
        /// PostgreSQL's.
        postgres: &'static str,
    },
}

/// Every migration, in order: version, name, SQL.
const MIGRATIONS: &[(i64, &str, MigrationSql)] = &[
    (
        1,
        "orchestration",
        MigrationSql::Both(include_str!("../migrations/0001_orchestration.sql")),
    ),
    (
        2,
        "quotas",
        MigrationSql::Both(include_str!("../migrations/0002_quotas.sql")),
    ),
    (
        3,
        "flavors",
        MigrationSql::Both(include_str!("../migrations/0003_flavors.sql")),
    ),
    (
        4,
        "events",
        MigrationSql::Both(include_str!("../migrations/0004_events.sql")),
    ),
    (
        5,
        "shared_vips",
        MigrationSql::Both(include_str!("../migrations/0005_shared_vips.sql")),
    ),
    (
        6,
        "work_queued_at",
        MigrationSql::Both(include_str!("../migrations/0006_work_queued_at.sql")),
    ),
    (
        7,
        "work_holders",
        MigrationSql::Both(include_str!("../migrations/0007_work_holders.sql")),
    ),
    (
        8,
        "write_notifications",
        MigrationSql::PostgresOnly(include_str!(
            "../migrations/0008_write_notifications.postgres.sql"
        )),
    ),
    (
        9,
        "cluster_duties",
        MigrationSql::Both(include_str!("../migrations/0009_cluster_duties.sql")),
    ),
    (
        10,
        "provider_feed",
        MigrationSql::Both(include_str!("../migrations/0010_provider_feed.sql")),
    ),
    (
        11,
        "module_migrations",
        MigrationSql::Both(include_str!("../migrations/0011_module_migrations.sql")),
    ),
    (
        12,
        "additional_vips",
        MigrationSql::Both(include_str!("../migrations/0012_additional_vips.sql")),
    ),
    (
        13,
        "vip_claims",
        MigrationSql::PerBackend {
            sqlite: include_str!("../migrations/0013_vip_claims.sqlite.sql"),
            postgres: include_str!("../migrations/0013_vip_claims.postgres.sql"),
        },
    ),
    (
        14,
        "vip_router_id",
        MigrationSql::Both(include_str!("../migrations/0014_vip_router_id.sql")),
    ),
    (
        15,
        "placement",
        MigrationSql::Both(include_str!("../migrations/0015_placement.sql")),
    ),
    (
        16,
        "write_announcements",
        MigrationSql::PostgresOnly(include_str!(
            "../migrations/0016_write_announcements.postgres.sql"
        )),
    ),
];

const SQLITE_PRAGMAS: &str =
    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000;";

impl Store {
    /// Connect to the database the URL names. A SQLite file is created if missing.
    pub async fn connect(options: &StoreOptions) -> Result<Store, StoreError> {
        INSTALL_DRIVERS.call_once(sqlx::any::install_default_drivers);
        let Some(backend) = Backend::of_url(&options.url) else {
            return Err(StoreError::InvalidQuery(format!(
                "unsupported database URL {:?}: use sqlite://PATH or postgres://...",
                options.url
            )));
        };
        let url = match backend {
            Backend::Sqlite if !options.url.contains('?') => format!("{}?mode=rwc", options.url),
            _ => options.url.clone(),
        };
        let connect = AnyConnectOptions::from_str(&url)?;
        let pool = |max: u32| {
            AnyPoolOptions::new()
                .max_connections(max)
                .acquire_timeout(Duration::from_secs(30))
                .after_connect(move |conn, _| {
                    Box::pin(async move {
                        if backend == Backend::Sqlite {
                            conn.execute(SQLITE_PRAGMAS).await?;
                        }
                        Ok(())
                    })
                })
                .connect_with(connect.clone())
        };
        let read = pool(options.max_connections.max(1)).await?;
        let write = match backend {
            Backend::Sqlite => pool(1).await?,
            Backend::Postgres => read.clone(),
        };
        Ok(Store {
            read,
            write,
            backend,
            epoch: Arc::default(),
            epoch_follows_writes: Arc::new(AtomicBool::new(backend == Backend::Sqlite)),
            url: url.into(),
            announce: (backend == Backend::Postgres).then(Arc::default),
            origin: uuid::Uuid::new_v4().to_string().into(),
        })
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Apply every migration not yet applied.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = Migrator {
            migrations: MIGRATIONS
                .iter()
                .map(|(version, name, sql)| {
                    let sql = match (sql, self.backend) {
                        (MigrationSql::Both(sql), _)
                        | (MigrationSql::PostgresOnly(sql), Backend::Postgres) => *sql,
                        (MigrationSql::PostgresOnly(_), Backend::Sqlite) => "SELECT 1",
                        (MigrationSql::PerBackend { sqlite, .. }, Backend::Sqlite) => *sqlite,
                        (MigrationSql::PerBackend { postgres, .. }, Backend::Postgres) => *postgres,
                    };
                    Migration::new(
                        *version,
                        (*name).into(),
                        MigrationType::Simple,
                        sql.into(),
                        false,
                    )
                })
                .collect::<Vec<_>>()
                .into(),
            ..Migrator::DEFAULT
        };
        migrator.run(&self.write).await?;
        Ok(())
    }

    /// Whether the database answers: one `SELECT 1` on a read connection.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    /// Close every connection.
    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }

    /// Start a write transaction.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(Tx::new(
            self.write.begin().await?,
            self.epoch.clone(),
            self.announce.clone(),
        ))
    }

    /// A number that changes whenever any write commits, for caching reads in this process; `None`
    /// while writes could go unseen (on PostgreSQL when [`Store::follow_writes`] is not listening),
    /// when no such cache is safe.
    ///
    /// Take it *before* reading: an entry read at epoch `e` is current exactly while the epoch is
    /// still `e`, because the epoch moves only after a commit has become visible (in this process),
    /// or when another process's commit is announced (PostgreSQL, a few milliseconds after it).
    pub fn read_epoch(&self) -> Option<u64> {
        let epoch = self.epoch.load(Ordering::Acquire);
        self.epoch_follows_writes
            .load(Ordering::Acquire)
            .then_some(epoch)
    }

    pub(crate) fn write_pool(&self) -> &AnyPool {
        &self.write
    }

    pub(crate) fn read_pool(&self) -> &AnyPool {
        &self.read
    }

    /// One object by id.
    pub async fn get<T: Record>(&self, id: &str) -> Result<Option<T>, StoreError> {
        let table = Table::of(T::KIND);
        let sql = format!(
            "SELECT {} FROM {} WHERE id = $1",
            table.column_list(),
            table.name
        );
        match sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.read)
            .await?
        {
            Some(row) => Ok(Some(decode(&row)?)),
            None => Ok(None),
        }
    }

    /// One object by id together with the ids of its children of other kinds, in one query:
    /// `children` names each child kind and the column that points at the parent. The ids of each
    /// child kind come back in creation order.
    pub async fn get_with_children<T: Record>(
        &self,
        id: &str,
        children: &[(Kind, &str)],
    ) -> Result<Option<(T, Vec<Vec<String>>)>, StoreError> {
        let table = Table::of(T::KIND);
        let mut columns = table.column_list();
        for (kind, parent_column) in children {
            let child = Table::of(*kind);
            if child.column(parent_column).is_none() {
                return Err(StoreError::InvalidQuery(format!(
                    "no column {parent_column} in {}",
                    child.name
                )));
            }
            let aggregate = match self.backend {
                Backend::Sqlite => format!(
                    "(SELECT group_concat(id, ',') FROM (SELECT id FROM {} WHERE \"{parent_column}\" = $1 ORDER BY created_at, id))",
                    child.name
                ),
                Backend::Postgres => format!(
                    "(SELECT string_agg(id, ',' ORDER BY created_at, id) FROM {} WHERE \"{parent_column}\" = $1)",
                    child.name
                ),
            };
            columns.push_str(", ");
            columns.push_str(&aggregate);
        }
        let sql = format!("SELECT {columns} FROM {} WHERE id = $1", table.name);
        let Some(row) = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.read)
            .await?
        else {
            return Ok(None);
        };
        let object = decode::<T>(&row)?;
        let ids = (0..children.len())
            .map(|i| {
                let joined: Option<String> = row.try_get(table.columns.len() + i)?;
                Ok(joined
                    .map(|j| j.split(',').map(str::to_owned).collect())
                    .unwrap_or_default())
            })
            .collect::<Result<Vec<Vec<String>>, StoreError>>()?;
        Ok(Some((object, ids)))
    }

    /// A page of objects.
    pub async fn list<T: Record>(&self, query: &ListQuery) -> Result<Vec<T>, StoreError> {
        let table = Table::of(T::KIND);
        let rows = self.list_rows::<T>(query, &table.column_list()).await?;
        rows.iter().map(decode::<T>).collect()
    }

    /// The ids of the objects a list request selects, in its order: what a caller with the
    /// objects' views at hand (a cache) needs of the database.
    pub async fn list_ids<T: Record>(&self, query: &ListQuery) -> Result<Vec<String>, StoreError> {
        let rows = self.list_rows::<T>(query, "id").await?;
        rows.iter()
            .map(|row| row.try_get::<String, _>(0).map_err(StoreError::from))
            .collect()
    }

    /// The rows of `columns` a list request selects, in its order.
    async fn list_rows<T: Record>(
        &self,
        query: &ListQuery,
        columns: &str,
    ) -> Result<Vec<AnyRow>, StoreError> {
        let table = Table::of(T::KIND);
        let marker = match &query.marker {
            Some(id) => {
                let found: Option<T> = self.get(id).await?;
                let found = found.ok_or_else(|| {
                    StoreError::InvalidQuery(format!(
                        "Supplied pagination marker '{id}' is not valid."
                    ))
                })?;
                Some(
                    serde_json::to_value(found).map_err(|e| StoreError::Corrupt {
                        table: table.name,
                        message: e.to_string(),
                    })?,
                )
            }
            None => None,
        };
        let (sql, binds) = build_list(table, query, marker.as_ref(), columns)?;
        let mut q = sqlx::query(&sql);
        for (col, value) in &binds {
            q = crate::record::bind_value(q, *col, value);
        }
        let mut rows = q.fetch_all(&self.read).await?;
        if query.page_reverse {
            rows.reverse();
        }
        Ok(rows)
    }

    /// The objects of one kind among `ids` that exist, in no particular order.
    pub async fn get_many<T: Record>(&self, ids: &[&str]) -> Result<Vec<T>, StoreError> {
        const IDS_PER_STATEMENT: usize = 500;
        let table = Table::of(T::KIND);
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT {} FROM {} WHERE id IN ({})",
                table.column_list(),
                table.name,
                placeholders.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(*id);
            }
            for row in q.fetch_all(&self.read).await? {
                out.push(decode::<T>(&row)?);
            }
        }
        Ok(out)
    }

    /// Objects of one kind whose `column` equals `value` (children of a parent).
    pub async fn children<T: Record>(
        &self,
        column: &str,
        value: &str,
    ) -> Result<Vec<T>, StoreError> {
        select_where(&self.read, column, value).await
    }

    /// Every row of a load balancer's tree, or `None` when the load balancer does not exist.
    pub async fn tree(&self, load_balancer_id: &str) -> Result<Option<Tree>, StoreError> {
        let mut conn = self.read.acquire().await?;
        read_tree(&mut conn, load_balancer_id).await
    }

    /// For each of `keys`, the `value_column` of the objects of `kind` whose `key_column` equals
    /// it, in creation order: the ids of children of many parents in one query.
    pub async fn related(
        &self,
        kind: Kind,
        key_column: &str,
        value_column: &str,
        keys: &[&str],
    ) -> Result<HashMap<String, Vec<String>>, StoreError> {
        let table = Table::of(kind);
        if table.column(key_column).is_none() || table.column(value_column).is_none() {
            return Err(StoreError::InvalidQuery(format!(
                "no column {key_column} or {value_column} in {}",
                table.name
            )));
        }
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        for chunk in keys.chunks(500) {
            // SQLite looks up the name of every numbered parameter as it binds it, a walk of a
            // list that makes a long `IN ($1, ..., $500)` quadratic; anonymous ones skip that.
            let placeholders: Vec<String> = match self.backend {
                Backend::Sqlite => vec!["?".to_string(); chunk.len()],
                Backend::Postgres => (1..=chunk.len()).map(|i| format!("${i}")).collect(),
            };
            let sql = format!(
                "SELECT \"{key_column}\", \"{value_column}\" FROM {} WHERE \"{key_column}\" IN ({}) ORDER BY created_at, id",
                table.name,
                placeholders.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for k in chunk {
                q = q.bind(k.to_string());
            }
            for row in q.fetch_all(&self.read).await? {
                let key: String = row.try_get(0)?;
                let value: Option<String> = row.try_get(1)?;
                if let Some(value) = value {
                    out.entry(key).or_default().push(value);
                }
            }
        }
        Ok(out)
    }

    /// Ids of every load balancer in the store, with their provider.
    pub async fn load_balancer_providers(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query("SELECT id, provider FROM load_balancers")
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    /// How many load balancers of `provider` each placement holds (any status; `None`: stored
    /// without one), for a driver that places new load balancers where the fewest are.
    pub async fn placement_counts(
        &self,
        provider: &str,
    ) -> Result<Vec<(Option<String>, u64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT placement, COUNT(*) FROM load_balancers WHERE provider = $1 GROUP BY placement",
        )
        .bind(provider)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                let count: i64 = r.try_get(1)?;
                Ok((r.try_get(0)?, u64::try_from(count).unwrap_or(0)))
            })
            .collect()
    }

    /// Addresses among `candidates` already used on a subnet: any load balancer's VIP, and the
    /// claimed additional VIPs, in one statement. Asked about one address (as allocation first
    /// asks), it is an index lookup however many load balancers the subnet holds.
    pub async fn used_vip_addresses(
        &self,
        subnet_id: &str,
        candidates: &[String],
    ) -> Result<Vec<String>, StoreError> {
        if candidates.is_empty() {
            return Ok(vec![]);
        }
        let placeholders: Vec<String> = (0..candidates.len())
            .map(|i| format!("${}", i + 2))
            .collect();
        let list = placeholders.join(", ");
        let sql = format!(
            "SELECT vip_address FROM load_balancers WHERE vip_subnet_id = $1 AND vip_address IN ({list}) \
             UNION SELECT ip_address FROM vip_claims WHERE subnet_id = $1 AND ip_address IN ({list})"
        );
        let mut q = sqlx::query(&sql).bind(subnet_id);
        for c in candidates {
            q = q.bind(c.clone());
        }
        let rows = q.fetch_all(&self.read).await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// Counters of one listener (zero when nothing was observed yet).
    pub async fn listener_stats(&self, listener_id: &str) -> Result<Stats, StoreError> {
        let rows = sqlx::query(STATS_SELECT_LISTENER)
            .bind(listener_id)
            .fetch_all(&self.read)
            .await?;
        sum_stats(&rows)
    }

    /// Counters of a load balancer: the sum over its listeners.
    pub async fn load_balancer_stats(&self, load_balancer_id: &str) -> Result<Stats, StoreError> {
        let rows = sqlx::query(STATS_SELECT_TREE)
            .bind(load_balancer_id)
            .fetch_all(&self.read)
            .await?;
        sum_stats(&rows)
    }
}

const STATS_SELECT_LISTENER: &str = "SELECT bytes_in, bytes_out, active_connections, total_connections, request_errors FROM listener_stats WHERE listener_id = $1";
const STATS_SELECT_TREE: &str = "SELECT bytes_in, bytes_out, active_connections, total_connections, request_errors FROM listener_stats WHERE loadbalancer_id = $1";

fn sum_stats(rows: &[sqlx::any::AnyRow]) -> Result<Stats, StoreError> {
    rows.iter().try_fold(Stats::default(), |acc, r| {
        Ok(acc
            + Stats {
                bytes_in: r.try_get(0)?,
                bytes_out: r.try_get(1)?,
                active_connections: r.try_get(2)?,
                total_connections: r.try_get(3)?,
                request_errors: r.try_get(4)?,
            })
    })
}

pub(crate) async fn select_where<'e, T: Record, E>(
    executor: E,
    column: &str,
    value: &str,
) -> Result<Vec<T>, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let table = Table::of(T::KIND);
    if table.column(column).is_none() {
        return Err(StoreError::InvalidQuery(format!(
            "no column {column} in {}",
            table.name
        )));
    }
    let sql = format!(
        "SELECT {} FROM {} WHERE \"{column}\" = $1 ORDER BY created_at, id",
        table.column_list(),
        table.name
    );
    let rows = sqlx::query(&sql).bind(value).fetch_all(executor).await?;
    rows.iter().map(decode::<T>).collect()
}

/// Read a whole tree: the load balancer row with a count of each child kind and the metadata of
/// its flavor and zone in one query, then only the child tables that hold rows (a fresh load
/// balancer costs one query, not seven).
pub(crate) async fn read_tree(
    conn: &mut sqlx::AnyConnection,
    load_balancer_id: &str,
) -> Result<Option<Tree>, StoreError> {
    const CHILDREN: [Kind; 6] = [
        Kind::Listener,
        Kind::Pool,
        Kind::Member,
        Kind::HealthMonitor,
        Kind::L7Policy,
        Kind::L7Rule,
    ];
    let table = Table::of(Kind::LoadBalancer);
    let counts: Vec<String> = CHILDREN
        .iter()
        .map(|k| {
            format!(
                "(SELECT COUNT(*) FROM {} WHERE loadbalancer_id = $1)",
                Table::of(*k).name
            )
        })
        .collect();
    let sql = format!(
        "SELECT {}, {}, {} FROM {} WHERE id = $1",
        table.column_list(),
        counts.join(", "),
        metadata_subqueries(),
        table.name
    );
    let Some(row) = sqlx::query(&sql)
        .bind(load_balancer_id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let load_balancer = decode(&row)?;
    let mut has = [false; 6];
    for (i, slot) in has.iter_mut().enumerate() {
        *slot = row.try_get::<i64, _>(table.columns.len() + i)? > 0;
    }
    let metadata_at = table.columns.len() + CHILDREN.len();
    let metadata = resolve_metadata(
        &load_balancer,
        row.try_get(metadata_at)?,
        row.try_get(metadata_at + 1)?,
    );
    async fn rows<T: Record>(
        conn: &mut sqlx::AnyConnection,
        present: bool,
        id: &str,
    ) -> Result<Vec<T>, StoreError> {
        if present {
            select_where(conn, "loadbalancer_id", id).await
        } else {
            Ok(Vec::new())
        }
    }
    let id = load_balancer_id;
    Ok(Some(Tree {
        rows: fulcrum_core::driver::LoadBalancerGraph {
            load_balancer,
            listeners: rows(conn, has[0], id).await?,
            pools: rows(conn, has[1], id).await?,
            members: rows(conn, has[2], id).await?,
            health_monitors: rows(conn, has[3], id).await?,
            l7policies: rows(conn, has[4], id).await?,
            l7rules: rows(conn, has[5], id).await?,
            flavor_metadata: metadata.flavor,
            availability_zone_metadata: metadata.availability_zone,
        },
        metadata_warnings: metadata.warnings,
    }))
}
