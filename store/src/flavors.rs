//! The operator catalog: flavor profiles, flavors, availability zone profiles and availability
//! zones. These rows belong to no load balancer tree, carry no status and are keyed by id (zones
//! by name), so they have their own small [`CatalogRecord`] mapping next to [`crate::Record`],
//! reusing its row encoding and the list builder.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::list::{ListQuery, build_list};
use crate::record::{bind_row, bind_value, decode_row};
use crate::table::{Col, Table};
use crate::{Store, StoreError, Tx};

/// Provider metadata a flavor points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlavorProfile {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// The provider whose driver validated the metadata.
    pub provider_name: String,
    /// The metadata, as the JSON text the client sent.
    pub flavor_data: String,
    /// Creation time (orders lists; not shown by the API).
    pub created_at: String,
}

/// A flavor: an operator-defined load balancer type users select by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flavor {
    /// Id.
    pub id: String,
    /// Name (unique).
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Whether new load balancers may select it.
    pub enabled: bool,
    /// Its profile.
    pub flavor_profile_id: String,
    /// Creation time (orders lists; not shown by the API).
    pub created_at: String,
}

/// Provider metadata an availability zone points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvailabilityZoneProfile {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// The provider whose driver validated the metadata.
    pub provider_name: String,
    /// The metadata, as the JSON text the client sent.
    pub availability_zone_data: String,
    /// Creation time (orders lists; not shown by the API).
    pub created_at: String,
}

/// An availability zone, keyed by its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvailabilityZone {
    /// Name (the key).
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Whether new load balancers may select it.
    pub enabled: bool,
    /// Its profile.
    pub availability_zone_profile_id: String,
    /// Creation time (orders lists; not shown by the API).
    pub created_at: String,
}

/// Which catalog table a row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Catalog {
    /// `flavor_profiles`.
    FlavorProfile,
    /// `flavors`.
    Flavor,
    /// `availability_zone_profiles`.
    AvailabilityZoneProfile,
    /// `availability_zones`.
    AvailabilityZone,
}

use Col::{Bool, Text};

static FLAVOR_PROFILES: Table = Table {
    name: "flavor_profiles",
    tree_column: "id",
    key: "id",
    columns: &[
        ("id", Text),
        ("name", Text),
        ("provider_name", Text),
        ("flavor_data", Text),
        ("created_at", Text),
    ],
};

static FLAVORS: Table = Table {
    name: "flavors",
    tree_column: "id",
    key: "id",
    columns: &[
        ("id", Text),
        ("name", Text),
        ("description", Text),
        ("enabled", Bool),
        ("flavor_profile_id", Text),
        ("created_at", Text),
    ],
};

static AZ_PROFILES: Table = Table {
    name: "availability_zone_profiles",
    tree_column: "id",
    key: "id",
    columns: &[
        ("id", Text),
        ("name", Text),
        ("provider_name", Text),
        ("availability_zone_data", Text),
        ("created_at", Text),
    ],
};

static AZS: Table = Table {
    name: "availability_zones",
    tree_column: "name",
    key: "name",
    columns: &[
        ("name", Text),
        ("description", Text),
        ("enabled", Bool),
        ("availability_zone_profile_id", Text),
        ("created_at", Text),
    ],
};

impl Catalog {
    fn table(self) -> &'static Table {
        match self {
            Catalog::FlavorProfile => &FLAVOR_PROFILES,
            Catalog::Flavor => &FLAVORS,
            Catalog::AvailabilityZoneProfile => &AZ_PROFILES,
            Catalog::AvailabilityZone => &AZS,
        }
    }

    /// Whether `field` can be filtered or sorted on.
    pub fn is_scalar_field(self, field: &str) -> bool {
        self.table().column(field).is_some()
    }
}

/// A row of a catalog table.
pub trait CatalogRecord: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static {
    /// Its table.
    const CATALOG: Catalog;
    /// Its key (id, or name for zones).
    fn key(&self) -> &str;
}

macro_rules! catalog_record {
    ($ty:ty, $catalog:expr, $key:ident) => {
        impl CatalogRecord for $ty {
            const CATALOG: Catalog = $catalog;
            fn key(&self) -> &str {
                &self.$key
            }
        }
    };
}

catalog_record!(FlavorProfile, Catalog::FlavorProfile, id);
catalog_record!(Flavor, Catalog::Flavor, id);
catalog_record!(
    AvailabilityZoneProfile,
    Catalog::AvailabilityZoneProfile,
    id
);
catalog_record!(AvailabilityZone, Catalog::AvailabilityZone, name);

fn select_by_key(table: &Table) -> String {
    format!(
        "SELECT {} FROM {} WHERE \"{}\" = $1",
        table.column_list(),
        table.name,
        table.key
    )
}

async fn fetch_one<'e, T, E>(executor: E, key: &str) -> Result<Option<T>, StoreError>
where
    T: CatalogRecord,
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let table = T::CATALOG.table();
    let row = sqlx::query(&select_by_key(table))
        .bind(key.to_owned())
        .fetch_optional(executor)
        .await?;
    row.map(|r| decode_row(table, &r)).transpose()
}

impl Store {
    /// One catalog row by key.
    pub async fn catalog_get<T: CatalogRecord>(&self, key: &str) -> Result<Option<T>, StoreError> {
        fetch_one(self.read_pool(), key).await
    }

    /// A page of catalog rows (filters, sort and a marker naming a key).
    pub async fn catalog_list<T: CatalogRecord>(
        &self,
        query: &ListQuery,
    ) -> Result<Vec<T>, StoreError> {
        let table = T::CATALOG.table();
        let marker = match &query.marker {
            Some(key) => {
                let found: T = self.catalog_get(key).await?.ok_or_else(|| {
                    StoreError::InvalidQuery(format!(
                        "Supplied pagination marker '{key}' is not valid."
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
        let (sql, binds) = build_list(table, query, marker.as_ref())?;
        let mut q = sqlx::query(&sql);
        for (col, value) in &binds {
            q = bind_value(q, *col, value);
        }
        let rows = q.fetch_all(self.read_pool()).await?;
        let mut out = rows
            .iter()
            .map(|r| decode_row(table, r))
            .collect::<Result<Vec<T>, _>>()?;
        if query.page_reverse {
            out.reverse();
        }
        Ok(out)
    }
}

impl Tx {
    /// One catalog row by key, inside the transaction.
    pub async fn catalog_get<T: CatalogRecord>(
        &mut self,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        fetch_one(self.conn(), key).await
    }

    /// Store a new catalog row; a duplicate key or unique name is a [`StoreError::Conflict`].
    pub async fn catalog_insert<T: CatalogRecord>(&mut self, row: &T) -> Result<(), StoreError> {
        let table = T::CATALOG.table();
        let placeholders: Vec<String> =
            (1..=table.columns.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            table.name,
            table.column_list(),
            placeholders.join(", ")
        );
        bind_row(sqlx::query(&sql), table, row)?
            .execute(self.conn())
            .await
            .map_err(StoreError::from_write)?;
        Ok(())
    }

    /// Overwrite a stored catalog row.
    pub async fn catalog_update<T: CatalogRecord>(&mut self, row: &T) -> Result<(), StoreError> {
        let table = T::CATALOG.table();
        let sets: Vec<String> = table
            .columns
            .iter()
            .enumerate()
            .map(|(i, (n, _))| format!("\"{n}\" = ${}", i + 1))
            .collect();
        let sql = format!(
            "UPDATE {} SET {} WHERE \"{}\" = ${}",
            table.name,
            sets.join(", "),
            table.key,
            table.columns.len() + 1
        );
        bind_row(sqlx::query(&sql), table, row)?
            .bind(row.key().to_owned())
            .execute(self.conn())
            .await
            .map_err(StoreError::from_write)?;
        Ok(())
    }

    /// Delete a catalog row; whether it existed.
    pub async fn catalog_delete<T: CatalogRecord>(
        &mut self,
        key: &str,
    ) -> Result<bool, StoreError> {
        let table = T::CATALOG.table();
        let sql = format!("DELETE FROM {} WHERE \"{}\" = $1", table.name, table.key);
        let done = sqlx::query(&sql)
            .bind(key.to_owned())
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// How many catalog rows of `T` have `column` equal to `value` (flavors of a profile).
    pub async fn catalog_count<T: CatalogRecord>(
        &mut self,
        column: &str,
        value: &str,
    ) -> Result<i64, StoreError> {
        count_where(self, T::CATALOG.table(), column, value).await
    }

    /// How many load balancers name a flavor (`column` = `flavor_id`) or a zone
    /// (`availability_zone`).
    pub async fn load_balancers_with(
        &mut self,
        column: &str,
        value: &str,
    ) -> Result<i64, StoreError> {
        let table = Table::of(fulcrum_core::model::Kind::LoadBalancer);
        count_where(self, table, column, value).await
    }
}

async fn count_where(
    tx: &mut Tx,
    table: &Table,
    column: &str,
    value: &str,
) -> Result<i64, StoreError> {
    if table.column(column).is_none() {
        return Err(StoreError::InvalidQuery(format!(
            "no column {column} in {}",
            table.name
        )));
    }
    let sql = format!(
        "SELECT COUNT(*) FROM {} WHERE \"{column}\" = $1",
        table.name
    );
    let row = sqlx::query(&sql)
        .bind(value.to_owned())
        .fetch_one(tx.conn())
        .await?;
    Ok(row.try_get(0)?)
}
