#!/usr/bin/env bash
# Secret-scanning throughput: Rampart vs detect-secrets vs trivy on one real source tree.
#
#   bash bench/secrets.sh [TREE]
#
# TREE defaults to the Rust toolchain's own library sources under ~/.rustup (several
# hundred MB of real Rust, C, Markdown, JSON). Peers are taken from $PEERS (default
# ~/peers, installed by ../shared/peers/install-peers.sh py) when present; a missing peer
# is reported and skipped. Wall time and peak RSS come from GNU time; medians of 3 runs.
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS="${PEERS:-$HOME/peers}"
TREE="${1:-$(ls -d "$HOME"/.rustup/toolchains/*/lib/rustlib/src/rust 2>/dev/null | head -1)}"
[ -d "$TREE" ] || TREE="$(ls -d "$HOME"/.rustup/toolchains/*/share/doc 2>/dev/null | head -1)"
TREE="$(realpath "$TREE")"
OUT=bench/out; mkdir -p "$OUT"
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "GNU time missing: apt-get install time" >&2; exit 2; }

cargo build --release -p rampart-cli >/dev/null 2>&1
BIN="$PWD/target/release/rampart"
bytes=$(find "$TREE" -type f -size -10M -print0 | du -cb --files0-from=- | tail -1 | cut -f1)
files=$(find "$TREE" -type f | wc -l)
echo "tree: $TREE ($files files, $((bytes/1024/1024)) MiB)"

median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

run() { # name, findings-counter, command...
  local name=$1 counter=$2; shift 2
  local walls=() rss=()
  for i in 1 2 3; do
    "$TIME" -f "%e %M" -o "$OUT/$name.time" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" || true
    read -r w m < "$OUT/$name.time"
    walls+=("$w"); rss+=("$m")
  done
  local wall mem n
  wall=$(printf '%s\n' "${walls[@]}" | median)
  mem=$(printf '%s\n' "${rss[@]}" | median)
  n=$($counter "$OUT/$name.out")
  printf '%-28s wall %7ss  %8.1f MB/s  peak RSS %6d MB  findings %s\n' "$name" "$wall" \
    "$(echo "$bytes / 1048576 / $wall" | bc -l)" $((mem/1024)) "$n"
}

count_rampart() { python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['findings']))" "$1"; }
count_ds() { python3 -c "import json,sys; print(sum(len(v) for v in json.load(open(sys.argv[1]))['results'].values()))" "$1"; }
count_trivy() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(sum(len(r.get('Secrets') or []) for r in d.get('Results') or []))" "$1"; }

run "rampart (1 thread)" count_rampart "$BIN" secrets "$TREE" --threads 1 --format json --fail-on none --no-ignore
run "rampart (2 threads)" count_rampart "$BIN" secrets "$TREE" --threads 2 --format json --fail-on none --no-ignore

if [ -x "$PEERS/venv-trivy/bin/trivy" ] || command -v trivy >/dev/null; then
  TRIVY="$(command -v trivy || echo "$PEERS/venv-trivy/bin/trivy")"
  run "trivy fs --scanners secret" count_trivy "$TRIVY" fs --scanners secret --cache-backend memory \
    --skip-db-update --offline-scan --format json --quiet "$TREE"
else
  echo "trivy: not installed (bash ../shared/peers/install-peers.sh py)"
fi
DS="$(ls "$PEERS"/venv-detect-secrets/bin/detect-secrets 2>/dev/null || command -v detect-secrets || true)"
if [ -n "$DS" ]; then
  run "detect-secrets (1 core)" count_ds "$DS" -C "$TREE" scan --all-files -n -c 1 .
else
  echo "detect-secrets: not installed (bash ../shared/peers/install-peers.sh py)"
fi
