//! The check that every process on one database seals with one key.
//!
//! Device passwords and license keys are sealed with the key of the process that stored them
//! ([`SecretBox`]), and any replica may later have to open them. A replica left with a key of
//! its own (the default key file is created per host) would seal secrets the others cannot open
//! and fail, device by device, long after it started. So the first process to open the module
//! on a database stores a known text sealed under its key (`mgmt_secret_key_check`), and every
//! process opening the module afterwards must open that value with its own key, or it refuses
//! to start, saying how to share the key.

use fulcrum_store::ModuleDb;
use sqlx::Row;

use crate::error::ManagementResult;
use crate::secrets::{SecretBox, SecretError};

/// The text sealed as the check value.
const CHECK_TEXT: &str = "fulcrum management secret key check";

/// Store the check value sealed with `secrets` if the database has none, then make sure
/// `secrets` opens the stored one: [`SecretError::NotTheSharedKey`] when it does not.
pub async fn verify_shared_key(db: &ModuleDb, secrets: &SecretBox) -> ManagementResult<()> {
    sqlx::query(
        "INSERT INTO mgmt_secret_key_check (id, sealed, created_ms) VALUES (1, $1, $2) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(secrets.seal(CHECK_TEXT))
    .bind(fulcrum_core::timestamp::now_millis())
    .execute(db.writer())
    .await?;
    let row = sqlx::query("SELECT sealed FROM mgmt_secret_key_check WHERE id = 1")
        .fetch_one(db.writer())
        .await?;
    let sealed: String = row.try_get("sealed")?;
    match secrets.open(&sealed) {
        Ok(text) if text == CHECK_TEXT => Ok(()),
        _ => Err(SecretError::NotTheSharedKey {
            origin: secrets.origin().to_owned(),
        }
        .into()),
    }
}
