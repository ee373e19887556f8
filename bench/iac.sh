#!/usr/bin/env bash
# IaC (issue 4): rampart iac vs hadolint on Dockerfiles, and vs Checkov on Terraform.
#
#   bash bench/iac.sh            # PEERS=~/peers by default; RUNS=5
#
# Dockerfiles: every real Dockerfile found on this machine (crates.io sources, pyenv,
# the Cloud SDK runtimes, this repository) plus the rule fixtures of
# crates/rampart-iac/tests/fixtures/docker, each copied to its own directory.
# (The 57 istio/kubernetes-examples/microservices-demo Dockerfiles the peers README
# mentions are not kept in shared/ — corpora carry no Dockerfiles — so they are not
# used here.)
#   1. agreement per hadolint code: for each Rampart rule that names a DL code, the
#      (file, line) pairs each tool reports;
#   2. wall time and peak RSS of both tools on the set, and on the set repeated to
#      2,000 files (rampart on 1 thread and on all cores; hadolint gets the file list).
# Terraform: the rule fixtures of crates/rampart-iac/tests/fixtures/terraform;
#   agreement per Checkov id (resource verdicts) and wall time of both tools.
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS="${PEERS:-$HOME/peers}"
RUNS="${RUNS:-5}"
HADOLINT="${HADOLINT:-$PEERS/venv-hadolint/bin/hadolint}"
CHECKOV="${CHECKOV:-$PEERS/venv-checkov/bin/checkov}"
OUT="$(pwd)/bench/out/iac"; rm -rf "$OUT"; mkdir -p "$OUT"
BIN="$(pwd)/target/release/rampart"
cargo build --release -q -p rampart-cli
echo "== machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== hadolint: $("$HADOLINT" --version)"

# ---- collect Dockerfiles
SET="$OUT/dockerfiles"; mkdir -p "$SET"
n=0
{
  find / -xdev \( -path /proc -o -path /sys -o -path "$(pwd)/target" -o -path "$OUT" \) -prune -o -type f \
    \( -name Dockerfile -o -name 'Dockerfile.*' -o -name '*.Dockerfile' -o -name Containerfile \) -print 2>/dev/null \
    | grep -v '/crates/rampart-iac/tests/fixtures/' | grep -v '\.dockerignore$' || true
  find crates/rampart-iac/tests/fixtures/docker -name '*.Dockerfile'
} | sort > "$OUT/sources.txt"
while read -r f; do
  n=$((n+1)); d=$(printf '%s/%04d' "$SET" "$n"); mkdir -p "$d"; cp "$f" "$d/Dockerfile"
done < "$OUT/sources.txt"
REAL=$(grep -vc '/tests/fixtures/' "$OUT/sources.txt" || true)
echo "== Dockerfiles: $n ($REAL real ones found on this machine, the rest rule fixtures)"

# ---- agreement per DL code
"$HADOLINT" --no-fail -f json "$SET"/*/Dockerfile > "$OUT/hadolint.json" || true
"$BIN" iac "$SET" -f json --fail-on none --no-ignore > "$OUT/rampart.json"
"$BIN" rules list --format json > "$OUT/rules.json" 2>/dev/null || echo '[]' > "$OUT/rules.json"
python3 - "$OUT" "$SET" <<'PY'
import json, sys, os, collections
out, setdir = sys.argv[1], sys.argv[2]
had = json.load(open(f"{out}/hadolint.json"))
ram = json.load(open(f"{out}/rampart.json"))
code_of = {}
for r in ram.get("rules", []):
    for p in r.get("peers", []):
        if p.startswith("DL") and r["id"].startswith("docker/"):
            code_of[r["id"]] = p
H = collections.defaultdict(set)
for h in had:
    rel = os.path.relpath(h["file"], setdir)
    H[h["code"]].add((rel, h["line"]))
R = collections.defaultdict(set)
for f in ram["findings"]:
    c = code_of.get(f["rule_id"])
    if c:
        R[c].add((f["location"]["path"], f["location"]["span"]["start_line"]))
rows = []
for rid, c in sorted(code_of.items(), key=lambda x: x[1]):
    both, ho, ro = len(H[c] & R[c]), len(H[c] - R[c]), len(R[c] - H[c])
    rows.append((c, rid, both, ho, ro))
print("| hadolint | rampart rule | both | hadolint only | rampart only |")
print("|---|---|---|---|---|")
tb = th = tr = 0
for c, rid, b, h, r in rows:
    print(f"| {c} | `{rid}` | {b} | {h} | {r} |"); tb += b; th += h; tr += r
print(f"| **total** | | **{tb}** | {th} | {tr} |")
with open(f"{out}/disagreements.txt", "w") as fh:
    for c, rid, *_ in rows:
        for x in sorted(H[c] - R[c]): fh.write(f"hadolint-only {c} {x}\n")
        for x in sorted(R[c] - H[c]): fh.write(f"rampart-only  {c} {rid} {x}\n")
PY
echo "(details: $OUT/disagreements.txt)"

# ---- speed
BIG="$OUT/big"; mkdir -p "$BIG"
i=0; while [ "$i" -lt 2000 ]; do for d in "$SET"/*; do i=$((i+1)); [ "$i" -gt 2000 ] && break; mkdir -p "$BIG/$i"; cp "$d/Dockerfile" "$BIG/$i/"; done; done
timeit() { # label, command...
  local best=999999 rss=0
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f '%e %M' -o "$OUT/t" "${@:2}" > /dev/null 2>&1 || true
    read -r s kb < <(tail -1 "$OUT/t")
    best=$(python3 -c "print(min($best, $s))"); rss=$kb
  done
  printf '| %s | %s s | %s MB |\n' "$1" "$best" "$((rss/1024))"
}
echo "| run | wall (best of $RUNS) | peak RSS |"
echo "|---|---|---|"
timeit "hadolint, $n files" "$HADOLINT" --no-fail "$SET"/*/Dockerfile
timeit "rampart iac, $n files, 1 thread" "$BIN" iac "$SET" -q --fail-on none --threads 1
timeit "hadolint, 2000 files" "$HADOLINT" --no-fail "$BIG"/*/Dockerfile
timeit "rampart iac, 2000 files, 1 thread" "$BIN" iac "$BIG" -q --fail-on none --threads 1
timeit "rampart iac, 2000 files, all cores" "$BIN" iac "$BIG" -q --fail-on none

# ---- Terraform vs Checkov
if [ -x "$CHECKOV" ]; then
  TF="$OUT/terraform"; mkdir -p "$TF"
  for d in crates/rampart-iac/tests/fixtures/terraform/*/; do
    s=$(basename "$d"); for k in fires quiet; do mkdir -p "$TF/$s-$k"; cp "$d/$k.tf" "$TF/$s-$k/main.tf"; done
  done
  "$CHECKOV" -d "$(realpath "$TF")" --framework terraform --skip-download --quiet -o json > "$OUT/checkov.json" 2>/dev/null || true
  "$BIN" iac "$TF" -f json --fail-on none > "$OUT/rampart-tf.json"
  python3 - "$OUT" "$TF" <<'PY'
import json, sys, os, collections
out, tf = sys.argv[1], sys.argv[2]
ck = json.load(open(f"{out}/checkov.json"))
if isinstance(ck, list): ck = next((x for x in ck if x.get("check_type") == "terraform"), ck[0])
failed = collections.defaultdict(set); passed = collections.defaultdict(set)
for r in ck["results"].get("failed_checks", []):
    failed[r["check_id"]].add(r["file_path"].strip("/").split("/")[0])
for r in ck["results"].get("passed_checks", []):
    passed[r["check_id"]].add(r["file_path"].strip("/").split("/")[0])
ram = json.load(open(f"{out}/rampart-tf.json"))
ids = {}
for r in ram.get("rules", []):
    for p in r.get("peers", []):
        if p.startswith("CKV_") and r["id"].startswith("terraform/"):
            ids.setdefault(r["id"], p)
R = collections.defaultdict(set)
for f in ram["findings"]:
    R[f["rule_id"]].add(f["location"]["path"].split("/")[0])
print("| checkov | rampart rule | dirs both fail | checkov only | rampart only |")
print("|---|---|---|---|---|")
for rid, c in sorted(ids.items(), key=lambda x: x[1]):
    print(f"| {c} | `{rid}` | {len(failed[c] & R[rid])} | {len(failed[c] - R[rid])} | {len(R[rid] - failed[c])} |")
PY
  echo "| run | wall (best of $RUNS) | peak RSS |"
  echo "|---|---|---|"
  timeit "checkov --framework terraform, $(ls "$TF" | wc -l) dirs" "$CHECKOV" -d "$(realpath "$TF")" --framework terraform --skip-download --quiet
  timeit "rampart iac, same" "$BIN" iac "$TF" -q --fail-on none
fi
