#!/usr/bin/env bash
# Build what the proxy needs (the component, the release binary) and run `headroom proxy`;
# arguments are passed on (`--mode token`, `--port 9000`, ...). Needs only cargo and rustup.
set -euo pipefail
cd "$(dirname "$0")/../.."
core/component/build.sh >/dev/null
exec cargo run -q --release --bin headroom -- proxy "$@"
