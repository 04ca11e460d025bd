//! `cargo run --release -p headroom-plugin-redact-secrets --example scan -- FILE...`: print
//! every secret the redactor finds in the files, with its line, to review false positives on
//! real tool outputs.

use std::io::Write as _;

fn main() -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let mut total = 0usize;
    let mut bytes = 0usize;
    for path in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&path)?;
        bytes += text.len();
        let (_, found) = headroom_plugin_redact_secrets::redact(&text);
        for f in &found {
            let line_start = text[..f.start].rfind('\n').map_or(0, |n| n + 1);
            let line_end = text[f.end..].find('\n').map_or(text.len(), |n| f.end + n);
            let line: String = text[line_start..line_end].chars().take(200).collect();
            writeln!(out, "{path}: {}: {line}", f.kind)?;
        }
        total += found.len();
    }
    writeln!(out, "{total} found in {bytes} bytes")
}
