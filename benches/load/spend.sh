#!/usr/bin/env bash
# What spend control costs the hot path, in one run: wrk against the same proxy binary with
# budgets, rate limits and the response cache off (`--no-cache`, no budget, no limits) and on
# (global and per-key budgets, RPM and TPM limits set high enough never to refuse, the cache on
# with every request distinct so each one misses and is stored), alternating off/on, medians.
# Then a cache hit for a 100 KB answer (wrk -c1 against one repeated request; a miss of the same
# request through the cache-less proxy beside it), and the limiter's memory for 100k keys.
# Writes benches/results/spend.md. Needs wrk, `just component`, release binaries
# (cargo build --release -p headroom-proxy --bin headroom --example mock_upstream --example limiter_memory).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=target/release
DUR=${DUR:-6}
CONC=${CONC:-16}
REPS=${REPS:-3}
LAT=${LAT:-20}
OUT=${OUT:-benches/results/spend.md}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
command -v wrk > /dev/null || { echo "wrk is not installed" >&2; exit 1; }
for b in headroom examples/mock_upstream examples/limiter_memory; do
  [ -x "$BIN/$b" ] || { echo "missing $BIN/$b: build it first (see the header)" >&2; exit 1; }
done
# shellcheck source=mock.sh
source benches/load/mock.sh

start() { # name args... ; prints the proxy's URL
  local name=$1
  shift
  HEADROOM_PORT=0 OPENAI_TARGET_API_URL=$MOCK ANTHROPIC_TARGET_API_URL=$MOCK "$BIN/headroom" proxy \
    --workspace-dir "$work/$name" "$@" > /dev/null 2> "$work/$name.err" &
  pids+=($!)
  local url=""
  for _ in $(seq 800); do
    url=$(grep -o 'http://[0-9.:]*' "$work/$name.err" | head -1 || true)
    if [ -n "$url" ] && curl -fs "$url/readyz" >/dev/null 2>&1; then break; fi
    sleep 0.01
  done
  curl -fs "$url/readyz" > /dev/null || { echo "$name never became ready" >&2; exit 1; }
  echo "$url"
}

OFF=$(start off --no-cache)
ON=$(start on --budget 1000000 --budget-per-key 1000000 --rpm 100000000 --tpm 100000000000 \
  --cache-max-bytes 268435456)

parse() { # wrk output file -> "p50_ms p99_ms rps"
  python3 - "$1" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
def ms(v, u): return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[u]
lat = {p: ms(v, u) for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)", t, re.M)}
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
print(f"{lat['50']:.3f} {lat['99']:.3f} {rps:.0f}")
PY
}

: > "$work/rows"
for delay in "" "$LAT"; do
  for _ in $(seq "$REPS"); do
    for who in off on; do
      url=$OFF; [ "$who" = on ] && url=$ON
      DELAY_MS=$delay wrk -t2 -c"$CONC" -d"${DUR}s" --latency -s benches/load/unique.lua \
        "$url/v1/chat/completions" > "$work/wrk.out"
      echo "$who ${delay:-0} $(parse "$work/wrk.out")" >> "$work/rows"
    done
  done
done
stores=$(curl -fs "$ON/stats" | python3 -c 'import json,sys; c=json.load(sys.stdin)["response_cache"]; print(c["stores"], c["hits"], c["bytes"], c["evictions"])')

# A cache hit for a 100 KB answer: one connection, the same request again and again.
python3 -c "import json; json.dump({'model': 'gpt-4o', 'messages': [{'role': 'user', 'content': 'big answer'}]}, open('$work/big.json', 'w'))"
cat > "$work/big.lua" <<LUA
local f = assert(io.open("$work/big.json", "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-load"
wrk.headers["x-mock-answer-bytes"] = "100000"
LUA
answer=$(curl -fs -H 'content-type: application/json' -H 'authorization: Bearer sk-load' -H 'x-mock-answer-bytes: 100000' \
  --data @"$work/big.json" "$ON/v1/chat/completions" | wc -c)
: > "$work/hits"
for _ in $(seq "$REPS"); do
  wrk -t1 -c1 -d"${DUR}s" --latency -s "$work/big.lua" "$ON/v1/chat/completions" > "$work/wrk.out"
  echo "hit $(parse "$work/wrk.out")" >> "$work/hits"
  wrk -t1 -c1 -d"${DUR}s" --latency -s "$work/big.lua" "$OFF/v1/chat/completions" > "$work/wrk.out"
  echo "miss $(parse "$work/wrk.out")" >> "$work/hits"
done
hit_header=$(curl -fs -D - -o /dev/null -H 'content-type: application/json' -H 'authorization: Bearer sk-load' \
  -H 'x-mock-answer-bytes: 100000' --data @"$work/big.json" "$ON/v1/chat/completions" | grep -ci '^x-headroom-cache: hit' || true)

limiter=$("$BIN/examples/limiter_memory" 100000)

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
python3 - "$work/rows" "$work/hits" "$OUT" "$cpu" "$(nproc)" "$DUR" "$CONC" "$REPS" "$LAT" "$stores" "$answer" "$hit_header" "$limiter" <<'PY'
import json, statistics, sys
(rows, hits, out, cpu, cores, dur, conc, reps, lat, stores, answer, hit_header, limiter) = sys.argv[1:]
data = {}
for line in open(rows):
    who, delay, p50, p99, rps = line.split()
    data.setdefault((who, delay), []).append((float(p50), float(p99), float(rps)))
def med(who, delay, i): return statistics.median(r[i] for r in data[(who, delay)])
table = []
for delay, label in (("0", "passthrough, every request distinct"), (lat, f"the same, upstream answering in {lat} ms")):
    off = [med("off", delay, i) for i in range(3)]
    on = [med("on", delay, i) for i in range(3)]
    table.append(f"| {label} | {off[0]:.3f} / {off[1]:.3f} | {on[0]:.3f} / {on[1]:.3f} | "
                 f"{100 * on[1] / off[1]:.0f}% | {off[2]:.0f} | {on[2]:.0f} | {100 * on[2] / off[2]:.0f}% |")
h = {}
for line in open(hits):
    who, p50, p99, rps = line.split()
    h.setdefault(who, []).append((float(p50), float(p99), float(rps)))
hm = lambda who, i: statistics.median(r[i] for r in h[who])
st, hi, by, ev = stores.split()
lim = json.loads(limiter)
open(out, "w").write(f"""# What spend control costs the hot path

Measured with `benches/load/spend.sh` on {cpu} ({cores} cores, shared with wrk and the mock
upstream), wrk -t2 -c{conc} -d{dur}s, {reps} runs of each, alternating off/on, medians. Both are
this build of `headroom proxy`. "Off": `--no-cache`, no budget, no rate limit. "On": `--budget`
and `--budget-per-key` (costs added and the spend file written every second), `--rpm` and
`--tpm` (every request admitted through its key's buckets and its forwarded body counted in
o200k tokens), and the response cache on; every request's text is distinct, so each one misses
the cache and its answer is recorded and stored (the cache's costly path).

| scenario | off p50 / p99 ms | on p50 / p99 ms | on p99 / off p99 | off RPS | on RPS | on / off RPS |
|---|---|---|---|---|---|---|
{chr(10).join(table)}

- Cache during the load: {st} answers stored, {hi} hits, {by} bytes held, {ev} evictions.
- Cache hit for a {answer}-byte answer (wrk -t1 -c1, the same request repeated; `x-headroom-cache:
  hit` seen: {hit_header}): p50 {hm('hit', 0):.3f} ms, p99 {hm('hit', 1):.3f} ms, {hm('hit', 2):.0f} RPS.
  The same request through the proxy without the cache (to the mock upstream, which answers at
  once): p50 {hm('miss', 0):.3f} ms, p99 {hm('miss', 1):.3f} ms, {hm('miss', 2):.0f} RPS.
- Rate-limiter state for {lim['keys']} distinct keys (RPM and TPM on, `examples/limiter_memory`):
  {lim['rss_delta_bytes'] / 1e6:.1f} MB resident ({lim['tracked']} buckets), {lim['ns_per_admit_and_debit']:.0f} ns per admission and debit.
  Buckets idle for a minute are swept, so this is the peak for 100k keys active within a minute.
""")
print(open(out).read())
PY
