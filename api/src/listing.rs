//! Octavia's list conventions: `limit`/`marker`/`page_reverse` paging with `*_links`,
//! `sort=key:dir,...` (or `sort_key`/`sort_dir`), `fields=` projection, tag filters and equality
//! filters on any scalar field.

use fulcrum_core::Error;
use fulcrum_core::model::Kind;
use fulcrum_store::{ListQuery, SortDir};
use serde::Serialize;
use serde_json::{Map, Value};

/// A link of a paged list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Link {
    /// The URL.
    pub href: String,
    /// "next" or "previous".
    pub rel: String,
}

/// A parsed list request.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    /// What to ask the store.
    pub query: ListQuery,
    /// `fields=`: keys to keep in each object (empty: all).
    pub fields: Vec<String>,
    /// The `sort` parameter as given, carried into links.
    sort_text: Option<String>,
}

/// Parse the query string of a list request for objects of `kind`.
pub fn parse(raw: Option<&str>, kind: Kind, max_limit: u64) -> Result<ListParams, Error> {
    parse_with(
        raw,
        &|field| ListQuery::is_scalar_field(kind, field),
        max_limit,
    )
}

/// Parse the query string of a list request whose filterable and sortable fields are those
/// `is_field` accepts.
pub fn parse_with(
    raw: Option<&str>,
    is_field: &dyn Fn(&str) -> bool,
    max_limit: u64,
) -> Result<ListParams, Error> {
    let mut params = ListParams::default();
    params.query.limit = Some(max_limit);
    let mut sort_keys: Option<String> = None;
    let mut sort_dirs: Option<String> = None;
    let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let mut seen_filters = std::collections::HashSet::new();
    let mut seen_paging = std::collections::HashSet::new();
    for (key, value) in pairs {
        if PAGING_KEYS.contains(&key.as_str()) && !seen_paging.insert(key.clone()) {
            return Err(duplicate_or_invalid());
        }
        match key.as_str() {
            "limit" => {
                params.query.limit = match value.parse::<i64>() {
                    Ok(n) if n < 1 => None,
                    Ok(n) => Some((n as u64).min(max_limit)),
                    Err(_) if value == "infinite" => None,
                    Err(_) => {
                        return Err(Error::InvalidInput(format!(
                            "Supplied pagination limit '{value}' is not valid."
                        )));
                    }
                }
            }
            "marker" => params.query.marker = Some(value),
            // Octavia pages backwards on "True" alone and takes any other value for forwards.
            "page_reverse" => params.query.page_reverse = value == "True",
            "fields" => params.fields.push(value),
            "sort" => {
                params.query.sort = parse_sort(&value)?;
                params.sort_text = Some(value);
            }
            "sort_key" => sort_keys = Some(value),
            "sort_dir" => sort_dirs = Some(value),
            "tags" => push_tags(&mut params.query.tags.all, &value),
            "tags-any" => push_tags(&mut params.query.tags.any, &value),
            "not-tags" => push_tags(&mut params.query.tags.not_all, &value),
            "not-tags-any" => push_tags(&mut params.query.tags.not_any, &value),
            _ => {
                // Octavia also takes its database attribute names (openstacksdk filters
                // listeners by `load_balancer_id`).
                let field = match key.as_str() {
                    "tenant_id" => "project_id".to_string(),
                    "load_balancer_id" => "loadbalancer_id".to_string(),
                    other => other.to_string(),
                };
                if !is_field(&field) || !seen_filters.insert(field.clone()) {
                    return Err(duplicate_or_invalid());
                }
                params.query.filters.push((field, value));
            }
        }
    }
    // As in Octavia, `sort` wins over `sort_key`, and `sort_dir` is read only with `sort_key`.
    if let Some(keys) = sort_keys.filter(|_| params.sort_text.is_none()) {
        let dirs: Vec<&str> = sort_dirs
            .as_deref()
            .map_or(vec![], |d| d.split(',').collect());
        let mut sort = Vec::new();
        for (i, key) in keys.split(',').enumerate() {
            sort.push((
                key.trim().to_string(),
                parse_dir(dirs.get(i).copied().unwrap_or("asc"))?,
            ));
        }
        params.query.sort = sort;
    }
    for (key, _) in &params.query.sort {
        if !is_field(key) {
            return Err(Error::InvalidInput(format!(
                "Supplied sort key '{key}' is not valid."
            )));
        }
    }
    Ok(params)
}

/// The paging and sorting parameters that take one value. Octavia reads a repeated one as a list
/// and fails on it with a 500; Fulcrum answers 400 as for a repeated filter.
const PAGING_KEYS: &[&str] = &[
    "limit",
    "marker",
    "page_reverse",
    "sort",
    "sort_key",
    "sort_dir",
];

/// Octavia's answer to a filter it does not know or one given twice.
fn duplicate_or_invalid() -> Error {
    Error::InvalidInput("One or more arguments are either duplicate or invalid".into())
}

fn push_tags(into: &mut Vec<String>, value: &str) {
    into.extend(
        value
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned),
    );
}

/// A sort direction; Octavia names a bad one lower-cased in its message.
fn parse_dir(dir: &str) -> Result<SortDir, Error> {
    let lower = dir.trim().to_ascii_lowercase();
    match lower.as_str() {
        "asc" => Ok(SortDir::Asc),
        "desc" => Ok(SortDir::Desc),
        _ => Err(Error::InvalidInput(format!(
            "Supplied sort direction '{lower}' is not valid."
        ))),
    }
}

fn parse_sort(text: &str) -> Result<Vec<(String, SortDir)>, Error> {
    text.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|part| {
            let mut pieces = part.split(':');
            let key = pieces.next().unwrap_or_default().trim().to_string();
            let dir = pieces.next().unwrap_or("asc");
            if pieces.next().is_some() {
                return Err(Error::InvalidInput(format!(
                    "Supplied sort key '{part}' is not valid."
                )));
            }
            Ok((key, parse_dir(dir)?))
        })
        .collect()
}

impl ListParams {
    /// Keep only the requested fields of a serialized object.
    pub fn project(&self, value: Value) -> Value {
        project(value, &self.fields)
    }

    /// Octavia's `<collection>_links` for a page whose first and last ids are given.
    pub fn links(
        &self,
        base: &str,
        count: usize,
        first: Option<&str>,
        last: Option<&str>,
    ) -> Vec<Link> {
        let mut links = Vec::new();
        if count == 0 {
            return links;
        }
        let limit = self
            .query
            .limit
            .map_or_else(|| "None".to_string(), |l| l.to_string());
        let sort = self
            .sort_text
            .as_ref()
            .map(|s| format!("&sort={s}"))
            .unwrap_or_default();
        if self.query.marker.is_some()
            && let Some(first) = first
        {
            links.push(Link {
                href: format!("{base}?limit={limit}{sort}&marker={first}&page_reverse=True"),
                rel: "previous".into(),
            });
        }
        let full = self.query.limit.is_none_or(|l| count as u64 >= l);
        if full && let Some(last) = last {
            links.push(Link {
                href: format!("{base}?limit={limit}{sort}&marker={last}"),
                rel: "next".into(),
            });
        }
        links
    }
}

/// Keep only `fields` of an object (all when empty).
pub fn project(value: Value, fields: &[String]) -> Value {
    if fields.is_empty() {
        return value;
    }
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(k, _)| fields.iter().any(|f| f == k))
                .collect::<Map<String, Value>>(),
        ),
        other => other,
    }
}

/// The `fields=` of a single-object GET.
pub fn fields_of(raw: Option<&str>) -> Vec<String> {
    form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .filter(|(k, _)| k == "fields")
        .map(|(_, v)| v.into_owned())
        .collect()
}
