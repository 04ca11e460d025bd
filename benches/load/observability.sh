#!/usr/bin/env bash
# What observability costs the hot path: wrk against this proxy built without it ("off": the
# `bench-no-accounting` feature, answers go out unwatched and nothing is accounted) and with
# everything on (per-request records, /stats aggregation, metrics, spend, the JSONL request log
# with full messages, info logs, the savings history written every second, /metrics and /stats
# scraped every second), in one run, alternating; medians. A third proxy ("lean": the normal
# build with the optional parts off: no request log, warn-level logs, the history written
# hourly, no scrapes) splits what the optional parts cost from what always-on accounting costs.
# The response cache is off (`--no-cache`) in all three: a cache hit skips the path measured.
# Then one /metrics scrape after 100k+ requests, timed. Each run also reports the CPU time (user +
# system, from /proc/PID/stat) the proxy spent per request, steadier than the throughput on a
# shared machine. OLD_BIN=path adds a fourth proxy, that binary with everything on ("before":
# an earlier tree), alternating with the others, to compare two trees in one run.
# Writes benches/results/observability.md. Needs wrk, `just component`, release binaries.
set -euo pipefail
cd "$(dirname "$0")/../.."
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
BIN=target/release
DUR=${DUR:-8}
CONC=${CONC:-16}
REPS=${REPS:-5}
LAT=${LAT:-20}
OUT=${OUT:-benches/results/observability.md}
work=$(mktemp -d)
pids=()
# Proxies are started inside $(...): their PIDs go through a file.
cleanup() {
  for p in "${pids[@]}" $(cat "$work/proxy.pids" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  # The proxies write their files as they stop: wait for them (5 s at most: the mock is a
  # child of this shell and stays a zombie) before removing the folder.
  for p in "${pids[@]}" $(cat "$work/proxy.pids" 2>/dev/null); do
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
  done
  rm -rf "$work"
}
trap cleanup EXIT

if [ -z "${BASE_BIN:-}" ]; then
  # The same tree without accounting, then the normal build back in place.
  cargo build -q --release -p headroom-proxy --bin headroom --features bench-no-accounting
  cp "$BIN/headroom" "$work/headroom-off"
  BASE_BIN="$work/headroom-off"
fi
cargo build -q --release -p headroom-proxy --bin headroom

# shellcheck source=mock.sh
source benches/load/mock.sh

start() { # name binary args... ; prints the proxy's URL
  local name=$1 bin=$2
  shift 2
  HEADROOM_PORT=0 OPENAI_TARGET_API_URL=$MOCK ANTHROPIC_TARGET_API_URL=$MOCK "$bin" proxy "$@" \
    > /dev/null 2> "$work/$name.err" &
  echo $! >> "$work/proxy.pids"
  echo $! > "$work/$name.pid"
  local url=""
  for _ in $(seq 6000); do
    url=$(grep -o 'http://[0-9.:]*' "$work/$name.err" | head -1 || true)
    if [ -n "$url" ] && curl -fs "$url/readyz" >/dev/null 2>&1; then break; fi
    sleep 0.01
  done
  curl -fs "$url/readyz" > /dev/null || { echo "$name never became ready" >&2; exit 1; }
  echo "$url"
}

OFF=$(start off "$BASE_BIN" --no-cache --log-level warn \
  --savings-path "$work/off_savings.json" --savings-flush-ms 3600000)
LEAN=$(start lean "$BIN/headroom" --no-cache --log-level warn \
  --savings-path "$work/lean_savings.json" --savings-flush-ms 3600000)
ON=$(start on "$BIN/headroom" --no-cache --log-file "$work/requests.jsonl" --log-full-messages --log-level info \
  --savings-path "$work/proxy_savings.json" --savings-flush-ms 1000)
WHO="off lean on"
if [ -n "${OLD_BIN:-}" ]; then
  BEFORE=$(start before "$OLD_BIN" --no-cache --log-file "$work/before.jsonl" --log-full-messages --log-level info \
    --savings-path "$work/before_savings.json" --savings-flush-ms 1000)
  WHO="$WHO before"
fi

python3 -c "import json; json.dump({'model': 'gpt-4o', 'messages': [{'role': 'user', 'content': 'hi'}]}, open('$work/small.json', 'w'))"

run_wrk() { # url [delay ms] -> "p50_ms p99_ms rps requests"
  DELAY_MS=${2:-} BODY=$work/small.json wrk -t2 -c"$CONC" -d"${DUR}s" --latency -s benches/load/post.lua \
    "$1/v1/chat/completions" > "$work/wrk.out"
  python3 - "$work/wrk.out" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
def ms(v, u): return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[u]
lat = {p: ms(v, u) for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)", t, re.M)}
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
n = int(re.search(r"(\d+) requests in", t).group(1))
print(f"{lat['50']:.3f} {lat['99']:.3f} {rps:.0f} {n}")
PY
}

TICK_US=$((1000000 / $(getconf CLK_TCK)))
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# The accounting thread's share (its name, cut to 15 characters, is the stat file's 2nd field).
accounting_ticks() { cat "/proc/$1"/task/*/stat 2>/dev/null | awk '$2 == "(headroom-accoun)" {s += $14 + $15} END {print s + 0}'; }
measure() { # name [delay ms] -> "p50_ms p99_ms rps cpu_us_per_request accounting_thread_us_per_request"
  local pid url t0 t1 s0 s1 a b c n
  pid=$(cat "$work/$1.pid")
  case $1 in off) url=$OFF ;; lean) url=$LEAN ;; on) url=$ON ;; before) url=$BEFORE ;; esac
  t0=$(cpu_ticks "$pid")
  s0=$(accounting_ticks "$pid")
  read -r a b c n < <(run_wrk "$url" "${2:-}")
  t1=$(cpu_ticks "$pid")
  s1=$(accounting_ticks "$pid")
  echo "$a $b $c $(( (t1 - t0) * TICK_US / n )) $(( (s1 - s0) * TICK_US * 100 / n ))"
}

scrape() { # every second while $work/scraping exists
  while [ -f "$work/scraping" ]; do
    for url in "$ON" ${BEFORE:-}; do
      curl -fs "$url/metrics" > /dev/null || true
      curl -fs "$url/stats" > /dev/null || true
    done
    sleep 1
  done
}

touch "$work/scraping"; scrape & pids+=($!)
: > "$work/rows"
for delay in "" "$LAT"; do
  for rep in $(seq "$REPS"); do
    for who in $WHO; do
      echo "$who ${delay:-0} $(measure "$who" "$delay")" >> "$work/rows"
    done
  done
done
rm -f "$work/scraping"

# One scrape after the load (every request above went through ON too), timed.
served=$(curl -fs "$ON/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"]["total"])')
while [ "$served" -lt 100000 ]; do
  DELAY_MS= BODY=$work/small.json wrk -t2 -c"$CONC" -d5s -s benches/load/post.lua "$ON/v1/chat/completions" > /dev/null
  served=$(curl -fs "$ON/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"]["total"])')
done
scrapes=$(for _ in $(seq 21); do curl -fs -o /dev/null -w '%{time_total}\n' "$ON/metrics"; done | sort -n | sed -n 11p)
metrics_bytes=$(curl -fs "$ON/metrics" | wc -c)
log_lines=$(wc -l < "$work/requests.jsonl")
dropped=$(curl -fs "$ON/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["request_log"]["dropped"])')
savings_bytes=$(wc -c < "$work/proxy_savings.json")

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
python3 - "$work/rows" "$OUT" "$cpu" "$(nproc)" "$DUR" "$CONC" "$REPS" "$LAT" "$(git rev-parse --short HEAD)" \
  "$served" "$scrapes" "$metrics_bytes" "$log_lines" "$dropped" "$savings_bytes" "$load_start" \
  "$(cut -d' ' -f1-3 /proc/loadavg)" "${OLD_BIN:-}" <<'PY'
import statistics, sys
(rows, out, cpu, cores, dur, conc, reps, lat, base, served, scrape, mbytes, lines, dropped, sbytes,
 load_start, load_end, old_bin) = sys.argv[1:]
data = {}
for line in open(rows):
    who, delay, p50, p99, rps, us, acct = line.split()
    data.setdefault((who, delay), []).append((float(p50), float(p99), float(rps), float(us), float(acct) / 100))
def med(who, delay, i): return statistics.median(r[i] for r in data[(who, delay)])
def rows(base, against="on"):
    table = []
    for delay, label in (("0", "passthrough"), (lat, f"passthrough, upstream answering in {lat} ms")):
        off = [med(base, delay, i) for i in range(3)]
        on = [med(against, delay, i) for i in range(3)]
        table.append(f"| {label} | {off[0]:.3f} / {off[1]:.3f} | {on[0]:.3f} / {on[1]:.3f} | "
                     f"{100 * on[1] / off[1]:.0f}% | {off[2]:.0f} | {on[2]:.0f} | {100 * on[2] / off[2]:.0f}% |")
    return chr(10).join(table)
table, lean_table = rows("off"), rows("lean")
names = {"off": "off (`bench-no-accounting`)", "lean": "lean (accounting on, optional parts off)",
         "on": "on (everything)", "before": "on, the tree before (`OLD_BIN`)"}
who = [w for w in ("off", "lean", "on", "before") if (w, "0") in data]
def spread(w, i=3, fmt=".0f"):
    v = sorted(r[i] for r in data[(w, "0")])
    return f"{statistics.median(v):{fmt}} us ({v[0]:{fmt}}-{v[-1]:{fmt}})"
cpu_table = chr(10).join(f"| {names[w]} | {spread(w)} | {spread(w, 4, '.1f')} |" for w in who)
before = ""
if old_bin:
    before = f"""
This tree with everything on against the tree before it (`OLD_BIN={old_bin}`), everything on too,
in the same run:

| scenario | before p50 / p99 ms | this tree p50 / p99 ms | p99 ratio | before RPS | this tree RPS | RPS ratio |
|---|---|---|---|---|---|---|
{rows('before')}
"""
open(out, "w").write(f"""# What observability costs the hot path

Measured with `benches/load/observability.sh` on {cpu} ({cores} cores, shared with wrk and the
mock upstream), wrk -t2 -c{conc} -d{dur}s, {reps} runs of each, alternating, medians. Load
average (1, 5, 15 min) at the start: {load_start}, at the end: {load_end}.
Off, lean and on are this tree (at {base}); every proxy runs with the response cache off. "Off" is built with the
`bench-no-accounting` feature: answers go out unwatched and no record exists, so nothing feeds
`/stats`, `/metrics`, spend or the logs. "On" has every part on: per-request records, `/stats`
aggregation, the Prometheus instruments, spend, the JSONL request log with
`--log-full-messages`, one info log line per request, the savings history written every
second, and `/metrics` plus `/stats` scraped every second during the load.

| scenario | off p50 / p99 ms | on p50 / p99 ms | on p99 / off p99 | off RPS | on RPS | on / off RPS |
|---|---|---|---|---|---|---|
{table}

The same binary with the optional parts off ("lean": no request log, warn-level logs, history
written hourly, no scrapes; the per-request record, `/stats`, `/metrics` and spend accounting
cannot be turned off) against "on":

| scenario | lean p50 / p99 ms | on p50 / p99 ms | on p99 / lean p99 | lean RPS | on RPS | on / lean RPS |
|---|---|---|---|---|---|---|
{lean_table}
{before}
CPU time (user + system) the proxy spent per request on the CPU-bound row (median of the
{reps} runs, and their range), and the part of it spent by the thread that accounts the records
in batches (`headroom-accounting`, D98; none in "off"). The thread's share moves far less
between runs than the whole, which the load on the machine moves by several microseconds:

| build | proxy CPU per request | of which the accounting thread |
|---|---|---|
{cpu_table}

- The first row is CPU-bound (the mock answers in microseconds; wrk, the mock and the proxy share
  the cores), so it measures the CPU a request costs; the second is what a client of a
  provider that takes time to answer sees.
- `/metrics` of the proxy after {served} requests: median of 21 scrapes {float(scrape) * 1000:.2f} ms
  (curl, loopback), {mbytes} bytes.
- Request log: {lines} lines written, {dropped} dropped (bounded queue). Savings history file:
  {sbytes} bytes.
""")
print(open(out).read())
PY
