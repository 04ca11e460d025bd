#!/usr/bin/env bash
# What observability costs per passthrough request, in instructions: each proxy ("off": built
# with `bench-no-accounting`; "lean": the normal build, optional parts off; "on": everything,
# as in observability.sh) runs under valgrind's callgrind, is warmed up, and is then counted
# over N requests of the passthrough body (instrumentation on for those alone). Instruction
# counts do not move with the machine's load, so they split a few microseconds apart where
# wrk's throughput and /proc's CPU time cannot; what they leave out is the kernel's share and
# what the caches and other cores cost. OLD_BIN=path adds that binary with everything on.
# Writes benches/results/observability-instructions.md. Needs valgrind (Debian package),
# `just component` and the release binaries. A proxy binary not run under valgrind before
# compiles the component at its start, a few minutes there.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v valgrind > /dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
BIN=target/release
N=${N:-2000}
OUT=${OUT:-benches/results/observability-instructions.md}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

cargo build -q --release -p headroom-proxy --bin headroom --features bench-no-accounting
cp "$BIN/headroom" "$work/headroom-off"
cargo build -q --release -p headroom-proxy --bin headroom
cp "$BIN/headroom" "$work/headroom"
# shellcheck source=mock.sh
source benches/load/mock.sh

# Keep-alive connections, requests one after another: the count is per request.
cat > "$work/load.py" <<'PY'
import http.client, json, sys
host, port = sys.argv[1].removeprefix("http://").split(":")
body = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
conns = [http.client.HTTPConnection(host, int(port)) for _ in range(4)]
for i in range(int(sys.argv[2])):
    c = conns[i % 4]
    c.request("POST", "/v1/chat/completions", body,
              {"content-type": "application/json", "authorization": "Bearer sk-bench"})
    r = c.getresponse()
    r.read()
    assert r.status == 200, r.status
PY

count() { # name binary args... -> instructions per request; leaves $work/NAME.cg
  local name=$1 bin=$2
  shift 2
  HEADROOM_PORT=0 OPENAI_TARGET_API_URL=$MOCK ANTHROPIC_TARGET_API_URL=$MOCK \
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/$name.cg" \
    "$bin" proxy --no-cache --savings-path "$work/$name.json" "$@" > /dev/null 2> "$work/$name.err" &
  local pid=$!
  pids+=("$pid")
  # Under valgrind the component cannot reserve its instance pool (hundreds of gigabytes of
  # address space), so the engine never loads and `/readyz` stays 503: wait until `/health`
  # says how the load ended. Without an engine a request is forwarded as the engine forwards
  # this small one (untouched), only without the check that says so; the same in every proxy.
  local url="" health=""
  for _ in $(seq 6000); do
    url=$(grep -o 'http://[0-9.:]*' "$work/$name.err" | head -1 || true)
    health=$([ -n "$url" ] && curl -s "$url/health" || true)
    if grep -q '"engine":{[^}]*\("error"\|"ready":true\)' <<< "$health"; then break; fi
    sleep 0.05
  done
  [ -n "$health" ] || { echo "$name never answered /health" >&2; exit 1; }
  python3 "$work/load.py" "$url" 300
  callgrind_control -i on "$pid" > /dev/null
  python3 "$work/load.py" "$url" "$N"
  callgrind_control -i off "$pid" > /dev/null
  callgrind_control -d "$pid" > /dev/null
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  # The dump asked for is the first part; the one written at the exit counts nothing.
  mv "$work/$name.cg.1" "$work/$name.cg"
}

count off "$work/headroom-off" --log-level warn --savings-flush-ms 3600000
count lean "$work/headroom" --log-level warn --savings-flush-ms 3600000
count on "$work/headroom" --log-level info --log-file "$work/requests.jsonl" --log-full-messages \
  --savings-flush-ms 1000
WHO="off lean on"
if [ -n "${OLD_BIN:-}" ]; then
  count before "$OLD_BIN" --log-level info --log-file "$work/before.jsonl" --log-full-messages \
    --savings-flush-ms 1000
  WHO="$WHO before"
fi

python3 - "$work" "$N" "$OUT" "$(git rev-parse --short HEAD)" "${OLD_BIN:-}" $WHO <<'PY'
import re, subprocess, sys
work, n, out, rev, old = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
who = sys.argv[6:]

def totals(name, inclusive):
    text = subprocess.run(["callgrind_annotate", "--threshold=100", f"--inclusive={inclusive}",
                           f"{work}/{name}.cg"], capture_output=True, text=True, check=True).stdout
    rows = {}
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+) \([\s\d.]+%\)\s+(\*\s+)?(\S.*?)( \[.*\])?$", line)
        if m:
            fn = m.group(3).split(":", 1)[-1] if m.group(3).startswith("???:") else m.group(3)
            rows[fn] = rows.get(fn, 0) + int(m.group(1).replace(",", ""))
    return rows

per = {w: totals(w, "no").get("PROGRAM TOTALS", 0) / n for w in who}
incl = totals("on", "yes")
lines = [
    "# What observability costs per passthrough request, in instructions",
    "",
    f"Measured with `benches/load/instructions.sh` at {rev}: each proxy under valgrind's callgrind,",
    f"warmed up with 300 requests, then {n} passthrough requests (the body of `observability.sh`)",
    "counted, one after another on 4 keep-alive connections. User-space instructions of every",
    "thread of the proxy; the kernel's share is not counted. Under valgrind the component cannot",
    "reserve its instance pool, so no engine is loaded: the small body is forwarded as the engine",
    "would forward it (untouched), without the check that says so, in every proxy alike.",
    "\"Off\", \"lean\" and \"on\" are the three proxies of `observability.md`"
    + (f"; \"before\" is `OLD_BIN={old}` with everything on." if old else "."),
    "",
    "| proxy | instructions per request | over off |",
    "|---|---|---|",
]
for w in who:
    lines.append(f"| {w} | {per[w]:,.0f} | {per[w] - per['off']:+,.0f} |")
lines += ["", "Where \"on\" spends them (inclusive, per request; the parts observability adds):", "",
          "| function | instructions per request |", "|---|---|"]
picks = [
    ("the request queued for the accounting as its answer ends", "headroom_proxy::accounting::Accounting::finish"),
    ("the queue accounted in batches: the records' completion and consumers (accounting thread)",
     "headroom_proxy::accounting::Accounting::settle"),
    ("the answer's usage and model read (in the batch)", "headroom_proxy::accounting::usage::Checked::read"),
    ("the request log line", "<headroom_proxy::request_log::RequestLog as headroom_proxy::accounting::Sink>::record"),
    ("the info line (`tracing`)", "tracing_core::event::Event::dispatch"),
    ("the answer checked (off checks it too)", "headroom_proxy::accounting::usage::check_answer"),
    ("the bill's session state", "headroom_proxy::accounting::session::Sessions::observe"),
    ("spend", "<headroom_proxy::spend::Spend as headroom_proxy::accounting::Sink>::record"),
    ("`/stats`", "<headroom_proxy::stats::Stats as headroom_proxy::accounting::Sink>::record"),
    ("`/metrics`", "<headroom_proxy::metrics::Metrics as headroom_proxy::accounting::Sink>::record"),
    ("the draft (request id, clocks)", "headroom_proxy::accounting::Draft::new"),
    ("the answer's tap set up", "headroom_proxy::accounting::tap::observe"),
]
for label, fn in picks:
    if fn in incl:
        lines.append(f"| {label} | {incl[fn] / n:,.0f} |")
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
