//! List queries: Octavia's filtering, tag filters, sorting and keyset (marker) paging, turned into
//! one SQL statement that runs unchanged on SQLite and PostgreSQL.

use serde_json::Value;

use crate::StoreError;
use crate::table::{Col, Table};

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortDir {
    /// Ascending.
    Asc,
    /// Descending.
    Desc,
}

/// Octavia's four tag filters; each holds the tags it names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagFilter {
    /// `tags`: objects having all of these.
    pub all: Vec<String>,
    /// `tags-any`: objects having at least one of these.
    pub any: Vec<String>,
    /// `not-tags`: objects not having all of these.
    pub not_all: Vec<String>,
    /// `not-tags-any`: objects having none of these.
    pub not_any: Vec<String>,
}

/// A list request against one table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListQuery {
    /// Equality filters: field name and its value as given in the query string.
    pub filters: Vec<(String, String)>,
    /// Tag filters.
    pub tags: TagFilter,
    /// Sort keys; `created_at` and `id` ascending are appended when absent.
    pub sort: Vec<(String, SortDir)>,
    /// Page size; `None` for no limit.
    pub limit: Option<u64>,
    /// Id of the last object of the previous page.
    pub marker: Option<String>,
    /// Page backwards from the marker.
    pub page_reverse: bool,
}

impl ListQuery {
    /// Whether `field` can be filtered or sorted on for a kind's table.
    pub fn is_scalar_field(kind: fulcrum_core::model::Kind, field: &str) -> bool {
        matches!(
            Table::of(kind).column(field),
            Some(Col::Text | Col::Int | Col::Bool)
        )
    }
}

/// Parse Octavia's boolean strings.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" | "y" | "on" | "1" => Some(true),
        "false" | "f" | "no" | "n" | "off" | "0" => Some(false),
        _ => None,
    }
}

fn invalid_filter() -> StoreError {
    StoreError::InvalidQuery("One or more arguments are either duplicate or invalid".into())
}

/// Columns every row sets (`NOT NULL` in every table): sorted and compared as they are, so that
/// the `(created_at, id)` indexes serve the default order and its keyset paging.
const ALWAYS_SET: [&str; 2] = ["id", "created_at"];

/// The expression a column is sorted and compared by: nulls sort as `''` or `0`, as Octavia's
/// do, except in columns that are never null, which stay bare so that an index can serve them.
fn sort_expr(name: &str, col: Col) -> String {
    match col {
        _ if ALWAYS_SET.contains(&name) => format!("\"{name}\""),
        Col::Text => format!("COALESCE(\"{name}\", '')"),
        _ => format!("COALESCE(\"{name}\", 0)"),
    }
}

fn marker_value(col: Col, value: &Value) -> Value {
    match (col, value) {
        (Col::Text, Value::Null) => Value::String(String::new()),
        (_, Value::Null) => Value::from(0),
        (Col::Bool, Value::Bool(b)) => Value::from(i64::from(*b)),
        (_, v) => v.clone(),
    }
}

/// Build the statement selecting `columns` (a column list) and its bind values (each with the
/// encoding to bind it with).
pub(crate) fn build_list(
    table: &Table,
    query: &ListQuery,
    marker: Option<&Value>,
    columns: &str,
) -> Result<(String, Vec<(Col, Value)>), StoreError> {
    let mut binds: Vec<(Col, Value)> = Vec::new();
    let mut conds: Vec<String> = Vec::new();
    let next = |binds: &mut Vec<(Col, Value)>, col: Col, v: Value| -> String {
        binds.push((col, v));
        format!("${}", binds.len())
    };

    for (name, text) in &query.filters {
        let col = match table.column(name) {
            Some(c @ (Col::Text | Col::Int | Col::Bool)) => c,
            _ => return Err(invalid_filter()),
        };
        let value = match col {
            Col::Text => Value::String(text.clone()),
            Col::Int => Value::from(text.parse::<i64>().map_err(|_| invalid_filter())?),
            _ => Value::Bool(parse_bool(text).ok_or_else(invalid_filter)?),
        };
        let p = next(&mut binds, col, value);
        conds.push(format!("\"{name}\" = {p}"));
    }

    let tag_set = |binds: &mut Vec<(Col, Value)>, tags: &[String]| -> String {
        tags.iter()
            .map(|t| next(binds, Col::Text, Value::String(t.clone())))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let t = &query.tags;
    if !t.all.is_empty() {
        let set = tag_set(&mut binds, &t.all);
        conds.push(format!(
            "id IN (SELECT resource_id FROM tags WHERE tag IN ({set}) GROUP BY resource_id HAVING COUNT(*) = {})",
            t.all.len()
        ));
    }
    if !t.any.is_empty() {
        let set = tag_set(&mut binds, &t.any);
        conds.push(format!(
            "id IN (SELECT resource_id FROM tags WHERE tag IN ({set}))"
        ));
    }
    if !t.not_all.is_empty() {
        let set = tag_set(&mut binds, &t.not_all);
        conds.push(format!(
            "id NOT IN (SELECT resource_id FROM tags WHERE tag IN ({set}) GROUP BY resource_id HAVING COUNT(*) = {})",
            t.not_all.len()
        ));
    }
    if !t.not_any.is_empty() {
        let set = tag_set(&mut binds, &t.not_any);
        conds.push(format!(
            "id NOT IN (SELECT resource_id FROM tags WHERE tag IN ({set}))"
        ));
    }

    let mut sort: Vec<(String, SortDir, Col)> = Vec::new();
    for (name, dir) in &query.sort {
        let col = match table.column(name) {
            Some(c @ (Col::Text | Col::Int | Col::Bool)) => c,
            _ => {
                return Err(StoreError::InvalidQuery(format!(
                    "Supplied sort key '{name}' is not valid."
                )));
            }
        };
        sort.push((name.clone(), *dir, col));
    }
    for default in ["created_at", table.key] {
        if !sort.iter().any(|(n, _, _)| n == default) {
            sort.push((default.into(), SortDir::Asc, Col::Text));
        }
    }

    let one_direction = sort.iter().all(|(_, dir, _)| *dir == sort[0].1);
    let all_set = sort
        .iter()
        .all(|(name, _, _)| ALWAYS_SET.contains(&name.as_str()));
    if let Some(Value::Object(marker)) = marker
        && one_direction
        && all_set
    {
        // Keyset condition on never-null keys in one direction (the default order among them):
        // one row-value comparison, which the `(created_at, id)` indexes answer directly.
        let forward = (sort[0].1 == SortDir::Asc) != query.page_reverse;
        let mut columns = Vec::new();
        let mut values = Vec::new();
        for (name, _, col) in &sort {
            let v = marker_value(*col, marker.get(name).unwrap_or(&Value::Null));
            values.push(next(&mut binds, bind_col(*col), v));
            columns.push(sort_expr(name, *col));
        }
        conds.push(format!(
            "({}) {} ({})",
            columns.join(", "),
            if forward { ">" } else { "<" },
            values.join(", ")
        ));
    } else if let Some(Value::Object(marker)) = marker {
        // Keyset condition: rows strictly after (or, paging back, before) the marker in sort order.
        let mut alternatives = Vec::new();
        for i in 0..sort.len() {
            let mut parts = Vec::new();
            for (name, _, col) in &sort[..i] {
                let v = marker_value(*col, marker.get(name).unwrap_or(&Value::Null));
                let p = next(&mut binds, bind_col(*col), v);
                parts.push(format!("{} = {p}", sort_expr(name, *col)));
            }
            let (name, dir, col) = &sort[i];
            let forward = (*dir == SortDir::Asc) != query.page_reverse;
            let v = marker_value(*col, marker.get(name).unwrap_or(&Value::Null));
            let p = next(&mut binds, bind_col(*col), v);
            parts.push(format!(
                "{} {} {p}",
                sort_expr(name, *col),
                if forward { ">" } else { "<" }
            ));
            alternatives.push(format!("({})", parts.join(" AND ")));
        }
        conds.push(format!("({})", alternatives.join(" OR ")));
    }

    let order: Vec<String> = sort
        .iter()
        .map(|(name, dir, col)| {
            let ascending = (*dir == SortDir::Asc) != query.page_reverse;
            format!(
                "{} {}",
                sort_expr(name, *col),
                if ascending { "ASC" } else { "DESC" }
            )
        })
        .collect();

    let mut sql = format!("SELECT {columns} FROM {}", table.name);
    if !conds.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conds.join(" AND "));
    }
    sql.push_str(" ORDER BY ");
    sql.push_str(&order.join(", "));
    if let Some(limit) = query.limit {
        sql.push_str(&format!(" LIMIT {limit}"));
    }
    Ok((sql, binds))
}

/// Marker values of bool columns are already 0/1 integers.
fn bind_col(col: Col) -> Col {
    match col {
        Col::Bool => Col::Int,
        c => c,
    }
}
