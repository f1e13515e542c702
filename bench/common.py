"""Pieces shared by the load generators: sizes, payloads, timed phases and the printed report."""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import time

SUFFIXES = {"k": 1024, "m": 1024**2, "g": 1024**3}


def parse_size(text: str) -> int:
    text = text.strip().lower().removesuffix("b").removesuffix("i")
    if text and text[-1] in SUFFIXES:
        return int(float(text[:-1]) * SUFFIXES[text[-1]])
    return int(text)


class Payloads:
    """Distinct bodies of one size without holding N of them: object i = 8-byte index + shared random tail."""

    def __init__(self, size: int):
        self.size = size
        # seeded, so a later run (--phases GET) can verify what an earlier --keep run stored
        self.tail = random.Random(size).randbytes(max(0, size - 8))

    def body(self, i: int) -> bytes:
        return (i.to_bytes(8, "big") + self.tail)[: self.size]


def report(phase: str, latencies: list[float], elapsed: float, size: int, errors: int) -> dict:
    n = len(latencies)
    lat = sorted(latencies)
    p50 = statistics.median(lat) * 1000 if lat else 0.0
    p99 = lat[min(n - 1, int(n * 0.99))] * 1000 if lat else 0.0
    ops = n / elapsed if elapsed else 0.0
    row = {"phase": phase, "ops": ops, "mbps": ops * size / 1e6, "p50_ms": p50, "p99_ms": p99, "errors": errors}
    print(f"{phase:6s} {n:6d} ok {errors:4d} err  {ops:9.1f} ops/s  {row['mbps']:8.1f} MB/s  "
          f"p50 {p50:8.1f} ms  p99 {p99:8.1f} ms", flush=True)
    return row


async def run_phase(name, count, concurrency, op) -> tuple[list[float], float, int]:
    latencies: list[float] = []
    errors = 0
    queue = iter(range(count))

    async def worker():
        nonlocal errors
        for i in queue:
            t0 = time.perf_counter()
            try:
                await op(i)
                latencies.append(time.perf_counter() - t0)
            except Exception as exc:  # counted and shown once; a benchmark must not stop at one failure
                errors += 1
                if errors <= 3:
                    print(f"{name} {i}: {exc!r}", file=sys.stderr)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - start, errors


def _cpu_ticks(match: str | None) -> dict[int, int]:
    """utime+stime (clock ticks) of every process whose command line contains ``match``, and of their
    descendants (proxy workers), read from /proc (Linux)."""
    out: dict[int, int] = {}
    if not match:
        return out
    procs: dict[int, tuple[int, int, bool]] = {}  # pid -> (ppid, ticks, matches)
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                matches = match.encode() in f.read()
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        procs[int(entry)] = (int(fields[1]), int(fields[11]) + int(fields[12]), matches)
    for pid, (ppid, ticks, matches) in procs.items():
        while not matches and ppid in procs:
            ppid, _, matches = procs[ppid]
        if matches:
            out[pid] = ticks
    return out


def cpu_ms_per_op(before: dict[int, int], after: dict[int, int], ops: int) -> float:
    ticks = sum(t - before.get(pid, 0) for pid, t in after.items())
    return ticks * 1000 / os.sysconf("SC_CLK_TCK") / max(ops, 1)


def install_uvloop() -> None:
    """Use uvloop when available: the client must not be the bottleneck."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass


async def run_workload(args, size: int, put, get, delete) -> int:
    """PUT, GET (verified by MD5) and DELETE ``args.count`` objects at ``args.concurrency``.

    ``put(i, body) -> etag``, ``get(i) -> md5 hex of the body read``, ``delete(i)``; each raises on failure.
    """
    import hashlib

    payloads = Payloads(size)
    md5s: dict[int, str] = {}

    async def do_put(i: int) -> None:
        body = payloads.body(i)
        md5 = hashlib.md5(body).hexdigest()
        etag = await put(i, body)
        if etag.strip('"') != md5:
            raise RuntimeError(f"PUT etag {etag} != md5 {md5}")
        md5s[i] = md5

    async def do_get(i: int) -> None:
        if await get(i) != md5s.get(i):
            raise RuntimeError("GET body differs from what was PUT")

    phases = [p.strip().upper() for p in args.phases.split(",")]
    if "PUT" not in phases:  # objects left by an earlier --keep run: their bodies are deterministic
        md5s.update((i, hashlib.md5(payloads.body(i)).hexdigest()) for i in range(args.count))
    failures = 0
    for name, op in (("PUT", do_put), ("GET", do_get), ("DELETE", delete)):
        if (name == "DELETE" and args.keep) or name not in phases:
            continue
        before = _cpu_ticks(args.cpu_match)
        lat, elapsed, errors = await run_phase(name, args.count, args.concurrency, op)
        row = report(name, lat, elapsed, size, errors)
        if args.cpu_match:
            cpu = cpu_ms_per_op(before, _cpu_ticks(args.cpu_match), len(lat))
            print(f"{'':6s} server CPU {cpu:.2f} ms/op (processes matching {args.cpu_match!r}), "
                  f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
            row["server_cpu_ms"] = cpu
        failures += errors
    return 1 if failures else 0


def add_workload_args(parser) -> None:
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--size", default="4K", help="object size: 4K, 1M, 64M, ...")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--keep", action="store_true", help="skip the DELETE phase")
    parser.add_argument("--phases", default="PUT,GET,DELETE",
                        help="which phases to run, e.g. GET to re-read objects left by a --keep run")
    parser.add_argument("--cpu-match", metavar="TEXT",
                        help="also print the CPU time per op used by processes whose command line contains TEXT "
                             "(e.g. the cloud's data dir; Linux), a measure that holds up on a busy machine")
