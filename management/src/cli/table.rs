//! [`Table`]: text tables in the style the `openstack` command prints (`+---+` borders), so the
//! output reads as operators of OpenStack expect.

use serde_json::Value;

/// A table of text cells under a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// One row per object, one column per name in `columns` (a missing field is empty).
    pub fn of_objects(columns: &[&str], objects: &[Value]) -> Self {
        Table {
            header: columns.iter().map(|c| (*c).to_owned()).collect(),
            rows: objects
                .iter()
                .map(|object| columns.iter().map(|c| cell(&object[*c])).collect())
                .collect(),
        }
    }

    /// A `Field | Value` table of one object's fields, in the object's order.
    pub fn of_fields(object: &Value) -> Self {
        let rows = object
            .as_object()
            .map(|fields| {
                fields
                    .iter()
                    .map(|(name, value)| vec![name.clone(), cell(value)])
                    .collect()
            })
            .unwrap_or_default();
        Table {
            header: vec!["Field".to_owned(), "Value".to_owned()],
            rows,
        }
    }

    /// The table as text, one line per row and border, each ending in a newline.
    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (width, text) in widths.iter_mut().zip(row) {
                *width = (*width).max(text.chars().count());
            }
        }
        let border: String = widths
            .iter()
            .map(|w| format!("+{}", "-".repeat(w + 2)))
            .collect::<String>()
            + "+\n";
        let line = |cells: &[String]| -> String {
            cells
                .iter()
                .zip(&widths)
                .map(|(text, width)| {
                    let pad = width - text.chars().count();
                    format!("| {text}{} ", " ".repeat(pad))
                })
                .collect::<String>()
                + "|\n"
        };
        let mut out = border.clone();
        out.push_str(&line(&self.header));
        out.push_str(&border);
        for row in &self.rows {
            out.push_str(&line(row));
        }
        if !self.rows.is_empty() {
            out.push_str(&border);
        }
        out
    }
}

/// A cell's text: strings as they are, `null` empty, anything else as compact JSON.
fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.replace('\n', " "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn columns_fit_their_widest_cell() {
        let table = Table::of_objects(
            &["name", "state", "n"],
            &[
                json!({"name": "bigip-1", "state": "ready", "n": 3}),
                json!({"name": "b", "state": null}),
            ],
        );
        assert_eq!(
            table.render(),
            "\
+---------+-------+---+
| name    | state | n |
+---------+-------+---+
| bigip-1 | ready | 3 |
| b       |       |   |
+---------+-------+---+
"
        );
    }

    #[test]
    fn an_empty_list_prints_its_header() {
        let table = Table::of_objects(&["id"], &[]);
        assert_eq!(table.render(), "+----+\n| id |\n+----+\n");
    }

    #[test]
    fn one_object_prints_field_and_value() {
        let table = Table::of_fields(&json!({"id": "d1", "tags": ["a"]}));
        assert!(
            table.render().contains("| tags  | [\"a\"] |"),
            "{}",
            table.render()
        );
    }
}
