#!/usr/bin/env bash
# Build plugins to components and lay each out as <out>/<id>/{plugin.toml,plugin.wasm,<sample>}:
# the folder `headroom proxy --plugins-dir` takes as it is. The built manifest is the source
# manifest with the component's sha256 added. Fails if a component imports anything (WASI
# included): plugins are pure.
#   plugins/build.sh                 every plugin in plugins/*/ into target/plugins
#   plugins/build.sh OUT DIR...      the plugins in DIR... into OUT
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || rustup target add wasm32-unknown-unknown
out=${1:-target/plugins}
shift || true
if [ $# -eq 0 ]; then
  set -- $(ls -d plugins/*/ | while read -r d; do [ -f "$d/plugin.toml" ] && echo "${d%/}"; done)
fi
crates=()
for dir in "$@"; do
  crates+=(-p "$(sed -n 's/^name = "\(.*\)"/\1/p' "$dir/Cargo.toml" | head -1)")
done
cargo build -q "${crates[@]}" --target wasm32-unknown-unknown --profile wasm
cargo build -q --release -p headroom-componentize
for dir in "$@"; do
  crate=$(sed -n 's/^name = "\(.*\)"/\1/p' "$dir/Cargo.toml" | head -1)
  id=$(sed -n 's/^id = "\(.*\)"/\1/p' "$dir/plugin.toml" | head -1)
  [ -n "$id" ] || { echo "$dir/plugin.toml: no id" >&2; exit 1; }
  if grep -q '^sha256' "$dir/plugin.toml"; then
    echo "$dir/plugin.toml: the source manifest must not carry sha256 (the build adds it)" >&2; exit 1
  fi
  rm -rf "$out/$id.tmp" && mkdir -p "$out/$id.tmp"
  target/release/headroom-componentize "target/wasm32-unknown-unknown/wasm/${crate//-/_}.wasm" "$out/$id.tmp/plugin.wasm" >/dev/null
  sum=$(sha256sum "$out/$id.tmp/plugin.wasm" | cut -d' ' -f1)
  { echo "sha256 = \"$sum\""; cat "$dir/plugin.toml"; } > "$out/$id.tmp/plugin.toml"
  sample=$(sed -n 's/^sample = "\(.*\)"/\1/p' "$dir/plugin.toml" | head -1)
  [ -z "$sample" ] || cp "$dir/$sample" "$out/$id.tmp/"
  # Swap the whole folder at once: a proxy watching `out` never sees half a plugin.
  rm -rf "$out/$id.old"; [ ! -d "$out/$id" ] || mv "$out/$id" "$out/$id.old"
  mv "$out/$id.tmp" "$out/$id" && rm -rf "$out/$id.old"
  echo "$out/$id: $(stat -c %s "$out/$id/plugin.wasm") bytes, sha256 $sum"
done
