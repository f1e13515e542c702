"""Two checkouts of StackStore against each other, in alternating pairs of fresh clouds:
``python -m bench.ab_checkouts A B --pairs 4 --objload ../shared/anchor/objload.py``.

A change worth a few percent cannot be seen in one run each on a shared 2-core VM (the same phase moves ±10%
between runs and more between phases of the VM), so each pair runs A then B (or B then A, alternating), each
on a fresh ``stackstore up`` started from that checkout (``PYTHONPATH`` = the checkout, data in a new
directory under /var/tmp), with the same objload phases: 4 KiB PUT twice (a fresh container each, the second
PUT on a warm cloud), then a GET of the second one. Beside the throughput, the CPU microseconds per request of
the proxy, the nodes and the load generator (``bench.api_alternation.run_phase``). The report gives every run
and the medians per checkout.
Run nothing else meanwhile; a checkout needs the project's venv (``.venv``, a link to /work/main/.venv will do).
A or B may also be a git revision of this repository (``HEAD``, ``main~2``, a branch): it is checked out into a
detached worktree under /var/tmp for the run (its ``.venv`` a link to this checkout's) and removed afterwards.
Compare like with like: the main checkout against a worktree of the *same* commit measured the worktree's nodes
at 1.31× the CPU per PUT in the first PUT phase (session 29), two worktrees of one commit within ±10% (session 30),
so name two revisions (or two worktrees), not the main checkout and a worktree.
docs/benchmarks.md, session 25.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.api_alternation import run_phase

BENCH_PY = "/var/tmp/stackstore-anchor/bench-venv/bin/python"
# ../shared/anchor beside the checkout, or the workplace's own when the checkout is a worktree elsewhere
OBJLOAD = next((str(p) for p in (Path(__file__).resolve().parents[2] / "shared/anchor/objload.py",
                                 Path("/work/shared/anchor/objload.py")) if p.exists()), "objload.py")


def _wait_healthy(url: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {seconds}s")


def one_run(checkout: str, objload: str, size: str, count: int, concurrency: int) -> dict[str, float]:
    """A fresh cloud from ``checkout``: PUT, PUT (another container), GET; ops/s and CPU µs per request of the
    proxy, the nodes and the load generator (``bench.api_alternation.run_phase``)."""
    data = tempfile.mkdtemp(prefix="ab-data-", dir="/var/tmp")
    env = {**os.environ, "PYTHONPATH": checkout}
    proc = subprocess.Popen([f"{checkout}/.venv/bin/stackstore", "up", "--data-dir", data], cwd=checkout, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    phase_args = argparse.Namespace(objload=objload, python=BENCH_PY, data_dir=data, endpoint="http://127.0.0.1:8080",
                                    user="test:tester", key="testing", size=size, count=count,
                                    concurrency=concurrency)
    result: dict[str, float] = {}
    try:
        _wait_healthy("http://127.0.0.1:8080/healthcheck")
        time.sleep(3)
        for name, phase, container in (("put1", "put", "ab1"), ("put2", "put", "ab2"), ("get", "get", "ab2")):
            measured = run_phase(phase_args, "swift", phase, container)
            result[f"{name}.ops"] = measured.ops
            result[f"{name}.proxy_us"] = measured.proxy
            result[f"{name}.nodes_us"] = measured.nodes
            result[f"{name}.loadgen_us"] = measured.loadgen
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        subprocess.run(["pkill", "-9", "-f", data], check=False)
        shutil.rmtree(data, ignore_errors=True)
    return result


def _checkout(spec: str, made: list[str]) -> str:
    """``spec`` as a directory to run from: itself if it is one, else a detached worktree of that git revision
    (recorded in ``made`` for removal) with this checkout's ``.venv`` linked in."""
    if os.path.isdir(spec):
        return spec
    repo = Path(__file__).resolve().parents[1]
    tree = tempfile.mkdtemp(prefix="ab-tree-", dir="/var/tmp")
    subprocess.run(["git", "-C", str(repo), "worktree", "add", "--force", "--detach", tree, spec], check=True,
                   stdout=subprocess.DEVNULL)
    made.append(tree)
    os.symlink(repo / ".venv", os.path.join(tree, ".venv"))
    return tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--objload", default=OBJLOAD)
    parser.add_argument("--size", default="4KiB")
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    runs: dict[str, list[dict[str, float]]] = {"A": [], "B": []}
    made: list[str] = []
    try:
        checkouts = {"A": _checkout(args.a, made), "B": _checkout(args.b, made)}
        for pair in range(args.pairs):
            order = ("A", "B") if pair % 2 == 0 else ("B", "A")
            for label in order:
                run = one_run(checkouts[label], args.objload, args.size, args.count, args.concurrency)
                runs[label].append(run)
                print(json.dumps({"pair": pair, "checkout": label, **{k: round(v, 1) for k, v in run.items()}}),
                      flush=True)
                time.sleep(5)
    finally:
        repo = Path(__file__).resolve().parents[1]
        for tree in made:
            subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", tree], check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print("median of", args.pairs, "runs each:")
    for key in runs["A"][0]:
        a = statistics.median(r[key] for r in runs["A"])
        b = statistics.median(r[key] for r in runs["B"])
        print(f"  {key:16} A {a:10.1f}  B {b:10.1f}  B/A {b / a if a else float('nan'):.3f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
