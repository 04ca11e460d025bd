# Sourced by the load benchmarks: the component they run and the mock upstream they send to.
# Needs BIN (the release directory), work (a scratch directory) and the pids array (killed by
# the caller's cleanup). Sets HEADROOM_COMPONENT, MOCK (the mock's URL) and MOCK_PID.

export HEADROOM_COMPONENT=${HEADROOM_COMPONENT:-$PWD/target/wasm/headroom-core.wasm}
[ -f "$HEADROOM_COMPONENT" ] || { echo "no component at $HEADROOM_COMPONENT: run just component" >&2; exit 1; }
"$BIN/examples/mock_upstream" 127.0.0.1:0 > "$work/mock.out" 2>/dev/null &
MOCK_PID=$!
pids+=($MOCK_PID)
for _ in $(seq 100); do [ -s "$work/mock.out" ] && break; sleep 0.05; done
MOCK=$(head -1 "$work/mock.out")
[ -n "$MOCK" ] || { echo "the mock upstream did not start" >&2; exit 1; }
