#!/usr/bin/env bash
# Starts docker/cluster.yaml (PostgreSQL 15 and three futured nodes) with
# one compose command, checks that every node serves and sees the other
# two, submits on node1 and reads that future on node2 and node3 (GetFuture
# answers for any node's future), prints each node's GetStats `cluster`,
# then stops and removes the containers and their volumes.
#   bash docker/cluster-test.sh
# Needs podman-compose (Debian 12) or docker compose; podman as set up by
# ../shared/tools/container-setup (export CONTAINERS_CONF first), with
# container DNS (Debian's golang-github-containernetworking-plugin-dnsname
# for podman's CNI backend). Not part of CI: it builds the images.
# Environment: BUILD=1 (rebuild the images), COMPOSE (default: `docker compose` if its engine answers,
# else podman-compose), GRPCURL (a grpcurl to call the nodes with; default:
# the image's own futurectl, run on the host's network).
set -euo pipefail
cd "$(dirname "$0")/.."

started=$(date +%s)
step() { echo "[$(($(date +%s) - started))s] $*"; }
if [[ -n "${COMPOSE:-}" ]]; then
  read -r -a compose <<<"$COMPOSE"
elif command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  compose=(docker compose)
elif command -v podman-compose >/dev/null; then
  compose=(podman-compose)
else
  echo "cluster-test: no docker compose and no podman-compose" >&2
  exit 1
fi
engine=docker
[[ ${compose[0]} == podman-compose ]] && engine=podman
file=docker/cluster.yaml
nodes=(127.0.0.1:50061 127.0.0.1:50062 127.0.0.1:50063)

cleanup() {
  step "stopping and removing: ${compose[*]} -f $file down -v"
  "${compose[@]}" -f "$file" down -v >/dev/null 2>&1 || true
}
trap cleanup EXIT

call() {  # call TARGET METHOD [JSON]
  if [[ -n "${GRPCURL:-}" ]]; then
    "$GRPCURL" -plaintext -max-time 10 ${3:+-d "$3"} "$1" "futured.v1.Executor/$2"
  else
    local cmd
    case $2 in
      GetStats) cmd=(stats) ;;
      Submit) cmd=(submit square '[7]') ;;
      GetFuture) cmd=(status "$(jq -r .id <<<"$3")") ;;
    esac
    "$engine" run --rm --network host --entrypoint futurectl futured:latest \
      --target "$1" --timeout 10s "${cmd[@]}"
  fi
}

# Builds the images only if they are missing (BUILD=1: always).
step "${compose[*]} -f $file up -d${BUILD:+ --build}"
"${compose[@]}" -f "$file" up -d ${BUILD:+--build} >/dev/null
for target in "${nodes[@]}"; do
  for _ in $(seq 1 120); do
    [[ $(call "$target" GetStats 2>/dev/null | jq '[.cluster.nodes[]? | select(.alive)] | length') == 3 ]] && break
    sleep 1
  done
  step "$target sees: $(call "$target" GetStats | jq -c '[.cluster.nodes[] | {name, epoch, alive}]')"
done
id=$(call "${nodes[0]}" Submit '{"function":"square","args":[7]}' | jq -r .id)
step "Submit square(7) on node1: $id"
for target in "${nodes[@]:1}"; do
  for _ in $(seq 1 50); do
    answer=$(call "$target" GetFuture "{\"id\":\"$id\"}" | jq -c '{state, outcome}')
    [[ $answer == *FINISHED* ]] && break
    sleep 0.2
  done
  step "GetFuture on $target: $answer"
  [[ $answer == *'"value":49'* ]] || { echo "cluster-test: $target did not answer 49" >&2; exit 1; }
done
step "cluster test passed"
