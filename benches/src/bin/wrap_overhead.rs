//! `headroom wrap` measured on the real Claude Code CLI (pinned by tests/agents/install.sh):
//!
//! 1. What wrap adds to an agent's start: `headroom wrap claude --port P -- --version` against
//!    `claude --version` with `ANTHROPIC_BASE_URL` set, a proxy already up on P (so wrap reuses
//!    it), the two run alternately, medians of N rounds.
//! 2. Whether raising Claude Code's own Bash output limit (`BASH_MAX_OUTPUT_LENGTH`) lets more
//!    of a large output reach the proxy (and the model) for no more billed tokens: the scripted
//!    tool loop of tests/clients (mock upstream) run through `headroom wrap claude` with and
//!    without it; the bodies the upstream saw are counted (o200k tokens) and searched for the
//!    log's lines.
//!
//! Usage: wrap_overhead [--rounds N] [--out benches/results/wrap.md]

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use headroom_benches::machine;
use serde_json::Value;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
const QUIET: [(&str, &str); 4] = [
    ("DISABLE_TELEMETRY", "1"),
    ("DISABLE_AUTOUPDATER", "1"),
    ("DISABLE_ERROR_REPORTING", "1"),
    ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
];
const PROMPT: &str = "Look at pr-comments.json and postgresql.log in this directory, then tell me which errors the server logged.";

fn main() -> Result<()> {
    let mut rounds = 21usize;
    let mut out = PathBuf::from(ROOT).join("benches/results/wrap.md");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rounds" => rounds = args.next().context("--rounds N")?.parse()?,
            "--out" => out = args.next().context("--out FILE")?.into(),
            other => bail!("unknown argument {other}"),
        }
    }
    let headroom = PathBuf::from(ROOT).join("target/release/headroom");
    if !headroom.exists() {
        bail!("{} is missing: cargo build --release -p headroom-proxy --bin headroom", headroom.display());
    }
    let bin = agents_bin()?;
    let scratch = std::env::temp_dir().join(format!("headroom-bench-wrap.{}", std::process::id()));
    std::fs::create_dir_all(scratch.join("home"))?;
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let base_env = |c: &mut Command| {
        c.env("HOME", scratch.join("home")).env("PATH", &path).envs(QUIET).stdin(Stdio::null());
    };

    let claude_version = {
        let mut c = Command::new("claude");
        base_env(&mut c);
        String::from_utf8(c.arg("--version").output()?.stdout)?.trim().to_owned()
    };
    let overhead = measure_overhead(&headroom, rounds, &base_env)?;
    let limit = measure_bash_limit(&headroom, &scratch, &base_env)?;
    let _ = std::fs::remove_dir_all(&scratch);

    let mut md = String::new();
    md.push_str("# `headroom wrap`: overhead, and the agents' own output limits\n\n");
    md.push_str(&format!(
        "Machine: {}. Claude Code {claude_version} (npm, pinned by tests/agents/install.sh). Command: `just bench-wrap` \
         (`cargo run --release -p headroom-benches --bin wrap_overhead`).\n\n",
        machine::machine()
    ));
    md.push_str(&overhead);
    md.push('\n');
    md.push_str(&limit);
    std::fs::write(&out, md).with_context(|| format!("writing {}", out.display()))?;
    println!("wrote {}", out.display());
    Ok(())
}

fn agents_bin() -> Result<PathBuf> {
    let o = Command::new(PathBuf::from(ROOT).join("tests/agents/install.sh"))
        .output()
        .context("running tests/agents/install.sh (installs the pinned Claude Code)")?;
    if !o.status.success() {
        bail!("tests/agents/install.sh failed: {}", String::from_utf8_lossy(&o.stderr));
    }
    Ok(PathBuf::from(String::from_utf8(o.stdout)?.trim().lines().last().unwrap_or_default()))
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_ready(port: u16, child: &mut Child) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(180);
    while Instant::now() < deadline {
        if let Some(s) = child.try_wait()? {
            bail!("the proxy exited: {s}");
        }
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read as _, Write as _};
            s.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
            let mut r = String::new();
            let _ = s.read_to_string(&mut r);
            if r.starts_with("HTTP/1.1 200") {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("the proxy was not ready")
}

fn stop(mut child: Child) {
    let _ = Command::new("kill").arg("-INT").arg(child.id().to_string()).status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn timed(mut c: Command) -> Result<f64> {
    let t0 = Instant::now();
    let s = c.stdout(Stdio::null()).stderr(Stdio::null()).status()?;
    let ms = t0.elapsed().as_secs_f64() * 1000.0;
    if !s.success() {
        bail!("{c:?} failed: {s}");
    }
    Ok(ms)
}

fn measure_overhead(headroom: &Path, rounds: usize, base_env: &dyn Fn(&mut Command)) -> Result<String> {
    let port = free_port()?;
    let mut proxy = Command::new(headroom);
    base_env(&mut proxy);
    proxy.args(["proxy", "--port", &port.to_string()]).stdout(Stdio::null()).stderr(Stdio::null());
    let mut proxy = proxy.spawn()?;
    wait_ready(port, &mut proxy)?;
    let url = format!("http://127.0.0.1:{port}");
    let direct = || {
        let mut c = Command::new("claude");
        base_env(&mut c);
        c.env("ANTHROPIC_BASE_URL", &url).arg("--version");
        c
    };
    let wrapped = || {
        let mut c = Command::new(headroom);
        base_env(&mut c);
        c.args(["wrap", "claude", "--port", &port.to_string(), "--", "--version"]);
        c
    };
    let result = (|| -> Result<(Vec<f64>, Vec<f64>)> {
        for _ in 0..3 {
            timed(direct())?;
            timed(wrapped())?;
        }
        let (mut d, mut w) = (Vec::new(), Vec::new());
        for i in 0..rounds {
            if i % 2 == 0 {
                d.push(timed(direct())?);
                w.push(timed(wrapped())?);
            } else {
                w.push(timed(wrapped())?);
                d.push(timed(direct())?);
            }
        }
        Ok((d, w))
    })();
    stop(proxy);
    let (mut d, mut w) = result?;
    let mut diffs: Vec<f64> = w.iter().zip(&d).map(|(a, b)| a - b).collect();
    let (md, mw, mdiff) = (median(&mut d), median(&mut w), median(&mut diffs));
    Ok(format!(
        "## Overhead of `headroom wrap claude -- --version` (a proxy already up)\n\n\
         {rounds} rounds, the two commands alternating (warm code cache, 3 warm-up rounds). Target: at most 300 ms added.\n\n\
         | command | median wall time |\n|---|---|\n\
         | `claude --version` (ANTHROPIC_BASE_URL set) | {md:.0} ms |\n\
         | `headroom wrap claude --port P -- --version` (reuses the proxy) | {mw:.0} ms |\n\
         | added by wrap (median of per-round differences) | {mdiff:.0} ms ({:.2}x) |\n",
        mw / md
    ))
}

/// One scripted Claude Code loop through `headroom wrap claude`; what the upstream saw.
struct Loop {
    requests: usize,
    billed_tokens: usize,
    final_tokens: usize,
    bash_cat: String,
}

/// Which agent runs the loop, and its own extra settings.
enum Agent<'a> {
    /// Claude Code with these extra environment variables.
    Claude(&'a [(&'a str, &'a str)]),
    /// Codex (`-m gpt-5.5`, the classic `exec_command` tool) with these extra `-c` overrides.
    Codex(&'a [&'a str]),
}

fn run_loop(
    headroom: &Path,
    scratch: &Path,
    tag: &str,
    agent: &Agent,
    base_env: &dyn Fn(&mut Command),
) -> Result<Loop> {
    let dir = scratch.join(tag);
    let (work, rec) = (dir.join("work"), dir.join("rec"));
    std::fs::create_dir_all(&work)?;
    for f in std::fs::read_dir(PathBuf::from(ROOT).join("tests/clients/workdir"))? {
        let f = f?;
        std::fs::copy(f.path(), work.join(f.file_name()))?;
    }
    let mut mock = Command::new("python3")
        .arg(PathBuf::from(ROOT).join("tests/clients/mock_upstream.py"))
        .args(["--scenario", if matches!(agent, Agent::Claude(_)) { "claude-code" } else { "codex" }])
        .args(["--max-requests", "200", "--workdir"])
        .arg(&work)
        .arg("--record")
        .arg(&rec)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(mock.stdout.take().context("mock stdout")?).read_line(&mut line)?;
    let mock_port: u16 = line.trim().strip_prefix("listening ").context("mock did not start")?.parse()?;
    let mock_url = format!("http://127.0.0.1:{mock_port}");
    let port = free_port()?.to_string();
    let mut c = Command::new(headroom);
    base_env(&mut c);
    c.current_dir(&work).env("HEADROOM_WORKSPACE_DIR", dir.join("ws"));
    match agent {
        Agent::Claude(extra) => {
            c.env("ANTHROPIC_BASE_URL", &mock_url)
                .env("ANTHROPIC_API_KEY", "sk-ant-test")
                .envs(extra.iter().copied())
                .args([
                    "wrap",
                    "claude",
                    "--port",
                    &port,
                    "--",
                    "-p",
                    PROMPT,
                    "--allowedTools",
                    "Read,Bash,Grep",
                ]);
        }
        Agent::Codex(overrides) => {
            let home = dir.join("codex");
            std::fs::create_dir_all(&home)?;
            std::fs::write(
                home.join("config.toml"),
                format!(
                    "model_provider = \"mock\"\n[model_providers.mock]\nname = \"mock\"\nbase_url = \"{mock_url}/v1\"\nwire_api = \"responses\"\nenv_key = \"MOCK_OPENAI_KEY\"\n"
                ),
            )?;
            c.env("CODEX_HOME", &home)
                .env("MOCK_OPENAI_KEY", "sk-test")
                .env("ANTHROPIC_TARGET_API_URL", &mock_url)
                .args(["wrap", "codex", "--port", &port, "--", "exec", "-m", "gpt-5.5"]);
            for o in overrides.iter() {
                c.args(["-c", o]);
            }
            c.args(["--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox", PROMPT]);
        }
    }
    let status = c.stdout(Stdio::null()).stderr(Stdio::null()).status();
    let _ = mock.kill();
    let _ = mock.wait();
    if !status?.success() {
        bail!("the wrapped Claude Code loop failed ({tag})");
    }
    let wanted = if matches!(agent, Agent::Claude(_)) { "/v1/messages?" } else { "/v1/responses" };
    let mut bodies = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(&rec)?.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    names.sort();
    for p in names.iter().filter(|p| p.extension().is_some_and(|e| e == "body")) {
        let meta: Value = serde_json::from_slice(&std::fs::read(p.with_extension("meta.json"))?)?;
        if meta["path"].as_str().is_some_and(|s| s.starts_with(wanted)) {
            bodies.push(std::fs::read_to_string(p)?);
        }
    }
    let last = bodies.last().context("no model request reached the upstream")?;
    let req: Value = serde_json::from_str(last)?;
    // The result of step 2 of the script (`cat postgresql.log`), as the provider saw it.
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let bash_cat = match agent {
        Agent::Claude(_) => req["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|m| m["content"].as_array().into_iter().flatten())
            .find(|b| b["tool_use_id"] == "toolu_mock_01")
            .map(|b| text(&b["content"])),
        Agent::Codex(_) => req["input"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|i| i["type"] == "function_call_output" && i["call_id"] == "call_mock_01")
            .map(|i| text(&i["output"])),
    }
    .unwrap_or_default();
    Ok(Loop {
        requests: bodies.len(),
        billed_tokens: bodies.iter().map(|b| headroom_tokenizer::O200k::count(b) as usize).sum(),
        final_tokens: headroom_tokenizer::O200k::count(last) as usize,
        bash_cat,
    })
}

fn measure_bash_limit(headroom: &Path, scratch: &Path, base_env: &dyn Fn(&mut Command)) -> Result<String> {
    let log = std::fs::read_to_string(PathBuf::from(ROOT).join("tests/clients/workdir/postgresql.log"))?;
    let lines: BTreeSet<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    let errors: BTreeSet<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.contains("ERROR") || l.contains("WARNING") || l.contains("FATAL"))
        .collect();
    let mut md = String::from(
        "## Claude Code's `BASH_MAX_OUTPUT_LENGTH`\n\n\
         The scripted loop of tests/clients (Claude Code runs `cat postgresql.log`, 125,487 bytes, 867 lines, \
         among 8 other tool calls) through `headroom wrap claude` (token mode) against the mock upstream. \
         Tokens: o200k of every `/v1/messages` body the upstream received (the input billed over the loop), \
         and of the last one. Lines: distinct non-empty log lines found verbatim in the `cat` result the \
         upstream saw.\n\n\
         | Claude Code setting | requests | input tokens over the loop | last request | `cat` result as sent | log lines in it | error lines in it |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for (tag, extra) in [
        ("default (30,000 chars)", vec![]),
        ("BASH_MAX_OUTPUT_LENGTH=150000", vec![("BASH_MAX_OUTPUT_LENGTH", "150000")]),
    ] {
        let l = run_loop(
            headroom,
            scratch,
            if extra.is_empty() { "default" } else { "limit" },
            &Agent::Claude(&extra),
            base_env,
        )?;
        let kept = lines.iter().filter(|x| l.bash_cat.contains(**x)).count();
        let kept_err = errors.iter().filter(|x| l.bash_cat.contains(**x)).count();
        let form = if l.bash_cat.contains("<persisted-output>") {
            "2 KB preview (`<persisted-output>`)"
        } else {
            "the output"
        };
        md.push_str(&format!(
            "| {tag} | {} | {} | {} | {form}, {} chars | {kept} / {} | {kept_err} / {} |\n",
            l.requests,
            l.billed_tokens,
            l.final_tokens,
            l.bash_cat.chars().count(),
            lines.len(),
            errors.len()
        ));
    }
    md.push_str(
        "\n## Codex's `tool_output_token_limit`\n\n\
         The same loop with Codex (`codex exec -m gpt-5.5`: the classic `exec_command` tool, whose outputs \
         Codex cuts in the middle at 10,000 tokens) through `headroom wrap codex`, with and without \
         `-c tool_output_token_limit=60000`.\n\n\
         | Codex setting | requests | input tokens over the loop | last request | `cat` result as sent | log lines in it | error lines in it |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for (tag, extra) in
        [("default", vec![]), ("tool_output_token_limit=60000", vec!["tool_output_token_limit=60000"])]
    {
        let l = run_loop(
            headroom,
            scratch,
            if extra.is_empty() { "codex-default" } else { "codex-limit" },
            &Agent::Codex(&extra),
            base_env,
        )?;
        let kept = lines.iter().filter(|x| l.bash_cat.contains(**x)).count();
        let kept_err = errors.iter().filter(|x| l.bash_cat.contains(**x)).count();
        let form = if l.bash_cat.contains("tokens truncated") { "cut in the middle" } else { "the output" };
        md.push_str(&format!(
            "| {tag} | {} | {} | {} | {form}, {} chars | {kept} / {} | {kept_err} / {} |\n",
            l.requests,
            l.billed_tokens,
            l.final_tokens,
            l.bash_cat.chars().count(),
            lines.len(),
            errors.len()
        ));
    }
    md.push_str(
        "\nWrap leaves both agents' limits as they are: it tunes an agent's own limit only where this \
         measurement shows more facts reaching the model for no more billed tokens (DECISIONS D38).\n",
    );
    Ok(md)
}
