#!/usr/bin/env bash
# Runs every benchmark in one go, RUNS times (default 3), and prints a table
# of medians and ratios: futured against the floor (bare gRPC echo, in the
# same run) and against its peers (Python's concurrent.futures in-process,
# Dask distributed on loopback).
#
#   bash bench/run-all.sh                       # Release build in build-rel
#   RUNS=1 SCALE=0.1 bash bench/run-all.sh      # a quick look
#   BUILD_DIR=build bash bench/run-all.sh -- --unix_socket
#
# Needs a Release build (cmake -S . -B build-rel -G Ninja
# -DCMAKE_BUILD_TYPE=Release && ninja -C build-rel futured-bench
# hot_paths_bench) and, for the Dask peer, Debian's python3-distributed
# (run with /usr/bin/python3). Arguments after -- go to futured-bench.
set -euo pipefail

cd "$(dirname "$0")/.."
build_dir="${BUILD_DIR:-build-rel}"
runs="${RUNS:-3}"
scale="${SCALE:-1}"
python=/usr/bin/python3
[[ "${1:-}" == "--" ]] && shift
bench_args=("$@")

out="$(mktemp -d /tmp/futured-bench-XXXXXX)"
echo "results in $out" >&2
{
  echo "nproc=$(nproc)"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
} > "$out/machine"

# futured's sizes follow SCALE too, so a quick look is quick everywhere.
sized() { awk -v n="$1" -v s="$scale" 'BEGIN { v = int(n * s); print (v < 1 ? 1 : v) }'; }
futured_sizes=(
  --pipelined="$(sized 200000)" --one_rpc="$(sized 20000)"
  --sync="$(sized 5000)" --map="$(sized 100000)"
  --as_completed="$(sized 100000)" --waiters="$(sized 10000)"
  --retained="$(sized 1000000)"
)

for run in $(seq 1 "$runs"); do
  echo "run $run of $runs" >&2
  echo "run=$run $(uptime)" >> "$out/load"
  # Everything but the memory figure, then that alone on a fresh daemon,
  # so no memory freed by earlier workloads hides in its RSS delta.
  "$build_dir/bench/futured-bench" "${futured_sizes[@]}" "${bench_args[@]}" \
    --workloads=echo,sync,sync_run,sync_map,pipelined,one_rpc,map,as_completed,sleeps,factorials,waiters \
    > "$out/futured.$run"
  "$build_dir/bench/futured-bench" "${futured_sizes[@]}" "${bench_args[@]}" \
    --workloads=retained > "$out/futured_memory.$run"
  echo "run=$run after futured $(uptime)" >> "$out/load"
  "$python" bench/peers/python_executors.py --scale "$scale" > "$out/python.$run"
  "$python" bench/peers/dask_distributed.py --scale "$scale" > "$out/dask.$run" \
    2> "$out/dask.$run.log"
  echo "run=$run after peers $(uptime)" >> "$out/load"
done
"$build_dir/bench/hot_paths_bench" --benchmark_min_time=1 \
  > "$out/hot_paths" 2>&1

"$python" bench/report.py "$out"
