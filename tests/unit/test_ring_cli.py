"""The ring CLI (``stackstore ring ...`` / ``python -m ring``) and the default ring bootstrap."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ring import Ring, RingBuilder
from ring.bootstrap import build_default_rings
from ring.cli import main, ring_path_for
from ring.ringfile import read_ring_file

ROOT = Path(__file__).resolve().parents[2]


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_ring_path_for():
    assert ring_path_for("/x/object.builder.json") == Path("/x/object.ring")
    assert ring_path_for("acct.builder") == Path("acct.ring")


def test_create_add_rebalance_show_validate_write(tmp_path, capsys):
    bf = tmp_path / "object.builder.json"
    assert run(capsys, bf, "create", 8, 3, 1)[0] == 0
    assert run(capsys, bf, "create", 8, 3, 1)[0] == 2  # exists
    for i in range(6):
        code, out, _ = run(capsys, bf, "add", f"r1z{i % 3 + 1}-127.0.0.1:{6201 + i}/d{i + 1}", 100)
        assert code == 0 and f"got id {i}" in out
    code, _, err = run(capsys, bf, "validate")
    assert code == 2 and "unassigned" in err

    code, out, _ = run(capsys, bf, "rebalance", "--seed", 5)
    assert code == 0 and "Reassigned 768" in out
    ring_file = tmp_path / "object.ring"
    assert read_ring_file(ring_file).replica_count == 3
    code, out, _ = run(capsys, bf, "rebalance")
    assert code == 1 and "min_part_hours" in out

    code, out, _ = run(capsys, bf, "show")
    assert code == 0
    assert "256 partitions, 3 replicas, 1 regions, 3 zones, 6 devices, 0.00 balance" in out
    lines = [line.split() for line in out.splitlines() if "127.0.0.1:620" in line]
    assert len(lines) == 6 and all(cols[6] == "128" for cols in lines)

    assert run(capsys, bf, "validate")[0] == 0
    code, out, _ = run(capsys, bf, "dispersion")
    assert code == 0 and "Dispersion is 0.00%" in out
    assert run(capsys, bf, "write-ring", tmp_path / "copy.ring")[0] == 0
    assert read_ring_file(tmp_path / "copy.ring").assignment == read_ring_file(ring_file).assignment


def test_set_weight_remove_and_force(tmp_path, capsys):
    bf = tmp_path / "c.builder.json"
    run(capsys, bf, "create", 6, 3, 24)
    run(capsys, bf, "add", *[x for z in (1, 2, 3) for h in (1, 2)
                             for x in (f"r1z{z}-10.0.{z}.{h}:6200/sdb", 1)])
    assert run(capsys, bf, "rebalance", "--seed", 1)[0] == 0
    code, out, _ = run(capsys, bf, "set-weight", "10.0.1.1", 0)
    assert code == 0 and "-> 0" in out
    assert run(capsys, bf, "rebalance")[0] == 1  # blocked by min_part_hours
    code, out, _ = run(capsys, bf, "rebalance", "--force")
    assert code == 0
    assert RingBuilder.load(bf).parts_per_device()[0] == 0
    code, out, _ = run(capsys, bf, "remove", "r1z1-10.0.1.1")
    assert code == 0 and "marked for removal" in out
    assert "pending removal" in run(capsys, bf, "show")[1]
    assert run(capsys, bf, "rebalance")[0] == 0  # removal always goes through
    assert len(RingBuilder.load(bf).devices) == 5
    assert len(Ring(tmp_path / "c.ring", "s").devices) == 5


def test_errors(tmp_path, capsys):
    bf = tmp_path / "x.builder.json"
    assert run(capsys, bf, "show")[0] == 2
    run(capsys, bf, "create", 4, 1, 0)
    code, _, err = run(capsys, bf, "add", "bogus", 1)
    assert code == 2 and "bad device" in err
    assert run(capsys, bf, "remove", "99")[0] == 2
    assert run(capsys, bf, "frobnicate")[0] == 2
    assert run(capsys, bf, "rebalance")[0] == 2  # no devices
    assert main([]) == 2


def test_python_dash_m_ring(tmp_path):
    bf = tmp_path / "a.builder.json"

    def ring(*args):
        return subprocess.run([sys.executable, "-m", "ring", str(bf), *map(str, args)], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)

    assert ring("create", 4, 1, 0).returncode == 0
    assert ring("add", "r1z1-127.0.0.1:6201/d1", 1).returncode == 0
    res = ring("rebalance")
    assert res.returncode == 0, res.stderr
    res = ring("show")
    assert res.returncode == 0 and "16 partitions" in res.stdout
    assert (tmp_path / "a.ring").exists()


def test_build_default_rings(tmp_path):
    devices = [(1, z, "127.0.0.1", 6200 + z, "d1", 100.0) for z in (1, 2, 3, 4)]
    build_default_rings(tmp_path, devices, 6, 3, 1)
    for name in ("account", "container", "object"):
        ring = Ring(tmp_path / f"{name}.ring", "s")
        assert (ring.partition_count, ring.replica_count, len(ring.devices)) == (64, 3, 4)
        assert (tmp_path / f"{name}.builder.json").exists()
    before = (tmp_path / "object.ring").read_bytes()
    (tmp_path / "account.ring").unlink()
    build_default_rings(tmp_path, devices[:1], 6, 3, 1)  # existing builders are kept
    assert (tmp_path / "object.ring").read_bytes() == before
    assert len(Ring(tmp_path / "account.ring", "s").devices) == 4
    one = tmp_path / "one"
    build_default_rings(one, devices[:1], 4, 3, 1)  # one device: one replica
    assert Ring(one / "object.ring", "s").replica_count == 1


def test_rebalance_without_moves_refreshes_a_stale_ring(tmp_path, capsys):
    bf = tmp_path / "s.builder.json"
    run(capsys, bf, "create", 4, 3, 1)
    run(capsys, bf, "add", *[x for z in (1, 2, 3) for x in (f"r1z{z}-10.0.0.{z}:6200/sdb", 1)])
    run(capsys, bf, "rebalance", "--seed", 1)
    run(capsys, bf, "set-weight", "r1z1", 2)  # dispersion keeps one replica per zone: nothing moves
    code, out, _ = run(capsys, bf, "rebalance")
    assert code == 1 and "Wrote" in out
    ring = Ring(tmp_path / "s.ring", "s")
    assert ring.version == RingBuilder.load(bf).version
    assert [d.weight for d in ring.devices] == [2.0, 1.0, 1.0]
