#!/usr/bin/env bash
# Record what a real agent CLI sends: run it against mock_upstream.py (127.0.0.1 only) over a
# scratch workdir holding tests/clients/workdir/ (a real PostgreSQL log and real GitHub API JSON).
#
#   record.sh claude-code|codex OUT_DIR [VARIANT]
#
# CLIs come from PATH (install them outside the repo: `npm install @anthropic-ai/claude-code
# @openai/codex` in a scratch dir, then PATH=that/node_modules/.bin:$PATH). Every request lands in
# OUT_DIR/requests/NNN.{body,meta.json}; the CLI's own output in OUT_DIR/cli.{out,err}.
# VARIANT: for claude-code `bash-limit` raises its Bash output limit (BASH_MAX_OUTPUT_LENGTH=150000);
# for codex, a model name passed as `-m` (e.g. gpt-5.5, whose catalog entry has no code mode).
# With UPSTREAM_VIA=URL_PREFIX the CLI is pointed at that URL (e.g. a proxy in front of the mock)
# instead of the mock directly; the proxy must forward to MOCK_PORT (fixed with --port below).
set -euo pipefail
client=${1:?client}
out=$(realpath -m "${2:?out dir}")
variant=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out/requests"
scratch=$(mktemp -d /tmp/headroom-clients.XXXXXX)
work="$scratch/work"
mkdir -p "$work" "$scratch/home"
cp "$here/workdir/"* "$work/"

port=${MOCK_PORT:-0}
python3 "$here/mock_upstream.py" --scenario "$client" --workdir "$work" --record "$out/requests" \
    --port "$port" >"$scratch/mock.out" 2>"$scratch/mock.err" &
mock_pid=$!
cleanup() { kill "$mock_pid" 2>/dev/null || true; wait "$mock_pid" 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 100); do grep -q listening "$scratch/mock.out" 2>/dev/null && break; sleep 0.1; done
port=$(awk '/listening/ {print $2}' "$scratch/mock.out")
base=${UPSTREAM_VIA:-http://127.0.0.1:$port}

common_env=(HOME="$scratch/home" NO_PROXY=127.0.0.1 no_proxy=127.0.0.1 HTTPS_PROXY= HTTP_PROXY=)
case "$client" in
claude-code)
    extra=()
    [ "$variant" = bash-limit ] && extra=(BASH_MAX_OUTPUT_LENGTH=150000)
    (cd "$work" && env "${common_env[@]}" "${extra[@]}" \
        ANTHROPIC_BASE_URL="$base" ANTHROPIC_API_KEY=sk-ant-test \
        DISABLE_TELEMETRY=1 DISABLE_AUTOUPDATER=1 DISABLE_ERROR_REPORTING=1 \
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
        timeout 300 claude -p "Look at pr-comments.json and postgresql.log in this directory, then tell me which errors the server logged." \
        --allowedTools "Read,Bash,Grep" >"$out/cli.out" 2>"$out/cli.err") || echo "claude exited $?" >>"$out/cli.err"
    claude --version >"$out/version.txt"
    ;;
codex)
    mkdir -p "$scratch/codex"
    cat >"$scratch/codex/config.toml" <<TOML
model_provider = "mock"
[model_providers.mock]
name = "mock"
base_url = "$base/v1"
wire_api = "responses"
env_key = "MOCK_OPENAI_KEY"
TOML
    (cd "$work" && env "${common_env[@]}" CODEX_HOME="$scratch/codex" MOCK_OPENAI_KEY=sk-test \
        timeout 300 codex exec ${variant:+-m "$variant"} --skip-git-repo-check --dangerously-bypass-approvals-and-sandbox \
        "Look at pr-comments.json and postgresql.log in this directory, then tell me which errors the server logged." \
        </dev/null >"$out/cli.out" 2>"$out/cli.err") || echo "codex exited $?" >>"$out/cli.err"
    codex --version >"$out/version.txt"
    cp "$scratch/codex/config.toml" "$out/config.toml"
    ;;
*) echo "unknown client $client" >&2; exit 2 ;;
esac
ls "$work" >"$out/workdir-after.txt"
echo "workdir was $work" >>"$out/workdir-after.txt"
