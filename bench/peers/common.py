"""Shared by the peer scripts: timing, percentiles and the output format.

Each peer prints one line per workload in futured-bench's format
(key=value pairs), so bench/run-all.sh can put them side by side.
"""
import math
import sys
import time


def noop(x):
    """The no-op task: futured's echo."""
    return x


def sleep_task(seconds):
    time.sleep(seconds)
    return seconds


def compute_factorial(n):
    """The seed's CPU-bound task (example 2), as written there (the seed
    predates Python 3.11's limit on int-to-str digits, lifted here)."""
    sys.set_int_max_str_digits(0)
    result = math.factorial(n)
    return f"Factorial of {n} is {result}"


FACTORIAL_INPUTS = [100000, 110000, 120000, 130000]


def percentile(sorted_micros, p):
    if not sorted_micros:
        return 0.0
    rank = math.ceil(p / 100.0 * len(sorted_micros))
    return sorted_micros[min(max(rank, 1), len(sorted_micros)) - 1]


def report(workload, count, seconds, latencies_s=None, **extra):
    parts = [f"workload={workload}", f"count={count}",
             f"seconds={seconds:.3f}",
             f"per_s={count / seconds if seconds > 0 else 0:.0f}"]
    if latencies_s:
        micros = sorted(l * 1e6 for l in latencies_s)
        for name, p in (("p50_us", 50), ("p99_us", 99), ("p999_us", 99.9)):
            parts.append(f"{name}={percentile(micros, p):.1f}")
    for key, value in extra.items():
        parts.append(f"{key}={value}")
    print(" ".join(parts), flush=True)


def pipelined(name, submit, n):
    """Submit n no-ops, then take every result: submit-then-result."""
    start = time.perf_counter()
    futures = [submit(noop, i) for i in range(n)]
    for f in futures:
        f.result()
    report(f"{name}.pipelined", n, time.perf_counter() - start)


def sync_round_trip(name, submit, n):
    for i in range(min(n, 200)):
        submit(noop, i).result()
    latencies = []
    start = time.perf_counter()
    for i in range(n):
        before = time.perf_counter()
        submit(noop, i).result()
        latencies.append(time.perf_counter() - before)
    report(f"{name}.sync_submit_result", n, time.perf_counter() - start,
           latencies)


def sleeps(name, submit, n=100, seconds=0.1):
    start = time.perf_counter()
    futures = [submit(sleep_task, seconds) for _ in range(n)]
    for f in futures:
        f.result()
    report(f"{name}.sleeps_100x0.1s", n, time.perf_counter() - start)


def factorials(name, map_fn):
    start = time.perf_counter()
    for result in map_fn(compute_factorial, FACTORIAL_INPUTS):
        assert result.startswith("Factorial of")
    report(f"{name}.factorials", len(FACTORIAL_INPUTS),
           time.perf_counter() - start)
