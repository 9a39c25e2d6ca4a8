//! A serde deserializer that reads a model straight from a row selected with
//! [`Table::column_list`]: each column is decoded once, by its encoding, into the field that
//! wants it, with no intermediate JSON map. Reading a page of a thousand objects is dominated by
//! this path, so it avoids building (and then taking apart) a `serde_json::Value` per row.

use serde::de::value::{BorrowedStrDeserializer, StringDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, Visitor};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::table::{Col, Table};

/// Why a row could not be read into its model.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct RowError(String);

impl de::Error for RowError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        RowError(msg.to_string())
    }
}

impl From<sqlx::Error> for RowError {
    fn from(e: sqlx::Error) -> Self {
        RowError(e.to_string())
    }
}

impl From<serde_json::Error> for RowError {
    fn from(e: serde_json::Error) -> Self {
        RowError(e.to_string())
    }
}

/// The whole row, as a map from column names to values.
pub(crate) struct RowDeserializer<'a> {
    table: &'a Table,
    row: &'a AnyRow,
}

impl<'a> RowDeserializer<'a> {
    /// Read `row`, selected with `table`'s column list.
    pub(crate) fn new(table: &'a Table, row: &'a AnyRow) -> Self {
        RowDeserializer { table, row }
    }
}

impl<'de> Deserializer<'de> for RowDeserializer<'_> {
    type Error = RowError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RowError> {
        visitor.visit_map(Columns {
            table: self.table,
            row: self.row,
            next: 0,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
        ignored_any
    }
}

/// The columns of a row, in order.
struct Columns<'a> {
    table: &'a Table,
    row: &'a AnyRow,
    next: usize,
}

impl<'de> MapAccess<'de> for Columns<'_> {
    type Error = RowError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, RowError> {
        let Some((name, _)) = self.table.columns.get(self.next) else {
            return Ok(None);
        };
        let name: BorrowedStrDeserializer<'de, RowError> = BorrowedStrDeserializer::new(name);
        seed.deserialize(name).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, RowError> {
        let (_, col) = self.table.columns[self.next];
        let index = self.next;
        self.next += 1;
        seed.deserialize(Column::read(self.row, index, col)?)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.table.columns.len() - self.next)
    }
}

/// One column's value, decoded by its encoding.
enum Column {
    Null,
    Text(String),
    Int(i64),
    Bool(bool),
    Json(String),
}

impl Column {
    fn read(row: &AnyRow, index: usize, col: Col) -> Result<Column, RowError> {
        Ok(match col {
            Col::Text => row
                .try_get::<Option<String>, _>(index)?
                .map_or(Column::Null, Column::Text),
            Col::Int => row
                .try_get::<Option<i64>, _>(index)?
                .map_or(Column::Null, Column::Int),
            Col::Bool => row
                .try_get::<Option<i64>, _>(index)?
                .map_or(Column::Null, |b| Column::Bool(b != 0)),
            Col::Json => row
                .try_get::<Option<String>, _>(index)?
                .map_or(Column::Null, Column::Json),
        })
    }
}

impl<'de> Deserializer<'de> for Column {
    type Error = RowError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RowError> {
        match self {
            Column::Null => visitor.visit_unit(),
            Column::Text(text) => visitor.visit_string(text),
            Column::Int(n) => visitor.visit_i64(n),
            Column::Bool(b) => visitor.visit_bool(b),
            // Read through `io::Read`, which borrows nothing, so any `'de` is served.
            Column::Json(text) => {
                Ok(serde_json::Deserializer::from_reader(text.as_bytes())
                    .deserialize_any(visitor)?)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RowError> {
        match self {
            Column::Null => visitor.visit_none(),
            Column::Json(text) => Ok(serde_json::Deserializer::from_reader(text.as_bytes())
                .deserialize_option(visitor)?),
            other => visitor.visit_some(other),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, RowError> {
        match self {
            Column::Text(text) => {
                let text: StringDeserializer<RowError> = text.into_deserializer();
                visitor.visit_enum(text)
            }
            Column::Json(text) => Ok(serde_json::Deserializer::from_reader(text.as_bytes())
                .deserialize_enum(name, variants, visitor)?),
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, RowError> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}
