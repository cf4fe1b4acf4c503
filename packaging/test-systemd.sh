#!/usr/bin/env bash
# The Debian package under a real systemd: a Debian 12 container with
# systemd as PID 1 (podman), the package installed with apt, then the unit
# driven as an operator would (issue 19):
#   bash packaging/test-systemd.sh [futured_<version>_amd64.deb]
# (default: build-deb/futured_*.deb, from `bash packaging/build-deb.sh`).
# Checks: active after install (postinst enables and starts it); health and
# square(7) through futurectl on both pools (and grpcurl health, when a
# grpcurl is at $GRPCURL); `systemctl kill -s KILL` -> active again after
# RestartSec; a gRPC bind error in `journalctl -p err -u futured`; `systemctl
# stop` -> Result=success; `systemd-analyze security` printed; `apt-get
# purge` leaves no file, unit or state behind. Where containers cannot run
# it says so and exits 0 ("skipped").
# Environment: PODMAN (default podman), GRPCURL (default
# ../shared/tools/grpcurl-1.9.1/grpcurl), IMAGE (default futured-systemd-test).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
step() { echo "[$(($(date +%s) - started))s] $*"; }
fail() { echo "test-systemd: FAIL: $*" >&2; exit 1; }
skip() { echo "test-systemd: skipped: $*"; exit 0; }

podman=${PODMAN:-podman}
command -v "$podman" >/dev/null || skip "no $podman"
[[ -n "${CONTAINERS_CONF:-}" || ! -f /var/tmp/futured-containers/containers.conf ]] \
  || export CONTAINERS_CONF=/var/tmp/futured-containers/containers.conf
"$podman" image exists docker.io/library/debian:bookworm-slim 2>/dev/null \
  || skip "no debian:bookworm-slim image (../shared/tools/container-setup makes one)"

deb=${1:-$(ls build-deb/futured_*_amd64.deb 2>/dev/null | head -n 1 || true)}
[[ -f "$deb" ]] || fail "no package; build it: bash packaging/build-deb.sh"
grpcurl=${GRPCURL:-../shared/tools/grpcurl-1.9.1/grpcurl}
image=${IMAGE:-futured-systemd-test}
name=futured-systemd-$$

# The image: systemd, and the package's Depends installed while it is built
# (the container itself runs without a network).
context=$(mktemp -d)
cleanup() {
  "$podman" rm -f "$name" >/dev/null 2>&1 || true
  rm -rf "$context"
}
trap cleanup EXIT
cp "$deb" "$context/futured.deb"
grpcurl_copy=
if [[ -x "$grpcurl" ]]; then
  cp "$grpcurl" "$context/grpcurl"
  grpcurl_copy="COPY grpcurl /usr/local/bin/grpcurl"
fi
depends=$(dpkg-deb --field "$deb" Depends)
cat >"$context/Dockerfile" <<DOCKERFILE
FROM debian:bookworm-slim
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \\
      systemd systemd-sysv dbus \\
 && DEBIAN_FRONTEND=noninteractive apt-get satisfy -y -q --no-install-recommends \\
      "$depends" \\
 && rm -rf /var/lib/apt/lists/*
COPY futured.deb /root/futured.deb
$grpcurl_copy
DOCKERFILE
step "building $image (systemd and the package's dependencies)"
nice -n 10 "$podman" build --pull=never -q -t "$image" "$context" >/dev/null \
  || fail "image build"

# systemd as PID 1. Without SYS_ADMIN the unit's namespacing fails
# (226/NAMESPACE).
if ! "$podman" run -d --name "$name" --systemd=always --cap-add SYS_ADMIN \
    --network none "$image" /sbin/init >/dev/null 2>"$context/run.err"; then
  skip "containers cannot run here: $(head -n 3 "$context/run.err")"
fi
inside() { "$podman" exec "$name" "$@"; }
state=
for _ in $(seq 1 60); do
  state=$(inside systemctl is-system-running 2>/dev/null || true)
  [[ "$state" == running || "$state" == degraded ]] && break
  sleep 1
done
[[ "$state" == running || "$state" == degraded ]] \
  || skip "systemd did not come up in the container (state: ${state:-none})"
step "systemd in $name: $state"

wait_active() {
  for _ in $(seq 1 30); do
    [[ $(inside systemctl is-active futured 2>/dev/null || true) == active ]] && return 0
    sleep 0.5
  done
  inside systemctl status futured --no-pager >&2 || true
  return 1
}

inside env DEBIAN_FRONTEND=noninteractive apt-get install -y -q /root/futured.deb \
  >"$context/install.log" 2>&1 || { cat "$context/install.log" >&2; fail "apt-get install"; }
step "installed $(basename "$deb")"
wait_active || fail "futured is not active after the install"
step "systemctl is-active futured: active; $(inside systemctl show -p StatusText --value futured)"

step "futurectl health: $(inside futurectl --timeout 5s health)"
if [[ -n "$grpcurl_copy" ]]; then
  step "grpcurl health: $(inside grpcurl -plaintext 127.0.0.1:50051 grpc.health.v1.Health/Check 2>&1 | tr -d '\n ' || true)"
fi
for pool in thread process; do
  id=$(inside futurectl submit --pool "$pool" square '[7]' | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
  result=$(inside futurectl --timeout 30s result "$id")
  grep -q '"value":49' <<<"$result" || fail "square(7) on the $pool pool: $result"
  step "square(7) on the $pool pool: 49"
done

restarts=$(inside systemctl show -p NRestarts --value futured)
inside systemctl kill -s KILL futured
sleep 0.2
wait_active || fail "not active again after SIGKILL"
step "after systemctl kill -s KILL: active again, NRestarts $restarts -> $(inside systemctl show -p NRestarts --value futured)"

# A gRPC error: a port below 1024, which the unit's user may not bind.
inside mkdir -p /run/systemd/system/futured.service.d
inside sh -c 'printf "[Service]\nEnvironment=FUTURED_LISTEN=127.0.0.1:1\nRestart=no\n" >/run/systemd/system/futured.service.d/port.conf'
inside systemctl daemon-reload
inside systemctl restart futured 2>/dev/null || true
errors=$(inside journalctl -u futured -p err --no-pager -o cat 2>/dev/null | grep 'grpc: ' || true)
[[ -n "$errors" ]] || fail "no gRPC error in journalctl -p err -u futured"
step "journalctl -p err -u futured (the provoked bind error):"
sed 's/^/    /' <<<"$errors" | tail -n 3
inside rm -r /run/systemd/system/futured.service.d
inside systemctl daemon-reload
inside systemctl reset-failed futured 2>/dev/null || true
inside systemctl start futured
wait_active || fail "not active after the port was given back"

inside systemctl stop futured
result=$(inside systemctl show -p Result --value futured)
[[ "$result" == success ]] || fail "systemctl stop: Result=$result"
step "systemctl stop: Result=$result"
step "systemd-analyze security futured:"
inside systemd-analyze security futured --no-pager 2>/dev/null | tail -n 1 | sed 's/^/    /'

files=$(inside sh -c 'dpkg -L futured | while read -r f; do [ -f "$f" ] && echo "$f"; done' || true)
inside env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q futured >"$context/purge.log" 2>&1 \
  || { cat "$context/purge.log" >&2; fail "apt-get purge"; }
left=$(inside sh -c "for f in $(echo $files) /var/lib/private/futured /var/lib/futured /etc/default/futured; do [ -e \"\$f\" ] && echo \"\$f\"; done; ls /etc/systemd/system/*/futured.service 2>/dev/null" || true)
[[ -z "$left" ]] || fail "left after purge: $left"
[[ $(inside systemctl list-unit-files futured.service --no-legend 2>/dev/null | wc -l) == 0 ]] \
  || fail "the unit is still known after purge"
step "apt-get purge futured: no file, unit or state left"
step "systemd test passed"
