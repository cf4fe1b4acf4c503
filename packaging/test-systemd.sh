#!/usr/bin/env bash
# The Debian package under a real systemd: a Debian 12 container with
# systemd as PID 1 (podman), the package installed with apt, then the unit
# driven as an operator would (issue 19):
#   bash packaging/test-systemd.sh [futured_<version>_amd64.deb | DIR]
# (default: the futured_*.deb in build-deb/, from `bash
# packaging/build-deb.sh`; the ctest deb_package_systemd gives its own).
# Checks: active after install (postinst enables and starts it); futurectl
# health and grpcurl health (the grpcurl at $GRPCURL, when there is one)
# SERVING; futurectl submit -> result square(7) = 49 on the thread and the
# process pool; `systemctl kill -s KILL` -> active again after RestartSec;
# a gRPC bind error (a port another futured holds) in `journalctl -u
# futured -p err`; `systemctl stop` -> Result=success; `systemd-analyze
# security` (the checks not passed, and an exposure no worse than 1.5);
# `apt-get purge` leaves no file, unit, enablement or state behind. About a
# minute (the image's apt layer is cached after the first run). The
# container is removed on every exit. Where containers cannot run it says so
# and exits 0 ("skipped").
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

deb=${1:-build-deb}
[[ -d "$deb" ]] && deb=$(ls "$deb"/futured_*.deb 2>/dev/null | head -n 1 || true)
if [[ ! -f "$deb" ]]; then
  # The ctest's directory is empty where deb_package was skipped.
  [[ -n "${1:-}" && -d "$1" ]] && skip "no futured_*.deb in $1"
  fail "no package; build it: bash packaging/build-deb.sh"
fi
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
trap 'exit 130' INT TERM
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
$grpcurl_copy
COPY futured.deb /root/futured.deb
DOCKERFILE
step "building $image (systemd and the package's dependencies)"
previous=$("$podman" image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
nice -n 10 "$podman" build --pull=never -q -t "$image" "$context" \
  >"$context/build.log" 2>&1 || { tail -n 20 "$context/build.log" >&2; fail "image build"; }
# The image this one replaced (another package), not its cached layers.
if [[ -n "$previous" && "$previous" != $("$podman" image inspect --format '{{.Id}}' "$image") ]]; then
  "$podman" rmi "$previous" >/dev/null 2>&1 || true
fi

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

# Bounded waits: until systemctl is-active says $1 (60 x 0.5 s).
wait_state() {
  local want=$1 now=
  for _ in $(seq 1 60); do
    now=$(inside systemctl is-active futured 2>/dev/null || true)
    [[ "$now" == "$want" ]] && return 0
    sleep 0.5
  done
  inside systemctl status futured --no-pager >&2 || true
  echo "test-systemd: futured is '$now', not '$want'" >&2
  return 1
}
prop() { inside systemctl show -p "$1" --value futured; }

inside env DEBIAN_FRONTEND=noninteractive apt-get install -y -q /root/futured.deb \
  >"$context/install.log" 2>&1 || { cat "$context/install.log" >&2; fail "apt-get install"; }
step "apt-get install ./$(basename "$deb"): installed"
wait_state active || fail "futured is not active after the install"
step "systemctl is-active futured: $(inside systemctl is-active futured) ($(prop StatusText))"

health=$(inside futurectl --timeout 5s health) || fail "futurectl health: $health"
step "futurectl health: $health"
if [[ -n "$grpcurl_copy" ]]; then
  health=$(inside grpcurl -plaintext 127.0.0.1:50051 grpc.health.v1.Health/Check 2>&1 | tr -d '\n ' || true)
  [[ "$health" == '{"status":"SERVING"}' ]] || fail "grpcurl health: $health"
  step "grpcurl health: $health"
fi
for pool in thread process; do
  submitted=$(inside futurectl submit --pool "$pool" square '[7]') || fail "submit: $submitted"
  id=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' <<<"$submitted")
  result=$(inside futurectl --timeout 30s result "$id") || fail "result: $result"
  if ! grep -q "\"pool\":\"$pool\"" <<<"$result" || ! grep -q '"value":49' <<<"$result"; then
    fail "square(7) on the $pool pool: $result"
  fi
  step "futurectl submit --pool $pool square '[7]' -> result: $result"
done

# SIGKILL: Restart=on-failure starts it again after RestartSec (1 s).
restarts=$(prop NRestarts)
inside systemctl kill -s KILL futured
for _ in $(seq 1 60); do
  [[ $(prop NRestarts) != "$restarts" ]] && break
  sleep 0.5
done
[[ $(prop NRestarts) != "$restarts" ]] || fail "no restart after SIGKILL"
wait_state active || fail "not active again after SIGKILL"
step "systemctl kill -s KILL futured: active again, NRestarts $restarts -> $(prop NRestarts)"

# The journal (StateDirectory=futured) kept the future the killed daemon ran.
result=$(inside futurectl --timeout 30s result "$id") || fail "after the restart: $result"
grep -q '"value":49' <<<"$result" || fail "the future after the restart: $result"
journal=$(inside journalctl -u futured -o cat --no-pager | grep 'journal /var/lib/futured/futured.db: recovered' | tail -n 1)
[[ -n "$journal" ]] || fail "no recovery line in the journal"
step "after the restart: $id is still FINISHED with 49 ($journal)"

# A gRPC error in the journal: the port futured is told to take is taken
# (by a second futured, a transient unit). Restart=no: it fails once.
inside systemd-run -q --unit=futured-port-taker -p DynamicUser=yes \
  /usr/bin/futured --listen=127.0.0.1:50052 --processes=1 --state_dir=none
for _ in $(seq 1 60); do
  inside futurectl --target 127.0.0.1:50052 --timeout 2s health >/dev/null 2>&1 && break
  sleep 0.5
done
inside mkdir -p /run/systemd/system/futured.service.d
inside sh -c 'printf "[Service]\nEnvironment=FUTURED_LISTEN=127.0.0.1:50052\nRestart=no\n" >/run/systemd/system/futured.service.d/port.conf'
inside systemctl daemon-reload
inside systemctl restart futured 2>/dev/null && fail "futured started on a taken port"
wait_state failed || fail "futured on a taken port did not fail"
errors=$(inside journalctl -u futured -p err --no-pager -o cat 2>/dev/null | grep 'grpc: ' || true)
[[ -n "$errors" ]] || fail "no gRPC error in journalctl -u futured -p err"
step "journalctl -u futured -p err (port 50052 taken):"
sed 's/^/    /' <<<"$errors" | tail -n 3
inside systemctl stop futured-port-taker
inside rm -r /run/systemd/system/futured.service.d
inside systemctl daemon-reload
inside systemctl reset-failed futured
inside systemctl start futured
wait_state active || fail "not active after the port was given back"

inside systemctl stop futured
result=$(prop Result)
[[ "$result" == success ]] || fail "systemctl stop: Result=$result"
step "systemctl stop futured: $(inside systemctl is-active futured || true), Result=$result, ExecMainStatus=$(prop ExecMainStatus)"

# The unit's hardening: every check it does not pass, and the score.
security=$(inside systemd-analyze security futured --no-pager 2>&1 || true)
score=$(sed -n 's/.*Overall exposure level for futured.service: \([0-9.]*\).*/\1/p' <<<"$security")
step "systemd-analyze security futured (the checks not passed, and the score):"
grep -E '^✗|Overall' <<<"$security" | sed 's/^/    /'
if [[ -z "$score" ]] || ! awk -v s="$score" 'BEGIN { exit !(s <= 1.5) }'; then
  fail "exposure '$score' is worse than 1.5"
fi

inside test -d /var/lib/private/futured || fail "no /var/lib/private/futured before purge"
files=$(inside sh -c 'dpkg -L futured | while read -r f; do [ -f "$f" ] && echo "$f"; done' || true)
inside env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q futured >"$context/purge.log" 2>&1 \
  || { cat "$context/purge.log" >&2; fail "apt-get purge"; }
left=$(inside sh -c "for f in ${files//$'\n'/ } /var/lib/private/futured /var/lib/futured \
  /run/futured /etc/default/futured /etc/systemd/system/futured.service \
  /etc/systemd/system/*/futured.service /var/lib/systemd/deb-systemd-helper-enabled/futured.service* \
  /var/lib/systemd/deb-systemd-helper-enabled/*/futured.service \
  /var/lib/systemd/deb-systemd-helper-masked/futured.service; do
    [ -e \"\$f\" ] || [ -L \"\$f\" ] && echo \"\$f\"; done; true")
[[ -z "$left" ]] || fail "left after purge: $left"
units=$(inside systemctl list-unit-files futured.service --no-legend 2>/dev/null || true)
[[ -z "$units" ]] || fail "the unit is still known after purge: $units"
step "apt-get purge futured: none of its $(wc -w <<<"$files") files, no unit, enablement or /var/lib/private/futured left"
step "systemd test passed"
