"""Replication recovery benchmark: fill a cluster, wipe one node's device, time the full repair.

Starts its own 4-node cluster (tests/harness.py helper), writes ``--count`` objects of ``--size``
bytes, waits until every partition is in place, then kills node 1, empties its device, restarts
it and polls the dispersion report until 100 % again. Prints the recovery time, the bytes the
node got back and the resulting replication throughput.

    python -m bench.replication --count 2000 --size 64K --interval 1
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.common import parse_size
from store.replication.dispersion import cluster_report
from tests.harness import Cluster


def _wait_in_place(cluster: Cluster, timeout: float) -> float:
    start = time.monotonic()
    while True:
        rep = cluster_report(cluster.conf)
        if rep.percent == 100.0 and not rep.unreachable:
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise SystemExit(f"not in place after {timeout}s: {rep.summary()}")
        time.sleep(0.25)


def _tree_bytes(root: Path) -> tuple[int, int]:
    files = total = 0
    for dirpath, _, names in os.walk(root):
        for n in names:
            if n.endswith((".data", ".ts", ".meta")):
                files += 1
                total += os.path.getsize(os.path.join(dirpath, n))
    return files, total


def run(args: argparse.Namespace) -> int:
    size = parse_size(args.size)
    tmp = Path(tempfile.mkdtemp(prefix="bench-repl-"))
    cluster = Cluster(tmp, nodes=4, store={"replicator_interval": args.interval, "fsync": True,
                                           "replicator_concurrency": args.concurrency,
                                           "auditor_interval": 0, "expirer_interval": 0},
                      identity={"enabled": False}, volumes={"enabled": False}, compute={"enabled": False})
    cluster.start()
    try:
        url, token = cluster.auth()
        hdrs = {"X-Auth-Token": token}
        httpx.put(f"{url}/bench", headers=hdrs).raise_for_status()
        body = os.urandom(size)
        t = time.monotonic()
        with httpx.Client(headers=hdrs, timeout=60) as http, ThreadPoolExecutor(16) as pool:
            codes = list(pool.map(lambda i: http.put(f"{url}/bench/o{i:07d}", content=body).status_code,
                                  range(args.count)))
        fill = time.monotonic() - t
        assert all(c == 201 for c in codes), set(codes)
        print(f"filled {args.count} x {size} B in {fill:.1f}s; settled in {_wait_in_place(cluster, 120):.1f}s")

        cluster.stop_node(1, signal.SIGKILL)
        root = cluster.node_devices_root(1)
        for device in os.listdir(root):
            for entry in (root / device).iterdir():
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        cluster.start_node(1)
        took = _wait_in_place(cluster, args.timeout)
        files, nbytes = _tree_bytes(root)
        print(f"recovered node 1: {files} files, {nbytes / 1e6:.1f} MB in {took:.1f}s "
              f"(replicator interval {args.interval:g}s, concurrency {args.concurrency}) -> "
              f"{nbytes / 1e6 / took:.1f} MB/s, {files / took:.0f} files/s")
        sent = 0
        for i in range(2, 5):
            stats = httpx.get(f"{cluster.node_url(i)}/replicate/stats", auth=cluster.node_auth).json()
            sent += stats["objects"]["totals"]["bytes_sent"]
            last = stats["objects"]["last"]
            print(f"node{i}: idle pass {last['duration'] * 1000:.0f} ms over {last['partitions']} partitions")
        print(f"bytes pushed by the other nodes: {sent / 1e6:.1f} MB")
    finally:
        cluster.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench.replication", description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=2000)
    p.add_argument("--size", default="64K")
    p.add_argument("--interval", type=float, default=1.0, help="[store] replicator_interval")
    p.add_argument("--concurrency", type=int, default=4, help="[store] replicator_concurrency")
    p.add_argument("--timeout", type=float, default=600.0)
    p.add_argument("--keep", action="store_true", help="keep the data dir")
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
