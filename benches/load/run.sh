#!/usr/bin/env bash
# Load benchmark: wrk -> mock upstream directly vs wrk -> headroom proxy -> mock, side by side
# in one run (calibrate and subtract), for a passthrough request and a 100 KB compressible tool
# output; plus RSS under load and time from start to /readyz 200. The passthrough rows alternate
# direct and proxy REPS times and report medians, with the CPU time (user + system) the proxy
# and the mock spent per request. The proxy runs without the response cache (every request
# here is the same: with it, all but the first would be cache hits and never reach the mock).
# OLD_BIN=path adds that binary (an earlier tree) as a second proxy in the passthrough rows,
# alternating with this tree's, to compare the two in one run. The passthrough rows also run a
# bare forwarder (`examples/bare_forward.rs`: the same axum + hyper stack, runtime and allocator
# doing nothing but relaying), the floor any proxy on this stack starts from.
# Writes benches/results/load.md.
# Needs: wrk (apt), `just component`, release binaries (the `bench-load` recipe builds them).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=target/release
DUR=${DUR:-10}
CONC=${CONC:-16}
REPS=${REPS:-3}
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
OUT=${OUT:-benches/results/load.md}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# A fresh compiled-code cache, so the first start below is truly cold.
export HEADROOM_CACHE_DIR="$work/cache"
# shellcheck source=mock.sh
source benches/load/mock.sh
mock_pid=$MOCK_PID
"$BIN/examples/bare_forward" 127.0.0.1:0 "$MOCK" > "$work/bare.out" 2>/dev/null &
bare_pid=$!
pids+=($bare_pid)
for _ in $(seq 100); do [ -s "$work/bare.out" ] && break; sleep 0.05; done
BARE=$(head -1 "$work/bare.out")

start_proxy() { # [binary] sets $pid; waits for /readyz; the start-to-ready time goes to $work/ready
  local t0 t1
  t0=$(date +%s%N)
  : > "$work/proxy.err"
  HEADROOM_PORT=0 OPENAI_TARGET_API_URL=$MOCK ANTHROPIC_TARGET_API_URL=$MOCK "${1:-$BIN/headroom}" proxy --no-cache \
    > /dev/null 2> "$work/proxy.err" &
  pid=$!
  local url=""
  for _ in $(seq 400); do
    url=$(grep -o 'http://[0-9.:]*' "$work/proxy.err" | head -1 || true)
    if [ -n "$url" ] && curl -fs "$url/readyz" >/dev/null 2>&1; then break; fi
    sleep 0.005
  done
  t1=$(date +%s%N)
  echo $(( (t1 - t0) / 1000000 )) > "$work/ready"
  echo "$url" > "$work/url"
}

# Cold start fills the compiled-code cache; the measured start is the warm one.
start_proxy; kill "$pid"; wait "$pid" 2>/dev/null || true
cold_ready=$(cat "$work/ready")
if [ -n "${OLD_BIN:-}" ]; then
  start_proxy "$OLD_BIN"; pids+=("$pid"); old_pid=$pid
  OLD=$(cat "$work/url")
fi
start_proxy; pids+=("$pid")
warm_ready=$(cat "$work/ready")
PROXY=$(cat "$work/url")

python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
json.dump({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}, open(f"{w}/small.json", "w"))
# A worker's log: lines of a few templates, which the engine's log transform folds (a grep
# output whose every line matches the command's pattern is kept whole, so it measures nothing).
log = "".join(f"2026-12-05T10:{(i // 60) % 60:02d}:{i % 60:02d}Z INFO worker-{i % 8} processed batch {i} "
              f"of queue jobs in {i * 37 % 97} ms\n" for i in range(1500))
body = {"model": "gpt-4o", "messages": [
    {"role": "user", "content": "why is the queue slow? (task @@ID@@)"},
    {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function",
        "function": {"name": "bash", "arguments": "{\"command\": \"tail -n 2000 /var/log/worker.log\"}"}}]},
    {"role": "tool", "tool_call_id": "c1", "content": log[:100_000]}]}
json.dump(body, open(f"{w}/big.json", "w"))
PY

run_wrk() { # url body [connections] [upstream delay ms] [wrk script] -> "p50_ms p99_ms rps requests"
  local c=${3:-$CONC} t=2
  [ "$c" -lt 2 ] && t=1
  DELAY_MS=${4:-} BODY=$2 wrk -t"$t" -c"$c" -d"${DUR}s" --latency -s "benches/load/${5:-post.lua}" "$1/v1/chat/completions" > "$work/wrk.out"
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

cpu_ticks() { # pid -> user + system clock ticks so far
  awk '{print $14 + $15}' "/proc/$1/stat"
}

# The passthrough rows: direct and proxy alternating, REPS times; one line per run in $work/rows
# ("who delay p50 p99 rps", and for the proxy the CPU microseconds per request of the proxy and
# of the mock).
TICK_US=$((1000000 / $(getconf CLK_TCK)))
passthrough() { # delay in ms, 0 for none
  local rep p0 m0 p1 m1 delay=$1
  [ "$delay" = 0 ] && delay=""
  for rep in $(seq "$REPS"); do
    read -r a b c _ < <(run_wrk "$MOCK" "$work/small.json" "$CONC" "$delay")
    echo "direct $1 $a $b $c" >> "$work/rows"
    p0=$(cpu_ticks "$pid"); m0=$(cpu_ticks "$mock_pid")
    read -r a b c n < <(run_wrk "$PROXY" "$work/small.json" "$CONC" "$delay")
    p1=$(cpu_ticks "$pid"); m1=$(cpu_ticks "$mock_pid")
    echo "proxy $1 $a $b $c $(( (p1 - p0) * TICK_US / n )) $(( (m1 - m0) * TICK_US / n ))" >> "$work/rows"
    p0=$(cpu_ticks "$bare_pid"); m0=$(cpu_ticks "$mock_pid")
    read -r a b c n < <(run_wrk "$BARE" "$work/small.json" "$CONC" "$delay")
    p1=$(cpu_ticks "$bare_pid"); m1=$(cpu_ticks "$mock_pid")
    echo "bare $1 $a $b $c $(( (p1 - p0) * TICK_US / n )) $(( (m1 - m0) * TICK_US / n ))" >> "$work/rows"
    if [ -n "${OLD_BIN:-}" ]; then
      p0=$(cpu_ticks "$old_pid"); m0=$(cpu_ticks "$mock_pid")
      read -r a b c n < <(run_wrk "$OLD" "$work/small.json" "$CONC" "$delay")
      p1=$(cpu_ticks "$old_pid"); m1=$(cpu_ticks "$mock_pid")
      echo "old $1 $a $b $c $(( (p1 - p0) * TICK_US / n )) $(( (m1 - m0) * TICK_US / n ))" >> "$work/rows"
    fi
  done
}

rss_during_load() { # samples the proxy's RSS while wrk runs against it
  local peak=0 v
  while kill -0 "$1" 2>/dev/null && [ -f "$work/loading" ]; do
    v=$(awk '/VmRSS/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ "$v" -gt "$peak" ] && peak=$v
    sleep 0.2
  done
  echo $(( peak / 1024 ))
}

: > "$work/rows"
touch "$work/loading"; (rss_during_load "$pid" > "$work/rss") &
passthrough 0
rm -f "$work/loading"; sleep 0.3
rss=$(cat "$work/rss")
# The same with the upstream answering in ${LAT} ms: the proxy's cost against a provider that takes
# time to answer (real ones take hundreds of ms), without the mock's CPU competing for the cores.
LAT=${LAT:-20}
passthrough "$LAT"
med() { # who delay column -> median
  awk -v w="$1" -v d="$2" -v c="$3" '$1 == w && $2 == d {print $c}' "$work/rows" | sort -n \
    | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
d50=$(med direct 0 3); d99=$(med direct 0 4); drps=$(med direct 0 5)
p50=$(med proxy 0 3); p99=$(med proxy 0 4); prps=$(med proxy 0 5)
ld50=$(med direct "$LAT" 3); ld99=$(med direct "$LAT" 4); ldrps=$(med direct "$LAT" 5)
lp50=$(med proxy "$LAT" 3); lp99=$(med proxy "$LAT" 4); lprps=$(med proxy "$LAT" 5)
proxy_us=$(med proxy 0 6); mock_us=$(med proxy 0 7)
b50=$(med bare 0 3); b99=$(med bare 0 4); brps=$(med bare 0 5); bare_us=$(med bare 0 6)
lb50=$(med bare "$LAT" 3); lb99=$(med bare "$LAT" 4); lbrps=$(med bare "$LAT" 5)
old_line=""
if [ -n "${OLD_BIN:-}" ]; then
  orps=$(med old 0 5); ous=$(med old 0 6); olrps=$(med old "$LAT" 5); olp99=$(med old "$LAT" 4)
  old_line="- The tree before (\`OLD_BIN=${OLD_BIN}\`), a third column alternating with the two above in
  the same run: CPU-bound row $orps RPS ($(python3 -c "print(f'{100 * $orps / $drps:.0f}')")% of direct), proxy CPU $ous us per
  request; with the upstream answering in ${LAT} ms $olrps RPS ($(python3 -c "print(f'{100 * $olrps / $ldrps:.0f}')")% of direct),
  added p99 $(python3 -c "print(f'{$olp99 - $ld99:.3f}')") ms."
fi
# Each 100 KB request opens a conversation of its own: the same one repeated would be frozen by
# the ledger once a compression under this load ran out of time (its later turns must then go as
# they went), and the rows would measure forwarding, not compression.
read -r bd50 bd99 bdrps _ < <(run_wrk "$MOCK" "$work/big.json" "$CONC" "" distinct.lua)
read -r bp50 bp99 bprps _ < <(run_wrk "$PROXY" "$work/big.json" "$CONC" "" distinct.lua)
read -r sd50 sd99 sdrps _ < <(run_wrk "$MOCK" "$work/big.json" 1 "" distinct.lua)
read -r sp50 sp99 sprps _ < <(run_wrk "$PROXY" "$work/big.json" 1 "" distinct.lua)
sent=$(curl -fs "$MOCK/__mock/last" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["body"]))')

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
CPUS=$(nproc)
add() { python3 -c "print(f'{$1 - $2:.3f}')"; }
pct() { python3 -c "print(f'{100 * $1 / $2:.0f}')"; }
cat > "$OUT" <<MD
# Load benchmark

Measured with \`just bench-load\` on ${cpu} ($(nproc) cores, shared with the load generator and the
mock upstream), wrk -t2 -c${CONC} -d${DUR}s (one row with -t1 -c1), loopback only, at $(git rev-parse --short HEAD).
"Direct" is wrk against the mock upstream; "proxy" is wrk against \`headroom proxy --no-cache\` in
front of the same mock, run right after in the same session; added latency is proxy minus direct.
The two passthrough rows are medians of ${REPS} runs alternating direct and proxy; load average
at the start: ${load_start}, at the end: $(cut -d' ' -f1-3 /proc/loadavg).

| scenario | direct p50 / p99 ms | proxy p50 / p99 ms | added p50 / p99 ms | direct RPS | proxy RPS | ratio |
|---|---|---|---|---|---|---|
| passthrough (nothing to compress) | ${d50} / ${d99} | ${p50} / ${p99} | $(add "$p50" "$d50") / $(add "$p99" "$d99") | ${drps} | ${prps} | $(pct "$prps" "$drps")% |
| passthrough, upstream answering in ${LAT} ms | ${ld50} / ${ld99} | ${lp50} / ${lp99} | $(add "$lp50" "$ld50") / $(add "$lp99" "$ld99") | ${ldrps} | ${lprps} | $(pct "$lprps" "$ldrps")% |
| passthrough, bare forwarder (the stack's floor) | ${d50} / ${d99} | ${b50} / ${b99} | $(add "$b50" "$d50") / $(add "$b99" "$d99") | ${drps} | ${brps} | $(pct "$brps" "$drps")% |
| the same, upstream answering in ${LAT} ms | ${ld50} / ${ld99} | ${lb50} / ${lb99} | $(add "$lb50" "$ld50") / $(add "$lb99" "$ld99") | ${ldrps} | ${lbrps} | $(pct "$lbrps" "$ldrps")% |
| 100 KB log output (compressed) | ${bd50} / ${bd99} | ${bp50} / ${bp99} | $(add "$bp50" "$bd50") / $(add "$bp99" "$bd99") | ${bdrps} | ${bprps} | $(pct "$bprps" "$bdrps")% |
| 100 KB log output, one connection | ${sd50} / ${sd99} | ${sp50} / ${sp99} | $(add "$sp50" "$sd50") / $(add "$sp99" "$sd99") | ${sdrps} | ${sprps} | $(pct "$sprps" "$sdrps")% |

- The first row is CPU-bound: the mock answers in microseconds, so wrk, the mock and the proxy's
  two HTTP legs compete for the same ${CPUS} cores and the ratio measures how much CPU a proxied
  request takes relative to a direct one, not the delay a user sees. The second row gives the mock
  a provider-like (if very fast) answer time; there the ratio and the added latency are what a
  client of a real provider would see.
- CPU time (user + system) per passthrough request through the proxy (first row, median of the
  runs): the proxy ${proxy_us} us, the mock upstream ${mock_us} us; the bare forwarder ${bare_us} us.
  The bare forwarder (\`examples/bare_forward.rs\`) is axum's server and hyper's pooled client on
  the same runtime and allocator as the proxy, relaying without reading, checking or accounting
  anything: what it costs is the stack's floor, and the proxy's excess over it is its own work.
${old_line}
- Bytes the upstream received for the last 100 KB request through the proxy: ${sent} (of about
  $(wc -c < "$work/big.json")).
- Proxy RSS, peak sampled during the passthrough load: ${rss} MB.
- Start to \`/readyz\` 200: ${cold_ready} ms cold (compiling the component, filling the code cache),
  ${warm_ready} ms warm (compiled code loaded from the cache).
MD
cat "$OUT"
