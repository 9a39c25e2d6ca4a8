//! The databases store tests run on: a fresh SQLite file, or a fresh PostgreSQL database on
//! 127.0.0.1:5432 dropped afterwards, each migrated.

use std::future::Future;
use std::process::Command;

use fulcrum_store::{Store, StoreOptions};

fn psql(sql: &str) {
    let out = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres"])
        .args(["-v", "ON_ERROR_STOP=1", "-qc", sql])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A PostgreSQL database dropped with it.
struct PostgresDb(String);

impl Drop for PostgresDb {
    fn drop(&mut self) {
        psql(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.0));
    }
}

async fn connect(url: String) -> Store {
    let store = Store::connect(&StoreOptions {
        url,
        max_connections: 4,
    })
    .await
    .unwrap();
    store.migrate().await.unwrap();
    store
}

/// Run `test` on a store on a fresh SQLite file.
pub async fn on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    test(connect(url).await).await;
}

/// Run `test` on a store on a fresh PostgreSQL database, dropped afterwards.
pub async fn on_postgres<F, Fut>(test: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let db = PostgresDb(format!("fulcrum_store_{}", uuid::Uuid::new_v4().simple()));
    psql(&format!("CREATE DATABASE {}", db.0));
    let store = connect(format!("postgres://postgres@127.0.0.1:5432/{}", db.0)).await;
    test(store.clone()).await;
    store.close().await;
}
