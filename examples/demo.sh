#!/usr/bin/env bash
# Rampart's main job on the bundled example: build the release binary, load the eight
# bundled OSV records into a private vulnerability database (no download), then run every
# scanner (secrets, dependencies, Kubernetes, Dockerfile, Terraform) on examples/demo-app.
# Exits 1, because the gate (high) fails on the planted problems.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p rampart-cli
bin=target/release/rampart
export RAMPART_DB="$PWD/target/demo/vuln.db"
mkdir -p "$(dirname "$RAMPART_DB")"
"$bin" db import examples/osv >/dev/null
exec "$bin" scan examples/demo-app "$@"
