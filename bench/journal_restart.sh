#!/bin/bash
# How long futured takes to serve again after a restart with a large journal.
#
#   bash bench/journal_restart.sh [BUILD_DIR] [FUTURES] [PENDING]
#
# Builds a journal of FUTURES futures (default 1,000,000), PENDING of them
# pending (default 100,000) and the rest finished: futured creates the file
# and its schema, the sqlite3 shell fills it (as a long-running daemon
# would have). Then starts futured on it and prints the time from exec until
# `futurectl status` answers for the newest pending future, with futured's
# own recovery line. Everything lives in a temporary directory, removed at
# the end.
set -euo pipefail
build=${1:-build-rel}
futures=${2:-1000000}
pending=${3:-100000}
futured=$build/server/futured
futurectl=$build/client/futurectl/futurectl
[ -x "$futurectl" ] || futurectl=build/client/futurectl/futurectl
command -v sqlite3 >/dev/null || { echo "needs the sqlite3 shell (apt-get install sqlite3)" >&2; exit 1; }
dir=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT
socket=$dir/futured.sock
start_futured() {
  "$futured" --listen="unix:$socket" --state_dir="$dir/state" \
    --queue_capacity=$((pending + 1)) --retention=24h >"$dir/log" 2>&1 &
  pid=$!
}
start_futured
for _ in $(seq 200); do grep -q "serving on" "$dir/log" && break; sleep 0.05; done
kill "$pid"; wait "$pid" || true; pid=

# echo(1.0): a ListValue of one number; its value, 1.0.
now=$(date +%s%N)
sqlite3 "$dir/state/futured.db" <<SQL
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $futures)
INSERT INTO futures (id, principal, request_id, function, pool, args,
                     submit_time, state, start_time, end_time, value)
SELECT printf('%08x-%04x-7000-8000-%012x', $now / 1000000 >> 16,
              ($now / 1000000) & 65535, i), '', '', 'echo',
       'thread', X'0A0911000000000000F03F', $now + i,
       CASE WHEN i > $futures - $pending THEN 0 ELSE 2 END,
       CASE WHEN i > $futures - $pending THEN NULL ELSE $now + i END,
       CASE WHEN i > $futures - $pending THEN NULL ELSE $now + i END,
       CASE WHEN i > $futures - $pending THEN NULL
            ELSE X'11000000000000F03F' END
FROM n;
COMMIT;
SQL
newest=$(sqlite3 "$dir/state/futured.db" "SELECT id FROM futures ORDER BY seq DESC LIMIT 1")
echo "journal: $(du -h "$dir/state/futured.db" | cut -f1), $futures futures, $pending pending"

began=$(date +%s%N)
start_futured
for _ in $(seq 1200); do
  kill -0 "$pid" 2>/dev/null || { cat "$dir/log" >&2; exit 1; }
  if "$futurectl" --target="unix:$socket" --timeout=1s status "$newest" \
      >/dev/null 2>&1; then
    break
  fi
  sleep 0.1
done
answered=$(date +%s%N)
grep -o "recovered.*" "$dir/log" || cat "$dir/log"
echo "serving again after $(( (answered - began) / 1000000 )) ms (exec to the first answer about a recovered future)"
