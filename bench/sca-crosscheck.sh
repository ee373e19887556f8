#!/usr/bin/env bash
# Cross-check `rampart deps` against cargo-audit on real Cargo.lock files (issue 3).
#
#   bash bench/sca-crosscheck.sh                # default lockfile set, table on stdout
#   LOCKS="a/Cargo.lock b/Cargo.lock" bash bench/sca-crosscheck.sh
#   MAX_REGISTRY=100 bash bench/sca-crosscheck.sh
#
# Both tools get the same advisories: cargo-audit reads the RustSec advisory-db in its
# native format (corpora/osv/RustSec-native, --no-fetch), Rampart imports the OSV export
# of the same database (corpora/osv/RustSec) into a temporary DB. (The two corpus
# directories come from two commits of rustsec/advisory-db, `main` and `osv`; see
# corpora/osv/SOURCE.md.) A second Rampart column imports the native Markdown directly
# (Rampart converts it itself), which removes the snapshot difference.
#
# Compared per lockfile: the set of (package, version, RUSTSEC id). cargo-audit's set is
# its `vulnerabilities` plus its `unmaintained` / `unsound` / `notice` warnings (yanked
# checks are off: --no-yanked); Rampart's is every `vuln/` finding's RUSTSEC ids (the
# finding id, its merged records and aliases).
#
# Lockfiles: this repo's Cargo.lock, the three crafted old projects under
# bench/sca-crosscheck/ (real crates pinned at old versions, resolved by cargo
# generate-lockfile), and every Cargo.lock shipped by a crate in ~/.cargo/registry/src
# (at most $MAX_REGISTRY, default all).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="$(realpath "${RAMPART_SHARED:-../shared}")"
ADB_NATIVE="$SHARED/corpora/osv/RustSec-native"
ADB_OSV="$SHARED/corpora/osv/RustSec"
AUDIT="${CARGO_AUDIT:-$HOME/peers/cargo/bin/cargo-audit}"
if ! [ -x "$AUDIT" ]; then
  AUDIT="$(command -v cargo-audit || true)"
fi
[ -n "$AUDIT" ] || { echo "cargo-audit not found (cargo install cargo-audit --root ~/peers/cargo)" >&2; exit 2; }
OUT=bench/out/sca-crosscheck; rm -rf "$OUT"; mkdir -p "$OUT"

cargo build -q -p rampart-cli
RAMPART=target/debug/rampart   # a correctness check: the debug build will do
"$RAMPART" db import --db "$OUT/osv.db" "$ADB_OSV" > "$OUT/import-osv.txt" 2> "$OUT/import-osv.err"
"$RAMPART" db import --db "$OUT/native.db" "$ADB_NATIVE" > "$OUT/import-native.txt" 2> "$OUT/import-native.err"

if [ -z "${LOCKS:-}" ]; then
  LOCKS="Cargo.lock bench/sca-crosscheck/old-web/Cargo.lock bench/sca-crosscheck/old-misc/Cargo.lock bench/sca-crosscheck/old-crypto/Cargo.lock"
  REG=$(ls "$HOME"/.cargo/registry/src/*/*/Cargo.lock 2>/dev/null | sort | head -n "${MAX_REGISTRY:-100000}" || true)
  LOCKS="$LOCKS $REG"
fi

i=0
: > "$OUT/index.tsv"
for lock in $LOCKS; do
  i=$((i+1))
  "$AUDIT" audit --db "$ADB_NATIVE" --no-fetch --no-yanked --json -f "$lock" \
    > "$OUT/$i.audit.json" 2> "$OUT/$i.audit.err" || true
  "$RAMPART" deps "$lock" --db "$OUT/osv.db" --format json --fail-on none \
    > "$OUT/$i.osv.json" 2> "$OUT/$i.osv.err" || true
  "$RAMPART" deps "$lock" --db "$OUT/native.db" --format json --fail-on none \
    > "$OUT/$i.native.json" 2> "$OUT/$i.native.err" || true
  printf '%s\t%s\n' "$i" "$lock" >> "$OUT/index.tsv"
done

python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]

def load(p):
    try:
        with open(p) as f:
            return json.load(f)
    except Exception as e:
        return None

def audit_set(d):
    s = set()
    if d is None:
        return None
    for v in d.get("vulnerabilities", {}).get("list", []):
        s.add((v["package"]["name"], v["package"]["version"], v["advisory"]["id"]))
    for kind, ws in d.get("warnings", {}).items():
        if kind == "yanked":
            continue
        for w in ws:
            a = w.get("advisory")
            if a:
                s.add((w["package"]["name"], w["package"]["version"], a["id"]))
    return s

def rampart_set(d):
    if d is None:
        return None
    s = set()
    for f in d.get("findings", []):
        if not f["rule_id"].startswith("vuln/"):
            continue
        loc = f["location"]
        props = f.get("properties", {})
        ids = {f["rule_id"][5:]} | set(props.get("records", [])) | set(props.get("aliases", []))
        for i in ids:
            if i.startswith("RUSTSEC-"):
                s.add((loc["name"], loc["version"], i))
    return s

rows = []
diffs = []
tot = dict(locks=0, audit=0, osv=0, both=0, only_audit=0, only_rampart=0, native_equal=0, with_adv=0, errors=0)
for line in open(os.path.join(out, "index.tsv")):
    i, lock = line.rstrip("\n").split("\t")
    a = audit_set(load(f"{out}/{i}.audit.json"))
    r = rampart_set(load(f"{out}/{i}.osv.json"))
    n = rampart_set(load(f"{out}/{i}.native.json"))
    tot["locks"] += 1
    if a is None or r is None or n is None:
        tot["errors"] += 1
        rows.append((lock, "error", "", "", "", "", ""))
        diffs.append((lock, "a tool failed", (f"{out}/{i}.*.err",)))
        continue
    both, oa, orr = a & r, a - r, r - a
    tot["audit"] += len(a); tot["osv"] += len(r); tot["both"] += len(both)
    tot["only_audit"] += len(oa); tot["only_rampart"] += len(orr)
    tot["native_equal"] += int(n == a)
    if a or r:
        tot["with_adv"] += 1
        short = lock.replace(os.path.expanduser("~/.cargo/registry/src/"), "registry:")
        short = short.split("/", 1)[-1] if short.startswith("registry:") else short
        rows.append((short, len(a), len(r), len(both), len(oa), len(orr), "yes" if n == a else f"no ({len(n ^ a)})"))
    if oa or orr:
        diffs.append((lock, "only cargo-audit", sorted(oa)))
        diffs.append((lock, "only rampart", sorted(orr)))
    if n != a:
        diffs.append((lock, "native: only cargo-audit", sorted(a - n)))
        diffs.append((lock, "native: only rampart", sorted(n - a)))

print(f"{'lockfile':<48} {'audit':>5} {'rampart':>7} {'both':>5} {'only-a':>6} {'only-r':>6}  native=audit")
for r in rows:
    print(f"{str(r[0])[:48]:<48} {r[1]!s:>5} {r[2]!s:>7} {r[3]!s:>5} {r[4]!s:>6} {r[5]!s:>6}  {r[6]}")
print()
print(f"lockfiles {tot['locks']} (with advisories: {tot['with_adv']}, tool errors: {tot['errors']}); "
      f"(package, version, advisory) pairs: cargo-audit {tot['audit']}, rampart (OSV form) {tot['osv']}, "
      f"both {tot['both']}, only cargo-audit {tot['only_audit']}, only rampart {tot['only_rampart']}; "
      f"rampart on the native advisories equals cargo-audit on {tot['native_equal']}/{tot['locks']} lockfiles")
if diffs:
    print("\ndifferences:")
    seen = set()
    for lock, what, items in diffs:
        for it in items:
            key = (what, it if isinstance(it, str) else it[2])
            if key in seen:
                continue
            seen.add(key)
            print(f"  {what}: {it}  (first in {lock})")
PY
