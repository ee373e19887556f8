#!/usr/bin/env bash
# Admission webhook (issue 6): load over TLS with keep-alive on 127.0.0.1.
#
#   bash bench/admission.sh                       # 2,000 req/s for 10 s, then saturation
#   RATE=3000 SECS=20 CONNS=16 bash bench/admission.sh
#
# The server is the real one (crates/rampart-admission, default settings: enforce
# baseline, warn restricted) in its own process (examples/load.rs --serve, 2 worker
# threads); the client (examples/load.rs --drive) sends 64 different Deployment
# AdmissionReviews (1 in 8 privileged, hence denied) round robin over CONNS keep-alive
# TLS connections. Phase 1 is open loop at RATE req/s; phase 2 is closed loop
# (saturation). Server-side latency comes from the server's own /metrics histogram
# (body read → response written), client-side from the client; server peak RSS from
# /proc. Client and server share the machine's 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
RATE="${RATE:-2000}"
SECS="${SECS:-10}"
CONNS="${CONNS:-8}"
OUT=bench/out/admission; mkdir -p "$OUT"

cargo build --release -q -p rampart-admission --example load
BIN=target/release/examples/load
echo "== machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"

"$BIN" --serve "$OUT" --server-threads 2 > "$OUT/addr" &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s "$OUT/addr" ] && break; sleep 0.1; done
ADDR="$(head -1 "$OUT/addr")"
"$BIN" --drive "$ADDR" --ca "$OUT/ca.crt" --rate "$RATE" --secs "$SECS" --conns "$CONNS" --pid "$PID"
