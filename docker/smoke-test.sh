#!/usr/bin/env bash
# Builds the futured image, runs it with its port published on 127.0.0.1,
# submits a task through that port with futurectl, checks the container's
# health check, stops it (expecting exit status 0) and removes it.
#   bash docker/smoke-test.sh
# Needs no host build: futurectl is the image's own, run in a second
# container on the host's network, so its calls go through the published
# port as a host client's would.
# Uses docker or podman, whichever exists (podman as set up by
# ../shared/tools/container-setup: export CONTAINERS_CONF first).
# Environment: ENGINE (docker or podman; default: docker if its engine
# answers, else podman), FUTURECTL (a host futurectl to use instead, e.g.
# build/client/futurectl/futurectl), PORT (host port, default 50551), IMAGE
# (default futured:smoke).
set -euo pipefail
cd "$(dirname "$0")/.."

started=$(date +%s)
# A docker CLI without a reachable engine does not count.
engine=${ENGINE:-}
if [[ -z "$engine" ]]; then
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    engine=docker
  elif command -v podman >/dev/null; then
    engine=podman
  fi
fi
[[ -n "$engine" ]] || { echo "smoke-test: no working docker, and no podman" >&2; exit 1; }
image=${IMAGE:-futured:smoke}
if [[ -n "${FUTURECTL:-}" ]]; then
  [[ -x "$FUTURECTL" ]] || { echo "smoke-test: FUTURECTL=$FUTURECTL is not executable" >&2; exit 1; }
  futurectl() { "$FUTURECTL" "$@"; }
else
  futurectl() {
    "$engine" run --rm --network host --entrypoint futurectl "$image" "$@"
  }
fi
port=${PORT:-50551}
name=futured-smoke-$$
target=127.0.0.1:$port
step() { echo "[$(($(date +%s) - started))s] $*"; }

build_flags=()
if [[ $(basename "$engine") == podman ]]; then
  build_flags=(--pull=never --format docker)  # keep HEALTHCHECK
fi
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || true)
step "building $image with $engine"
"$engine" build "${build_flags[@]}" --build-arg GIT_COMMIT="$commit" \
  -t "$image" -f docker/Dockerfile . >/dev/null

cleanup() { "$engine" rm -f "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT
step "starting $name on $target"
"$engine" run -d --name "$name" -p "$target:50051" "$image" >/dev/null

for _ in $(seq 1 60); do
  futurectl --target "$target" --timeout 2s health >/dev/null 2>&1 && break
  sleep 1
done
step "health through the port: $(futurectl --target "$target" --timeout 5s health)"

id=$(futurectl --target "$target" submit square '[7]' | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
[[ -n "$id" ]] || { echo "smoke-test: submit printed no id" >&2; exit 1; }
result=$(futurectl --target "$target" --timeout 30s result "$id")
step "square(7) through the port: $result"
grep -q '"value":49' <<<"$result" || { echo "smoke-test: wrong result" >&2; exit 1; }

# The image's own HEALTHCHECK: run it now, and read the status it records.
if [[ $(basename "$engine") == podman ]]; then
  "$engine" healthcheck run "$name" 2>/dev/null || {
    echo "smoke-test: the container's health check failed" >&2; exit 1; }
  health=$("$engine" inspect --format '{{.State.Health.Status}}' "$name" 2>/dev/null \
    || "$engine" inspect --format '{{.State.Healthcheck.Status}}' "$name")
else
  health=starting
  for _ in $(seq 1 60); do
    health=$("$engine" inspect --format '{{.State.Health.Status}}' "$name")
    [[ "$health" == starting ]] || break
    sleep 1
  done
fi
step "container health: $health"
[[ "$health" == healthy ]] || { echo "smoke-test: container is $health" >&2; exit 1; }

step "stopping (SIGTERM)"
"$engine" stop -t 30 "$name" >/dev/null
code=$("$engine" inspect --format '{{.State.ExitCode}}' "$name")
step "exit status $code; last log lines:"
"$engine" logs "$name" 2>&1 | tail -n 4
[[ "$code" == 0 ]] || { echo "smoke-test: exit status $code" >&2; exit 1; }
cleanup
step "smoke test passed"
