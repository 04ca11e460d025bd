//! Run the agent to completion while staying alive to clean up after it.
//!
//! The wrapper catches SIGINT, SIGTERM, SIGHUP and SIGQUIT for as long as it runs (so it always
//! reaches its cleanup) and passes them to the agent: SIGTERM, SIGHUP and SIGQUIT always;
//! SIGINT only when standard input is not a terminal, because a terminal's Ctrl-C already
//! reaches the whole foreground process group, the agent included, and a second copy would be
//! read as a second Ctrl-C (Claude Code exits on two).

use std::io::IsTerminal as _;
use std::os::unix::process::ExitStatusExt as _;
use std::process::{Command, ExitStatus};

use anyhow::{Context, Result};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::signal::unix::{SignalKind, signal};

/// Run `cmd` and return its exit status.
pub fn run(mut cmd: Command) -> Result<ExitStatus> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async move {
        // Handlers first: a signal between spawn and here would otherwise kill the wrapper.
        let mut int = signal(SignalKind::interrupt())?;
        let mut term = signal(SignalKind::terminate())?;
        let mut hup = signal(SignalKind::hangup())?;
        let mut quit = signal(SignalKind::quit())?;
        let program = cmd.get_program().to_string_lossy().into_owned();
        let mut child = cmd.spawn().with_context(|| format!("starting {program}"))?;
        let pid = Pid::from_raw(child.id() as i32);
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        let forward_int = !std::io::stdin().is_terminal();
        loop {
            tokio::select! {
                status = &mut rx => {
                    return status.context("waiting for the agent")?.context("waiting for the agent");
                }
                _ = int.recv() => if forward_int { let _ = kill(pid, Signal::SIGINT); },
                _ = term.recv() => { let _ = kill(pid, Signal::SIGTERM); }
                _ = hup.recv() => { let _ = kill(pid, Signal::SIGHUP); }
                _ = quit.recv() => { let _ = kill(pid, Signal::SIGQUIT); }
            }
        }
    })
}

/// Wait for SIGINT, SIGTERM or SIGHUP (a wrap with nothing to launch keeps its proxy up).
pub fn hold() -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let mut int = signal(SignalKind::interrupt())?;
        let mut term = signal(SignalKind::terminate())?;
        let mut hup = signal(SignalKind::hangup())?;
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
        Ok(())
    })
}

/// The exit code a shell would report: the agent's, or 128 + the signal that ended it.
pub fn exit_code(status: ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(c), _) => c as u8,
        (None, Some(s)) => (128 + s) as u8,
        _ => 1,
    }
}
