//! `redact-secrets`: masks credentials in every block before anything else sees it. Each
//! secret becomes `[secret: <kind> masked]`, naming the kind and never the secret.
//!
//! Its edits are deliberately irreversible: it runs `before` the built-ins, so the masked
//! text is the block from then on, and the secret is stored nowhere (no marker, no offload).

mod config;
mod scan;
mod tokens;

use headroom_plugin_sdk::{Block, ContentKind, Context, Error, Outcome, Plugin, export_plugin};

pub use scan::{Found, redact};

/// The plugin.
pub struct RedactSecrets;

impl Plugin for RedactSecrets {
    fn transform(block: Block, _kind: ContentKind, _context: Context) -> Result<Outcome, Error> {
        let (text, found) = redact(&block.text);
        if found.is_empty() {
            return Ok(Outcome::Declined("no secret found".into()));
        }
        let mut kinds: Vec<&str> = found.iter().map(|f| f.kind).collect();
        kinds.sort_unstable();
        kinds.dedup();
        Ok(Outcome::Rewritten {
            text,
            summary: format!("masked {} ({})", found.len(), kinds.join(",")),
            lossy: false,
        })
    }
}

export_plugin!(RedactSecrets);
