#!/usr/bin/env bash
# Build the libFuzzer targets with coverage instrumentation (stable flags only: see DECISIONS
# D34) and run each for SECS seconds from its committed seeds. A crash, a hang past -timeout or
# a broken property leaves its input in target/fuzz/artifacts/<target>/ and fails the run:
# fix the bug, then commit the input to fuzz/regressions/<target>/ (replayed by `cargo test`).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-60}
TRIPLE=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
# `--target` keeps the instrumentation off build scripts and proc macros.
cargo build -q --release -p headroom-fuzz --features libfuzzer --bins --target-dir target/fuzz --target "$TRIPLE"
failed=()
for t in request content sse; do
  work=target/fuzz/work/$t art=target/fuzz/artifacts/$t
  mkdir -p "$work" "$art"
  echo "fuzz $t: ${SECS}s"
  if ! "target/fuzz/$TRIPLE/release/fuzz_$t" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$art/" "$work" "fuzz/corpus/$t" \
      > "target/fuzz/$t.log" 2>&1; then
    failed+=("$t")
  fi
  grep -E "^stat::number_of_executed_units|^#[0-9]+.*DONE" "target/fuzz/$t.log" | tail -2 || true
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${failed[*]} found inputs that fail (target/fuzz/artifacts/, logs in target/fuzz/*.log)" >&2
  exit 1
fi
