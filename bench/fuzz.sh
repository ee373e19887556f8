#!/usr/bin/env bash
# Fuzz every parser of untrusted input with AFL++ on the stable toolchain.
#
#   bash bench/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Needs cargo-afl (`cargo install cargo-afl --locked`; it builds its AFL++ at install).
# Builds fuzz/ (its own workspace) with AFL instrumentation, seeds each target from the
# repository's fixtures and the shared corpora (RAMPART_CORPORA, default ../shared/corpora),
# runs afl-fuzz for SECONDS_PER_TARGET (default 600) and prints one line per target:
# executions, paths found, bitmap coverage, crashes and hangs. Crashing and hanging inputs
# stay in fuzz/out/TARGET/default/{crashes,hangs}; each one found becomes a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECS=${1:-600}
shift || true
CORPORA=${RAMPART_CORPORA:-$ROOT/../shared/corpora}
cargo afl --version >/dev/null 2>&1 || { echo "cargo-afl missing: cargo install cargo-afl --locked" >&2; exit 2; }

# FUZZ_BUILD=0 reuses the last build (e.g. while the tree is mid-edit).
if [ "${FUZZ_BUILD:-1}" != 0 ] || [ ! -x fuzz/target/release/rampart-fuzz ]; then
  (cd fuzz && cargo afl build --release --quiet)
fi
BIN=$ROOT/fuzz/target/release/rampart-fuzz

# seed DIR PATTERN...: copy up to 200 small files matching find -name PATTERN into DIR.
seed() {
  local dir=$1; shift
  mkdir -p "$dir"
  local args=() first=1
  for p in "$@"; do
    if [ $first = 1 ]; then first=0; else args+=(-o); fi
    args+=(-name "$p")
  done
  find "$ROOT/crates" "$CORPORA" -type f -size -64k \( "${args[@]}" \) 2>/dev/null \
    | head -200 | while read -r f; do
        cp "$f" "$dir/$(printf '%s' "$f" | sha1sum | cut -c1-16)" 2>/dev/null || true
      done || true  # head closing the pipe is not an error
  # afl-fuzz needs at least one seed.
  [ -n "$(ls -A "$dir")" ] || printf 'a' > "$dir/empty"
}

seeds_for() {
  local t=$1 d=$ROOT/fuzz/seeds/$1
  rm -rf "$d"
  case $t in
    yaml|k8s) seed "$d" '*.yaml' '*.yml' ;;
    cargo-lock) seed "$d" 'Cargo.lock' ;;
    npm-lock) seed "$d" 'package-lock.json' 'npm-shrinkwrap.json' ;;
    yarn-lock) seed "$d" 'yarn.lock' ;;
    pnpm-lock) seed "$d" 'pnpm-lock.yaml' ;;
    requirements) seed "$d" 'requirements*.txt' ;;
    poetry-lock) seed "$d" 'poetry.lock' ;;
    go-mod) seed "$d" 'go.mod' ;;
    gemfile-lock) seed "$d" 'Gemfile.lock' ;;
    composer-lock) seed "$d" 'composer.lock' ;;
    pom) seed "$d" 'pom.xml' ;;
    gradle-lock) seed "$d" 'gradle.lockfile' ;;
    nuget-lock) seed "$d" 'packages.lock.json' ;;
    pubspec-lock) seed "$d" 'pubspec.lock' ;;
    dockerfile) seed "$d" 'Dockerfile*' '*.Dockerfile' ;;
    hcl) seed "$d" '*.tf' ;;
    tf-json) seed "$d" '*.tf.json' '*.json' ;;
    falco-rules) seed "$d" '*rules*.yaml' ;;
    gitleaks) seed "$d" '*.toml' ;;
    admission-review) seed "$d" '*review*.json' '*.json' ;;
    audit-events) seed "$d" '*.jsonl' '*audit*.json' '*.log' ;;
    osv) seed "$d" 'GHSA-*.json' 'PYSEC-*.json' 'GO-*.json' 'RUSTSEC-*.json' ;;
    rustsec) seed "$d" 'RUSTSEC-*.md' ;;
    elf) mkdir -p "$d"; for b in /bin/true /usr/bin/env; do head -c 60000 "$b" > "$d/$(basename "$b")"; done ;;
    jar) seed "$d" '*.jar' '*.zip' ;;
    dpkg) seed "$d" 'status' ;;
    apk) seed "$d" 'installed' ;;
    rpm-header) seed "$d" '*.rpmhdr' '*.bin' ;;
  esac
}

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(grep -oP '^\s+"\K[a-z0-9-]+(?=",$)' fuzz/src/main.rs)
fi

export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_QUIET=1
printf '%-18s %10s %8s %8s %8s %6s %6s\n' target execs exec/s paths cover crash hang
for t in "${targets[@]}"; do
  seeds_for "$t"
  out=$ROOT/fuzz/out/$t
  rm -rf "$out"
  mkdir -p "$ROOT/fuzz/out"
  # -t: a run over 2 s is a hang; -m: 1 GiB of address space per run.
  cargo afl fuzz -i "$ROOT/fuzz/seeds/$t" -o "$out" -V "$SECS" -t 2000 -m 1024 \
    -- "$BIN" "$t" >"$out.log" 2>&1 || true
  s=$out/default/fuzzer_stats
  if [ -f "$s" ]; then
    get() { grep -oP "^$1\s*:\s*\K\S+" "$s" || echo '?'; }
    printf '%-18s %10s %8s %8s %8s %6s %6s\n' "$t" "$(get execs_done)" "$(get execs_per_sec)" \
      "$(get corpus_count)" "$(get bitmap_cvg)" "$(get saved_crashes)" "$(get saved_hangs)"
  else
    printf '%-18s did not start: see %s\n' "$t" "$out.log"
  fi
done
