#!/usr/bin/env bash
# Pipelined throughput with and without a browser on the dashboard: RUNS
# rounds (default 6) of three runs, each against a fresh daemon
# (--http_listen on loopback):
#   none      no browser
#   on        headless chromium on this daemon's overview and futures pages
#   elsewhere the same browser on another, idle daemon's dashboard: what the
#             browser's own CPU costs on this machine, without the dashboard
#   polled    no browser: one kept-alive connection asks for what the open
#             pages ask for (overview and futures, once a second): the
#             daemon's side of it alone
# Prints each run's futured-bench line, then the medians and ratios.
#   BUILD_DIR=build-rel bash bench/dashboard/overhead.sh   (POOL=thread)
# Needs chromium, node and npm ci --prefix tests/dashboard.
set -euo pipefail
cd "$(dirname "$0")/../.."
build="${BUILD_DIR:-build-rel}"
runs="${RUNS:-6}"
pool="${POOL:-thread}"
scratch="$(mktemp -d /tmp/futured-dashboard-overhead-XXXXXX)"
trap 'rm -rf "$scratch"' EXIT

# Starts a daemon writing to $1; sets started_pid, grpc_address, dashboard_url.
start_daemon() {
  "$build/server/futured" --listen=127.0.0.1:0 --http_listen=127.0.0.1:0 --state_dir=none \
    --max_ids_per_call=100000 > "$1" 2> /dev/null &
  started_pid=$!
  for _ in $(seq 300); do grep -q "dashboard on" "$1" && break; sleep 0.1; done
  grpc_address=$(awk '/listening on/{print $4}' "$1")
  dashboard_url=$(awk '/dashboard on/{print $4}' "$1")
}

# Opens the browser on $1 and waits until both pages show.
start_viewer() {
  node bench/dashboard/viewer.mjs "$1" "$scratch/profile-$RANDOM" > "$scratch/viewer" 2>&1 &
  viewer_pid=$!
  for _ in $(seq 300); do grep -q viewing "$scratch/viewer" && break; sleep 0.1; done
  sleep 2
}

run_one() {
  local mode="$1" viewer_pid="" other_pid=""
  start_daemon "$scratch/daemon"
  local pid="$started_pid" address="$grpc_address" url="$dashboard_url"
  if [[ "$mode" == on ]]; then
    start_viewer "$url"
  elif [[ "$mode" == polled ]]; then
    python3 -c '
import http.client, sys, time
host, port = sys.argv[1][len("http://"):].rstrip("/").split(":")
c = http.client.HTTPConnection(host, int(port), timeout=30)
while True:
    for path in ("/api/overview", "/api/futures"):
        c.request("GET", path); c.getresponse().read()
    time.sleep(1)' "$url" &
    viewer_pid=$!
  elif [[ "$mode" == elsewhere ]]; then
    start_daemon "$scratch/other"
    other_pid="$started_pid"
    start_viewer "$dashboard_url"
  fi
  echo "$mode $("$build/bench/futured-bench" --target="$address" --daemon_pid="$pid" \
    --workloads=pipelined --pools="$pool" --pipelined=200000 2>/dev/null | grep pipelined)"
  if [[ -n "$viewer_pid" ]]; then kill "$viewer_pid"; wait "$viewer_pid" || true; fi
  kill -TERM "$pid"; wait "$pid" || true
  if [[ -n "$other_pid" ]]; then kill -TERM "$other_pid"; wait "$other_pid" || true; fi
  rm -rf "$scratch"/profile-*
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for _ in $(seq "$runs"); do
  for mode in none on elsewhere polled; do run_one "$mode"; done
done | tee "$scratch/results"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$scratch/results" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    fields = dict(f.split('=', 1) for f in line.split()[1:] if '=' in f)
    runs.setdefault(line.split()[0], []).append(fields)
median = {m: statistics.median(float(r['per_s']) for r in rs) for m, rs in runs.items()}
cpu = {m: statistics.median(float(r['daemon_cpu_us_per_item']) for r in rs) for m, rs in runs.items()}
for m in runs:
    print(f"{m:10s} median {median[m]:9.0f} tasks/s, daemon {cpu[m]:.2f} us CPU/task ({len(runs[m])} runs)")
print(f"on / none: {median['on'] / median['none']:.3f}; on / elsewhere: "
      f"{median['on'] / median['elsewhere']:.3f}; polled / none: {median['polled'] / median['none']:.3f}")
PY
