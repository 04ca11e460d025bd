//! `csv-table`: CSV and TSV tool outputs made smaller. Lossless first: columns with one value
//! in every row are hoisted into a `# constant:` line, and runs of identical rows become one
//! row with a `_repeat` count. When lossy steps are allowed and the table is still long, the
//! middle rows go behind an exact marker whose note summarises the numeric columns, keeping
//! the first and last rows, error rows, outliers and rows that mention the query.

mod parse;
mod shrink;

use headroom_plugin_sdk::{Block, ContentKind, Context, Error, Outcome, Plugin, export_plugin};

pub use shrink::compress;

/// The plugin.
pub struct CsvTable;

impl Plugin for CsvTable {
    fn transform(block: Block, _kind: ContentKind, context: Context) -> Result<Outcome, Error> {
        let Some(table) = parse::table(&block.text) else {
            return Ok(Outcome::Declined("not a CSV or TSV table".into()));
        };
        match compress(&block.text, &table, &block.key, &context) {
            Some((text, summary, lossy)) => Ok(Outcome::Rewritten { text, summary, lossy }),
            None => Ok(Outcome::Declined("nothing to hoist or collapse".into())),
        }
    }
}

export_plugin!(CsvTable);
