//! `headroom unwrap AGENT|--all`: undo what wraps left behind (a wrap killed before its
//! cleanup): config files back from their backups, proxies they started stopped. A dry run
//! that shows the diff unless `--apply`; a file changed since the wrap is refused unless
//! `--force`.

use std::process::ExitCode;

use anyhow::{Result, bail};

use super::agents::Agent;
use super::edits::{self, Undo};
use super::{proxy, state};

/// Options of `headroom unwrap`.
#[derive(clap::Args, Debug)]
pub struct UnwrapArgs {
    /// The agent to unwrap.
    #[arg(value_enum, required_unless_present = "all", conflicts_with = "all")]
    pub agent: Option<Agent>,
    /// Every agent.
    #[arg(long)]
    pub all: bool,
    /// Make the changes (without it, only print them).
    #[arg(long)]
    pub apply: bool,
    /// Restore a file even when it changed since the wrap (the change is lost).
    #[arg(long)]
    pub force: bool,
}

/// `headroom unwrap`: 0 when everything is (or would be) undone, 1 when a file was refused.
pub fn run_unwrap(args: UnwrapArgs) -> ExitCode {
    match unwrap(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("headroom unwrap: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn unwrap(args: &UnwrapArgs) -> Result<bool> {
    let ws = state::workspace_dir();
    let st = state::load(&ws)?;
    let wanted = |agent: &str| args.all || args.agent.is_some_and(|a| a.name() == agent);
    let mut ok = true;
    let mut any = false;
    for edit in st.edits.iter().filter(|e| wanted(&e.agent)) {
        any = true;
        if state::alive(edit.wrapper_pid) && edit.wrapper_pid != std::process::id() {
            println!(
                "{}: wrapped by a running `headroom wrap {}` (pid {}); it restores the file when the agent exits",
                edit.path.display(),
                edit.agent,
                edit.wrapper_pid
            );
            if !args.force {
                continue;
            }
        }
        let how = edits::plan_undo(edit, args.force)?;
        match &how {
            Undo::Changed { diff } => {
                ok = false;
                println!(
                    "{}: changed since `headroom wrap {}` wrote it; refusing (--force restores the backup and loses this change):\n{diff}",
                    edit.path.display(),
                    edit.agent
                );
                continue;
            }
            Undo::Restore { diff } => {
                let verb = if args.apply { "restoring" } else { "would restore" };
                print!("{}: {verb}:\n{diff}", edit.path.display());
            }
            Undo::NothingWritten => {
                let verb = if args.apply { "removing" } else { "would remove" };
                println!("{}: never written; {verb} the leftover backup", edit.path.display());
            }
        }
        if args.apply {
            edits::undo(&ws, edit, &how)?;
        }
    }
    // Proxies whose wrap is gone serve no agent any more.
    {
        for p in st.proxies.iter().filter(|p| wanted(&p.agent) && !state::alive(p.wrapper_pid)) {
            any = true;
            let running = state::alive(p.pid);
            let verb = match (args.apply, running) {
                (_, false) => "forgetting (already stopped)",
                (true, true) => "stopping",
                (false, true) => "would stop",
            };
            println!("proxy pid {} on port {} (its wrap is gone): {verb}", p.pid, p.port);
            if args.apply {
                if running {
                    proxy::stop_orphan(p.pid);
                }
                let pid = p.pid;
                state::update(&ws, |s| {
                    s.proxies.retain(|x| x.pid != pid);
                    Ok(())
                })?;
            }
        }
    }
    if !any {
        match args.agent {
            Some(a) => println!("{} is not wrapped: nothing to undo", a.name()),
            None => println!("nothing is wrapped: nothing to undo"),
        }
    } else if !args.apply {
        println!("(dry run: `--apply` makes these changes)");
    }
    if args.force && !args.apply {
        bail!("--force needs --apply");
    }
    Ok(ok)
}
