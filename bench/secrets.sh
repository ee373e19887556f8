#!/usr/bin/env bash
# Secret-scanning throughput: Rampart vs trivy vs detect-secrets on real trees.
#
#   bash bench/secrets.sh            # both trees below
#   SMALL=DIR BIG=DIR bash bench/secrets.sh
#
# SMALL: the Rust toolchain's rendered sources (share/doc/rust/html/src, ~77 MB of real
#        Rust source as HTML): all three tools, so detect-secrets (~0.4 MB/s) finishes.
# BIG:   the whole toolchain documentation tree (share/doc, ~800 MB, 52k files): Rampart
#        and trivy only, for throughput at scale and for memory staying flat.
# Peers come from $PEERS (default ~/peers; `bash ../shared/peers/install-peers.sh py`);
# a missing peer is reported and skipped. Wall time and peak RSS from GNU time; median of
# 3 runs (detect-secrets: 1 run). Page cache is warm for everyone (a first unmeasured run).
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS="${PEERS:-$HOME/peers}"
TC="$(ls -d "$HOME"/.rustup/toolchains/*/share/doc 2>/dev/null | head -1)"
SMALL="$(realpath "${SMALL:-$TC/rust/html/src}")"
BIG="$(realpath "${BIG:-$TC}")"
OUT=bench/out; mkdir -p "$OUT"
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "GNU time missing: apt-get install time bc" >&2; exit 2; }

cargo build --release -p rampart-cli >/dev/null 2>&1
BIN="$PWD/target/release/rampart"
TRIVY="$(command -v trivy || echo "$PEERS/venv-trivy/bin/trivy")"
DS="$(command -v detect-secrets || echo "$PEERS/venv-detect-secrets/bin/detect-secrets")"

median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
count_rampart() { python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['findings']))" "$1"; }
count_ds() { python3 -c "import json,sys; print(sum(len(v) for v in json.load(open(sys.argv[1]))['results'].values()))" "$1"; }
count_trivy() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(sum(len(r.get('Secrets') or []) for r in d.get('Results') or []))" "$1"; }

bench() { # tree-bytes runs name counter command...
  local bytes=$1 runs=$2 name=$3 counter=$4; shift 4
  local walls=() rss=() tag
  tag=$(echo "$name" | tr -c 'a-z0-9' '_')
  for ((i = 0; i < runs; i++)); do
    "$TIME" -f "%e %M" -o "$OUT/$tag.time" "$@" >"$OUT/$tag.out" 2>"$OUT/$tag.err" || true
    read -r w m < <(tail -1 "$OUT/$tag.time")
    walls+=("$w"); rss+=("$m")
  done
  local wall mem
  wall=$(printf '%s\n' "${walls[@]}" | median)
  mem=$(printf '%s\n' "${rss[@]}" | median)
  printf '| %-30s | %8ss | %9.1f MB/s | %6d MB | %8s |\n' "$name" "$wall" \
    "$(echo "$bytes / 1000000 / $wall" | bc -l)" $((mem / 1024)) "$($counter "$OUT/$tag.out")"
}

for which in SMALL BIG; do
  tree=${!which}
  bytes=$(find "$tree" -type f -print0 | du -cb --files0-from=- | tail -1 | cut -f1)
  files=$(find "$tree" -type f | wc -l)
  echo
  echo "### $which: $tree ($files files, $((bytes / 1000000)) MB)"
  echo
  echo "| tool | wall | throughput | peak RSS | findings |"
  echo "|---|---|---|---|---|"
  find "$tree" -type f -print0 | xargs -0 cat >/dev/null 2>&1 || true  # warm the page cache
  bench "$bytes" 3 "rampart --threads 1" count_rampart "$BIN" secrets "$tree" --threads 1 --format json --fail-on none --no-ignore
  bench "$bytes" 3 "rampart (2 threads)" count_rampart "$BIN" secrets "$tree" --format json --fail-on none --no-ignore
  if [ -x "$TRIVY" ]; then
    bench "$bytes" 3 "trivy fs --scanners secret" count_trivy "$TRIVY" fs --scanners secret \
      --cache-backend memory --skip-db-update --offline-scan --format json --quiet "$tree"
  else
    echo "trivy: not installed"
  fi
  if [ "$which" = SMALL ]; then
    if [ -x "$DS" ]; then
      bench "$bytes" 1 "detect-secrets -c 1" count_ds "$DS" -C "$tree" -c 1 scan --all-files -n .
    else
      echo "detect-secrets: not installed"
    fi
  fi
done
