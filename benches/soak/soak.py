#!/usr/bin/env python3
"""Soak: MINUTES of mixed traffic at a fixed RATE (requests/s) through `headroom proxy` in front
of the mock upstream: all three APIs, streaming and not, compressible tool outputs (each one new,
so originals keep being stored), retrieval rounds, clients that leave mid-stream, and 1% upstream
faults (529, 500). Samples the proxy's RSS every 10 s; reports latency percentiles and errors
(any answer that is not the one expected: 200, or the fault's own status) to OUT (markdown).

Usage: soak.py BIN_DIR OUT MINUTES RATE   (`just soak` builds and runs it)
"""
import http.client
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

BIN, OUT, MINUTES, RATE = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
SAMPLE_EVERY = 10.0
work = tempfile.mkdtemp(prefix="headroom-soak-")
procs = []


def start(cmd, env=None, pattern=r"http://[0-9.:]+"):
    log = open(os.path.join(work, os.path.basename(cmd[0]) + ".log"), "w+")
    p = subprocess.Popen(cmd, stdout=log, stderr=log, env=env)
    procs.append(p)
    for _ in range(600):
        log.seek(0)
        m = re.search(pattern, log.read())
        if m:
            return p, m.group(0)
        time.sleep(0.05)
    raise SystemExit(f"soak: {cmd[0]} did not start (log in {log.name})")


def rss_mb(pid):
    """(RSS, anonymous part) in MB: the rest is file-backed (the binary's code and tables)."""
    values = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0] in ("Rss:", "Anonymous:"):
                values[parts[0]] = int(parts[1]) / 1024
    return values.get("Rss:", 0.0), values.get("Anonymous:", 0.0)


def threads(pid):
    return len(os.listdir(f"/proc/{pid}/task"))


def output(n, seed):
    """A tool output of about n bytes, new every time (a grep, a log or a listing)."""
    rng = random.Random(seed)
    kind = seed % 3
    lines, size = [], 0
    i = 0
    while size < n:
        if kind == 0:
            line = f"src/pkg_{rng.randint(0, 40)}/module_{i // 10}.py:{i * 7 + 1}:    value = compute_{rng.randint(0, 10**6)}(alpha, beta)"
        elif kind == 1:
            level = "ERROR" if rng.random() < 0.02 else "INFO"
            line = f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z {level} worker {rng.randint(0, 9)} batch {seed}-{i} done in {rng.randint(1, 999)} ms"
        else:
            line = f"-rw-r--r--  1 dev dev {rng.randint(100, 99999):>6} Jan  1 00:00 file_{seed}_{i}.txt"
        lines.append(line)
        size += len(line) + 1
        i += 1
    return "\n".join(lines)


def body(api, stream, seed):
    out = output(random.Random(seed).choice([8_000, 30_000, 120_000]), seed)
    if api == "messages":
        return "/v1/messages", {"model": "claude-sonnet-4-5", "max_tokens": 256, "stream": stream, "messages": [
            {"role": "user", "content": "What does this output say?"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "tu1", "name": "bash", "input": {"command": "run"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "tu1", "content": out}]}]}
    if api == "chat":
        return "/v1/chat/completions", {"model": "gpt-4o", "stream": stream, "messages": [
            {"role": "user", "content": "What does this output say?"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function",
                "function": {"name": "bash", "arguments": "{\"command\": \"run\"}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": out}]}
    return "/v1/responses", {"model": "gpt-4o", "stream": stream, "store": False, "input": [
        {"role": "user", "content": "What does this output say?"},
        {"type": "function_call", "call_id": "c1", "name": "shell", "arguments": "{\"cmd\": \"run\"}"},
        {"type": "function_call_output", "call_id": "c1", "output": out}]}


host, port = None, None
lock = threading.Lock()
latencies = {}  # kind -> [seconds]
errors = []
counts = {}


def record(kind, took, error=None):
    with lock:
        latencies.setdefault(kind, []).append(took)
        counts[kind] = counts.get(kind, 0) + 1
        if error:
            errors.append(f"{kind}: {error}")


def one(seed):
    rng = random.Random(seed)
    api = rng.choice(["messages", "chat", "responses"])
    stream = rng.random() < 0.5
    roll = rng.random()
    headers = {"content-type": "application/json", "x-api-key": "sk-soak", "authorization": "Bearer sk-soak",
               "anthropic-version": "2023-06-01"}
    expect = 200
    kind = f"{api}{'-stream' if stream else ''}"
    leave = False
    if roll < 0.01:
        expect = rng.choice([500, 529])
        headers["x-mock-status"] = str(expect)
        kind = "upstream-fault"
    elif roll < 0.11:
        headers["x-mock-retrieve"] = "1"
        kind = "retrieval" + ("-stream" if stream else "")
    elif roll < 0.16 and stream:
        leave = True
        kind = "client-leaves"
    path, payload = body(api, stream, seed)
    data = json.dumps(payload).encode()
    started = time.monotonic()
    conn = http.client.HTTPConnection(host, port, timeout=60)
    try:
        conn.request("POST", path, body=data, headers=headers)
        r = conn.getresponse()
        if leave:
            r.read(64)
            conn.close()
            record(kind, time.monotonic() - started)
            return
        text = r.read()
        took = time.monotonic() - started
        error = None
        if r.status != expect:
            error = f"status {r.status}: {text[:200]!r}"
        elif stream and expect == 200 and (b"event: error" in text or b'"error":' in text[-400:]):
            error = f"stream ended in an error: {text[-300:]!r}"
        record(kind, took, error)
    except Exception as e:  # a lost request
        record(kind, time.monotonic() - started, f"{type(e).__name__}: {e}")
    finally:
        conn.close()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] * 1000 if xs else 0.0


def main():
    global host, port
    mock, mock_url = start([f"{BIN}/examples/mock_upstream", "127.0.0.1:0"])
    env = dict(os.environ, HEADROOM_PORT="0", OPENAI_TARGET_API_URL=mock_url, ANTHROPIC_TARGET_API_URL=mock_url,
               HEADROOM_WORKSPACE_DIR=os.path.join(work, "ws"), HEADROOM_CACHE_DIR=os.path.join(work, "cache"))
    # The first start compiles the component into the code cache; the soak measures a warm start,
    # as every start after a user's first.
    for attempt in range(2):
        proxy, url = start([f"{BIN}/headroom", "proxy"], env=env)
        host, port = url.removeprefix("http://").split(":")
        port = int(port)
        for _ in range(1200):
            try:
                c = http.client.HTTPConnection(host, port, timeout=2)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.05)
        if attempt == 0:
            proxy.terminate()
            proxy.wait()
    samples = [(0.0, rss_mb(proxy.pid), 0, threads(proxy.pid))]
    total = int(MINUTES * 60 * RATE)
    t0 = time.monotonic()
    next_sample = SAMPLE_EVERY
    with ThreadPoolExecutor(max_workers=64) as pool:
        for i in range(total):
            due = t0 + i / RATE
            while True:
                now = time.monotonic()
                if now - t0 >= next_sample:
                    samples.append((now - t0, rss_mb(proxy.pid), sum(counts.values()), threads(proxy.pid)))
                    next_sample += SAMPLE_EVERY
                if now >= due:
                    break
                time.sleep(min(due - now, 0.05))
            pool.submit(one, 1_000_003 * (i + 1))
    elapsed = time.monotonic() - t0
    # Let the last requests finish before the final sample.
    time.sleep(2)
    samples.append((elapsed, rss_mb(proxy.pid), sum(counts.values()), threads(proxy.pid)))
    for p in procs:
        p.terminate()
    write(samples, total, elapsed)


def write(samples, total, elapsed):
    done = sum(counts.values())
    machine = subprocess.run(["bash", "-c", "nproc; grep -m1 'model name' /proc/cpuinfo | cut -d: -f2; free -m | awk '/Mem:/{print $2}'"],
                             capture_output=True, text=True).stdout.split("\n")
    rss = [s[1][0] for s in samples]
    at = lambda minute: min(samples, key=lambda s: abs(s[0] - minute * 60))[1][0]
    revision = subprocess.run(["git", "log", "-1", "--format=%h %s"], capture_output=True, text=True).stdout.strip()
    lines = [
        "# Soak",
        "",
        f"Revision: {revision}.",
        "",
        f"`just soak {MINUTES:g} {RATE:g}`: {MINUTES:g} minutes at {RATE:g} requests/s through `headroom proxy` (default flags, sqlite originals in a",
        "fresh workspace) in front of the mock upstream. Mix: the three APIs, half streaming, tool outputs of 8/30/120 KB each new",
        "(originals keep being stored), 10% retrieval rounds, 5% clients leaving mid-stream, 1% upstream faults (500/529, passed through).",
        f"Machine: {machine[0].strip()} cores ({machine[1].strip()}), {machine[2].strip()} MB, shared with other builds.",
        "",
        f"Requests: {total} sent, {done} answered, {len(errors)} errors (lost or not the expected answer), {elapsed:.0f} s.",
        f"RSS (MB): start {rss[0]:.1f}, after 5 min {at(5):.1f}, end {rss[-1]:.1f}, max {max(rss):.1f}.",
        "",
        "| kind | requests | p50 ms | p90 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kind in sorted(latencies):
        xs = latencies[kind]
        lines.append(f"| {kind} | {len(xs)} | {pct(xs, 50):.1f} | {pct(xs, 90):.1f} | {pct(xs, 99):.1f} | {max(xs) * 1000:.1f} |")
    lines += ["", "RSS every 10 s (anonymous: heap and wasm memory; the rest is the binary's mapped code and tables):", "",
              "| s | RSS MB | anonymous MB | threads | answered |", "|---:|---:|---:|---:|---:|"]
    lines += [f"| {t:.0f} | {m[0]:.1f} | {m[1]:.1f} | {th} | {n} |" for t, m, n, th in samples]
    if errors:
        lines += ["", "Errors (first 20):", ""] + [f"- {e}" for e in errors[:20]]
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines[:12]))


try:
    main()
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
