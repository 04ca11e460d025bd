//! `headroom`: the command-line entry point.

mod compress_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "headroom", version, about = "Context compression for AI agents")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compress a provider request (JSON) or a single tool output, print the result and a
    /// savings summary.
    Compress(compress_cmd::Args),
}

/// Where `just component` writes the core component.
pub fn default_component_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/wasm/headroom-core.wasm")
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Compress(args) => compress_cmd::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("headroom: {e:#}");
            ExitCode::FAILURE
        }
    }
}
