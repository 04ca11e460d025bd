#!/usr/bin/env bash
# The one test command: installs what is missing (idempotent), then runs every check.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-unknown-unknown >/dev/null
rustup component add clippy rustfmt >/dev/null 2>&1 || true
command -v just >/dev/null || cargo install --locked just || cargo install just
command -v cargo-nextest >/dev/null || cargo install --locked cargo-nextest || cargo install cargo-nextest

python3 -m pip install --quiet --disable-pip-version-check anthropic openai

# The npm package's dependencies (locked), and a browser for its demo test (never downloaded by a tool).
# `npm install`, not `npm ci`: npm 11 writes lockfiles without the other platforms' optional
# binaries (rolldown, jco) and then refuses them in `npm ci`; install keeps the locked versions.
(cd host-js && npm install --no-audit --no-fund --prefer-offline)
[ -x /usr/bin/chromium ] || { apt-get update -qq && apt-get install -y -qq chromium; }
# promtool checks the proxy's /metrics output (Debian's `prometheus` package ships it).
command -v promtool >/dev/null || { apt-get update -qq && apt-get install -y -qq prometheus; }
# A real redis-server for the shared-state tests (replicas sharing originals, limits, the cache).
command -v redis-server >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server; }

# The deployment test: YAML parsing, the unit checked by systemd-analyze, the HAProxy config by haproxy -c.
python3 -c 'import yaml' 2>/dev/null || { apt-get update -qq && apt-get install -y -qq python3-yaml; }
command -v systemd-analyze >/dev/null || { apt-get update -qq && apt-get install -y -qq systemd; }
command -v haproxy >/dev/null || { apt-get update -qq && apt-get install -y -qq haproxy; }

# The real agent CLIs the wrap tests drive (Claude Code, Codex), pinned, into ~/.cache/headroom-agents.
tests/agents/install.sh >/dev/null

exec just ci
