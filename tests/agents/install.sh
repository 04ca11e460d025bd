#!/usr/bin/env bash
# Install the real agent CLIs the wrap tests run, at pinned versions, into a cache folder
# outside the repo (idempotent: nothing is fetched when the pinned versions are there).
#
#   tests/agents/install.sh        prints the bin directory to put on PATH
#
# HEADROOM_AGENTS_DIR overrides the folder (default ~/.cache/headroom-agents).
set -euo pipefail
CLAUDE_CODE=2.1.197
CODEX=0.171.0
dir=${HEADROOM_AGENTS_DIR:-$HOME/.cache/headroom-agents}/claude-$CLAUDE_CODE-codex-$CODEX
bin=$dir/node_modules/.bin
have() { [ -x "$bin/claude" ] && [ -x "$bin/codex" ] &&
    "$bin/claude" --version 2>/dev/null | grep -q "^$CLAUDE_CODE " &&
    "$bin/codex" --version 2>/dev/null | grep -q " $CODEX\$"; }
if ! have; then
    mkdir -p "$dir"
    # Their own update checks and telemetry stay off while installing too.
    (cd "$dir" && [ -f package.json ] || echo '{"private": true}' >"$dir/package.json")
    DISABLE_AUTOUPDATER=1 npm install --prefix "$dir" --no-audit --no-fund --loglevel=error \
        "@anthropic-ai/claude-code@$CLAUDE_CODE" "@openai/codex@$CODEX" >&2
    have || { echo "install.sh: claude $CLAUDE_CODE / codex $CODEX not runnable after npm install" >&2; exit 1; }
fi
echo "$bin"
