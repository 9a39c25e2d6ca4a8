//! The operator catalog: flavor profiles, flavors, availability zone profiles and availability
//! zones. These rows belong to no load balancer tree, carry no status and are keyed by id (zones
//! by name), so they have their own small [`CatalogRecord`] mapping next to [`crate::Record`],
//! reusing its row encoding and the list builder.

use fulcrum_core::model::LoadBalancer;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
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
        let (sql, binds) = build_list(table, query, marker.as_ref(), &table.column_list())?;
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

/// The provider metadata a load balancer's flavor and zone resolve to, as read with its row.
#[derive(Debug)]
pub(crate) struct ResolvedMetadata {
    /// `flavor_data` of its flavor's profile.
    pub flavor: Map<String, Value>,
    /// `availability_zone_data` of its zone's profile.
    pub availability_zone: Map<String, Value>,
    /// What could not be resolved, for whoever applies the tree to say.
    pub warnings: Vec<String>,
}

/// Two scalar subqueries to select next to a `load_balancers` row: the `flavor_data` of its
/// flavor's profile and the `availability_zone_data` of its zone's profile, each NULL when the
/// load balancer names none, when a row on the way is gone, or when the profile belongs to another
/// provider than the load balancer's (its driver never validated that metadata). Both are index
/// lookups by key, so a load balancer without flavor or zone pays next to nothing.
pub(crate) fn metadata_subqueries() -> String {
    format!(
        "(SELECT p.flavor_data FROM {flavors} f JOIN {profiles} p ON p.id = f.flavor_profile_id \
         WHERE f.id = load_balancers.flavor_id AND p.provider_name = load_balancers.provider), \
         (SELECT p.availability_zone_data FROM {zones} z JOIN {zone_profiles} p \
         ON p.id = z.availability_zone_profile_id \
         WHERE z.name = load_balancers.availability_zone \
         AND p.provider_name = load_balancers.provider)",
        flavors = FLAVORS.name,
        profiles = FLAVOR_PROFILES.name,
        zones = AZS.name,
        zone_profiles = AZ_PROFILES.name,
    )
}

/// Decode what [`metadata_subqueries`] selected for `load_balancer`.
pub(crate) fn resolve_metadata(
    load_balancer: &LoadBalancer,
    flavor_data: Option<String>,
    zone_data: Option<String>,
) -> ResolvedMetadata {
    let mut warnings = Vec::new();
    let flavor = metadata_object(
        "flavor",
        load_balancer.flavor_id.as_deref(),
        flavor_data,
        &load_balancer.provider,
        &mut warnings,
    );
    let availability_zone = metadata_object(
        "availability zone",
        load_balancer.availability_zone.as_deref(),
        zone_data,
        &load_balancer.provider,
        &mut warnings,
    );
    ResolvedMetadata {
        flavor,
        availability_zone,
        warnings,
    }
}

/// The metadata object of the flavor or zone `named` (empty when none is named); a warning when a
/// named one did not resolve to a JSON object.
fn metadata_object(
    what: &str,
    named: Option<&str>,
    text: Option<String>,
    provider: &str,
    warnings: &mut Vec<String>,
) -> Map<String, Value> {
    let Some(name) = named else {
        return Map::new();
    };
    let problem = match text.as_deref().map(serde_json::from_str::<Value>) {
        Some(Ok(Value::Object(map))) => return map,
        Some(_) => format!("the profile of {what} {name} does not hold a JSON object"),
        None => format!(
            "{what} {name} or its profile no longer exists, or the profile is not for provider \
             '{provider}'"
        ),
    };
    warnings.push(format!("{problem}; applying without {what} metadata"));
    Map::new()
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

#[cfg(test)]
mod tests {
    use fulcrum_core::model::{OperatingStatus, ProvisioningStatus};
    use serde_json::json;

    use super::*;
    use crate::StoreOptions;

    async fn store(dir: &std::path::Path) -> Store {
        let url = format!("sqlite://{}", dir.join("catalog.db").display());
        let store = Store::connect(&StoreOptions {
            url,
            max_connections: 2,
        })
        .await
        .unwrap();
        store.migrate().await.unwrap();
        store
    }

    fn load_balancer(
        id: &str,
        vip: &str,
        provider: &str,
        flavor: Option<&str>,
        zone: Option<&str>,
    ) -> LoadBalancer {
        LoadBalancer {
            id: id.into(),
            project_id: None,
            name: None,
            description: None,
            admin_state_up: true,
            provisioning_status: ProvisioningStatus::Active,
            operating_status: OperatingStatus::Online,
            vip_address: vip.into(),
            vip_port_id: "port".into(),
            vip_subnet_id: "subnet".into(),
            vip_network_id: "net".into(),
            vip_qos_policy_id: None,
            vip_router_id: None,
            placement: None,
            additional_vips: vec![],
            provider: provider.into(),
            flavor_id: flavor.map(Into::into),
            availability_zone: zone.map(Into::into),
            tags: vec![],
            created_at: "2024-01-01T00:00:00".into(),
            updated_at: None,
        }
    }

    /// A haproxy flavor `f1` with `{"nbthread": 2}`, a haproxy zone `az1` with `{"rack": "r1"}`,
    /// and load balancers: `with` (both), `plain` (neither), `other` (a noop one naming both).
    async fn seed(store: &Store) {
        let mut tx = store.begin().await.unwrap();
        tx.catalog_insert(&FlavorProfile {
            id: "fp1".into(),
            name: "fp".into(),
            provider_name: "haproxy".into(),
            flavor_data: "{\"nbthread\": 2}".into(),
            created_at: "t".into(),
        })
        .await
        .unwrap();
        tx.catalog_insert(&Flavor {
            id: "f1".into(),
            name: "gold".into(),
            description: None,
            enabled: true,
            flavor_profile_id: "fp1".into(),
            created_at: "t".into(),
        })
        .await
        .unwrap();
        tx.catalog_insert(&AvailabilityZoneProfile {
            id: "azp1".into(),
            name: "azp".into(),
            provider_name: "haproxy".into(),
            availability_zone_data: "{\"rack\": \"r1\"}".into(),
            created_at: "t".into(),
        })
        .await
        .unwrap();
        tx.catalog_insert(&AvailabilityZone {
            name: "az1".into(),
            description: None,
            enabled: true,
            availability_zone_profile_id: "azp1".into(),
            created_at: "t".into(),
        })
        .await
        .unwrap();
        for lb in [
            load_balancer("with", "127.0.10.5", "haproxy", Some("f1"), Some("az1")),
            load_balancer("plain", "127.0.10.6", "haproxy", None, None),
            load_balancer("other", "127.0.10.7", "noop", Some("f1"), Some("az1")),
        ] {
            tx.insert(&lb).await.unwrap();
        }
        tx.commit().await.unwrap();
    }

    #[tokio::test]
    async fn a_tree_carries_the_metadata_of_its_flavor_and_zone() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path()).await;
        seed(&store).await;

        let tree = store.tree("with").await.unwrap().unwrap();
        assert!(
            tree.metadata_warnings.is_empty(),
            "{:?}",
            tree.metadata_warnings
        );
        let desired = tree.desired();
        assert_eq!(
            Value::Object(desired.flavor_metadata),
            json!({"nbthread": 2})
        );
        assert_eq!(
            Value::Object(desired.availability_zone_metadata),
            json!({"rack": "r1"})
        );

        let plain = store.tree("plain").await.unwrap().unwrap();
        assert!(plain.metadata_warnings.is_empty());
        assert!(plain.rows.flavor_metadata.is_empty());
        assert!(plain.rows.availability_zone_metadata.is_empty());
    }

    #[tokio::test]
    async fn metadata_of_another_provider_or_of_deleted_rows_is_left_out_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path()).await;
        seed(&store).await;

        let other = store.tree("other").await.unwrap().unwrap();
        assert!(other.rows.flavor_metadata.is_empty());
        assert!(other.rows.availability_zone_metadata.is_empty());
        assert_eq!(
            other.metadata_warnings.len(),
            2,
            "{:?}",
            other.metadata_warnings
        );
        assert!(
            other.metadata_warnings[0].contains("flavor f1")
                && other.metadata_warnings[0].contains("not for provider 'noop'"),
            "{:?}",
            other.metadata_warnings
        );

        // Rows removed behind the API's back (it refuses to delete what is in use).
        let mut tx = store.begin().await.unwrap();
        assert!(tx.catalog_delete::<Flavor>("f1").await.unwrap());
        tx.commit().await.unwrap();
        let tree = store.tree("with").await.unwrap().unwrap();
        assert!(tree.rows.flavor_metadata.is_empty());
        assert_eq!(
            Value::Object(tree.rows.availability_zone_metadata.clone()),
            json!({"rack": "r1"})
        );
        assert_eq!(
            tree.metadata_warnings,
            [
                "flavor f1 or its profile no longer exists, or the profile is not for provider \
              'haproxy'; applying without flavor metadata"
            ]
        );
    }
}
