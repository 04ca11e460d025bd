# Every task by name. CI runs `tests/all.sh`, which installs what is missing and runs `just ci`.

set shell := ["bash", "-euo", "pipefail", "-c"]

wasm_out := "target/wasm/headroom-core.wasm"

@_default:
    just --list

# Install the wasm target (idempotent).
setup:
    rustup target add wasm32-unknown-unknown

# Build the core component to target/wasm/headroom-core.wasm (fails on any wasi import).
component:
    core/component/build.sh

# Build every plugin in plugins/ to target/plugins/<id>/ (manifest with sha256 + component; fails
# on any import), and the test fixtures to target/plugin-fixtures/.
plugins:
    plugins/build.sh target/plugins
    plugins/build.sh target/plugin-fixtures plugins/fixtures/faulty

# Run the proxy on 127.0.0.1:8787 (`just proxy --mode token --port 9000` passes flags on).
proxy *ARGS:
    host-native/proxy/run.sh {{ARGS}}

# Compress a request body or a tool output through the component: `just compress FILE [--mode token]`.
compress FILE *ARGS: component
    cargo run -q --release --bin headroom -- compress {{FILE}} {{ARGS}}

# Every Rust test (unit, golden through native and component, properties), release profile
# so wasmtime is built once for tests and the CLI.
test-rust: component plugins
    cargo nextest run --release --no-fail-fast

# The official Anthropic and OpenAI Python SDKs against the proxy (in front of the mock upstream).
test-sdk: component
    cargo build -q --release -p headroom-proxy --bins --examples
    python3 tests/sdk/test_python_sdks.py

# The golden corpus only.
golden: component
    cargo nextest run --release -p headroom-tests --test golden

# Rewrite the golden corpus's expected files from the native engine.
bless: component
    HEADROOM_BLESS=1 cargo nextest run --release -p headroom-tests --test golden

# Formatting and lints (host crates and the wasm adapter).
lint: setup
    cargo fmt --all --check
    cargo clippy -q --release --workspace --all-targets -- -D warnings
    cargo clippy -q -p headroom-core-component --target wasm32-unknown-unknown --profile wasm -- -D warnings
    cargo clippy -q -p headroom-plugin-redact-secrets -p headroom-plugin-csv-table -p headroom-plugin-faulty --target wasm32-unknown-unknown --profile wasm -- -D warnings

# The trajectory benchmark (token savings by mode and kind, next-step fidelity, throughput, size),
# then the real Claude Code sessions through the engine (bill at their real TTLs, fidelity, by tool).
bench: component
    cargo run -q --release -p headroom-benches --bin trajectories -- --component {{wasm_out}} --out benches/results/trajectories.md
    cargo run -q --release -p headroom-benches --bin claude_sessions -- --out benches/results/claude-sessions.md

# Plugin benchmark: the hop per call (1 KB, 100 KB), the real plugins in wasm vs natively, the
# engine call with and without a plugin, the swap time with a warm and a cold code cache.
bench-plugins: component plugins
    cargo run -q --release -p headroom-benches --bin plugins -- --out benches/results/plugins.md

# Added time per turn against its size, stateless vs the conversation memory, natively and through
# the component: the largest Claude Code session and the longest trajectory (needs ../shared/corpus).
bench-turns EVERY="1": component
    cargo run -q --release -p headroom-benches --bin turn_cost -- --check-all --every {{EVERY}} --out benches/results/turn-cost.md

# The same conversations through `headroom proxy` turn by turn, with the conversation memory and
# stateless side by side: the proxy's logged overhead against the request size (needs ../shared/corpus).
bench-proxy-turns EVERY="1": component
    @test -d ../shared/corpus/claude-code-sessions/cases || { echo "bench-proxy-turns: ../shared/corpus/claude-code-sessions/cases is missing (the Claude Code sessions corpus)" >&2; exit 1; }
    cargo build -q --release -p headroom-proxy --bin headroom --example mock_upstream
    cargo build -q --release -p headroom-benches --bin turn_cost
    rm -rf target/proxy-turns && target/release/turn_cost --every {{EVERY}} --dump target/proxy-turns
    python3 benches/turns/proxy_turns.py target/proxy-turns benches/results/proxy-turns.md

# Load benchmark: wrk against the mock upstream directly vs through the proxy (needs wrk).
bench-load: component
    command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
    cargo build -q --release -p headroom-proxy --bins --examples
    benches/load/run.sh

bench-spend: component
    command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
    cargo build -q --release -p headroom-proxy --bins --examples
    benches/load/spend.sh

# End-to-end savings through the proxy with the official SDKs, in both modes: the mini-swe-agent
# trajectories (first LIMIT), then the real Claude Code sessions (first SESSIONS, streaming, the
# `anthropic` SDK; needs ../shared/corpus/claude-code-sessions). Both sections of results/e2e.md.
# Every proxy runs one snapshot of the binaries and the component (target/e2e/bin), so a rebuild
# during the run changes nothing.
e2e_env := "HEADROOM_COMPONENT=" + justfile_directory() + "/target/e2e/bin/headroom-core.wasm HEADROOM_E2E_BIN=" + justfile_directory() + "/target/e2e/bin"
bench-e2e LIMIT="94" SESSIONS="22": component
    @test -d ../shared/corpus/claude-code-sessions/cases || { echo "bench-e2e: ../shared/corpus/claude-code-sessions/cases is missing (the Claude Code sessions corpus)" >&2; exit 1; }
    cargo build -q --release -p headroom-proxy --bins --examples
    cargo build -q --release -p headroom-benches --bin e2e --bin e2e_sessions
    rm -rf target/e2e && mkdir -p target/e2e/bin/examples
    cp target/wasm/headroom-core.wasm target/release/{headroom,e2e,e2e_sessions} target/e2e/bin/
    cp target/release/examples/mock_upstream target/e2e/bin/examples/
    (git log -1 --format=%h -- core/; git status --porcelain -- core/ | head -1) > target/e2e/bin/engine.txt
    {{e2e_env}} python3 benches/e2e/send.py target/e2e/cache cache {{LIMIT}}
    {{e2e_env}} python3 benches/e2e/send.py target/e2e/token token {{LIMIT}}
    target/e2e/bin/e2e target/e2e --out benches/results/e2e.md
    {{e2e_env}} python3 benches/e2e/send_sessions.py target/e2e/sessions/cache cache {{SESSIONS}}
    {{e2e_env}} python3 benches/e2e/send_sessions.py target/e2e/sessions/token token {{SESSIONS}}
    target/e2e/bin/e2e_sessions target/e2e/sessions --out benches/results/e2e.md

# The npm package (host-js/) and its browser demo, built from the component; then every JS test:
# golden corpus in Node, API, adapters, remote mode against the proxy, npm pack, headless Chromium.
test-js: component
    cargo build -q --release -p headroom-proxy --bins --examples
    cd host-js && npm run build && npm run demo:build && npm test

# JS benchmark: a 100 KB tool output in Node and Chromium vs native, package and demo sizes.
bench-js: component
    cargo build -q --release -p headroom-proxy --bins --examples
    cargo build -q --release -p headroom-benches --bin native_compress
    cd host-js && npm run build && npm run demo:build
    node benches/js/bench.mjs --out benches/results/js.md

# `headroom wrap`/`unwrap`/`doctor` end to end: the real Claude Code and Codex CLIs (pinned,
# installed by tests/agents/install.sh) through the proxy against the mock upstream, stand-ins
# for the crash paths and the other agents.
test-agents: component
    cargo build -q --release -p headroom-proxy --bin headroom
    python3 tests/agents/test_wrap.py

# `headroom wrap` on the real Claude Code: start-up overhead against the bare CLI (a proxy up),
# and its BASH_MAX_OUTPUT_LENGTH through the proxy; results in benches/results/wrap.md.
bench-wrap: component
    cargo build -q --release -p headroom-proxy --bin headroom
    cargo run -q --release -p headroom-benches --bin wrap_overhead

# The deployment files (Dockerfile, compose + HAProxy, Kubernetes, systemd) checked offline, and
# the binary started with exactly the arguments and environment each of them gives it.
test-deploy: component
    cargo build -q --release -p headroom-proxy --bin headroom
    python3 tests/deploy/test_deploy.py

# Everything CI checks.
ci: lint test-rust test-sdk test-js test-agents test-deploy

# Fuzz each target for SECS seconds (libFuzzer, coverage-guided, on the stable toolchain; D34).
# Inputs that fail go to target/fuzz/artifacts/; once fixed, commit them to fuzz/regressions/.
fuzz SECS="60":
    fuzz/run.sh {{SECS}}

# Soak (a benchmark, not CI): MINUTES of mixed traffic at RATE requests/s through the proxy in
# front of the mock; RSS every 10 s, latency percentiles, errors -> benches/results/soak.md.
soak MINUTES="30" RATE="10": component
    cargo build -q --release -p headroom-proxy --bins --examples
    python3 benches/soak/soak.py target/release benches/results/soak.md {{MINUTES}} {{RATE}}
