#!/usr/bin/env bash
# Dependency scanning (issue 3, inventory + `rampart deps`): end-to-end CLI timings.
#
#   bash bench/deps.sh                  # corpus from ../shared/corpora/osv
#   OSV=DIR RUNS=10 bash bench/deps.sh
#
# DB:   every OSV record of the corpus (Go, PyPI, RustSec, mixed samples) imported once
#       into bench/out/deps-bench.db (not timed here; see bench/vuln-db.sh).
# (a)   a repository of 50 lockfiles (the 20 format fixtures of
#       crates/rampart-sca/tests/fixtures/lockfiles copied round-robin into 50 dirs,
#       with their package.json / pyproject.toml / go.sum siblings): `rampart deps`
#       with the DB, JSON to /dev/null. Target < 1 s.
# (b)   one generated Cargo.lock of 5,000 packages (every crates.io package name of the
#       RustSec corpus, at versions below and above its advisories' fixes, padded with
#       unknown names), with a lockfile-like dependency graph (the root depends on 20
#       packages, package k on packages 20+3k..22+3k: a tree ~7 levels deep):
#       `rampart deps` (parse + graph + match + report) and
#       `rampart deps --list` (parse + graph only); the difference is the matching.
# hyperfine, $RUNS runs after 2 warm-ups; the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
OSV="$(realpath "${OSV:-../shared/corpora/osv}")"
RUNS="${RUNS:-10}"
OUT=bench/out; mkdir -p "$OUT"
DB="$OUT/deps-bench.db"
BIN=target/release/rampart

[ -n "${SKIP_BUILD:-}" ] || cargo build --release -q -p rampart-cli
echo "== machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"

if [ ! -f "$DB" ]; then
  "$BIN" db import --db "$DB" --no-schema "$OSV/Go" "$OSV/PyPI" "$OSV/RustSec" \
    "$OSV/mixed-osv-scanner-samples" "$OSV/mixed-osv-dev-samples" > /dev/null 2>&1 || true
fi
"$BIN" db status --db "$DB" | head -3

# (a) 50 lockfiles.
REPO="$OUT/deps-repo50"
rm -rf "$REPO"; mkdir -p "$REPO"
FIX=crates/rampart-sca/tests/fixtures/lockfiles
mapfile -t DIRS < <(ls "$FIX" | grep -v malformed)
n=0; i=0
while [ "$n" -lt 50 ]; do
  d="${DIRS[$((i % ${#DIRS[@]}))]}"
  for f in $(ls "$FIX/$d"); do
    [ -f "$FIX/$d/$f" ] || continue
    mkdir -p "$REPO/p$i"
    cp "$FIX/$d/$f" "$REPO/p$i/"
  done
  [ -d "$FIX/$d/common" ] && cp -r "$FIX/$d/common" "$REPO/p$i/"
  n=$(find "$REPO" -type f \( -name '*.lock' -o -name 'package-lock.json' -o -name 'pnpm-lock.yaml' \
      -o -name 'requirements*.txt' -o -name 'go.mod' -o -name 'pom.xml' -o -name 'gradle.lockfile' \
      -o -name 'packages.lock.json' -o -name 'Pipfile.lock' -o -name 'Gemfile.lock' \) | wc -l)
  i=$((i + 1))
done
echo "== (a) $n lockfiles, $("$BIN" deps "$REPO" --list | tail -1)"
"$BIN" deps "$REPO" --db "$DB" --format json --fail-on none 2>/dev/null \
  | python3 -c 'import json,sys; r=json.load(sys.stdin); print("   findings:", len(r["findings"]))'
hyperfine -N -w 2 -r "$RUNS" --export-json "$OUT/deps-a.json" \
  "$BIN deps $REPO --db $DB --format json --fail-on none -q" 2>/dev/null | grep -E "Time|Range"

# (b) 5,000-package Cargo.lock.
BIG="$OUT/deps-big"; rm -rf "$BIG"; mkdir -p "$BIG"
python3 - "$OSV/RustSec" "$BIG/Cargo.lock" <<'PY'
import glob, json, sys
names = {}
for f in sorted(glob.glob(sys.argv[1] + "/*.json")):
    d = json.load(open(f))
    for a in d.get("affected", []):
        if a["package"]["ecosystem"] != "crates.io":
            continue
        fixed = [e["fixed"] for r in a.get("ranges", []) for e in r["events"] if "fixed" in e]
        names.setdefault(a["package"]["name"], fixed[:1])
pkgs = []
for n, fixed in sorted(names.items()):
    pkgs.append((n, "0.1.0"))
    if fixed:
        pkgs.append((n, fixed[0]))
i = 0
while len(pkgs) < 5000:
    pkgs.append((f"unknown-crate-{i}", "1.0.0")); i += 1
pkgs = pkgs[:5000]
with open(sys.argv[2], "w") as out:
    out.write("version = 3\n\n[[package]]\nname = \"bench-root\"\nversion = \"0.1.0\"\ndependencies = [\n")
    for n, v in pkgs[:20]:
        out.write(f' "{n} {v}",\n')
    out.write("]\n")
    for k, (n, v) in enumerate(pkgs):
        out.write(f'\n[[package]]\nname = "{n}"\nversion = "{v}"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n')
        deps = [pkgs[j] for j in (20 + 3 * k, 21 + 3 * k, 22 + 3 * k) if j < len(pkgs)]
        if deps:
            out.write("dependencies = [\n" + "".join(f' "{a} {b}",\n' for a, b in deps) + "]\n")
print(f"   generated {len(pkgs)} packages ({len(names)} RustSec crate names)")
PY
"$BIN" deps "$BIG" --db "$DB" --format json --fail-on none 2>/dev/null \
  | python3 -c 'import json,sys; r=json.load(sys.stdin); print("   findings:", len(r["findings"]))'
echo "== (b) 5,000-package Cargo.lock"
hyperfine -N -w 2 -r "$RUNS" --export-json "$OUT/deps-b.json" \
  "$BIN deps $BIG --db $DB --format json --fail-on none -q" \
  "$BIN deps $BIG --list --format json" 2>/dev/null | grep -E "Benchmark|Time|Range"
