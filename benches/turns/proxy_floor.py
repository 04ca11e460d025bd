#!/usr/bin/env python3
"""How the proxy's added time grows with the history, split into what any proxy costs a body
of that size (receiving it, reading it, handing it on) and what compression adds.

Every turn of the synthetic conversation (`turn_cost --dump`, the `2-*` bodies: three passes
grown to 200k tokens from real outputs) is sent, in a rotating order, straight to the mock
upstream, through `headroom proxy --no-optimize` (the engine never called) and through
`headroom proxy` as it runs by default (token mode, the conversation memory; `PROXY_MODE=cache`
runs both proxies in cache mode instead). Each figure is the
median time the client waited for the answer, by the history's tokens, for the turns that add a
real output under 300 bytes (nothing to compress) and those that add an 8-12 KB one.

usage: proxy_floor.py BODIES_DIR OUT.md   (bodies from `turn_cost --dump`; needs ../shared/corpus)
"""

import pathlib
import statistics
import http.client
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import proxy_turns as pt  # noqa: E402

HEADERS = {"content-type": "application/json", "authorization": "Bearer bench"}


def timed(port, body):
    """Milliseconds from sending `body` to having read the whole answer (one connection each)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    start = time.perf_counter()
    c.request("POST", "/v1/chat/completions", body=body, headers=HEADERS)
    r = c.getresponse()
    r.read()
    took = (time.perf_counter() - start) * 1000
    c.close()
    if r.status != 200:
        sys.exit(f"status {r.status} from port {port}")
    return took


BANDS = [(0, 25_000), (25_000, 50_000), (50_000, 100_000), (100_000, 150_000), (150_000, 225_000)]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    bodies_dir, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    tsv = bodies_dir / "turns.tsv"
    if not tsv.exists():
        sys.exit(f"no {tsv}: run `turn_cost --dump {bodies_dir}` (needs ../shared/corpus)")
    labels = {}
    for line in tsv.read_text().splitlines()[1:]:
        name, tokens, added = line.split("\t")
        labels[name] = (int(tokens), added)
    files = sorted(f for f in bodies_dir.glob("2-*.json") if f.name in labels)
    header = pt.machine()
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        mock = subprocess.Popen([str(pt.MOCK), "127.0.0.1:0"], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        procs = [mock]
        try:
            mock_url = "http://" + mock.stdout.readline().strip().removeprefix("http://")
            mock_port = int(mock_url.rsplit(":", 1)[1])
            full = pt.start_proxy(work, "compressing", mock_url, [])
            bare = pt.start_proxy(work, "no-optimize", mock_url, ["--no-optimize"])
            procs += [full[0], bare[0]]
            times = []
            for k, f in enumerate(files):
                body = f.read_bytes()
                order = [("direct", mock_port), ("bare", bare[1]), ("full", full[1])]
                order = order[k % 3:] + order[:k % 3]
                times.append({name: timed(port, body) for name, port in order})
            # What the default proxy forwarded, against what it received (the request's tokens).
            before = pt.overheads(full[2], len(files), "tokens_before")
            after = pt.overheads(full[2], len(files), "tokens_after")
            for t, b, a in zip(times, before, after):
                t["kept"] = a / b if b else 1.0
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(timeout=10)
    report = [
        "# Proxy time per turn by history length: what any proxy costs a body, and what compression adds\n",
        f"Measured with `benches/turns/proxy_floor.py` on {header}. Every turn of the synthetic conversation "
        "(three passes grown to 200k tokens from real outputs) was sent, in a rotating order, straight to the mock "
        "upstream, through `headroom proxy --no-optimize` (the engine never called: receiving the body, reading it, "
        f"handing it on) and through `headroom proxy` ({pt.MODE[1] if pt.MODE else 'token'} mode, the conversation memory). "
        "Figures are medians of the time the client (Python, one connection per request) waited for the whole "
        "answer; the two differences are medians of the per-turn differences. The default proxy forwards a smaller "
        "body than it receives (token mode offloads older outputs), which the upstream leg then carries and reads "
        "faster: on a small turn that pays for the engine's work; over a real network it pays for more.\n",
    ]
    for added, title in [("Small", "a real output under 300 bytes (nothing to compress)"),
                         ("Output10k", "a real 8-12 KB command output")]:
        report += ["", f"Turns that add {title}:", "",
                   "| history tokens | turns | direct ms | `--no-optimize` ms | default ms "
                   "| a proxy adds (`--no-optimize` - direct) ms | compression adds (default - `--no-optimize`) ms "
                   "| default forwards (tokens after / before) |",
                   "|---|---|---|---|---|---|---|---|"]
        for lo, hi in BANDS:
            sel = [t for f, t in zip(files, times) if labels[f.name][1] == added and lo <= labels[f.name][0] < hi]
            if sel:
                med = lambda key: statistics.median(key(t) for t in sel)  # noqa: E731
                report.append(
                    f"| {lo // 1000}k-{hi // 1000}k | {len(sel)} | {med(lambda t: t['direct']):.2f} "
                    f"| {med(lambda t: t['bare']):.2f} | {med(lambda t: t['full']):.2f} "
                    f"| {med(lambda t: t['bare'] - t['direct']):.2f} | {med(lambda t: t['full'] - t['bare']):.2f} "
                    f"| {med(lambda t: t['kept']):.0%} |")
    out.write_text("\n".join(report) + "\n")
    print("\n".join(report))


if __name__ == "__main__":
    main()
