#!/usr/bin/env python3
"""`headroom wrap` / `unwrap` / `doctor` end to end (stdlib only).

The real Claude Code and Codex CLIs (pinned, installed by tests/agents/install.sh) run a short
scripted tool loop against tests/clients/mock_upstream.py through `headroom wrap`, in a scratch
HOME; stand-in executables (tests/agents/standin.py) take the place of agents for the crash
paths. Everything talks to 127.0.0.1 on ports chosen free; every process started here is
stopped here, by pid.

Usage: test_wrap.py [NAME_SUBSTRING ...]   (needs target/release/headroom and the component)
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEADROOM = os.path.join(ROOT, "target", "release", "headroom")
CLIENTS = os.path.join(ROOT, "tests", "clients")
STANDIN = os.path.join(ROOT, "tests", "agents", "standin.py")
PROMPT = "Look at pr-comments.json and postgresql.log in this directory, then tell me which errors the server logged."
# The agents' documented switches for telemetry, update checks and error reports.
QUIET = {"DISABLE_TELEMETRY": "1", "DISABLE_AUTOUPDATER": "1", "DISABLE_ERROR_REPORTING": "1",
         "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}
# One wasmtime code cache for every proxy the tests start (the component compiles once).
CACHE = os.path.join(ROOT, "target", "wrap-tests", "wasmtime-cache")
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def agents_bin():
    out = subprocess.run([os.path.join(ROOT, "tests", "agents", "install.sh")], check=True,
                         capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url):
    try:
        with OPENER.open(url, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def port_open(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Scratch:
    """A scratch HOME, workdir and mock upstream; `close` stops what it started."""

    def __init__(self, scenario="claude-code"):
        self.dir = tempfile.mkdtemp(prefix="headroom-wrap-test.")
        self.home = os.path.join(self.dir, "home")
        self.work = os.path.join(self.dir, "work")
        self.rec = os.path.join(self.dir, "rec")
        self.standins = os.path.join(self.dir, "standins")
        for d in (self.home, self.work, self.rec, self.standins):
            os.makedirs(d)
        for f in os.listdir(os.path.join(CLIENTS, "workdir")):
            shutil.copy(os.path.join(CLIENTS, "workdir", f), self.work)
        self.procs = []
        self.mock = subprocess.Popen(
            [sys.executable, os.path.join(CLIENTS, "mock_upstream.py"), "--scenario", scenario,
             "--workdir", self.work, "--record", self.rec, "--max-requests", "200"],
            stdout=subprocess.PIPE, stderr=open(os.path.join(self.dir, "mock.err"), "w"), text=True)
        self.procs.append(self.mock)
        line = self.mock.stdout.readline()
        assert line.startswith("listening "), line
        self.mock_port = int(line.split()[1])
        self.mock_url = f"http://127.0.0.1:{self.mock_port}"
        self.port = free_port()
        self.ws = os.path.join(self.home, ".headroom")

    def env(self, **extra):
        env = {"PATH": f"{self.standins}:{AGENTS_BIN}:{os.environ['PATH']}", "HOME": self.home,
               "HEADROOM_CACHE_DIR": CACHE, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1",
               "LANG": "C.UTF-8", **QUIET,
               # Nothing leaves 127.0.0.1: every proxy (and doctor without one) defaults to the mock.
               "ANTHROPIC_TARGET_API_URL": self.mock_url, "OPENAI_TARGET_API_URL": self.mock_url}
        env.update({k: v for k, v in extra.items() if v is not None})
        return env

    def standin(self, name):
        path = os.path.join(self.standins, name)
        with open(path, "w") as f:
            f.write(f"#!/bin/sh\nexec {sys.executable} {STANDIN} \"$@\"\n")
        os.chmod(path, 0o755)

    def headroom(self, *args, env=None, timeout=300, check=None):
        r = subprocess.run([HEADROOM, *args], cwd=self.work, env=env or self.env(), capture_output=True,
                           text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if check is not None:
            assert r.returncode == check, f"headroom {' '.join(args)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}"
        return r

    def start_proxy(self, *args):
        log = open(os.path.join(self.dir, "proxy.log"), "w")
        p = subprocess.Popen([HEADROOM, "proxy", "--port", str(self.port), "--anthropic-api-url", self.mock_url,
                              "--openai-api-url", self.mock_url, *args], env=self.env(), stdout=log, stderr=log)
        self.procs.append(p)
        for _ in range(1200):
            if port_open(self.port) and get_json(f"http://127.0.0.1:{self.port}/readyz")[0] == 200:
                return p
            assert p.poll() is None, "proxy exited"
            time.sleep(0.1)
        raise AssertionError("proxy not ready")

    def requests(self):
        out = []
        for f in sorted(os.listdir(self.rec)):
            if f.endswith(".meta.json"):
                with open(os.path.join(self.rec, f)) as fh:
                    meta = json.load(fh)
                with open(os.path.join(self.rec, f.replace(".meta.json", ".body")), "rb") as fh:
                    meta["body"] = fh.read()
                out.append(meta)
        return out

    def close(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def snapshot(root):
    """Every file under root: bytes and mode (what 'as before' means)."""
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            st = os.lstat(p)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = (fh.read(), st.st_mode)
    return out


def assert_clean(s, port_free=True):
    """Nothing of the wrap is left: no record, no backup, no proxy it started."""
    assert not os.path.exists(os.path.join(s.ws, "wrap-state.json")), open(os.path.join(s.ws, "wrap-state.json")).read()
    for d, _, files in os.walk(s.dir):
        assert not [f for f in files if f.endswith(".headroom-backup")], (d, files)
    if port_free:
        assert not port_open(s.port), "a proxy was left running"


CODEX_CONFIG = """# the user's own settings (kept by wrap)
model = "gpt-5.5"  # pinned
model_provider = "mock"

[model_providers.mock]
name = "mock"
base_url = "{url}/v1"
wire_api = "responses"
env_key = "MOCK_OPENAI_KEY"

[history]
persistence = "none"
"""


def codex_home(s):
    d = os.path.join(s.home, ".codex")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "config.toml")
    with open(path, "w") as f:
        f.write(CODEX_CONFIG.format(url=s.mock_url))
    return path


def marked(reqs):
    """Requests the upstream saw that the proxy compressed (a marker, or its retrieval tool)."""
    return [r for r in reqs if b"headroom_retrieve" in r["body"]]


# --- the real agents -------------------------------------------------------------------------

def test_claude_code_real_started_proxy():
    """wrap starts a proxy (forwarding to the agent's own ANTHROPIC_BASE_URL), Claude Code runs
    its tool loop through it, the proxy is stopped and nothing is left."""
    s = Scratch("claude-code")
    try:
        before = snapshot(s.home)
        r = s.headroom("wrap", "claude", "--port", str(s.port), "--", "-p", PROMPT, "--allowedTools", "Read,Bash,Grep",
                       env=s.env(ANTHROPIC_BASE_URL=s.mock_url, ANTHROPIC_API_KEY="sk-ant-test"), check=0)
        assert "Done: the log has 4 ERROR lines" in r.stdout, r.stdout + r.stderr
        assert "started a proxy" in r.stderr, r.stderr
        reqs = [q for q in s.requests() if q["path"].startswith("/v1/messages?")]
        assert len(reqs) >= 10, len(reqs)
        assert marked(reqs), "no request reached the upstream compressed"
        assert_clean(s)
        # Claude Code writes its own state under HOME (sessions, settings); wrap wrote nothing
        # there but its log. The proxy it started keeps what it persists by design (the savings
        # history, the spend per budget period, originals of lossy edits) in the workspace.
        after = snapshot(s.home)
        changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
        proxy_state = (".headroom/logs/", ".headroom/proxy_savings.json", ".headroom/proxy_spend.json",
                       ".headroom/ccr_store.db")
        assert not [k for k in changed if k.startswith(".headroom/") and not k.startswith(proxy_state)], changed
    finally:
        s.close()


def test_codex_real_reused_proxy():
    """Codex routed by a config.toml edit through a proxy already running (reused, left
    running): its counters move, the upstream saw compressed bodies, config.toml is restored
    byte for byte."""
    s = Scratch("codex")
    try:
        s.start_proxy()
        cfg = codex_home(s)
        before = snapshot(s.home)
        stats0 = get_json(f"http://127.0.0.1:{s.port}/health")[1]["stats"]
        r = s.headroom("wrap", "codex", "--port", str(s.port), "--", "exec", "--skip-git-repo-check",
                       "--dangerously-bypass-approvals-and-sandbox", PROMPT,
                       env=s.env(MOCK_OPENAI_KEY="sk-test"), check=0)
        assert "Done: the log has 4 ERROR lines" in r.stdout + r.stderr, r.stdout + r.stderr
        assert "reusing the proxy" in r.stderr and 'model_provider = "headroom"' in r.stderr, r.stderr
        stats1 = get_json(f"http://127.0.0.1:{s.port}/health")[1]["stats"]
        assert stats1["requests_compressed"] > stats0["requests_compressed"], (stats0, stats1)
        reqs = [q for q in s.requests() if q["path"] == "/v1/responses"]
        assert len(reqs) >= 5 and marked(reqs), len(reqs)
        assert port_open(s.port), "a reused proxy must be left running"
        after = snapshot(s.home)
        assert after[os.path.relpath(cfg, s.home)] == before[os.path.relpath(cfg, s.home)]
        assert_clean(s, port_free=False)
    finally:
        s.close()


def json_diff(a, b, path=""):
    """Paths where two JSON values differ."""
    if type(a) is not type(b):
        return [path]
    if isinstance(a, dict):
        return [p for k in sorted(set(a) | set(b))
                for p in ([f"{path}/{k}"] if k not in a or k not in b else json_diff(a[k], b[k], f"{path}/{k}"))]
    if isinstance(a, list):
        if len(a) != len(b):
            return [path]
        return [p for i, (x, y) in enumerate(zip(a, b)) for p in json_diff(x, y, f"{path}[{i}]")]
    return [] if a == b else [path]


def json_at(v, path):
    """The value at a path of `json_diff`."""
    for part in path.strip("/").split("/"):
        name, *indices = part.replace("]", "").split("[")
        v = v[name] if name else v
        for i in indices:
            v = v[int(i)]
    return v


def test_response_cache_claude_code_same_prompt_twice():
    """The response cache under the real Claude Code, the same prompt run twice through one proxy.
    Two plain runs never hit: every request carries the run's fresh session UUID in
    metadata.user_id (and x-claude-code-session-id), the only difference between the runs'
    bodies. With the session pinned (--session-id, the transcript removed in between) the second
    run's requests are answered from the cache, output identical, up to the first tool output
    Claude Code spills to a file under a random name: from there on its history differs."""
    s = Scratch("claude-code")
    try:
        s.start_proxy()
        url = f"http://127.0.0.1:{s.port}"
        env = s.env(ANTHROPIC_BASE_URL=url, ANTHROPIC_API_KEY="sk-ant-test")

        def run(*extra):
            shutil.rmtree(os.path.join(s.home, ".claude", "projects"), ignore_errors=True)
            seen = len(s.requests())
            r = subprocess.run(["claude", "-p", PROMPT, "--allowedTools", "Read,Bash,Grep", *extra], cwd=s.work,
                               env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
            assert r.returncode == 0, r.stdout + r.stderr
            msgs = [q for q in s.requests()[seen:] if q["path"].startswith("/v1/messages?")]
            return r.stdout, msgs

        def cache():
            return get_json(f"{url}/stats")[1]["response_cache"]

        out1, first = run()
        out2, second = run()
        assert out1 == out2 and "Done: the log has 4 ERROR lines" in out1, (out1, out2)
        assert cache()["hits"] == 0, cache()
        assert len(second) == len(first) >= 10, (len(first), len(second))
        a, b = json.loads(first[0]["body"]), json.loads(second[0]["body"])
        assert json_diff(a, b) == ["/metadata/user_id"], json_diff(a, b)
        ua, ub = json.loads(a["metadata"]["user_id"]), json.loads(b["metadata"]["user_id"])
        assert json_diff(ua, ub) == ["/session_id"], (ua, ub)
        session = dict(first[0]["headers"]).get("X-Claude-Code-Session-Id") or dict(
            (k.lower(), v) for k, v in first[0]["headers"])["x-claude-code-session-id"]
        assert session == ua["session_id"], (session, ua)

        pinned = ("--session-id", "0b7c7d2e-3f7e-4c1a-9d1e-5a6b7c8d9e0f")
        out3, third = run(*pinned)
        hits = cache()["hits"]
        out4, fourth = run(*pinned)
        assert out4 == out3 == out1, (out3, out4)
        served = cache()["hits"] - hits
        assert served >= 2 and len(fourth) == len(third) - served, (served, len(third), len(fourth))
        # The requests served from the cache are the leading ones: the upstream saw run 4 start
        # where run 3's bodies first differ, at the Bash output spilled to tool-results/<random>.txt.
        first_sent = json.loads(fourth[0]["body"])
        same_turn = json.loads(third[served]["body"])
        paths = json_diff(same_turn, first_sent)
        assert paths and all(p.startswith("/messages[") for p in paths), paths
        spilled = [p for p in paths if "/tool-results/" in json.dumps(json_at(same_turn, p))]
        assert spilled, [(p, json_at(same_turn, p)) for p in paths]
    finally:
        s.close()


# --- crash paths (stand-ins) -----------------------------------------------------------------

def test_agent_killed_mid_run_config_restored_by_wrapper():
    s = Scratch("codex")
    try:
        s.standin("codex")
        cfg = codex_home(s)
        before = open(cfg).read()
        record = os.path.join(s.dir, "seen.json")
        env = s.env(STANDIN_RECORD=record, STANDIN_FILES=cfg, STANDIN_SLEEP="60", STANDIN_REQUEST="openai",
                    STANDIN_URL=f"http://127.0.0.1:{s.port}/v1")
        w = subprocess.Popen([HEADROOM, "wrap", "codex", "--port", str(s.port)], env=env, cwd=s.work,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        s.procs.append(w)
        for _ in range(1200):
            if os.path.exists(record) and os.path.getsize(record):
                break
            time.sleep(0.1)
        seen = json.load(open(record))
        assert 'model_provider = "headroom"' in seen["files"][cfg]
        assert f'base_url = "http://127.0.0.1:{s.port}/v1"' in seen["files"][cfg]
        assert seen["request"]["status"] == 200
        # Kill the agent (not the wrapper): the wrapper reports 128+9 and cleans up.
        agent = standin_pids(record)
        assert len(agent) == 1, agent
        os.kill(agent[0], signal.SIGKILL)
        out, err = w.communicate(timeout=60)
        assert w.returncode == 128 + 9, (w.returncode, err)
        assert open(cfg).read() == before, err
        assert_clean(s)
    finally:
        s.close()


def standin_pids(record):
    """The stand-in agents running for this test (found by the record file they were given)."""
    out = []
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{p}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if f"STANDIN_RECORD={record}".encode() in env and STANDIN in _cmdline(p):
            out.append(int(p))
    return out


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def test_sigterm_to_wrapper_is_forwarded_and_cleanup_happens():
    s = Scratch("codex")
    try:
        s.standin("codex")
        cfg = codex_home(s)
        before = open(cfg).read()
        record = os.path.join(s.dir, "seen.json")
        w = subprocess.Popen([HEADROOM, "wrap", "codex", "--port", str(s.port)],
                             env=s.env(STANDIN_RECORD=record, STANDIN_SLEEP="60"), cwd=s.work,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        s.procs.append(w)
        for _ in range(1200):
            if os.path.exists(record) and os.path.getsize(record):
                break
            time.sleep(0.1)
        # A second wrap of the same agent is refused while the first runs.
        again = s.headroom("wrap", "codex", "--port", str(s.port), env=s.env(STANDIN_RECORD=record))
        assert again.returncode == 2 and "already wrapped by a running" in again.stderr, again.stderr
        # Doctor while wrapped: the proxy is the wrap's, the edit in place, all healthy.
        d = s.headroom("doctor", "--port", str(s.port), "--json", "--upstream-timeout", "2")
        rep = json.loads(d.stdout)
        by = {c["name"]: c for c in rep["checks"]}
        assert d.returncode == 0 and rep["healthy"], d.stdout
        assert "started by `headroom wrap codex`" in by["proxy"]["detail"], by["proxy"]
        assert by["agents"]["data"]["edits"][0]["edit_in_place"], by["agents"]
        w.send_signal(signal.SIGTERM)
        out, err = w.communicate(timeout=60)
        assert w.returncode == 128 + 15, (w.returncode, err)
        assert open(cfg).read() == before
        assert_clean(s)
    finally:
        s.close()


def test_wrapper_killed_then_unwrap_restores():
    """The wrapper itself dies (SIGKILL: no cleanup). unwrap shows the diff (dry run), then
    --apply restores the config and stops the proxy the dead wrap started."""
    s = Scratch("codex")
    try:
        s.standin("codex")
        cfg = codex_home(s)
        before = open(cfg).read()
        record = os.path.join(s.dir, "seen.json")
        w = subprocess.Popen([HEADROOM, "wrap", "codex", "--port", str(s.port)],
                             env=s.env(STANDIN_RECORD=record, STANDIN_SLEEP="30"), cwd=s.work,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        s.procs.append(w)
        for _ in range(1200):
            if os.path.exists(record) and os.path.getsize(record):
                break
            time.sleep(0.1)
        w.kill()
        w.wait()
        # The agent outlives its killed wrapper; it is ours to stop.
        for pid in standin_pids(record):
            os.kill(pid, signal.SIGKILL)
        assert open(cfg).read() != before
        again = s.headroom("wrap", "codex", "--port", str(s.port), env=s.env(STANDIN_RECORD=record))
        assert again.returncode == 2 and "unwrap codex --apply" in again.stderr, again.stderr
        d = s.headroom("doctor", "--port", str(s.port), "--json", "--upstream-timeout", "2")
        rep = json.loads(d.stdout)
        agents = next(c for c in rep["checks"] if c["name"] == "agents")
        assert d.returncode == 1 and not agents["ok"] and "half-wrapped" in agents["detail"], d.stdout
        dry = s.headroom("unwrap", "codex", check=0)
        assert "would restore" in dry.stdout and '-model_provider = "headroom"' in dry.stdout, dry.stdout
        assert "would stop" in dry.stdout, dry.stdout
        assert open(cfg).read() != before, "a dry run changed the file"
        s.headroom("unwrap", "codex", "--apply", check=0)
        assert open(cfg).read() == before
        for _ in range(100):
            if not port_open(s.port):
                break
            time.sleep(0.1)
        assert_clean(s)
    finally:
        s.close()


def test_agent_env_is_the_callers_plus_routing_only():
    """The agent sees the caller's environment with only the routing variable changed."""
    s = Scratch("claude-code")
    try:
        s.standin("claude")
        record = os.path.join(s.dir, "seen.json")
        env = s.env(STANDIN_RECORD=record, STANDIN_ENV_ALL="1", ANTHROPIC_BASE_URL=s.mock_url, SOME_USER_VAR="kept")
        s.headroom("wrap", "claude", "--port", str(s.port), env=env, check=0)
        seen = json.load(open(record))["env_all"]
        changed = {k for k in set(env) | set(seen) if env.get(k) != seen.get(k)}
        # `_` and PWD are set by the shell stand-in itself.
        assert changed - {"_", "PWD", "SHLVL"} == {"ANTHROPIC_BASE_URL"}, changed
        assert seen["ANTHROPIC_BASE_URL"] == f"http://127.0.0.1:{s.port}"
        assert_clean(s)
    finally:
        s.close()


def test_sigint_without_a_terminal_reaches_the_agent():
    s = Scratch("codex")
    try:
        s.standin("codex")
        cfg = codex_home(s)
        before = open(cfg).read()
        record = os.path.join(s.dir, "seen.json")
        w = subprocess.Popen([HEADROOM, "wrap", "codex", "--port", str(s.port)],
                             env=s.env(STANDIN_RECORD=record, STANDIN_SLEEP="60"), cwd=s.work,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        s.procs.append(w)
        for _ in range(1200):
            if os.path.exists(record) and os.path.getsize(record):
                break
            time.sleep(0.1)
        w.send_signal(signal.SIGINT)
        out, err = w.communicate(timeout=60)
        # Python dies of the SIGINT it re-raises after KeyboardInterrupt: 128 + 2.
        assert w.returncode == 128 + 2, (w.returncode, err)
        assert open(cfg).read() == before
        assert_clean(s)
    finally:
        s.close()


def test_config_edited_while_wrapped_unwrap_refuses():
    s = Scratch("codex")
    try:
        s.standin("codex")
        cfg = codex_home(s)
        before = open(cfg).read()
        record = os.path.join(s.dir, "seen.json")
        w = subprocess.Popen([HEADROOM, "wrap", "codex", "--port", str(s.port)],
                             env=s.env(STANDIN_RECORD=record, STANDIN_SLEEP="2"), cwd=s.work,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        s.procs.append(w)
        for _ in range(1200):
            if os.path.exists(record) and os.path.getsize(record):
                break
            time.sleep(0.1)
        with open(cfg, "a") as f:
            f.write('\n[tui]\nnotifications = true\n')
        edited = open(cfg).read()
        out, err = w.communicate(timeout=60)
        assert w.returncode == 0, err
        assert "changed while wrapped" in err and "+notifications = true" in err, err
        assert open(cfg).read() == edited, "the user's change was overwritten"
        r = s.headroom("unwrap", "codex", "--apply")
        assert r.returncode == 1 and "refusing" in r.stdout and "+notifications = true" in r.stdout, r.stdout
        assert open(cfg).read() == edited
        s.headroom("unwrap", "codex", "--apply", "--force", check=0)
        assert open(cfg).read() == before
        assert_clean(s)
    finally:
        s.close()


def test_proxy_that_never_gets_ready_is_stopped():
    """A proxy whose component cannot load: wrap gives up after --ready-timeout, shows its log,
    stops it, and the agent never runs; Ctrl-C while waiting does the same at once."""
    s = Scratch("claude-code")
    try:
        s.standin("claude")
        bad = ["--proxy-arg=--component=/nonexistent/headroom-core.wasm"]
        env = s.env(STANDIN_RECORD=os.path.join(s.dir, "x"))
        r = s.headroom("wrap", "claude", "--port", str(s.port), "--ready-timeout", "2", *bad, env=env)
        assert r.returncode == 2 and "not ready within 2s" in r.stderr, r.stderr
        assert not os.path.exists(os.path.join(s.dir, "x")), "the agent ran"
        assert_clean(s)
        w = subprocess.Popen([HEADROOM, "wrap", "claude", "--port", str(s.port), *bad], env=env, cwd=s.work,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        s.procs.append(w)
        for _ in range(100):
            if port_open(s.port):
                break
            time.sleep(0.1)
        w.send_signal(signal.SIGINT)
        out, err = w.communicate(timeout=30)
        assert w.returncode == 2 and "interrupted" in err, (w.returncode, err)
        assert_clean(s)
    finally:
        s.close()


def test_port_taken_by_another_service():
    s = Scratch("codex")
    try:
        s.standin("codex")
        cfg = codex_home(s)
        before = open(cfg).read()
        # The mock is "another service": its port answers /readyz with a 404 JSON error.
        r = s.headroom("wrap", "codex", "--port", str(s.mock_port), env=s.env(STANDIN_RECORD=os.path.join(s.dir, "x")))
        assert r.returncode == 2 and "taken by another service" in r.stderr, r.stderr
        assert open(cfg).read() == before
        assert not os.path.exists(os.path.join(s.dir, "x")), "the agent ran"
        assert_clean(s)
    finally:
        s.close()


def test_read_only_config_is_refused_untouched():
    s = Scratch("codex")
    try:
        s.standin("codex")
        cfg = codex_home(s)
        os.chmod(cfg, 0o444)
        before = snapshot(s.home)
        r = s.headroom("wrap", "codex", "--port", str(s.port), env=s.env(STANDIN_RECORD=os.path.join(s.dir, "x")))
        assert r.returncode == 2 and "read-only" in r.stderr, r.stderr
        assert snapshot(s.home) == before
        assert not os.path.exists(os.path.join(s.dir, "x")), "the agent ran"
        assert_clean(s)
    finally:
        s.close()


def test_dry_run_changes_nothing():
    s = Scratch("codex")
    try:
        s.standin("codex")
        codex_home(s)
        before = snapshot(s.home)
        r = s.headroom("wrap", "codex", "--port", str(s.port), "--mode", "cache", "--proxy-arg=--min-tokens",
                       "--proxy-arg=300", "--dry-run", check=0)
        assert "would start `headroom proxy" in r.stdout and "--mode cache" in r.stdout, r.stdout
        assert "--min-tokens 300" in r.stdout and f"--openai-api-url {s.mock_url}" in r.stdout, r.stdout
        assert '+model_provider = "headroom"' in r.stdout, r.stdout
        assert snapshot(s.home) == before
        assert not port_open(s.port)
    finally:
        s.close()


def test_started_proxy_gets_the_wrap_options():
    """--mode, --no-optimize and --proxy-arg reach the proxy wrap starts (its /health shows them)."""
    s = Scratch("claude-code")
    try:
        script = os.path.join(s.dir, "health.sh")
        with open(script, "w") as f:
            f.write(f"#!/bin/sh\nexec {sys.executable} -c 'import urllib.request,os;"
                    f"open(os.environ[\"OUT\"],\"wb\").write(urllib.request.build_opener(urllib.request.ProxyHandler({{}}))"
                    f".open(os.environ[\"ANTHROPIC_BASE_URL\"]+\"/health\").read())'\n")
        os.chmod(script, 0o755)
        os.replace(script, os.path.join(s.standins, "claude"))
        out = os.path.join(s.dir, "health.json")
        s.headroom("wrap", "claude", "--port", str(s.port), "--mode", "cache", "--no-optimize",
                   "--proxy-arg=--offload-batch-tokens=777", env=s.env(OUT=out), check=0)
        cfg = json.load(open(out))["config"]
        assert cfg["mode"] == "cache" and cfg["optimize"] is False and cfg["offload_batch_tokens"] == 777, cfg
        assert_clean(s)
    finally:
        s.close()


# --- the other agents (stand-ins: record what they see, make one request) --------------------

OTHERS = [
    # agent, what routes it, the request it makes, where its URL comes from
    ("copilot", {"COPILOT_PROVIDER_BASE_URL": "{base}", "COPILOT_PROVIDER_TYPE": "anthropic",
                 "COPILOT_PROVIDER_API_KEY": "sk-ant-test"}, "anthropic", "COPILOT_PROVIDER_BASE_URL"),
    ("aider", {"ANTHROPIC_API_BASE": "{base}", "OPENAI_API_BASE": "{base}/v1"}, "openai", "OPENAI_API_BASE"),
    ("goose", {"ANTHROPIC_HOST": "{base}", "OPENAI_HOST": "{base}"}, "anthropic", "ANTHROPIC_HOST"),
    ("opencode", {}, "anthropic", "OPENCODE_CONFIG_CONTENT:provider.anthropic.options.baseURL"),
]


def test_other_agents_stand_ins():
    s = Scratch("claude-code")
    try:
        for agent, expect, kind, url_from in OTHERS:
            s.standin(agent)
            record = os.path.join(s.dir, f"{agent}.json")
            n0 = len(s.requests())
            r = s.headroom("wrap", agent, "--port", str(s.port), f"--proxy-arg=--anthropic-api-url={s.mock_url}",
                           f"--proxy-arg=--openai-api-url={s.mock_url}", "--", "--flag", "arg",
                           env=s.env(STANDIN_RECORD=record, STANDIN_REQUEST=kind, STANDIN_URL_FROM=url_from,
                                     ANTHROPIC_API_KEY="sk-ant-test", COPILOT_MODEL="claude-sonnet-4-5"))
            assert r.returncode == 0, (agent, r.stderr)
            seen = json.load(open(record))
            assert seen["argv"][1:] == ["--flag", "arg"], seen
            base = f"http://127.0.0.1:{s.port}"
            for k, v in expect.items():
                assert seen["env"].get(k) == v.format(base=base), (agent, k, seen["env"])
            if agent == "opencode":
                cfg = json.loads(seen["env"]["OPENCODE_CONFIG_CONTENT"])
                assert cfg["provider"]["openai"]["options"]["baseURL"] == base + "/v1", cfg
            assert seen["request"]["status"] == 200, seen
            assert len(s.requests()) == n0 + 1, f"{agent}: the upstream did not see the request"
            assert_clean(s)
    finally:
        s.close()


CONTINUE_CONFIG = """name: mine  # my Continue config
version: 1.0.0
schema: v1
models:
  - name: sonnet
    provider: anthropic
    model: claude-sonnet-4-5
    apiKey: sk-ant-test
  - name: local
    provider: ollama
    model: qwen
"""


def test_continue_config_edit_with_cn_stand_in():
    s = Scratch("claude-code")
    try:
        s.standin("cn")
        d = os.path.join(s.home, ".continue")
        os.makedirs(d)
        cfg = os.path.join(d, "config.yaml")
        with open(cfg, "w") as f:
            f.write(CONTINUE_CONFIG)
        record = os.path.join(s.dir, "cn.json")
        r = s.headroom("wrap", "continue", "--port", str(s.port), f"--proxy-arg=--anthropic-api-url={s.mock_url}",
                       env=s.env(STANDIN_RECORD=record, STANDIN_FILES=cfg, STANDIN_REQUEST="anthropic",
                                 STANDIN_URL=f"http://127.0.0.1:{s.port}/v1/"), check=0)
        seen = json.load(open(record))["files"][cfg]
        want = CONTINUE_CONFIG.replace("    provider: anthropic\n",
                                       f"    provider: anthropic\n    apiBase: http://127.0.0.1:{s.port}/v1/\n")
        assert seen == want, seen
        assert "+    apiBase:" in r.stderr, r.stderr
        assert open(cfg).read() == CONTINUE_CONFIG
        assert_clean(s)
    finally:
        s.close()


def test_cursor_prints_what_to_set_and_holds_the_proxy():
    s = Scratch("claude-code")
    try:
        w = subprocess.Popen([HEADROOM, "wrap", "cursor", "--port", str(s.port)], env=s.env(), cwd=s.work,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        s.procs.append(w)
        line = w.stdout.readline()
        assert f"Override OpenAI Base URL: http://127.0.0.1:{s.port}/v1" in line, line
        assert get_json(f"http://127.0.0.1:{s.port}/readyz")[0] == 200
        w.send_signal(signal.SIGINT)
        out, err = w.communicate(timeout=30)
        assert w.returncode == 0, err
        assert_clean(s)
    finally:
        s.close()


# --- doctor ---------------------------------------------------------------------------------

def test_doctor_healthy_and_stopped():
    s = Scratch("claude-code")
    try:
        p = s.start_proxy()
        r = s.headroom("doctor", "--port", str(s.port), "--json",
                       env=s.env(ANTHROPIC_BASE_URL=f"http://127.0.0.1:{s.port}"))
        rep = json.loads(r.stdout)
        assert r.returncode == 0 and rep["healthy"], r.stdout
        by = {c["name"]: c for c in rep["checks"]}
        assert by["proxy"]["data"]["ready"] and "not started by a wrap" in by["proxy"]["detail"]
        assert "routes through the proxy" in by["env"]["detail"]
        assert by["component"]["ok"] and by["upstream"]["ok"] and by["workspace"]["ok"]
        text = s.headroom("doctor", "--port", str(s.port))
        assert text.returncode == 0 and text.stdout.strip().endswith("healthy"), text.stdout
        p.send_signal(signal.SIGINT)
        p.wait(10)
        r = s.headroom("doctor", "--port", str(s.port), "--json", "--upstream-timeout", "2")
        rep = json.loads(r.stdout)
        by = {c["name"]: c for c in rep["checks"]}
        assert r.returncode == 1 and not rep["healthy"] and not by["proxy"]["ok"], r.stdout
        assert "no proxy on" in by["proxy"]["detail"]
        assert by["component"]["ok"] and "loads" in by["component"]["detail"], by["component"]
    finally:
        s.close()


def test_doctor_finds_an_edit_no_record_explains():
    """A half-wrapped Codex whose wrap record is gone (deleted workspace): doctor still says so."""
    s = Scratch("codex")
    try:
        cfg = codex_home(s)
        with open(cfg, "a") as f:
            f.write('\n[model_providers.headroom]\nbase_url = "http://127.0.0.1:1/v1"\n')
        with open(cfg) as f:
            text = f.read().replace('model_provider = "mock"', 'model_provider = "headroom"')
        with open(cfg, "w") as f:
            f.write(text)
        r = s.headroom("doctor", "--port", str(s.port), "--json", "--upstream-timeout", "2")
        agents = next(c for c in json.loads(r.stdout)["checks"] if c["name"] == "agents")
        assert r.returncode == 1 and not agents["ok"], r.stdout
        assert "still routed through headroom but no wrap is recorded" in agents["detail"], agents
    finally:
        s.close()


def test_doctor_offline_upstream_is_bounded():
    """An upstream that cannot be resolved: a clear answer within the bound, never a hang."""
    s = Scratch("claude-code")
    try:
        t0 = time.time()
        r = s.headroom("doctor", "--port", str(s.port), "--json", "--upstream-timeout", "3",
                       env=s.env(ANTHROPIC_TARGET_API_URL="http://headroom-doctor-test.invalid",
                                 OPENAI_TARGET_API_URL=f"http://127.0.0.1:{free_port()}"), timeout=60)
        took = time.time() - t0
        up = next(c for c in json.loads(r.stdout)["checks"] if c["name"] == "upstream")
        assert r.returncode == 1 and not up["ok"], r.stdout
        assert "no network" in up["detail"] and "unreachable" in up["detail"], up
        assert took < 30, took
    finally:
        s.close()


def main():
    global AGENTS_BIN
    AGENTS_BIN = agents_bin()
    os.makedirs(CACHE, exist_ok=True)
    tests = [(n, f) for n, f in globals().items() if n.startswith("test_") and callable(f)]
    picks = sys.argv[1:]
    failed = []
    for name, fn in tests:
        if picks and not any(p in name for p in picks):
            continue
        t0 = time.time()
        try:
            fn()
            print(f"ok   {name} ({time.time() - t0:.1f}s)", flush=True)
        except Exception:  # noqa: BLE001 - report every failure, then fail the run
            failed.append(name)
            print(f"FAIL {name} ({time.time() - t0:.1f}s)\n{traceback.format_exc()}", flush=True)
    if failed:
        print(f"{len(failed)} failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
