"""Peer: Dask distributed's networked futures, a LocalCluster of two worker
processes on loopback (Debian's python3-distributed), on futured-bench's
workloads.

  /usr/bin/python3 bench/peers/dask_distributed.py [--scale 1.0]
"""
import argparse
import logging

import common
from dask.distributed import Client, LocalCluster


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiplies every task count")
    args = parser.parse_args()
    n = lambda count: max(1, int(count * args.scale))

    cluster = LocalCluster(n_workers=2, host="127.0.0.1",
                           dashboard_address=None,
                           silence_logs=logging.ERROR)
    client = Client(cluster)
    # pure=False: every call is a new task, as submit is in futured.
    submit = lambda fn, *a: client.submit(fn, *a, pure=False)
    try:
        client.gather([submit(common.noop, i) for i in range(10)])
        common.pipelined("dask", submit, n(5000))
        common.sync_round_trip("dask", submit, n(500))
        common.sleeps("dask", submit)
        common.factorials(
            "dask", lambda fn, xs: client.gather(client.map(fn, xs, pure=False)))
    finally:
        client.close()
        cluster.close()


if __name__ == "__main__":
    main()
