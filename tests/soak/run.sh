#!/usr/bin/env bash
# The soak test, 2 minutes of load against build/server/futured (as built by
# `bash .ci/run --build-only`; this script builds nothing). Extra arguments go
# to futured_soak, e.g. --duration=10m --clients=16 --seed=42.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-build}
soak="$BUILD_DIR/tests/soak/futured_soak"
if [[ ! -x "$soak" || ! -x "$BUILD_DIR/server/futured" ]]; then
  echo "run.sh: build first (bash .ci/run --build-only): $soak or $BUILD_DIR/server/futured is missing" >&2
  exit 2
fi
exec "$soak" --duration=120s "$@"
