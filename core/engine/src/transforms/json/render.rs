//! The readable compact layout: small values on one line, big ones one member per line,
//! arrays of records as tables referenced from where they sit.
//!
//! ```text
//! {"request_id":"req-1","events":<table 1>}
//! [table 1 = .events: 20 records; same in all: {"kind":"trace"}]
//! ["step","msg"]
//! [0,"e0"]
//! ```

use std::fmt::Write as _;

use serde_json::Value;

use super::select::{self, Seg};
use super::table::Table;
use crate::marker::{Marker, Unit};
use crate::transforms::Ctx;

/// Containers whose compact form fits in this many bytes stay on one line.
const WIDTH: usize = 120;

pub(super) struct Renderer<'a, 'c> {
    ctx: &'a Ctx<'c>,
    tables: Vec<String>,
    /// Whether any item was dropped.
    pub(super) dropped: bool,
    /// Whether any array became a table.
    pub(super) tabled: bool,
}

impl<'a, 'c> Renderer<'a, 'c> {
    pub(super) fn new(ctx: &'a Ctx<'c>) -> Self {
        Self { ctx, tables: Vec::new(), dropped: false, tabled: false }
    }

    /// Render a whole document; `ndjson` when `value` is the array of an NDJSON text's lines.
    pub(super) fn document(&mut self, value: &Value, ndjson: bool) -> String {
        if let Value::Array(items) = value
            && (ndjson || !fits_width(value, false))
        {
            if let Some(table) = Table::detect(items) {
                let noun = if ndjson { "records, one per NDJSON line" } else { "records" };
                return self.table(&table, items, "table", noun);
            }
            if ndjson {
                return self.lines(items);
            }
        }
        let mut out = String::new();
        let mut path = String::new();
        self.value(value, &mut path, 0, &mut out);
        for block in std::mem::take(&mut self.tables) {
            out.push('\n');
            out.push_str(&block);
        }
        out
    }

    fn table(&mut self, table: &Table, items: &[Value], prefix: &str, noun: &str) -> String {
        let keep = self.keep(items);
        let (block, dropped) = table.render(prefix, noun, &keep, self.ctx.key);
        self.dropped |= dropped;
        self.tabled = true;
        block
    }

    fn keep(&self, items: &[Value]) -> Vec<bool> {
        if self.ctx.lossy { select::keep_mask(items, self.ctx.query) } else { vec![true; items.len()] }
    }

    /// NDJSON that is not a table: one compact record per line, as the format wants.
    fn lines(&mut self, items: &[Value]) -> String {
        let keep = self.keep(items);
        let mut out = String::new();
        for seg in select::plan(&keep, pays(items, self.ctx.key)) {
            if !out.is_empty() {
                out.push('\n');
            }
            match seg {
                Seg::Item(i) => out.push_str(&items[i].to_string()),
                Seg::Elided(a, b) => out.push_str(&self.marker(a, b)),
            }
        }
        out
    }

    fn marker(&mut self, a: usize, b: usize) -> String {
        self.dropped = true;
        Marker::new(Unit::Items, vec![(a + 1, b + 1)], self.ctx.key).render()
    }

    fn value(&mut self, v: &Value, path: &mut String, indent: usize, out: &mut String) {
        if fits_width(v, true) {
            self.inline(v, path, out);
            return;
        }
        match v {
            Value::Array(items) => {
                if let Some(table) = Table::detect(items) {
                    self.table_ref(&table, items, path, out);
                } else {
                    self.array(items, path, indent, out);
                }
            }
            Value::Object(map) => {
                out.push_str("{\n");
                for (n, (key, child)) in map.iter().enumerate() {
                    pad(out, indent + 2);
                    let len = self.member(key, path, out);
                    self.value(child, path, indent + 2, out);
                    path.truncate(len);
                    if n + 1 < map.len() {
                        out.push(',');
                    }
                    out.push('\n');
                }
                pad(out, indent);
                out.push('}');
            }
            scalar => out.push_str(&scalar.to_string()),
        }
    }

    /// Compact, on one line, except that big tables become references.
    fn inline(&mut self, v: &Value, path: &mut String, out: &mut String) {
        if fits_width(v, false) {
            out.push_str(&v.to_string());
            return;
        }
        match v {
            Value::Array(items) => match Table::detect(items) {
                Some(table) => self.table_ref(&table, items, path, out),
                None => {
                    out.push('[');
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        let len = path.len();
                        let _ = write!(path, "[{i}]");
                        self.inline(item, path, out);
                        path.truncate(len);
                    }
                    out.push(']');
                }
            },
            Value::Object(map) => {
                out.push('{');
                for (n, (key, child)) in map.iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    let len = self.member(key, path, out);
                    self.inline(child, path, out);
                    path.truncate(len);
                }
                out.push('}');
            }
            scalar => out.push_str(&scalar.to_string()),
        }
    }

    /// Write `"key":` and extend `path` by it; returns the length to truncate `path` back to.
    fn member(&self, key: &str, path: &mut String, out: &mut String) -> usize {
        let quoted = Value::from(key).to_string();
        out.push_str(&quoted);
        out.push(':');
        let len = path.len();
        if is_identifier(key) {
            path.push('.');
            path.push_str(key);
        } else {
            let _ = write!(path, "[{quoted}]");
        }
        len
    }

    /// Render `table` as a block after the document and leave a reference to it here.
    fn table_ref(&mut self, table: &Table, items: &[Value], path: &str, out: &mut String) {
        let id = self.tables.len() + 1;
        let shown =
            if path.is_empty() || path.starts_with('[') { format!(".{path}") } else { path.to_owned() };
        let block = self.table(table, items, &format!("table {id} = {shown}"), "records");
        self.tables.push(block);
        let _ = write!(out, "<table {id}>");
    }

    /// One item per line; a big array is sampled when lossy steps are allowed.
    fn array(&mut self, items: &[Value], path: &mut String, indent: usize, out: &mut String) {
        let segs = select::plan(&self.keep(items), pays(items, self.ctx.key));
        let sampled = segs.iter().any(|s| matches!(s, Seg::Elided(..)));
        if !sampled && items.iter().all(is_scalar) {
            // Scalars read fine on one line and a line each would cost more.
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&item.to_string());
            }
            out.push(']');
            return;
        }
        out.push_str("[\n");
        for seg in segs {
            pad(out, indent + 2);
            match seg {
                Seg::Item(i) => {
                    let len = path.len();
                    let _ = write!(path, "[{i}]");
                    self.value(&items[i], path, indent + 2, out);
                    path.truncate(len);
                    if i + 1 < items.len() {
                        out.push(',');
                    }
                }
                Seg::Elided(a, b) => {
                    let marker = self.marker(a, b);
                    out.push_str(&marker);
                }
            }
            out.push('\n');
        }
        pad(out, indent);
        out.push(']');
    }
}

/// Whether eliding items `a..=b` saves more than their marker costs.
fn pays<'v>(items: &'v [Value], key: &str) -> impl Fn(usize, usize) -> bool + 'v {
    let key = key.to_owned();
    move |a, b| {
        let size: usize = items[a..=b].iter().map(|v| v.to_string().len() + 2).sum();
        size > Marker::new(Unit::Items, vec![(a + 1, b + 1)], &key).render().len()
    }
}

fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

fn is_identifier(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn fits_width(v: &Value, refs: bool) -> bool {
    let mut budget = WIDTH;
    fits(v, &mut budget, refs)
}

/// Length of a `<table N>` reference.
const TABLE_REF: usize = 10;

/// Whether `v`'s compact form is at most `budget` bytes, counting big tables as references
/// when `refs`; stops counting once it is not.
fn fits(v: &Value, budget: &mut usize, refs: bool) -> bool {
    let spend = |n: usize, budget: &mut usize| match budget.checked_sub(n) {
        Some(left) => {
            *budget = left;
            true
        }
        None => false,
    };
    match v {
        Value::Array(items) => {
            let mut raw = *budget;
            let raw_fits = spend(2 + items.len().saturating_sub(1), &mut raw)
                && items.iter().all(|item| fits(item, &mut raw, refs));
            if raw_fits {
                *budget = raw;
                true
            } else {
                refs && Table::detect(items).is_some() && spend(TABLE_REF, budget)
            }
        }
        Value::Object(map) => {
            spend(2 + map.len().saturating_sub(1), budget)
                && map.iter().all(|(k, child)| spend(k.len() + 3, budget) && fits(child, budget, refs))
        }
        Value::String(s) if s.len() > *budget => false,
        scalar => spend(scalar.to_string().len(), budget),
    }
}
