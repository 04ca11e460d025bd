#!/usr/bin/env bash
# What sharing state in Redis costs, in one run, side by side: wrk against `headroom proxy`
# with memory-only state and against the same binary with `--redis-url` (a redis-server on
# loopback started here), alternating, medians; the mock upstream answers at once, so the
# added latency is the proxy's own. Then a retrieval (`GET /v1/retrieve/{key}`) through a
# replica that never stored the original (so it reads Redis) beside one served from memory;
# the RPS of two replicas against one; and Redis's memory per active session after a run of
# sessions. Writes benches/results/redis.md. Needs wrk, redis-server (redis-cli), `just
# component`, release binaries (cargo build --release -p headroom-proxy --bins --examples).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=target/release
DUR=${DUR:-6}
CONC=${CONC:-16}
REPS=${REPS:-3}
LAT=${LAT:-20}
SESSIONS=${SESSIONS:-200}
OUT=${OUT:-benches/results/redis.md}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
for tool in wrk redis-server redis-cli; do
  command -v "$tool" > /dev/null || { echo "$tool is not installed" >&2; exit 1; }
done
for b in headroom examples/mock_upstream; do
  [ -x "$BIN/$b" ] || { echo "missing $BIN/$b: build it first (see the header)" >&2; exit 1; }
done
# shellcheck source=mock.sh
source benches/load/mock.sh

RPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$RPORT" --bind 127.0.0.1 --save "" --appendonly no > /dev/null &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$RPORT" ping > /dev/null 2>&1 && break; sleep 0.05; done
REDIS=redis://127.0.0.1:$RPORT
rcli() { redis-cli -p "$RPORT" "$@"; }

start() { # name args... ; prints the proxy's URL
  local name=$1
  shift
  HEADROOM_PORT=0 OPENAI_TARGET_API_URL=$MOCK ANTHROPIC_TARGET_API_URL=$MOCK "$BIN/headroom" proxy \
    "$@" > /dev/null 2> "$work/$name.err" &
  pids+=($!)
  local url=""
  for _ in $(seq 800); do
    url=$(grep -o 'http://[0-9.:]*' "$work/$name.err" | head -1 || true)
    if [ -n "$url" ] && curl -fs "$url/readyz" >/dev/null 2>&1; then break; fi
    sleep 0.01
  done
  curl -fs "$url/readyz" > /dev/null || { echo "$name never became ready" >&2; exit 1; }
  # With Redis: wait for the first probe to connect.
  for _ in $(seq 200); do
    curl -fs "$url/health" | grep -q '"status":"degraded"' || break
    sleep 0.05
  done
  echo "$url"
}

MEM=$(start mem)
A=$(start a --redis-url "$REDIS" --redis-prefix bench:)
B=$(start b --redis-url "$REDIS" --redis-prefix bench:)

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

# Passthrough: direct to the mock, memory-only proxy, Redis-backed proxy; alternating. Then
# the same with the upstream answering in LAT ms (a provider-like, if fast, answer time).
: > "$work/rows"
: > "$work/rows_lat"
for delay in "" "$LAT"; do
  for _ in $(seq "$REPS"); do
    for who in direct mem redis; do
      case $who in direct) url=$MOCK ;; mem) url=$MEM ;; redis) url=$A ;; esac
      DELAY_MS=$delay wrk -t2 -c"$CONC" -d"${DUR}s" --latency -s benches/load/unique.lua "$url/v1/chat/completions" > "$work/wrk.out"
      if [ -z "$delay" ]; then echo "$who $(parse "$work/wrk.out")" >> "$work/rows"; else echo "$who $(parse "$work/wrk.out")" >> "$work/rows_lat"; fi
    done
  done
done

# Two replicas against one: wrk on A alone, then two wrk at once (half the connections each).
: > "$work/scale"
for _ in $(seq "$REPS"); do
  wrk -t2 -c"$CONC" -d"${DUR}s" --latency -s benches/load/unique.lua "$A/v1/chat/completions" > "$work/one.out"
  echo "one $(parse "$work/one.out")" >> "$work/scale"
  wrk -t1 -c$((CONC / 2)) -d"${DUR}s" --latency -s benches/load/unique.lua "$A/v1/chat/completions" > "$work/two_a.out" &
  other=$!
  wrk -t1 -c$((CONC / 2)) -d"${DUR}s" --latency -s benches/load/unique.lua "$B/v1/chat/completions" > "$work/two_b.out"
  wait "$other"
  ra=$(parse "$work/two_a.out" | cut -d' ' -f3)
  rb=$(parse "$work/two_b.out" | cut -d' ' -f3)
  echo "two 0 0 $((ra + rb))" >> "$work/scale"
done

# Retrieval: an original stored through A (and through the memory-only proxy), read through B
# (never stored there: every read goes to Redis) and through the memory-only proxy.
python3 - "$work/conv.json" <<'PY'
import json, sys
lines = [f"2024-05-01 12:00:{i % 60:02} INFO worker-{i % 4} processed batch {i} in {i % 17} ms" for i in range(600)]
lines[300] = "2024-05-01 12:05:00 ERROR worker-2 failed batch 300: connection reset"
msgs = [{"role": "user", "content": "What failed?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "bash", "input": {"command": "cat app.log"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "\n".join(lines)}]}]
json.dump({"model": "claude-sonnet-4-5", "messages": msgs}, open(sys.argv[1], "w"))
PY
hash_of() { curl -fs -H 'x-api-key: sk-bench' -H 'content-type: application/json' --data @"$work/conv.json" "$1/v1/compress" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["ccr_hashes"][0])'; }
HA=$(hash_of "$A")
HM=$(hash_of "$MEM")
curl -fs -H 'x-api-key: sk-bench' "$B/v1/retrieve/$HA" > "$work/orig.json"
orig_bytes=$(python3 -c "import json; print(len(json.load(open('$work/orig.json'))['original']))")
cat > "$work/get.lua" <<'LUA'
wrk.headers["x-api-key"] = "sk-bench"
LUA
: > "$work/get"
for _ in $(seq "$REPS"); do
  wrk -t1 -c1 -d"${DUR}s" --latency -s "$work/get.lua" "$B/v1/retrieve/$HA" > "$work/wrk.out"
  echo "redis $(parse "$work/wrk.out")" >> "$work/get"
  wrk -t1 -c1 -d"${DUR}s" --latency -s "$work/get.lua" "$MEM/v1/retrieve/$HM" > "$work/wrk.out"
  echo "mem $(parse "$work/wrk.out")" >> "$work/get"
done
redis_fallbacks=$(curl -fs "$A/metrics" | awk '/^headroom_shared_state_fallbacks_total/ {s += $2} END {print s + 0}')

# State per active session: a fresh prefix; SESSIONS conversations of three turns each (a new
# compressible log every turn; the first turn of each forwarded untouched, so the ledger holds
# it), then Redis's memory and keys by kind.
S=$(start s --redis-url "$REDIS" --redis-prefix size: --no-cache --rpm 100000 --budget 1000000)
before=$(rcli info memory | awk -F: '/^used_memory:/ {print $2}' | tr -d '\r')
python3 - "$S" "$SESSIONS" <<'PY'
import json, sys, urllib.request
url, n = sys.argv[1], int(sys.argv[2])
def log(tag):
    return "\n".join(f"2024-05-01 12:00:{i % 60:02} INFO {tag} worker-{i % 4} processed batch {i} in {i % 17} ms" for i in range(300))
for s in range(n):
    msgs = [{"role": "user", "content": f"session {s}: what failed?"}]
    for t in range(3):
        msgs.append({"role": "assistant", "content": [{"type": "tool_use", "id": f"t{t}", "name": "bash", "input": {"command": "cat app.log"}}]})
        msgs.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"t{t}", "content": log(f"s{s}t{t}")}]})
        headers = {"content-type": "application/json", "x-api-key": f"sk-session-{s % 10}", "anthropic-version": "2023-06-01"}
        if t == 0:
            headers["x-headroom-bypass"] = "true"
        body = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 16, "messages": msgs}).encode()
        urllib.request.urlopen(urllib.request.Request(url + "/v1/messages", data=body, headers=headers)).read()
PY
sleep 1
after=$(rcli info memory | awk -F: '/^used_memory:/ {print $2}' | tr -d '\r')
for kind in o l r b c s; do
  keys=$(rcli --scan --pattern "size:$kind:*" | wc -l)
  bytes=0
  for k in $(rcli --scan --pattern "size:$kind:*" | head -50); do
    bytes=$((bytes + $(rcli memory usage "$k")))
  done
  echo "$kind $keys $bytes"
done > "$work/kinds"

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
redis_version=$(redis-server --version | grep -o 'v=[0-9.]*' | cut -d= -f2)
python3 - "$work" "$OUT" "$cpu" "$(nproc)" "$DUR" "$CONC" "$REPS" "$SESSIONS" "$before" "$after" "$orig_bytes" "$redis_version" "$redis_fallbacks" "$LAT" <<'PY'
import statistics, sys
(work, out, cpu, cores, dur, conc, reps, sessions, before, after, orig_bytes, version, fallbacks, lat) = sys.argv[1:]
def load(name):
    d = {}
    for line in open(f"{work}/{name}"):
        who, *v = line.split()
        d.setdefault(who, []).append([float(x) for x in v])
    return d
def med(d, who, i): return statistics.median(r[i] for r in d[who])
rows, rows_lat, scale, get = load("rows"), load("rows_lat"), load("scale"), load("get")
ld = [med(rows_lat, "direct", i) for i in range(3)]
lm = [med(rows_lat, "mem", i) for i in range(3)]
lr = [med(rows_lat, "redis", i) for i in range(3)]
direct = [med(rows, "direct", i) for i in range(3)]
mem = [med(rows, "mem", i) for i in range(3)]
red = [med(rows, "redis", i) for i in range(3)]
added = lambda p, i: p[i] - direct[i]
kinds = {}
for line in open(f"{work}/kinds"):
    k, n, b = line.split()
    kinds[k] = (int(n), int(b))
names = {"o": "originals `o:`", "l": "ledger `l:`", "r": "rate buckets `r:`", "b": "budget `b:`",
         "c": "response cache `c:`", "s": "savings `s:`"}
sessions = int(sessions)
per_session = (int(after) - int(before)) / sessions
kind_rows = []
for k, name in names.items():
    n, b = kinds.get(k, (0, 0))
    sample = min(n, 50)
    avg = b / sample if sample else 0
    kind_rows.append(f"| {name} | {n} | {avg:.0f} | {n * avg / sessions:.0f} |")
one, two = med(scale, "one", 2), med(scale, "two", 2)
open(out, "w").write(f"""# Replicas sharing state in Redis: what it costs

Measured with `benches/load/redis.sh` on {cpu} ({cores} cores, shared with wrk, the mock
upstream and redis-server {version} on loopback), wrk -t2 -c{conc} -d{dur}s, {reps} runs of each,
alternating, medians. Every proxy is this build of `headroom proxy` with its defaults (the
response cache on: every request's text is distinct, so each misses and is stored). "Memory":
no `--redis-url`. "Redis": `--redis-url redis://127.0.0.1:…` (per request: a ledger lookup and a
response-cache lookup, bounded at 50 ms; the cache store and the savings counters written in
the background).

| passthrough, every request distinct | p50 / p99 ms | added p50 / p99 ms | RPS |
|---|---|---|---|
| direct to the mock | {direct[0]:.3f} / {direct[1]:.3f} | | {direct[2]:.0f} |
| memory | {mem[0]:.3f} / {mem[1]:.3f} | {added(mem, 0):.3f} / {added(mem, 1):.3f} | {mem[2]:.0f} |
| Redis | {red[0]:.3f} / {red[1]:.3f} | {added(red, 0):.3f} / {added(red, 1):.3f} | {red[2]:.0f} |
| direct, upstream answering in {lat} ms | {ld[0]:.3f} / {ld[1]:.3f} | | {ld[2]:.0f} |
| memory, upstream in {lat} ms | {lm[0]:.3f} / {lm[1]:.3f} | {lm[0] - ld[0]:.3f} / {lm[1] - ld[1]:.3f} | {lm[2]:.0f} |
| Redis, upstream in {lat} ms | {lr[0]:.3f} / {lr[1]:.3f} | {lr[0] - ld[0]:.3f} / {lr[1] - ld[1]:.3f} | {lr[2]:.0f} |

- Added p99 with Redis / added p99 memory-only: {100 * added(red, 1) / added(mem, 1):.0f}%
  (target: ≤ 110%). p99 with Redis / p99 memory-only: {100 * red[1] / mem[1]:.0f}%. At -c{conc} on 2
  shared cores the p99 is scheduling noise as much as the proxy: compare within this table only.
  With the upstream answering in {lat} ms: p99 with Redis / memory-only {100 * lr[1] / lm[1]:.0f}%,
  added p99 {lr[1] - ld[1]:.3f} ms vs {lm[1] - ld[1]:.3f} ms.
- Retrieval of a {orig_bytes}-byte original (`GET /v1/retrieve/{{key}}`, wrk -t1 -c1) through a
  replica that never stored it, so every read is a Redis `GET`: p50 {med(get, 'redis', 0):.3f} ms,
  p99 {med(get, 'redis', 1):.3f} ms, {med(get, 'redis', 2):.0f} RPS (target: p50 ≤ 1 ms). From
  memory (memory-only proxy): p50 {med(get, 'mem', 0):.3f} ms, p99 {med(get, 'mem', 1):.3f} ms,
  {med(get, 'mem', 2):.0f} RPS.
- Two replicas against one (both with Redis, the same total connections): one {one:.0f} RPS, two
  {two:.0f} RPS ({100 * two / one:.0f}%). All of it on the same 2 cores as wrk, the mock and Redis:
  a second replica adds no CPU, only a second process to schedule; this shows the shared state
  is not the bottleneck, not how replicas scale on separate machines.
- Shared-state fallbacks on the Redis replica during the whole run: {fallbacks} ({"every Redis call answered within its 50 ms bound" if fallbacks == "0" else "calls that passed their 50 ms bound under the CPU-bound load and were answered from local state"}).

## State per active session

{sessions} conversations of three turns (each turn adds a 300-line log the engine shortens; the
first turn of each is sent with `x-headroom-bypass`, so the ledger records it), ten API keys,
`--no-cache`, `--rpm` and `--budget` set (never reached). Redis `used_memory` grew by {int(after) - int(before)} bytes: **{per_session:.0f} bytes
per session**. By kind (`MEMORY USAGE` of up to 50 keys of each, averaged):

| kind | keys | bytes per key | bytes per session |
|---|---|---|---|
{chr(10).join(kind_rows)}

Originals dominate: one key per compressed block, holding the block's original text, for the
originals' TTL (`--ccr-ttl-seconds`, 30 min); each later turn refreshes their TTL without
resending them. The ledger holds one small key per conversation that had messages forwarded
untouched (a day). Rate buckets are one hash per API key (expire once full again, 2 min), budget
keys two per period plus one per key, savings one hash per hour: none grows with sessions.
""")
print(open(out).read())
PY
