//! [`StoreError`]: what the store boundary can fail with.

use fulcrum_core::Error;

/// A failure of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed or could not be reached.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A list query was malformed; the text is Octavia's message for the client.
    #[error("{0}")]
    InvalidQuery(String),
    /// A unique constraint refused a write.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A stored row could not be read back into its type (a bug or a foreign write).
    #[error("corrupt row in {table}: {message}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// What was wrong.
        message: String,
    },
}

impl StoreError {
    pub(crate) fn from_write(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(db.message().to_string())
            }
            _ => StoreError::Database(err),
        }
    }
}

/// PostgreSQL's SQLSTATE for text it cannot hold (`character_not_in_repertoire`: a NUL).
const UNSTORABLE_TEXT: &str = "22021";

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::InvalidQuery(msg) => Error::InvalidInput(msg),
            StoreError::Conflict(msg) => Error::Conflict(msg),
            // The API keeps such text away from the database; should some reach it, it is still
            // the client's input, not Fulcrum's fault.
            StoreError::Database(sqlx::Error::Database(db))
                if db.code().as_deref() == Some(UNSTORABLE_TEXT) =>
            {
                Error::InvalidInput("Invalid input: text must not contain the NUL character".into())
            }
            other => Error::Internal(other.to_string()),
        }
    }
}
