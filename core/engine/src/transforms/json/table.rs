//! The table form of an array of similar records.
//!
//! ```text
//! [table: 120 records; same in all: {"status":"ok","region":"eu"}]
//! ["id","name","latency_ms"]
//! [1,"alpha",12]
//! [2,"beta",]
//! ```
//! Fields whose value is identical in every record are hoisted into the header; each other
//! record is one row of compact JSON cells in column order. An empty cell (`,,` / `[,` /
//! `,]`) means the record has no such key: valid JSON never produces it, so it cannot be
//! confused with `null`. A dropped run of records is one marker line in place of its rows.

use serde_json::{Map, Value};

use super::select::{self, Seg};
use crate::marker::{Marker, Unit};

/// Fewer records than this do not repeat their keys often enough to pay for a header.
pub(super) const MIN_RECORDS: usize = 5;

/// An array of objects with (mostly) the same keys.
pub(super) struct Table<'a> {
    records: Vec<&'a Map<String, Value>>,
    constants: Vec<(&'a str, &'a Value)>,
    columns: Vec<&'a str>,
}

impl<'a> Table<'a> {
    /// The table view of `items`, when they are at least [`MIN_RECORDS`] objects of which at
    /// most a third of the cells would be empty.
    pub(super) fn detect(items: &'a [Value]) -> Option<Self> {
        if items.len() < MIN_RECORDS {
            return None;
        }
        let records: Vec<&Map<String, Value>> = items.iter().map(Value::as_object).collect::<Option<_>>()?;
        let union = merged_keys(&records);
        if union.is_empty() {
            return None;
        }
        let cells = records.len() * union.len();
        let present: usize = records.iter().map(|r| r.len()).sum();
        if (cells - present) * 3 > cells {
            return None;
        }
        let mut constants = Vec::new();
        let mut columns = Vec::new();
        for key in union {
            let first = records[0].get(key);
            match first {
                Some(v) if records.iter().all(|r| r.get(key) == Some(v)) => constants.push((key, v)),
                _ => columns.push(key),
            }
        }
        Some(Self { records, constants, columns })
    }

    /// Render with `keep` choosing the records shown; dropped runs become markers citing
    /// `key`. `prefix` names the table (`table` or `table 2 = .results`). Returns the block
    /// and whether any record was dropped.
    pub(super) fn render(&self, prefix: &str, noun: &str, keep: &[bool], key: &str) -> (String, bool) {
        let mut rows = String::new();
        let mut holes = false;
        let mut dropped = false;
        if !self.columns.is_empty() {
            rows.push('\n');
            rows.push_str(&Value::from(self.columns.clone()).to_string());
            let cells: Vec<(String, bool)> = (0..self.records.len()).map(|i| self.row(i)).collect();
            let marker = |a: usize, b: usize| Marker::new(Unit::Items, vec![(a + 1, b + 1)], key).render();
            let pays = |a: usize, b: usize| {
                cells[a..=b].iter().map(|(r, _)| r.len() + 1).sum::<usize>() > marker(a, b).len()
            };
            for seg in select::plan(keep, pays) {
                rows.push('\n');
                match seg {
                    Seg::Item(i) => {
                        rows.push_str(&cells[i].0);
                        holes |= cells[i].1;
                    }
                    Seg::Elided(a, b) => {
                        dropped = true;
                        rows.push_str(&marker(a, b));
                    }
                }
            }
        }
        let mut out = format!("[{prefix}: {} {noun}", self.records.len());
        let constants = || {
            let map: Map<String, Value> =
                self.constants.iter().map(|(k, v)| ((*k).to_owned(), (*v).clone())).collect();
            Value::Object(map).to_string()
        };
        if self.columns.is_empty() {
            out.push_str(", all identical: ");
            out.push_str(&constants());
        } else if !self.constants.is_empty() {
            out.push_str("; same in all: ");
            out.push_str(&constants());
        }
        if holes {
            out.push_str("; empty cell = key absent");
        }
        out.push(']');
        out.push_str(&rows);
        (out, dropped)
    }

    /// Record `i`'s row, and whether a cell in it is empty.
    fn row(&self, i: usize) -> (String, bool) {
        let record = self.records[i];
        let mut hole = false;
        let mut out = String::from("[");
        for (c, col) in self.columns.iter().enumerate() {
            if c > 0 {
                out.push(',');
            }
            match record.get(*col) {
                Some(v) => out.push_str(&v.to_string()),
                None => hole = true,
            }
        }
        out.push(']');
        (out, hole)
    }
}

/// Every key of every record once, in an order consistent with the records' own orders where
/// possible: a key first seen in a later record goes right after its predecessor there.
fn merged_keys<'a>(records: &[&'a Map<String, Value>]) -> Vec<&'a str> {
    let mut union: Vec<&'a str> = Vec::new();
    for record in records {
        if record.len() == union.len() && record.keys().zip(&union).all(|(k, u)| k == u) {
            continue;
        }
        let mut next = 0;
        for key in record.keys() {
            match union.iter().position(|u| u == key) {
                Some(p) => next = p + 1,
                None => {
                    union.insert(next, key.as_str());
                    next += 1;
                }
            }
        }
    }
    union
}
