//! What management's listings share: a `limit` checked the same way everywhere, and a `SELECT`
//! narrowed by the columns a query names (`$n` placeholders, which SQLite and PostgreSQL both
//! take).

use fulcrum_store::ModuleDb;
use sqlx::any::AnyRow;

use crate::error::{ManagementError, ManagementResult};

/// The `limit` of a listing: 100 when absent, refused outside 1 to 1000.
pub fn limit(asked: Option<i64>) -> ManagementResult<i64> {
    let limit = asked.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ManagementError::BadRequest(
            "limit must be between 1 and 1000.".to_owned(),
        ));
    }
    Ok(limit)
}

/// The rows of `select` (a `SELECT ... FROM table`) whose columns equal the values given
/// (columns without a value are not filtered), in `order_by` order, at most `limit`.
pub async fn select_equal(
    db: &ModuleDb,
    select: &str,
    filters: &[(&str, Option<&String>)],
    order_by: &str,
    limit: i64,
) -> ManagementResult<Vec<AnyRow>> {
    let mut sql = format!("{select} WHERE 1 = 1");
    let mut values = Vec::new();
    for (column, value) in filters {
        if let Some(value) = value {
            values.push(*value);
            sql.push_str(&format!(" AND {column} = ${}", values.len()));
        }
    }
    sql.push_str(&format!(" ORDER BY {order_by} LIMIT ${}", values.len() + 1));
    let mut statement = sqlx::query(&sql);
    for value in values {
        statement = statement.bind(value);
    }
    Ok(statement.bind(limit).fetch_all(db.reader()).await?)
}
