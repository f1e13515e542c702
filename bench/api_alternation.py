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
import statistics
import subprocess
import sys
import time

from bench.cloud_cpu import cpu_by_group


def run_phase(args: argparse.Namespace, api: str, phase: str, container: str) -> tuple[float, float]:
    """(requests per second, cloud CPU microseconds per request) of one objload phase."""
    if api == "swift":
        target = ["swift", "--auth-url", f"{args.endpoint}/auth/v1.0", "--user", args.user, "--key", args.key]
    else:
        target = ["s3", "--endpoint", args.endpoint, "--access-key", args.user, "--secret-key", args.key]
    command = [args.python, args.objload, *target, "--container", container, "--size", args.size,
               "--count", str(args.count), "--concurrency", str(args.concurrency), "--phases", phase,
               "--keep", "--json"]
    before = sum(cpu_by_group(args.data_dir).values())
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    cpu = sum(cpu_by_group(args.data_dir).values()) - before
    result = json.loads(out)["phases"][phase]
    return float(result["ops_per_s"]), cpu * 1e6 / args.count


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
    rows: dict[str, list[tuple[float, float, float, float]]] = {phase: [] for phase in phases}
    for number in range(args.rounds):
        order = ("swift", "s3") if number % 2 == 0 else ("s3", "swift")
        for phase in phases:
            got: dict[str, tuple[float, float]] = {}
            for api in order:
                got[api] = run_phase(args, api, phase, f"alt{stamp}-{api}-{number}")
                time.sleep(args.pause)
            (sw_ops, sw_cpu), (s3_ops, s3_cpu) = got["swift"], got["s3"]
            rows[phase].append((sw_ops, s3_ops, sw_cpu, s3_cpu))
            print(f"round {number + 1} {phase:<4} first {order[0]:<5} Swift {sw_ops:7.0f}/s {sw_cpu:6.0f} us/req  "
                  f"S3 {s3_ops:7.0f}/s {s3_cpu:6.0f} us/req  S3/Swift throughput {s3_ops / sw_ops:5.3f} "
                  f"cloud CPU {s3_cpu / sw_cpu:5.3f}", flush=True)
    print()
    for phase, values in rows.items():
        throughput = [s3 / sw for sw, s3, _, _ in values]
        cpu = [s3c / swc for _, _, swc, s3c in values]
        print(f"{phase}: median S3/Swift throughput {statistics.median(throughput):.3f} "
              f"(range {min(throughput):.3f}-{max(throughput):.3f}), median cloud CPU per request "
              f"{statistics.median(cpu):.3f} (Swift {statistics.median(v[2] for v in values):.0f} us, "
              f"S3 {statistics.median(v[3] for v in values):.0f} us), {len(values)} rounds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
