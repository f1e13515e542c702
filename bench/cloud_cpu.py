"""CPU time of a running cloud's processes, from ``/proc``: ``python -m bench.cloud_cpu DATA_DIR`` prints
``{"nodes": s, "proxy": s, "other": s}`` (user + system seconds so far of every live process whose command line
names DATA_DIR, by kind); take it before and after a load phase for the cloud's CPU per request."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_by_group(data_dir: str) -> dict[str, float]:
    """User + system CPU seconds by kind (``nodes``, ``proxy``, ``other``) of the processes naming ``data_dir``."""
    out: dict[str, float] = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if data_dir not in cmdline:
                continue
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        group = "nodes" if "store.server" in cmdline else "proxy" if "proxy" in cmdline else "other"
        out[group] = out.get(group, 0.0) + (int(fields[11]) + int(fields[12])) / TICKS
    return out


if __name__ == "__main__":
    print(json.dumps(cpu_by_group(sys.argv[1])))
