#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs the gateway benchmarks on this machine and prints the figures recorded in
# docs/benchmarks.md. Not part of the test suite: figures depend on the machine.
#   bash tests/bench/run.sh                all scenarios
#   SCENARIOS="closed open" bash tests/bench/run.sh
#   IDLE=2000 SCENARIOS=idle bash tests/bench/run.sh     fewer idle sockets (a loaded machine)
#   SKIP_BUILD=1 BUILD=/other/build bash tests/bench/run.sh   an existing build (A/B runs)
# The gateway, its embedded PostgreSQL and the load generator share the machine, as in
# the targets of the gateway-core issue.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BUILD=${BUILD:-$ROOT/build/bench}
if [ -z "${SKIP_BUILD:-}" ]; then
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD" -j2 --target caregate bench_loadgen >/dev/null
fi
IDLE=${IDLE:-10000}
BIN=$BUILD/gateway/caregate
LOADGEN=$BUILD/tests/bench_loadgen

STATE=$(mktemp -d /tmp/cg-bench-XXXXXX)
chmod 0755 "$STATE"
PORT=${PORT:-18480}
CONF=$STATE/caregate.conf
cat > "$CONF" <<CONF
state_dir = $STATE
port = $PORT
allowed_origins = http://localhost:$PORT
staff_email_domains = bench.example
rate_limit_per_minute = 100000
rate_limit_burst = 100000
max_connections = 30000
log_level = warn
CONF
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true # 10,000 idle sockets need the hard limit
"$BIN" --config "$CONF" keys init >/dev/null
"$BIN" --config "$CONF" migrate >/dev/null
echo 'bench-password-123' | "$BIN" --config "$CONF" user add --email load@bench.example --role agent >/dev/null
"$BIN" --config "$CONF" serve 2> "$STATE/gateway.log" &
GW=$!
trap 'kill -TERM $GW 2>/dev/null; wait $GW 2>/dev/null; rm -rf "$STATE"' EXIT
for _ in $(seq 1 150); do
  curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null || { echo "gateway did not become ready"; tail -20 "$STATE/gateway.log"; exit 1; }
COMMON="--port $PORT --origin http://localhost:$PORT --email load@bench.example --password bench-password-123 --pid $GW"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(uname -r)"
for s in ${SCENARIOS:-closed open idle}; do
  case $s in
    closed) echo "== closed loop: 200 patients x window 8, 1 staff console, 15 s"
            "$LOADGEN" $COMMON --patients 200 --staff 1 --window 8 --duration 15 ;;
    open)   echo "== open loop: 2000 msg/s, 200 patients, 1 staff console, 15 s"
            "$LOADGEN" $COMMON --patients 200 --staff 1 --rate 2000 --duration 15 ;;
    idle)   echo "== idle: $IDLE patient connections (hello/welcome done)"
            "$LOADGEN" --port $PORT --origin http://localhost:$PORT --pid $GW --idle "$IDLE" ;;
  esac
done
