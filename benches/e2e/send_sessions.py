"""End-to-end savings on real Claude Code sessions, the sending half: replays every request of the
sessions in ../shared/corpus/claude-code-sessions through `headroom proxy` with the official
`anthropic` Python SDK, streaming as Claude Code does, in front of the mock upstream, which records
every body it receives. Sessions whose real calls held more than 200,000 tokens send
`anthropic-beta: context-1m-2025-08-07`, as Claude Code did, so the proxy uses the 1M window.
`benches/src/bin/e2e_sessions.rs` then compares what was sent with what arrived.
Usage: send_sessions.py OUT_DIR MODE LIMIT (LIMIT: the first N sessions, by id)."""

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
import warnings

import anthropic

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# HEADROOM_E2E_BIN: a folder holding `headroom` and `examples/mock_upstream` (default: this build).
BIN = os.environ.get("HEADROOM_E2E_BIN") or os.path.join(ROOT, "target", "release")
CORPUS = os.path.join(ROOT, "..", "shared", "corpus", "claude-code-sessions")
STANDARD_WINDOW = 200_000
BETA_1M = "context-1m-2025-08-07"
# The sessions name real models; the SDK's deprecation notices for some are not news here.
warnings.filterwarnings("ignore", message="The model .* is deprecated")


def start(cmd, env, log, marker=None):
    """Start `cmd`; return it and the first line it prints (with `marker`, on stderr). Whatever
    it prints afterwards goes to `log`, so a full pipe never blocks it."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    stream = proc.stderr if marker else proc.stdout
    for _ in range(10_000):
        line = stream.readline()
        if not line:
            raise RuntimeError(f"{cmd[0]} did not start")
        if marker is None or marker in line:
            drain = threading.Thread(target=lambda: log.writelines(stream), daemon=True)
            drain.start()
            return proc, drain, line.strip()
        log.write(line)
    raise RuntimeError(f"{cmd[0]} printed no {marker!r}")


def engine_revision():
    """The commit of core/ the binaries and the component were built from, and whether core/ had
    uncommitted changes: from BIN/engine.txt (written where `just bench-e2e` snapshots them),
    else from git as the run starts."""
    try:
        lines = open(os.path.join(BIN, "engine.txt")).read().splitlines()
        return lines[0], len(lines) > 1 and bool(lines[1].strip())
    except (OSError, IndexError):
        pass

    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return git("log", "-1", "--format=%h", "--", "core/"), bool(git("status", "--porcelain", "--", "core/"))


def large_window(case):
    """True when a real call of the session held more than the standard window (build.py's usage)."""
    for r in case["requests"]:
        u = r.get("usage") or {}
        if sum(u.get(k, 0) for k in ("input", "cache_write_5m", "cache_write_1h", "cache_read")) > STANDARD_WINDOW:
            return True
    return False


def main():
    out, mode, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
    cases_dir = os.path.join(CORPUS, "cases")
    if not os.path.isdir(cases_dir):
        sys.exit(f"send_sessions.py: the Claude Code sessions corpus is not at {os.path.normpath(CORPUS)} "
                 "(expected a cases/ folder of *.json); put ../shared/corpus/claude-code-sessions beside the repository")
    files = sorted(f for f in os.listdir(cases_dir) if f.endswith(".json"))[:limit]
    if not files:
        sys.exit(f"send_sessions.py: no cases in {cases_dir}")
    os.makedirs(out, exist_ok=True)
    env = dict(os.environ, MOCK_RECORD_DIR=out)
    log = open(os.path.join(out, "proxy.log"), "w")
    mock, mock_drain, mock_url = start([os.path.join(BIN, "examples", "mock_upstream")], env, log)
    # Originals in memory (not ~/.headroom); HEADROOM_COMPONENT, when set, names the engine.
    env = dict(os.environ, HEADROOM_PORT="0", HEADROOM_MODE=mode, ANTHROPIC_TARGET_API_URL=mock_url,
               HEADROOM_CCR_BACKEND="memory")
    proxy, proxy_drain, line = start([os.path.join(BIN, "headroom"), "proxy"], env, log, marker="listening on")
    url = line.split("listening on ")[1]
    for _ in range(400):
        try:
            if urllib.request.urlopen(url + "/readyz").status == 200:
                break
        except Exception:
            time.sleep(0.025)
    client = anthropic.Anthropic(base_url=url, api_key="sk-ant-e2e", max_retries=0, timeout=600)
    index = open(os.path.join(out, "index.jsonl"), "w")
    engine, engine_dirty = engine_revision()
    began = time.monotonic()
    sent = 0
    try:
        for name in files:
            case = json.load(open(os.path.join(cases_dir, name)))
            headers = {"anthropic-beta": BETA_1M} if large_window(case) else {}
            t0 = time.monotonic()
            for i, r in enumerate(case["requests"]):
                messages = case["conversations"][r["conv"]]["messages"][: r["n_messages"]]
                with client.messages.stream(model=r["model"], max_tokens=case["max_tokens"], system=case["system"],
                                            tools=case["tools"], messages=messages, extra_headers=headers) as s:
                    text = "".join(s.text_stream)
                assert text == "mock answer", text
                index.write(json.dumps({"case": case["id"], "i": i, "k": r["k"]}) + "\n")
                sent += 1
            print(f"{case['id']} {mode}: {len(case['requests'])} requests in {time.monotonic() - t0:.1f} s",
                  file=sys.stderr, flush=True)
    finally:
        index.close()
        for p, drain in ((proxy, proxy_drain), (mock, mock_drain)):
            p.kill()
            p.wait()
            drain.join(timeout=10)
        log.close()
    seconds = time.monotonic() - began
    with open(os.path.join(out, "timing.json"), "w") as f:
        json.dump({"requests": sent, "seconds": seconds, "sessions": len(files), "engine": engine,
                   "engine_dirty": engine_dirty,
                   "component": env.get("HEADROOM_COMPONENT", "target/wasm/headroom-core.wasm")}, f)
    print(f"{mode}: {sent} requests in {seconds:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
