#!/usr/bin/env bash
# The real agent CLIs through `headroom proxy` vs directly against the scripted mock provider:
# tokens the upstream received (o200k, every model request of the loop), per client and mode.
#
#   benches/clients/run.sh [OUT_DIR]      (default /tmp/headroom-clients-bench/out)
#
# Needs target/release/headroom and target/wasm/headroom-core.wasm (cargo build --release -p
# headroom-proxy --bins; just component). Installs Claude Code, Codex and gpt-tokenizer (exact
# o200k counts) from npm into a scratch dir outside the repo (CLIENTS_DIR) if missing. Everything
# talks to 127.0.0.1 only; the loop is tests/clients/mock_upstream.py's (see tests/clients/README.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
scratch=${CLIENTS_DIR:-/tmp/headroom-clients-bench}
out=$(realpath -m "${1:-$scratch/out}")
bin=$root/target/release/headroom
wasm=$root/target/wasm/headroom-core.wasm
[ -x "$bin" ] && [ -f "$wasm" ] || { echo "build first: $bin, $wasm" >&2; exit 2; }
if [ ! -x "$scratch/node_modules/.bin/claude" ] || [ ! -d "$scratch/node_modules/gpt-tokenizer" ]; then
    mkdir -p "$scratch"
    (cd "$scratch" && { [ -f package.json ] || npm init -y >/dev/null; } &&
        npm install --no-fund --no-audit @anthropic-ai/claude-code @openai/codex gpt-tokenizer >/dev/null)
fi
export PATH=$scratch/node_modules/.bin:$PATH
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
rm -rf "$out"
mkdir -p "$out"
proxy_pid=
stop_proxy() { [ -n "$proxy_pid" ] && { kill "$proxy_pid" 2>/dev/null || true; wait "$proxy_pid" 2>/dev/null || true; }; proxy_pid=; }
trap stop_proxy EXIT

# client[:variant] as record.sh takes them.
runs=("claude-code" "codex" "codex:gpt-5.5")
for run in "${runs[@]}"; do
    client=${run%%:*}
    variant=; [ "$run" != "$client" ] && variant=${run#*:}
    tag=${run/:/-}
    echo "== $tag direct" >&2
    "$root/tests/clients/record.sh" "$client" "$out/$tag/direct" $variant
    for mode in cache token; do
        echo "== $tag through the proxy, --mode $mode" >&2
        mock_port=$(free_port)
        proxy_port=$(free_port)
        "$bin" proxy --port "$proxy_port" --mode "$mode" --component "$wasm" \
            --anthropic-api-url "http://127.0.0.1:$mock_port" --openai-api-url "http://127.0.0.1:$mock_port" \
            >"$out/$tag.proxy-$mode.log" 2>&1 &
        proxy_pid=$!
        for _ in $(seq 200); do curl -sf "http://127.0.0.1:$proxy_port/readyz" >/dev/null && break; sleep 0.05; done
        MOCK_PORT=$mock_port UPSTREAM_VIA="http://127.0.0.1:$proxy_port" \
            "$root/tests/clients/record.sh" "$client" "$out/$tag/proxy-$mode" $variant
        stop_proxy
    done
done
NODE_PATH=$scratch/node_modules node "$root/benches/clients/report.mjs" "$out" | tee "$out/report.md"
