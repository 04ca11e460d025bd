#!/usr/bin/env bash
# Build the core component: wasm32-unknown-unknown module -> component at
# target/wasm/headroom-core.wasm. Fails if the component imports anything from `wasi:`.
set -euo pipefail
cd "$(dirname "$0")/../.."
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || rustup target add wasm32-unknown-unknown
cargo build -q -p headroom-core-component --target wasm32-unknown-unknown --profile wasm
mkdir -p target/wasm
cargo run -q --release -p headroom-componentize -- \
  target/wasm32-unknown-unknown/wasm/headroom_core_component.wasm target/wasm/headroom-core.wasm
echo "size: $(stat -c %s target/wasm/headroom-core.wasm) bytes raw, $(gzip -9nc target/wasm/headroom-core.wasm | wc -c) bytes gzipped"
