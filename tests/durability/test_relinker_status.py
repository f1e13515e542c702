"""``stackstore status`` shows the relinker's progress while a rate-limited relink runs (``[relinker]
files_per_second``) and the segment reaper's last pass, from what the nodes write to recon."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pytest

from ring.cli import main as ring_cli
from store.cluster_status import COLUMNS
from store.relink_cli import main as relink_main
from tests.durability.bg_helpers import Swift, start_cluster, wait_for

RATE = 4.0  # hash dirs per second per node


@pytest.fixture
def cl(tmp_path):
    c = start_cluster(tmp_path / "cloud", relinker_interval=1.0, segment_reaper_interval=1.0,
                      sections={"relinker": {"files_per_second": RATE}})
    yield c
    c.stop()


def _status(cl, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "stackstore.cli", "status", "--config", str(cl.cloud.config_path),
                             *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _columns(out: str, *names: str) -> list[list[str]]:
    """The named columns of every node line of the status table."""
    lines = out.split("\n\n")[0].splitlines()
    header = lines[0]
    bounds = [(header.index(n), header.index(COLUMNS[COLUMNS.index(n) + 1]) if n != COLUMNS[-1] else None)
              for n in names]
    return [[line[s:e].strip() for s, e in bounds] for line in lines[1:]]


def test_status_shows_relinker_progress_and_segment_reaper(cl):
    swift = Swift(cl)
    assert swift.put("paced").status_code in (201, 202)
    for i in range(40):
        assert swift.put("paced", f"o-{i:02d}", b"x").status_code == 201
    nodes = cl.cloud.node_count

    def reaper_passes_shown() -> bool:  # no +segments container: every pass reaps nothing
        cells = _columns(_status(cl), "SEGMENTS REAPED")
        return len(cells) == nodes and all(re.fullmatch(r"0 \(0 B\) \d+s ago", seg) for (seg,) in cells)

    wait_for(reaper_passes_shown, timeout=30)

    started = time.monotonic()
    assert ring_cli([str(cl.conf.ring_dir / "object.builder.json"), "prepare-increase-partition-power"]) == 0
    seen: list[str] = []

    def relinking() -> bool:
        seen.extend(v for (v,) in _columns(_status(cl), "RELINKER") if v.startswith("relink object"))
        return bool(seen)

    wait_for(relinking, timeout=30, interval=0.3)
    assert re.fullmatch(r"relink object \d+ dirs( \(\d+ devs\))?", seen[0]), seen
    config = str(cl.cloud.config_path)
    assert relink_main(["--config", config, "--wait", "120"]) == 0
    looked = 0
    for i in range(1, nodes + 1):
        doc = json.loads(_status(cl, "--json"))[f"127.0.0.1:{int(cl.conf['store']['base_port']) + i}"]
        assert doc["relinker"]["running"] == {}
        looked = max(looked, sum(((d.get("relinker") or {}).get("rings", {}).get("object", {})
                                  .get("last_relink") or {}).get("hash_dirs", 0) for d in doc["devices"].values()))
    assert looked > 2 * RATE
    assert time.monotonic() - started >= (looked - RATE) / RATE * 0.9  # paced: a second's burst, then RATE/s
    assert all(v == "idle" for (v,) in _columns(_status(cl), "RELINKER"))
