"""The S3 API against the Swift API on one running cloud, timed in many alternating rounds:
``python -m bench.api_alternation --objload ../shared/anchor/objload.py --data-dir D``.

Single runs cannot resolve a few percent on a shared 2-core VM: the same 4 KiB GET phase moves ±30% between
runs, and whichever API runs first after a pause is faster. So each round runs one phase through both APIs
in alternating order (Swift then S3, then S3 then Swift, ...), with the same load generator, count and
concurrency, and the report gives per-round ratios and their median. Beside the throughput it reads the CPU
time (user + system, ``/proc/<pid>/stat``) that the cloud's processes (every process whose command line names
``--data-dir``) spent per request: the server's cost of each API, which the load generator's own work (S3
signing) does not enter. docs/benchmarks.md, session 14.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

from bench.cloud_cpu import cpu_by_group


@dataclass
class Phase:
    """One objload phase: its throughput and the CPU microseconds per request of each party."""

    ops: float
    proxy: float
    nodes: float
    loadgen: float

    @property
    def cloud(self) -> float:
        return self.proxy + self.nodes


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_phase(args: argparse.Namespace, api: str, phase: str, container: str) -> Phase:
    """Throughput and CPU per request (proxy, nodes, the load generator) of one objload phase."""
    if api == "swift":
        target = ["swift", "--auth-url", f"{args.endpoint}/auth/v1.0", "--user", args.user, "--key", args.key]
    else:
        target = ["s3", "--endpoint", args.endpoint, "--access-key", args.user, "--secret-key", args.key]
    command = [args.python, args.objload, *target, "--container", container, "--size", args.size,
               "--count", str(args.count), "--concurrency", str(args.concurrency), "--phases", phase,
               "--keep", "--json"]
    before, loadgen_before = cpu_by_group(args.data_dir), _children_cpu()
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    after, loadgen = cpu_by_group(args.data_dir), _children_cpu() - loadgen_before
    per_request = 1e6 / args.count
    result = json.loads(out)["phases"][phase]
    return Phase(float(result["ops_per_s"]),
                 (after.get("proxy", 0.0) - before.get("proxy", 0.0)) * per_request,
                 (after.get("nodes", 0.0) + after.get("other", 0.0) - before.get("nodes", 0.0)
                  - before.get("other", 0.0)) * per_request,
                 loadgen * per_request)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objload", required=True, help="the load generator (../shared/anchor/objload.py)")
    parser.add_argument("--python", default=sys.executable, help="the Python that runs objload")
    parser.add_argument("--data-dir", required=True, help="the running cloud's --data-dir (its processes' CPU)")
    parser.add_argument("--endpoint", default="http://127.0.0.1:8080")
    parser.add_argument("--user", default="test:tester")
    parser.add_argument("--key", default="testing")
    parser.add_argument("--size", default="4KiB")
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--phases", default="put,get", help="comma list of put, get (GETs read the PUT objects)")
    parser.add_argument("--pause", type=float, default=3.0, help="seconds between phases")
    args = parser.parse_args(argv)
    phases = args.phases.split(",")
    stamp = int(time.time())
    rows: dict[str, list[tuple[Phase, Phase]]] = {phase: [] for phase in phases}
    for number in range(args.rounds):
        order = ("swift", "s3") if number % 2 == 0 else ("s3", "swift")
        for phase in phases:
            got: dict[str, Phase] = {}
            for api in order:
                got[api] = run_phase(args, api, phase, f"alt{stamp}-{api}-{number}")
                time.sleep(args.pause)
            sw, s3 = got["swift"], got["s3"]
            rows[phase].append((sw, s3))
            print(f"round {number + 1} {phase:<4} first {order[0]:<5} Swift {sw.ops:7.0f}/s  S3 {s3.ops:7.0f}/s  "
                  f"S3/Swift throughput {s3.ops / sw.ops:5.3f}; us/req Swift/S3: proxy {sw.proxy:5.0f}/{s3.proxy:5.0f} "
                  f"nodes {sw.nodes:5.0f}/{s3.nodes:5.0f} load generator {sw.loadgen:5.0f}/{s3.loadgen:5.0f}",
                  flush=True)
    print()
    for phase, pairs in rows.items():
        throughput = [s3.ops / sw.ops for sw, s3 in pairs]
        cloud = [s3.cloud / sw.cloud for sw, s3 in pairs]
        print(f"{phase}: {len(pairs)} rounds; median S3/Swift throughput {statistics.median(throughput):.3f} "
              f"(range {min(throughput):.3f}-{max(throughput):.3f}), cloud CPU per request "
              f"{statistics.median(cloud):.3f}")
        for part in ("proxy", "nodes", "cloud", "loadgen"):
            sw_us, s3_us = (float(statistics.median(getattr(pair[api], part) for pair in pairs)) for api in (0, 1))
            print(f"  {part:<8} median us/req  Swift {sw_us:6.0f}  S3 {s3_us:6.0f}  S3 - Swift {s3_us - sw_us:+6.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
