#!/bin/bash
# futured's cluster mode on this machine: a throw-away PostgreSQL 15
# (Debian's, with its default durability: fsync and synchronous_commit on)
# and two futured nodes on it, all on this host. Prints:
#   - pipelined no-op tasks (echo) through both nodes: one futured-bench per
#     node at once, submit_batch of 1,000 and results collected as they end;
#     the cluster's tasks/s is the sum of the two;
#   - a map of MAP inputs through both nodes (the target lists both: the
#     client library sends its chunks round-robin);
#   - submit-to-start p50 on the idle cluster, one task at a time;
#   - the database's cost per task over the pipelined run: transactions,
#     rows, statements (pg_stat_statements), WAL bytes, and the nodes'
#     journal commit time (GetStats).
#
#   bash bench/cluster_bench.sh [BUILD_DIR] [TASKS_PER_NODE] [MAP]
#
# Run as root (PostgreSQL runs as the `postgres` user) or as a user who may
# run initdb. Everything lives in a temporary directory, removed at the end;
# every process it starts is stopped.
set -euo pipefail
build=${1:-build-rel}
tasks=${2:-100000}
map=${3:-100000}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
futured=$build/server/futured
futurectl=$build/client/futurectl/futurectl
bench=$build/bench/futured-bench
for f in "$futured" "$futurectl" "$bench"; do
  [ -x "$f" ] || { echo "cluster_bench: $f is missing (build it)" >&2; exit 1; }
done
dir=$(mktemp -d /tmp/futured_cluster_bench.XXXXXX)
as_pg=()
if [ "$(id -u)" = 0 ]; then
  chown postgres "$dir"
  as_pg=(runuser -u postgres --)
fi
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  "${as_pg[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

"${as_pg[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust >/dev/null
# EXPLAIN_MS=n: auto_explain logs the plan of every statement slower than
# n ms, printed at the end.
preload=pg_stat_statements
explain=()
if [ -n "${EXPLAIN_MS:-}" ]; then
  preload=pg_stat_statements,auto_explain
  explain=(-c "auto_explain.log_min_duration=${EXPLAIN_MS}ms" -c auto_explain.log_analyze=on)
fi
"${as_pg[@]}" "$bin/pg_ctl" -D "$dir/data" -w -l "$dir/postgres.log" -o \
  "-k $dir -c listen_addresses='' -c shared_preload_libraries=$preload -c max_connections=50 ${explain[*]}" \
  start >/dev/null
psql_db() { "$bin/psql" -h "$dir" -U postgres -d futured -qAtX "$@"; }
"$bin/psql" -h "$dir" -U postgres -d postgres -qAtX -c "CREATE DATABASE futured"
psql_db -c "CREATE EXTENSION pg_stat_statements"
conninfo="host=$dir user=postgres dbname=futured"
echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') in $dir: fsync=$(psql_db -c 'SHOW fsync'), synchronous_commit=$(psql_db -c 'SHOW synchronous_commit'), shared_buffers=$(psql_db -c 'SHOW shared_buffers')"

ports=()
for node in a b; do
  "$futured" --listen=127.0.0.1:0 --cluster="$conninfo" --node_name="$node" \
    --queue_capacity=$((tasks + 10000)) >"$dir/$node.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 600); do grep -q "serving on" "$dir/$node.log" && break; sleep 0.05; done
  ports+=("$(sed -n 's/.*serving on 127.0.0.1:\([0-9]*\).*/\1/p' "$dir/$node.log")")
done
a=127.0.0.1:${ports[0]}
b=127.0.0.1:${ports[1]}
echo "nodes: a on $a (pid ${pids[0]}), b on $b (pid ${pids[1]})"

# The database's counters: transactions, rows written, WAL position.
db_counters() {
  psql_db -F ' ' -c "SELECT xact_commit, tup_inserted, tup_updated, tup_deleted,
    pg_current_wal_lsn() FROM pg_stat_database WHERE datname = 'futured'"
}
# CPU seconds (user + system) of the PostgreSQL server's processes: the
# postmaster and its children (the nodes' connections stay open, so their
# backends live through a run).
db_cpu() {
  local master
  master=$(head -1 "$dir/data/postmaster.pid")
  python3 - "$master" <<'PY'
import os, sys
master, hz, total = sys.argv[1], os.sysconf("SC_CLK_TCK"), 0
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        continue
    if pid == master or fields[1] == master:
        total += int(fields[11]) + int(fields[12])
print(total / hz)
PY
}
# A node's journal figures: commits, records, commit seconds.
journal() {
  "$futurectl" --target="$1" stats | python3 -c '
import json, sys
j = json.load(sys.stdin).get("journal", {})
t = j.get("commitTime", "0s").rstrip("s")
print(j.get("commits", 0), j.get("records", 0), t)'
}

echo "== pipelined: $tasks no-op tasks on each node at once"
"$bench" --target="$a" --daemon_pid="${pids[0]}" --workloads=pipelined \
  --pools=thread --pipelined="$tasks" >/dev/null  # warm-up, schema, caches
sleep 2
psql_db -c "SELECT pg_stat_statements_reset()" >/dev/null
before=$(db_counters)
cpu_before=$(db_cpu)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
ja=$(journal "$a"); jb=$(journal "$b")
"$bench" --target="$a" --daemon_pid="${pids[0]}" --workloads=pipelined \
  --pools=thread --pipelined="$tasks" >"$dir/pa" &
bench_a=$!
"$bench" --target="$b" --daemon_pid="${pids[1]}" --workloads=pipelined \
  --pools=thread --pipelined="$tasks" >"$dir/pb" &
bench_b=$!
wait "$bench_a" "$bench_b"
sed 's/^/node a: /' "$dir/pa"; sed 's/^/node b: /' "$dir/pb"
cpu_after=$(db_cpu)
echo "load average before / after: $load_before / $(cut -d' ' -f1-3 /proc/loadavg)"
sleep 2  # the statistics collector's flush (PostgreSQL 15: at most 1 s)
after=$(db_counters)
ja2=$(journal "$a"); jb2=$(journal "$b")
python3 - "$dir/pa" "$dir/pb" "$before" "$after" "$ja" "$ja2" "$jb" "$jb2" "$tasks" \
  "$cpu_before" "$cpu_after" <<'PY'
import re, sys
pa, pb, before, after, ja, ja2, jb, jb2, tasks, cpu0, cpu1 = sys.argv[1:]
def fig(path, key):
    return float(re.search(key + r"=([0-9.]+)", open(path).read()).group(1))
secs = max(fig(pa, "seconds"), fig(pb, "seconds"))
n = 2 * int(tasks)
print(f"cluster: {n} tasks in {secs:.2f} s (the slower node) = {n / secs:,.0f} tasks/s "
      f"(sum of the nodes' own rates: {fig(pa, 'per_s') + fig(pb, 'per_s'):,.0f}/s)")
def lsn(s):
    hi, lo = s.split("/")
    return (int(hi, 16) << 32) + int(lo, 16)
b, a = before.split(), after.split()
xact, ins, upd, dele = (int(a[i]) - int(b[i]) for i in range(4))
wal = lsn(a[4]) - lsn(b[4])
print(f"database per task: {xact / n:.4f} transactions ({xact}), {ins / n:.2f} rows inserted, "
      f"{upd / n:.2f} updated, {dele / n:.2f} deleted, {wal / n:,.0f} WAL bytes ({wal / 1e6:.1f} MB in all)")
c = r = t = 0.0
for x, y in ((ja, ja2), (jb, jb2)):
    x, y = x.split(), y.split()
    c += float(y[0]) - float(x[0]); r += float(y[1]) - float(x[1]); t += float(y[2]) - float(x[2])
cpu = float(cpu1) - float(cpu0)
print(f"database CPU: {cpu:.2f} s = {1e6 * cpu / n:.1f} us per task "
      f"({cpu / secs:.2f} cores busy during the run)")
print(f"journal (both nodes): {c:.0f} commits, {r:.0f} records ({r / max(c, 1):.0f} per commit), "
      f"{t:.2f} s committing = {1e6 * t / n:.1f} us of commit time per task, "
      f"{1e3 * t / max(c, 1):.2f} ms per commit")
PY
echo "-- statements (pg_stat_statements, the pipelined run), by total time:"
psql_db -F ' | ' -c "SELECT calls, rows, round(total_exec_time::numeric, 1) AS ms,
  left(regexp_replace(query, '\s+', ' ', 'g'), 70) FROM pg_stat_statements
  WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'futured')
  ORDER BY total_exec_time DESC LIMIT 8"
psql_db -F ' ' -c "SELECT 'statements in all:', sum(calls), 'exec ms:',
  round(sum(total_exec_time)::numeric, 1) FROM pg_stat_statements
  WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'futured')"

echo "== map of $map inputs through both nodes (round_robin over $a,$b)"
"$bench" --target="$a,$b" --daemon_pid="${pids[0]}" --workloads=map \
  --pools=thread --map="$map"

echo "== submit-to-start on the idle cluster (node a, one task at a time)"
sleep 2
"$bench" --target="$a" --daemon_pid="${pids[0]}" --workloads=submit_to_start \
  --sync=2000
if [ -n "${EXPLAIN_MS:-}" ]; then
  echo "== plans of statements slower than ${EXPLAIN_MS} ms (auto_explain), the first 3"
  grep -A14 "duration:.*plan:" "$dir/postgres.log" | head -60 || true
fi
