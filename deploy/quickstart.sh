#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Quick start on a fresh Debian 12 machine: installs the Debian packages caregate needs,
# builds it, creates keys and a demo staff account, and runs the gateway in the foreground
# on the embedded PostgreSQL (a private cluster under ./state, unix socket only).
# Ctrl-C (SIGINT) or SIGTERM drains and stops it, including the embedded PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
PKGS="build-essential cmake pkg-config libwebsockets-dev libsodium-dev libpq-dev
  libcurl4-openssl-dev libjansson-dev libuv1-dev libcmocka-dev postgresql"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  echo "== installing:$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
echo "== building"
cmake -S "$ROOT" -B "$ROOT/build/quickstart" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGW_TESTS=OFF >/dev/null
cmake --build "$ROOT/build/quickstart" -j"$(nproc)" >/dev/null
BIN="$ROOT/build/quickstart/gateway/caregate"

STATE=${CAREGATE_STATE:-$ROOT/state}
PORT=${CAREGATE_PORT:-8080}
mkdir -p "$STATE"
chmod 0711 "$STATE"
CONF="$STATE/caregate.conf"
if [ ! -f "$CONF" ]; then
  cat > "$CONF" <<CONF
# written by deploy/quickstart.sh; every key is documented in deploy/caregate.conf
state_dir = $STATE
port = $PORT
listen_address = 127.0.0.1
allowed_origins = http://localhost:$PORT http://127.0.0.1:$PORT
clinic_name = Reha-Klinik Sonnenhof
staff_email_domains = demo-clinic.example
policy_file = $ROOT/deploy/policy.json
CONF
fi
"$BIN" --config "$CONF" keys init
"$BIN" --config "$CONF" migrate >/dev/null # the schema must exist before the first account
if [ ! -f "$STATE/demo-staff.txt" ]; then
  pw=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
  if printf '%s\n' "$pw" | "$BIN" --config "$CONF" user add --email anna@demo-clinic.example --role agent --alias Anna >/dev/null; then
    printf 'anna@demo-clinic.example %s\n' "$pw" > "$STATE/demo-staff.txt"
    chmod 0600 "$STATE/demo-staff.txt"
  fi
fi
cat <<MSG

caregate is starting on http://localhost:$PORT
  demo clinic page with the patient widget:  http://localhost:$PORT/demo/
  staff console:                             http://localhost:$PORT/console/
  DPO console:                               http://localhost:$PORT/dpo/
  demo agent login (also in $STATE/demo-staff.txt): $(cat "$STATE/demo-staff.txt" 2>/dev/null)

Create the first admin (password on stdin, 12+ characters):
  $BIN --config $CONF user add --email you@demo-clinic.example --role admin

MSG
exec "$BIN" --config "$CONF" serve
