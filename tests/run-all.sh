#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The whole test suite, on a fresh Debian 12 machine: installs the Debian and npm packages
# it needs, builds caregate twice (normal, and ASan+UBSan), and runs every tier with ctest.
# Each tier starts its own PostgreSQL (throwaway clusters / the gateway's embedded one).
#   bash tests/run-all.sh            everything (what CI runs)
#   LANES=normal bash tests/run-all.sh   skip the sanitizer lane (quicker local runs)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

PKGS="build-essential cmake pkg-config clang libclang-rt-14-dev libwebsockets-dev libsodium-dev
  libpq-dev libcurl4-openssl-dev libjansson-dev libuv1-dev libcmocka-dev postgresql
  postgresql-contrib chromium procps util-linux ca-certificates openssl curl"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
# Node.js may come from the machine image rather than Debian: only ask Debian when absent.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
  echo "== installing Debian packages:$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
# The distribution's own cluster is not used by the tests; they start their own.
echo "== npm packages (tests/)"
(cd tests && npm ci --no-audit --no-fund --loglevel=error)

JOBS=2
run_lane() { # name, cmake args, ctest label regex
  local name=$1 args=$2 labels=$3 dir="$ROOT/build/$1"
  echo "== lane $name: build"
  cmake -S "$ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo $args >/dev/null
  cmake --build "$dir" -j"$JOBS" 2>&1 | grep -Ev '^\[|^-- |Built target|Scanning|Consolidate' || true
  cmake --build "$dir" -j"$JOBS" >/dev/null # fail here if the build failed
  echo "== lane $name: tests ($labels)"
  (cd "$dir" && ctest -L "$labels" -j"$JOBS" --output-on-failure --timeout 900)
}

LANES=${LANES:-"normal sanitize"}
for lane in $LANES; do
  case $lane in
    normal)   run_lane normal "" 'unit|fuzz|integration|browser' ;;
    sanitize) ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
              run_lane sanitize "-DGW_ASAN=ON -DGW_UBSAN=ON" 'unit|fuzz|integration' ;;
  esac
done
echo "== all lanes passed: $LANES"
