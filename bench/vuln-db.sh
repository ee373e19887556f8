#!/usr/bin/env bash
# Vulnerability database (issue 3, part 1): import speed and matching speed.
#
#   bash bench/vuln-db.sh                 # corpus from ../shared/corpora/osv
#   OSV=DIR RUNS=5 bash bench/vuln-db.sh
#
# Import: every record under $OSV (OSV JSON, OSV YAML, RustSec native, Alpine secdb,
#         schema validation on) into a fresh database file; median of $RUNS runs, page
#         cache warm (one unmeasured run first). Rates are reported per file and per
#         OSV record read (a secdb file yields one record per release+CVE).
# Match:  open that database, then `match_packages` on 5,000 packages; two inventories:
#         "every package in the DB" (each of the DB's ~3,300 packages once, half at a
#         vulnerable and half at a fixed version, plus unknown names up to 5,000: the
#         worst case) and "realistic" (500 DB packages + 4,500 unknown names, like a big
#         lockfile). Five calls each after the open; first, median and best reported.
set -euo pipefail
cd "$(dirname "$0")/.."
OSV="$(realpath "${OSV:-../shared/corpora/osv}")"
RUNS="${RUNS:-5}"
OUT=bench/out; mkdir -p "$OUT"
DB="$OUT/vuln-bench.db"

[ -n "${SKIP_BUILD:-}" ] || cargo build --release -q -p rampart-vuln --example vuln_import --example vuln_match
IMPORT=target/release/examples/vuln_import
MATCH=target/release/examples/vuln_match

echo "== machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$IMPORT" "$DB" "$OSV" > /dev/null   # warm the page cache
: > "$OUT/vuln-import.txt"
for _ in $(seq "$RUNS"); do
  /usr/bin/time -f "cpu %U user %S sys" "$IMPORT" "$DB" "$OSV" 2>>"$OUT/vuln-import.txt" \
    > "$OUT/vuln-import-run.txt"
  head -1 "$OUT/vuln-import-run.txt" >> "$OUT/vuln-import.txt"
done
echo "== import ($RUNS runs)"
grep '^files' "$OUT/vuln-import.txt"
grep '^cpu' "$OUT/vuln-import.txt"
python3 - "$OUT/vuln-import.txt" <<'PY'
import re, statistics, sys
lines = [l for l in open(sys.argv[1]) if l.startswith("files")]
secs = sorted(float(re.search(r"in ([0-9.]+) s", l).group(1)) for l in lines)
m = re.search(r"files (\d+) records read (\d+) imported (\d+)", lines[0])
files, read, imported = map(int, m.groups())
med = statistics.median(secs)
cpu = [float(a) + float(b) for a, b in re.findall(r"cpu ([0-9.]+) user ([0-9.]+) sys", open(sys.argv[1]).read())]
print(f"median {med:.3f} s (best {secs[0]:.3f} s): {files/med:,.0f} files/s, "
      f"{read/med:,.0f} records read/s, {imported/med:,.0f} records stored/s "
      f"({files} files, {read} records read, {imported} stored)")
if cpu:
    c = statistics.median(cpu)
    print(f"median CPU {c:.2f} s (user+sys): {imported/c:,.0f} records stored per CPU-second "
          f"(on a quiet 2-core machine the wall clock approaches CPU/2 while parsing in parallel)")
PY
echo "== match (worst case: every package in the DB)"
"$MATCH" "$DB" 5000
echo "== match (realistic: 500 DB packages + 4,500 unknown)"
MATCH_IN_DB=500 "$MATCH" "$DB" 5000
