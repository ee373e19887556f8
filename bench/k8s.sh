#!/usr/bin/env bash
# Kubernetes manifest scanning: Rampart vs Checkov vs Trivy (issue 4).
#
#   bash bench/k8s.sh                 # corpus k8s-manifests-large (946 files)
#   CORPUS=DIR RUNS=3 PEER_RUNS=1 bash bench/k8s.sh
#
# Rampart: the `k8s_scan` bench harness of rampart-k8s (loader with spans + every rule:
# PSS, best practices, set-level rules; one thread), release profile; and `rampart k8s`
# when the CLI has that command. Checkov and Trivy from $PEERS (default ~/peers, see
# ../shared/peers/README.md): Checkov needs --skip-download and a realpath (a path with
# `..` finds 0 resources), exits 1 when checks fail; Trivy runs with
# --cache-backend memory so nothing is cached between runs.
# Wall time and peak RSS from GNU time (median of RUNS for Rampart, PEER_RUNS for peers).
# Then: 10,000 manifests (the corpus repeated) on one core (taskset -c 0), and a table of
# the findings each tool reports for the rules they share (peer ids in Rampart's rules).
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS="${PEERS:-$HOME/peers}"
CORPUS="$(realpath "${CORPUS:-../shared/corpora/k8s-manifests-large/files}")"
RUNS="${RUNS:-3}"
PEER_RUNS="${PEER_RUNS:-1}"
OUT=bench/out/k8s; mkdir -p "$OUT"
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "GNU time missing: apt-get install time" >&2; exit 2; }
CHECKOV="$PEERS/venv-checkov/bin/checkov"
TRIVY="$(command -v trivy || echo "$PEERS/venv-trivy/bin/trivy")"

# SCAN=path skips the build; REUSE_PEERS=1 keeps the last Checkov/Trivy outputs and times.
SCAN="${SCAN:-$(cargo bench -p rampart-k8s --bench k8s_scan --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("target", {}).get("name") == "k8s_scan" and m.get("executable"):
        print(m["executable"])' | tail -1)}"
[ -x "$SCAN" ] || { echo "could not build the k8s_scan harness" >&2; exit 2; }
[ -n "${SKIP_CLI:-}" ] || cargo build --release -p rampart-cli >/dev/null 2>&1 || true
BIN="$PWD/target/release/rampart"

median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
measure() { # runs tag command... → prints "wall rss_mb"
  local runs=$1 tag=$2; shift 2
  local walls=() rss=()
  for ((i = 0; i < runs; i++)); do
    "$TIME" -f "%e %M" -o "$OUT/$tag.time" "$@" >"$OUT/$tag.out" 2>"$OUT/$tag.err" || true
    read -r w m < <(tail -1 "$OUT/$tag.time")
    walls+=("$w"); rss+=("$m")
  done
  echo "$(printf '%s\n' "${walls[@]}" | median) $(($(printf '%s\n' "${rss[@]}" | median) / 1024))"
}

files=$(find "$CORPUS" -type f | wc -l)
bytes=$(find "$CORPUS" -type f -print0 | du -cb --files0-from=- | tail -1 | cut -f1)
find "$CORPUS" -type f -print0 | xargs -0 cat >/dev/null  # warm the page cache
echo "### $CORPUS ($files files, $((bytes / 1000000)) MB), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| tool | wall | peak RSS |"
echo "|---|---|---|"
"$SCAN" "$CORPUS" --metas "$OUT/metas.json" --findings "$OUT/rampart.jsonl" >/dev/null 2>&1
read -r w m < <(measure "$RUNS" rampart taskset -c 0 "$SCAN" "$CORPUS")
echo "| rampart (k8s_scan harness, 1 thread) | ${w}s | ${m} MB |"
rampart_wall=$w
if "$BIN" k8s --help >/dev/null 2>&1; then
  read -r w m < <(measure "$RUNS" rampart_cli "$BIN" k8s "$CORPUS" --format json --fail-on none)
  echo "| rampart k8s (CLI) | ${w}s | ${m} MB |"
fi
checkov_wall=""
if [ -n "${REUSE_PEERS:-}" ] && [ -s "$OUT/checkov.time" ]; then
  read -r w m < <(tail -1 "$OUT/checkov.time"); m=$((m / 1024))
  echo "| checkov --framework kubernetes (previous run) | ${w}s | ${m} MB |"
  checkov_wall=$w
elif [ -x "$CHECKOV" ]; then
  read -r w m < <(measure "$PEER_RUNS" checkov "$CHECKOV" --framework kubernetes --skip-download --quiet -o json -d "$CORPUS")
  echo "| checkov --framework kubernetes | ${w}s | ${m} MB |"
  checkov_wall=$w
else
  echo "| checkov | not installed | |"
fi
trivy_wall=""
if [ -n "${REUSE_PEERS:-}" ] && [ -s "$OUT/trivy.time" ]; then
  read -r w m < <(tail -1 "$OUT/trivy.time"); m=$((m / 1024))
  echo "| trivy config (previous run) | ${w}s | ${m} MB |"
  trivy_wall=$w
elif [ -x "$TRIVY" ]; then
  read -r w m < <(measure "$PEER_RUNS" trivy "$TRIVY" config --cache-backend memory --skip-check-update -q -f json "$CORPUS")
  echo "| trivy config | ${w}s | ${m} MB |"
  trivy_wall=$w
else
  echo "| trivy | not installed | |"
fi
echo
[ -n "$checkov_wall" ] && echo "Rampart is $(python3 -c "print(f'{$checkov_wall/$rampart_wall:.0f}')")x faster than Checkov"
[ -n "$trivy_wall" ] && echo "Rampart is $(python3 -c "print(f'{$trivy_wall/$rampart_wall:.0f}')")x faster than Trivy"

# 10,000 manifests: the corpus repeated into a temporary directory, one core.
TEN="$(mktemp -d)"; trap 'rm -rf "$TEN"' EXIT
mapfile -t src < <(find "$CORPUS" -type f | sort)
for ((i = 0; i < 10000; i++)); do
  f="${src[$((i % ${#src[@]}))]}"
  ln "$f" "$TEN/r$((i / ${#src[@]}))_$(basename "$f")" 2>/dev/null || cp "$f" "$TEN/r$((i / ${#src[@]}))_$(basename "$f")"
done
find "$TEN" -type f -print0 | xargs -0 cat >/dev/null
read -r w m < <(measure "$RUNS" ten taskset -c 0 "$SCAN" "$TEN")
echo
echo "10,000 manifests ($(du -sh --apparent-size "$TEN" | cut -f1)), one core: ${w}s, ${m} MB peak RSS — $(tail -1 "$OUT/ten.out")"
if [ -x "$BIN" ] && "$BIN" k8s --help 2>/dev/null | grep -q -- --threads; then
  read -r w m < <(measure "$RUNS" ten_cli "$BIN" k8s "$TEN" --threads 1 --format json --fail-on none)
  echo "rampart k8s --threads 1 on the same: ${w}s, ${m} MB"
fi

# Which findings each tool reports for the rules they share.
echo
python3 - "$OUT" <<'PY'
import collections, json, os, sys
out = sys.argv[1]
metas = json.load(open(os.path.join(out, "metas.json")))
ckv_to_rules, ksv_to_rules = collections.defaultdict(set), collections.defaultdict(set)
for rid, peers in metas.items():
    for p in peers:
        if p.startswith("CKV_K8S_"):
            ckv_to_rules[p].add(rid)
        elif p.startswith("trivy:"):
            ksv_to_rules[p[6:]].add(rid)
ram = collections.defaultdict(set)   # rule -> {(file, resource)}
ram_files = collections.defaultdict(set)
for l in open(os.path.join(out, "rampart.jsonl")):
    f = json.loads(l)
    ram[f["rule_id"]].add((f["file"], f["resource"]))
    ram_files[f["rule_id"]].add(f["file"])

def load_json(path):
    try:
        return json.load(open(path))
    except Exception:
        return None

ck = collections.defaultdict(set)
d = load_json(os.path.join(out, "checkov.out"))
for part in (d if isinstance(d, list) else [d] if d else []):
    for c in part.get("results", {}).get("failed_checks", []):
        ck[c["check_id"]].add((c["file_path"].lstrip("/"), c["resource"]))
tv = collections.defaultdict(set)
d = load_json(os.path.join(out, "trivy.out"))
for r in (d or {}).get("Results") or []:
    for m in r.get("Misconfigurations") or []:
        if m.get("Status", "FAIL") == "FAIL":
            tv[m["ID"]].add(r["Target"])

def norm(res):  # Checkov ids are Kind.namespace.name
    return res
print("#### Checkov ↔ Rampart (failed resources, by file and Kind.namespace.name)\n")
print("| Checkov id | Rampart rule(s) | Checkov | Rampart | both | only Checkov | only Rampart |")
print("|---|---|---|---|---|---|---|")
tot = [0, 0, 0]
for cid in sorted(ckv_to_rules, key=lambda s: int(s.split("_")[-1])):
    rules = sorted(ckv_to_rules[cid])
    r = set().union(*(ram[x] for x in rules))
    c = ck.get(cid, set())
    both = len(r & c)
    tot[0] += len(c); tot[1] += len(r); tot[2] += both
    print(f"| {cid} | {', '.join('`'+x+'`' for x in rules)} | {len(c)} | {len(r)} | {both} | {len(c - r)} | {len(r - c)} |")
print(f"| total | | {tot[0]} | {tot[1]} | {tot[2]} | | |")
print("\n#### Trivy ↔ Rampart (files with a failure)\n")
print("| Trivy id | Rampart rule(s) | Trivy | Rampart | both |")
print("|---|---|---|---|---|")
for kid in sorted(ksv_to_rules):
    rules = sorted(ksv_to_rules[kid])
    r = set().union(*(ram_files[x] for x in rules))
    t = tv.get(kid, set()) | tv.get(kid.replace("KSV", "KSV-"), set())
    print(f"| {kid} | {', '.join('`'+x+'`' for x in rules)} | {len(t)} | {len(r)} | {len(r & t)} |")
PY
