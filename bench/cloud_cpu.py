"""CPU time of a running cloud's processes, from ``/proc``: ``python -m bench.cloud_cpu DATA_DIR`` prints
``{"nodes": s, "proxy": s, "other": s}`` (user + system seconds so far of every live process whose command line
names DATA_DIR, by kind); take it before and after a load phase for the cloud's CPU per request. With
``--threads`` the seconds are split further by thread (``main``: the process's event loop, ``threads``: its I/O
and other threads) and by user and system time, e.g. ``{"nodes.main.user": s, "nodes.threads.system": s, ...}``:
where a node's time goes between its event loop's Python and its I/O threads' file work (docs/benchmarks.md,
session 21)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _user_system(stat_path: str) -> tuple[float, float]:
    fields = Path(stat_path).read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICKS, int(fields[12]) / TICKS


def cpu_by_group(data_dir: str, threads: bool = False) -> dict[str, float]:
    """User + system CPU seconds by kind (``nodes``, ``proxy``, ``other``) of the processes naming ``data_dir``;
    with ``threads``, by ``<kind>.<main|threads>.<user|system>``."""
    out: dict[str, float] = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if data_dir not in cmdline:
                continue
            group = "nodes" if "store.server" in cmdline else "proxy" if "proxy" in cmdline else "other"
            if not threads:
                user, system = _user_system(f"/proc/{pid}/stat")
                out[group] = out.get(group, 0.0) + user + system
                continue
            for tid in os.listdir(f"/proc/{pid}/task"):
                try:
                    user, system = _user_system(f"/proc/{pid}/task/{tid}/stat")
                except OSError:
                    continue  # the thread ended meanwhile
                where = "main" if tid == pid else "threads"
                for key, value in ((f"{group}.{where}.user", user), (f"{group}.{where}.system", system)):
                    out[key] = out.get(key, 0.0) + value
        except OSError:
            continue  # gone meanwhile
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="CPU seconds of a running cloud's processes, by kind.")
    parser.add_argument("data_dir")
    parser.add_argument("--threads", action="store_true", help="split by main/other threads and user/system")
    args = parser.parse_args()
    print(json.dumps(cpu_by_group(args.data_dir, args.threads)))
