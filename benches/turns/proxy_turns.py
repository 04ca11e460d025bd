#!/usr/bin/env python3
"""Added time per turn through `headroom proxy`, with the conversation memory and without it.

Replays long real conversations turn by turn (the bodies `turn_cost --dump DIR` writes from
../shared/corpus: the largest Claude Code session and the longest mini-swe-agent trajectory)
through two proxies started side by side in front of the same mock upstream: one with the
conversation memory (the default) and one with `--conversation-memory-mb 0` (stateless). Each
turn goes to both, alternating which goes first. The figure is the proxy's own overhead as it
logs it per request (`overhead_ms` in the `--log-file` JSONL: from the request's arrival to the
moment its body is ready to leave, so the client's upload of the body is included), grouped by
request size. Writes a Markdown table and an SVG plot of overhead against size.

With `--components A.wasm B.wasm`, both proxies keep the memory and run different builds of the
core component instead (A in the "stateless" column's place, B in the memory's): the same
replay, to compare two engines side by side. With `OLD_BIN=PATH` (an earlier tree's `headroom`),
both keep the memory and the earlier binary takes the stateless column's place: two trees side
by side.

usage: proxy_turns.py BODIES_DIR OUT.md [--components A.wasm B.wasm]   (run through `just bench-proxy-turns`)
"""

import http.client
import json
import os
import pathlib
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = ROOT / "target/release/headroom"
MOCK = ROOT / "target/release/examples/mock_upstream"
# `PROXY_MODE=cache` runs both proxies in cache mode (default: the proxy's default, token).
MODE = ["--mode", os.environ["PROXY_MODE"]] if os.environ.get("PROXY_MODE") else []
PATHS = {"anthropic": "/v1/messages", "chat": "/v1/chat/completions", "responses": "/v1/responses"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, proc, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"proxy on {port} exited with {proc.returncode}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/readyz")
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit(f"proxy on {port} not ready after {seconds}s")


def start_proxy(work, name, mock, extra, binary=BIN):
    port = free_port()
    ws = work / name
    ws.mkdir()
    log = ws / "requests.jsonl"
    env = dict(os.environ, HEADROOM_WORKSPACE_DIR=str(ws))
    args = [str(binary), "proxy", "--port", str(port), "--anthropic-api-url", mock, "--openai-api-url", mock,
            "--log-file", str(log)] + MODE + extra
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(port, proc)
    return proc, port, log


def send(port, path, body, wide=False):
    headers = {"content-type": "application/json", "x-api-key": "bench", "authorization": "Bearer bench",
               "anthropic-version": "2023-06-01"}
    if wide:
        # The session ran with the 1M-token window: its requests carried the beta that says so.
        headers["anthropic-beta"] = "context-1m-2025-08-07"
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.request("POST", path, body=body, headers=headers)
    r = c.getresponse()
    r.read()
    if r.status != 200:
        sys.exit(f"status {r.status} from port {port}")


def overheads(log, n, field="overhead_ms"):
    for _ in range(100):
        lines = log.read_text().splitlines() if log.exists() else []
        if len(lines) >= n:
            # In arrival order: a large request's line is written after its answer's accounting,
            # which may finish after the next (small) request's. Request ids count arrivals.
            records = sorted((json.loads(line) for line in lines), key=lambda r: int(r["request_id"].rsplit("-", 1)[1], 16))
            return [r[field] for r in records[:n]]
        time.sleep(0.1)
    sys.exit(f"{log}: {len(lines)} of {n} request lines")


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    load = os.getloadavg()[0]
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()}; load average {load:.1f} at the start"


def svg(series, out):
    w, h, pad = 760, 420, 60
    xs = [x for pts in series.values() for x, _ in pts]
    ys = [y for pts in series.values() for _, y in pts]
    xmax, ymax = max(xs) or 1, max(ys) or 1
    colors = ["#1f77b4", "#d62728"]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
             f'<rect width="{w}" height="{h}" fill="white"/>',
             f'<text x="{w/2}" y="20" text-anchor="middle" font-size="14">Proxy overhead per turn against the request size</text>',
             f'<line x1="{pad}" y1="{h-pad}" x2="{w-20}" y2="{h-pad}" stroke="black"/>',
             f'<line x1="{pad}" y1="{h-pad}" x2="{pad}" y2="30" stroke="black"/>',
             f'<text x="{w/2}" y="{h-20}" text-anchor="middle">request body (KB, max {xmax/1000:.0f})</text>',
             f'<text x="15" y="{h/2}" transform="rotate(-90 15 {h/2})" text-anchor="middle">overhead ms (max {ymax:.1f})</text>']
    for i, (name, pts) in enumerate(series.items()):
        for x, y in pts:
            cx = pad + (x / xmax) * (w - pad - 30)
            cy = (h - pad) - (y / ymax) * (h - pad - 40)
            parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="2.2" fill="{colors[i % 2]}"/>')
        parts.append(f'<rect x="{pad + 20}" y="{40 + 18*i}" width="10" height="10" fill="{colors[i % 2]}"/>'
                     f'<text x="{pad + 36}" y="{49 + 18*i}">{name}</text>')
    parts.append("</svg>")
    out.write_text("\n".join(parts))


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def synthetic_summary(tsv, measured, first, second):
    """The issue's figures for the synthetic conversation: p50 and p99 of the turns whose history
    holds 100k-200k tokens, for a turn that adds a 10 KB output and one that adds nothing to
    compress; and how the overhead of the 10 KB turns grows from 10k to 200k tokens."""
    labels = {}
    for line in tsv.read_text().splitlines()[1:]:
        file, tokens, added = line.split("\t")
        labels[file] = (int(tokens), added)
    turns = [(labels[n], m, s) for n, (c, _), m, s in measured if n in labels]
    out = ["", f"Turns whose history holds 100k tokens to the end (just over 200k; p99: the 99th percentile of the turns of the three passes):", "",
           f"| the turn adds | turns | {second} p50 / p99 ms | {first} p50 / p99 ms |", "|---|---|---|---|"]
    for added, label in [("Output10k", "a real 8-12 KB command output"), ("Small", "a real output under 300 bytes (nothing to compress)")]:
        sel = [(m, s) for (tokens, a), m, s in turns if a == added and tokens >= 100_000]
        if sel:
            mem, st = [m for m, _ in sel], [s for _, s in sel]
            out.append(f"| {label} | {len(sel)} | {percentile(st, .5):.2f} / {percentile(st, .99):.2f} "
                       f"| {percentile(mem, .5):.2f} / {percentile(mem, .99):.2f} |")
    out += ["", f"The 10 KB turns with the memory, by the history's tokens (the slope):", "",
            "| history tokens | turns | median ms |", "|---|---|---|"]
    for lo in range(0, 200_001, 25_000):
        sel = [m for (tokens, a), m, _ in turns if a == "Output10k" and lo <= tokens < lo + 25_000]
        if sel:
            out.append(f"| {lo//1000}k-{(lo+25_000)//1000}k | {len(sel)} | {statistics.median(sel):.2f} |")
    return out


def main():
    versus = None
    if len(sys.argv) == 6 and sys.argv[3] == "--components":
        versus = (sys.argv[4], sys.argv[5])
    elif len(sys.argv) != 3:
        sys.exit(__doc__)
    bodies_dir, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    # (label, extra flags) of the proxy in the memory column, then of the one it is compared with.
    if versus:
        first, second = (f"B ({pathlib.Path(versus[1]).name})", ["--component", versus[1]]), \
            (f"A ({pathlib.Path(versus[0]).name})", ["--component", versus[0]])
    elif os.environ.get("OLD_BIN"):
        # OLD_COMPONENT: the earlier tree's core component (default: the one its binary loads).
        old = ["--component", os.environ["OLD_COMPONENT"]] if os.environ.get("OLD_COMPONENT") else []
        first, second = ("this tree", []), ("before (OLD_BIN)", old)
    else:
        first, second = ("with memory", []), ("stateless", ["--conversation-memory-mb", "0"])
    old_bin = pathlib.Path(os.environ["OLD_BIN"]) if os.environ.get("OLD_BIN") and not versus else BIN
    files = sorted(bodies_dir.glob("*.json"))
    if not files:
        sys.exit(f"no bodies in {bodies_dir}: run `turn_cost --dump {bodies_dir}` (needs ../shared/corpus)")
    header = machine()
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        mock = subprocess.Popen([str(MOCK), "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        procs = [mock]
        try:
            mock_url = "http://" + mock.stdout.readline().strip().removeprefix("http://")
            a = start_proxy(work, "memory", mock_url, first[1])
            b = start_proxy(work, "stateless", mock_url, second[1], old_bin)
            procs += [a[0], b[0]]
            sizes, names = [], []
            for k, f in enumerate(files):
                body = f.read_bytes()
                path = PATHS[f.name.split(".")[-2]]
                order = (a, b) if k % 2 == 0 else (b, a)
                wide = (bodies_dir / (f.name.split("-")[0] + ".context-1m")).exists()
                for p in order:
                    send(p[1], path, body, wide)
                sizes.append((f.name.split("-")[0], len(body)))
                names.append(f.name)
            mem = overheads(a[2], len(files))
            nomem = overheads(b[2], len(files))
            # The engine call alone (`compression_ms`): the part the component decides.
            mem_engine = overheads(a[2], len(files), "compression_ms")
            nomem_engine = overheads(b[2], len(files), "compression_ms")
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(timeout=10)
    if versus:
        report = [f"# Proxy overhead per turn: two core components, both with the conversation memory\n",
                  f"Measured with `benches/turns/proxy_turns.py ... --components {versus[0]} {versus[1]}` on {header}. "
                  "Every turn of the conversations below was sent to two `headroom proxy` processes side by side "
                  "(same binary and mock upstream, each with its own `--component`), alternating which got it first; "
                  "each figure is the median `overhead_ms` the proxies logged (arrival to the body ready to leave, "
                  "the upload included).\n"]
    elif os.environ.get("OLD_BIN"):
        report = [f"# Proxy overhead per turn: this tree against an earlier one, both with the conversation memory\n",
                  f"Measured with `OLD_BIN={os.environ['OLD_BIN']} benches/turns/proxy_turns.py` on {header}"
                  f"{' (both in ' + MODE[1] + ' mode)' if MODE else ''}. Every turn of the conversations below was "
                  "sent to two `headroom proxy` processes side by side (same mock upstream; this tree's binary and "
                  "the earlier one, each with its own core component), alternating which got it first; each figure "
                  "is the median `overhead_ms` the proxies logged (arrival to the body ready to leave, the upload "
                  "included).\n"]
    else:
        report = [f"# Proxy overhead per turn: conversation memory vs stateless\n",
                  f"Measured with `just bench-proxy-turns` on {header}. Every turn of the conversations below was "
                  "sent to two `headroom proxy` processes side by side (same mock upstream; one with the conversation "
                  "memory, one with `--conversation-memory-mb 0`), alternating which got it first; each figure is the "
                  "median `overhead_ms` the proxies logged (arrival to the body ready to leave, the upload included).\n"]
    series = {first[0]: [], second[0]: []}
    for conv in sorted({c for c, _ in sizes}):
        rows = [(n, m, s) for (c, n), m, s in zip(sizes, mem, nomem) if c == conv]
        engine = [(n, m, s) for (c, n), m, s in zip(sizes, mem_engine, nomem_engine) if c == conv]
        titles = {"0": "Claude Code session (Anthropic Messages)", "1": "longest mini-swe-agent trajectory (OpenAI Chat)",
                  "2": "synthetic conversation grown to 200k tokens from real outputs (OpenAI Chat, three passes)"}
        report.append(f"\n## {titles.get(conv, conv)}, {len(rows)} turns\n")
        ratio = "B / A" if versus else "this tree / before" if os.environ.get("OLD_BIN") else "memory / stateless"
        report.append(f"| turn size | turns | {second[0]} ms | {first[0]} ms | {ratio} | engine call: {second[0]} ms "
                      f"| engine call: {first[0]} ms |")
        report.append("|---|---|---|---|---|---|---|")
        top = max(n for n, _, _ in rows)
        step = max(1, -(-top // 8))
        for lo in range(0, top + 1, step):
            sel = [(m, s) for n, m, s in rows if lo <= n < lo + step]
            if not sel:
                continue
            ms, ss = statistics.median(m for m, _ in sel), statistics.median(s for _, s in sel)
            esel = [(m, s) for n, m, s in engine if lo <= n < lo + step]
            em, es = statistics.median(m for m, _ in esel), statistics.median(s for _, s in esel)
            report.append(f"| {lo//1000}-{(lo+step)//1000} KB | {len(sel)} | {ss:.2f} | {ms:.2f} | {ms/ss:.0%} "
                          f"| {es:.2f} | {em:.2f} |")
        if conv == "2":
            report += synthetic_summary(bodies_dir / "turns.tsv", zip(names, sizes, mem, nomem), first[0], second[0])
        for n, m, s in rows:
            series[first[0]].append((n, m))
            series[second[0]].append((n, s))
    out.write_text("\n".join(report) + "\n")
    svg(series, out.with_suffix(".svg"))
    print("\n".join(report))


if __name__ == "__main__":
    main()
