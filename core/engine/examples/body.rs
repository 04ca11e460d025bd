//! One Anthropic Messages body through the native engine, for debugging:
//! `cargo run --release -p headroom-core --example body -- BODY.json [token]` prints the
//! forwarded body on stdout and the block report on stderr.

use headroom_core::{Dialect, Mode, Options};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let body = std::fs::read(args.get(1).map_or("-", String::as_str)).unwrap_or_default();
    let mode = if args.iter().any(|a| a == "token") { Mode::Token } else { Mode::Cache };
    let opts = Options { mode, ..Options::default() };
    let count = |s: &str| headroom_tokenizer::O200k::count(s);
    match headroom_core::compress_request(Dialect::AnthropicMessages, &body, &opts, &count) {
        Ok(out) => {
            for b in &out.report {
                eprintln!("{b:?}");
            }
            println!("{}", String::from_utf8_lossy(out.body.as_deref().unwrap_or(&body)));
        }
        Err(e) => eprintln!("error: {e}"),
    }
}
