//! A module's own tables: its migrations apply once each, in order, in their own transactions,
//! recorded under the module's name; on SQLite and on PostgreSQL.

mod common;

use common::{on_postgres, on_sqlite};
use fulcrum_store::{ModuleMigration, Store};
use sqlx::Row;

const FIRST: ModuleMigration = ModuleMigration {
    version: 1,
    name: "things",
    sql: "CREATE TABLE mod_things (id TEXT PRIMARY KEY); INSERT INTO mod_things (id) VALUES ('a');",
};
const SECOND: ModuleMigration = ModuleMigration {
    version: 2,
    name: "more",
    sql: "INSERT INTO mod_things (id) VALUES ('b');",
};

async fn things(store: &Store) -> Vec<String> {
    sqlx::query("SELECT id FROM mod_things ORDER BY id")
        .fetch_all(store.module_db("m").reader())
        .await
        .unwrap()
        .iter()
        .map(|row| row.get::<String, _>(0))
        .collect()
}

async fn migrations_apply_once_in_version_order(store: Store) {
    let db = store.module_db("m");
    db.migrate(&[SECOND, FIRST]).await.unwrap();
    db.migrate(&[FIRST, SECOND]).await.unwrap();
    assert_eq!(things(&store).await, ["a", "b"]);
    assert_eq!(db.applied_versions().await.unwrap(), [1, 2]);
    assert!(
        store
            .module_db("other")
            .applied_versions()
            .await
            .unwrap()
            .is_empty(),
        "versions are recorded per module"
    );
}

async fn a_failed_migration_leaves_nothing_and_is_tried_again(store: Store) {
    let db = store.module_db("m");
    let broken = ModuleMigration {
        version: 3,
        name: "broken",
        sql: "INSERT INTO mod_things (id) VALUES ('c'); INSERT INTO no_such_table VALUES (1);",
    };
    db.migrate(&[FIRST]).await.unwrap();
    let error = db.migrate(&[FIRST, broken]).await.unwrap_err();
    assert!(
        error.to_string().contains("migration 3 (broken) of m"),
        "{error}"
    );
    assert_eq!(
        things(&store).await,
        ["a"],
        "the failed migration's insert is rolled back"
    );
    assert_eq!(db.applied_versions().await.unwrap(), [1]);
    let fixed = ModuleMigration {
        sql: "INSERT INTO mod_things (id) VALUES ('c');",
        ..broken
    };
    db.migrate(&[FIRST, fixed]).await.unwrap();
    assert_eq!(things(&store).await, ["a", "c"]);
}

#[tokio::test]
async fn migrations_apply_once_in_version_order_sqlite() {
    on_sqlite(migrations_apply_once_in_version_order).await;
}

#[tokio::test]
async fn migrations_apply_once_in_version_order_postgres() {
    on_postgres(migrations_apply_once_in_version_order).await;
}

#[tokio::test]
async fn a_failed_migration_leaves_nothing_and_is_tried_again_sqlite() {
    on_sqlite(a_failed_migration_leaves_nothing_and_is_tried_again).await;
}

#[tokio::test]
async fn a_failed_migration_leaves_nothing_and_is_tried_again_postgres() {
    on_postgres(a_failed_migration_leaves_nothing_and_is_tried_again).await;
}
