"""Peer: Python's concurrent.futures, in-process (what a user has without a
daemon). ThreadPoolExecutor and ProcessPoolExecutor with their default
max_workers, on futured-bench's workloads.

  python3 bench/peers/python_executors.py [--scale 1.0]
"""
import argparse
import concurrent.futures as cf

import common


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiplies every task count")
    args = parser.parse_args()
    n = lambda count: max(1, int(count * args.scale))

    with cf.ThreadPoolExecutor() as executor:
        common.pipelined("py_thread", executor.submit, n(100000))
        common.sync_round_trip("py_thread", executor.submit, n(5000))
        common.sleeps("py_thread", executor.submit)
    with cf.ProcessPoolExecutor() as executor:
        # Start the workers before timing, as futured's already run.
        list(executor.map(common.noop, range(8)))
        common.pipelined("py_process", executor.submit, n(20000))
        common.sync_round_trip("py_process", executor.submit, n(2000))
        common.sleeps("py_process", executor.submit)
        common.factorials("py_process", executor.map)


if __name__ == "__main__":
    main()
