"""Kernel cost of small durable writes, file per object vs rows in LMDB: ``python -m bench.durable_writes DIR``.

N bodies of 4 KiB + 300 bytes of metadata are made durable in rounds of R, either as the storage node's
group commit does it (per object: the hash directory's ``makedirs``, a temp file created, written and
closed; then ``syncfs``, the renames into place, ``syncfs`` again) or as rows of one LMDB environment (one
write transaction per round, committed with sync). Prints writes/s and the process's user and system CPU per
write: the measurement behind the inline-small-objects design (docs/benchmarks.md, session 13). DIR must be
on the filesystem the nodes' devices use.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import os
import resource
import shutil
import time

import lmdb

BODY = os.urandom(4096) + b"m" * 300
_libc = ctypes.CDLL(None, use_errno=True)


def _cpu() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def _report(name: str, count: int, started: float, cpu: tuple[float, float]) -> None:
    user, system = _cpu()
    elapsed = time.perf_counter() - started
    print(f"{name:6}: {count / elapsed:7.0f} writes/s  user {1e6 * (user - cpu[0]) / count:5.0f} µs  "
          f"system {1e6 * (system - cpu[1]) / count:5.0f} µs per write")


def files(root: str, count: int, per_round: int) -> None:
    """The node's way: temp file, syncfs, rename, syncfs."""
    base = os.path.join(root, "files")
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(os.path.join(base, "tmp"))
    root_fd = os.open(base, os.O_RDONLY)
    started, cpu = time.perf_counter(), _cpu()
    try:
        for first in range(0, count, per_round):
            pending = []
            for i in range(first, min(count, first + per_round)):
                digest = hashlib.md5(str(i).encode()).hexdigest()
                hash_dir = os.path.join(base, "objects", str(int(digest[:3], 16) % 1024), digest[-3:], digest)
                os.makedirs(hash_dir, exist_ok=True)
                tmp = os.path.join(base, "tmp", digest)
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                os.write(fd, BODY)
                os.close(fd)
                pending.append((tmp, os.path.join(hash_dir, f"1700000000.{i:05d}.data")))
            _libc.syncfs(root_fd)
            for tmp, target in pending:
                os.rename(tmp, target)
            _libc.syncfs(root_fd)
    finally:
        os.close(root_fd)
    _report("files", count, started, cpu)


def rows(root: str, count: int, per_round: int) -> None:
    """One LMDB write transaction per round."""
    base = os.path.join(root, "lmdb")
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    env = lmdb.open(base, map_size=1 << 34, sync=True, metasync=True)
    started, cpu = time.perf_counter(), _cpu()
    for first in range(0, count, per_round):
        with env.begin(write=True) as txn:
            for i in range(first, min(count, first + per_round)):
                digest = hashlib.md5(str(i).encode()).digest()
                txn.put(b"%d/" % (digest[0] * 4) + digest + b"/1700000000.%05d.data" % i, BODY)
    _report("lmdb", count, started, cpu)
    env.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.durable_writes", description=__doc__.splitlines()[0])
    parser.add_argument("dir", help="scratch directory (emptied) on the nodes' filesystem")
    parser.add_argument("--count", type=int, default=3200)
    parser.add_argument("--round", type=int, default=32, help="writes made durable together")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    for _ in range(args.repeat):
        files(args.dir, args.count, args.round)
        rows(args.dir, args.count, args.round)
    shutil.rmtree(args.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
