"""Turns the output of bench/run-all.sh (a directory of key=value lines, one
file per program and run) into a Markdown table of medians and ratios.

  python3 bench/report.py /tmp/futured-bench-XXXXXX
"""
import glob
import os
import statistics
import sys


def load(directory):
    """{workload: {key: [value per run]}} over every result file."""
    figures = {}
    for path in sorted(glob.glob(os.path.join(directory, "*.[0-9]*"))):
        if path.endswith(".log"):
            continue
        with open(path) as f:
            for line in f:
                pairs = dict(p.split("=", 1) for p in line.split() if "=" in p)
                name = pairs.pop("workload", None)
                if name is None:
                    continue
                for key, value in pairs.items():
                    try:
                        figures.setdefault(name, {}).setdefault(key, []).append(
                            float(value))
                    except ValueError:
                        pass
    return figures


def main():
    directory = sys.argv[1]
    figures = load(directory)

    def med(workload, key):
        values = figures.get(workload, {}).get(key)
        return statistics.median(values) if values else None

    def fmt(value, unit=""):
        if value is None:
            return "–"
        if value >= 100:
            return f"{value:,.0f}{unit}"
        return f"{value:.2f}{unit}"

    def ratio(a, b):
        return f"{a / b:.2f}×" if a is not None and b else "–"

    rows = []

    def row(what, ours, theirs_name, theirs, r, target=""):
        rows.append(f"| {what} | {ours} | {theirs_name} | {theirs} | {r} | {target} |")

    # Throughput: higher is better; ratio = futured / peer.
    for pool, peer in (("thread", "py_thread"), ("process", "py_process")):
        ours = med(f"{pool}.pipelined", "per_s")
        target = {"thread": 150000, "process": 50000}[pool]
        met = "met" if ours and ours >= target else "missed"
        row(f"pipelined no-op, {pool} pool (tasks/s)", fmt(ours),
            f"{peer} submit-then-result", fmt(med(f"{peer}.pipelined", "per_s")),
            ratio(ours, med(f"{peer}.pipelined", "per_s")),
            f"≥ {target:,}: {met}")
    ours = med("thread.pipelined", "per_s")
    dask = med("dask.pipelined", "per_s")
    met = "met" if ours and dask and ours >= 100 * dask else "missed"
    row("pipelined no-op, thread pool (tasks/s)", fmt(ours),
        "Dask LocalCluster(2)", fmt(dask), ratio(ours, dask), f"≥ 100×: {met}")
    for pool in ("thread", "process"):
        ours = med(f"{pool}.one_rpc_per_task", "per_s")
        row(f"one Submit per task, 16 client threads, {pool} (tasks/s)",
            fmt(ours), "", "", "", "")
    for pool in ("thread", "process"):
        ours = med(f"{pool}.map", "per_s")
        target = "≥ 300,000: " + ("met" if ours and ours >= 300000 else "missed") \
            if pool == "process" else ""
        row(f"map of 100,000 no-op, {pool} pool (items/s)", fmt(ours), "", "",
            "", target)
    row("as_completed over 100,000 done futures (futures/s)",
        fmt(med("thread.as_completed", "per_s")), "", "", "", "")

    # Latency: lower is better; ratio = futured / floor or peer.
    echo = med("floor.grpc_echo", "p50_us")
    run = med("thread.sync_run", "p50_us")
    met = "met" if run and echo and run <= 2 * echo else "missed"
    row("sync executor.run p50 (µs, one Run call)", fmt(run),
        "bare gRPC echo p50", fmt(echo), ratio(run, echo), f"≤ 2×: {met}")
    row("sync executor.run p99 / p99.9 (µs)",
        f"{fmt(med('thread.sync_run', 'p99_us'))} / "
        f"{fmt(med('thread.sync_run', 'p999_us'))}", "", "", "", "")
    sync = med("thread.sync_submit_result", "p50_us")
    met = "met" if sync and echo and sync <= 2 * echo else "missed"
    row("sync submit→result p50 (µs, Submit + Result)", fmt(sync),
        "bare gRPC echo p50", fmt(echo), ratio(sync, echo), f"≤ 2×: {met}")
    row("sync submit→result p99 / p99.9 (µs)",
        f"{fmt(med('thread.sync_submit_result', 'p99_us'))} / "
        f"{fmt(med('thread.sync_submit_result', 'p999_us'))}",
        "bare gRPC echo p99 / p99.9",
        f"{fmt(med('floor.grpc_echo', 'p99_us'))} / "
        f"{fmt(med('floor.grpc_echo', 'p999_us'))}", "", "")
    one = med("thread.sync_map_of_one", "p50_us")
    row("sync map of one input p50 (µs, one call)", fmt(one),
        "bare gRPC echo p50", fmt(echo), ratio(one, echo), "")
    for peer in ("py_thread", "py_process", "dask"):
        theirs = med(f"{peer}.sync_submit_result", "p50_us")
        row("sync executor.run p50 (µs)", fmt(run), f"{peer} submit().result()",
            fmt(theirs), ratio(run, theirs), "")

    # Wall times: lower is better.
    for pool, peers in (("thread", ("py_thread", "dask")),
                        ("process", ("py_process",))):
        ours = med(f"{pool}.sleeps_100x0.1s", "seconds")
        for peer in peers:
            theirs = med(f"{peer}.sleeps_100x0.1s", "seconds")
            row(f"100 × sleep(0.1), {pool} pool (s)", fmt(ours), peer,
                fmt(theirs), ratio(ours, theirs), "")
    ours = med("process.factorials", "seconds")
    for peer in ("py_process", "dask"):
        theirs = med(f"{peer}.factorials", "seconds")
        row("seed's factorials 100000…130000 (s)", fmt(ours), peer,
            fmt(theirs), ratio(ours, theirs), "")

    before = med("thread.result_waiters", "threads_before")
    most = med("thread.result_waiters", "threads_most_while_waiting")
    flat = "met" if before and most is not None and most <= before + 2 else "missed"
    row("daemon threads: before / while 10,000 Results wait",
        f"{fmt(before)} / {fmt(most)}", "", "", "", f"flat: {flat}")
    per = med("thread.retained_futures", "bytes_per_future")
    met = "met" if per is not None and per <= 512 else "missed"
    row("daemon RSS per retained finished no-op future (bytes)", fmt(per),
        "", "", "", f"≤ 512: {met}")

    with open(os.path.join(directory, "machine")) as f:
        print("".join(f"    {line}" for line in f), end="")
    with open(os.path.join(directory, "load")) as f:
        print("".join(f"    {line}" for line in f), end="")
    runs = len(glob.glob(os.path.join(directory, "futured.[0-9]*")))
    print(f"\nMedians of {runs} run(s).\n")
    print("| workload | futured | baseline | baseline figure | futured / baseline | target |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
