"""Our ring builder next to OpenStack Swift's ``RingBuilder`` on the same device sets (issue 17).

Swift is a dev tool here, not a dependency: install it in a venv of its own and point ``--swift-python``
at that interpreter (the Swift side runs in a subprocess of it)::

    python3 -m venv /tmp/swiftvenv && /tmp/swiftvenv/bin/pip install --no-deps swift==2.38.3 \\
        && /tmp/swiftvenv/bin/pip install eventlet greenlet six PasteDeploy xattr pyeclib
    .venv/bin/python bench/ring_compare.py --swift-python /tmp/swiftvenv/bin/python [--part-power 14]

Both builders see the same devices (same ids) and seeds; both tables are scored by the same code
(``ring.builder.RingBuilder.balance`` against raw weight shares, ``dispersion`` against the most even
spread, replicas moved by diffing the tables), and Swift's own balance/dispersion figures are printed too.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter

WEIGHTS = (100.0, 200.0, 400.0)
HOUR = 3600
T0 = 1_700_000_000


def operator_devices() -> list[dict]:
    """2 regions x 3 zones x 3 hosts x 2 devices, weights 100/200/400 mixed within each host."""
    devs = []
    for region in (1, 2):
        for zone in (1, 2, 3):
            for host in (1, 2, 3):
                for dev in (1, 2):
                    devs.append({"id": len(devs), "region": region, "zone": zone,
                                 "ip": f"10.{region}.{zone}.{host}", "port": 6200, "device": f"d{dev}",
                                 "weight": WEIGHTS[len(devs) % 3]})
    return devs


def small_zone_devices() -> list[dict]:
    """Zones 1 and 2: 2 hosts x 2 devices; zone 3: one device. Equal weights: zone 3 cannot hold a
    replica of every partition without 200% overload."""
    devs = []
    for zone in (1, 2):
        for host in (1, 2):
            for dev in (1, 2):
                devs.append({"id": len(devs), "region": 1, "zone": zone, "ip": f"10.0.{zone}.{host}",
                             "port": 6200, "device": f"d{dev}", "weight": 100.0})
    devs.append({"id": len(devs), "region": 1, "zone": 3, "ip": "10.0.3.1", "port": 6200, "device": "d1",
                 "weight": 100.0})
    return devs


NEW_HOST = [{"id": 36, "region": 1, "zone": 2, "ip": "10.1.2.9", "port": 6200, "device": "d1", "weight": 400.0},
            {"id": 37, "region": 1, "zone": 2, "ip": "10.1.2.9", "port": 6200, "device": "d2", "weight": 400.0}]
GONE_HOST = "10.2.3.3"


def scenarios(part_power: int) -> list[dict]:
    """Each scenario: initial devices, overload, then steps (add/remove) each followed by a rebalance."""
    out = [
        {"name": "operator layout (build)", "devices": operator_devices(), "overload": 0.0, "steps": []},
        {"name": "add a 2-device host (800 weight) to r1z2", "devices": operator_devices(), "overload": 0.0,
         "steps": [{"add": NEW_HOST}]},
        {"name": f"remove host {GONE_HOST}", "devices": operator_devices(), "overload": 0.0,
         "steps": [{"remove_ip": GONE_HOST}]},
    ]
    for overload in (0.0, 0.1, 2.0):
        out.append({"name": f"small zone, overload {overload:g}", "devices": small_zone_devices(),
                    "overload": overload, "steps": []})
    for s in out:
        s["part_power"] = part_power
    return out


# ------------------------------------------------------------------ Swift side (runs under Swift's python)
def swift_run(spec: dict) -> dict:
    """Build with Swift's RingBuilder; return its tables after the build and after the last step."""
    from swift.common.ring.builder import RingBuilder as SwiftBuilder

    b = SwiftBuilder(spec["part_power"], 3, 1)
    b.set_overload(spec["overload"])
    for d in spec["devices"]:
        b.add_dev(dict(d))
    b.rebalance(seed=1)
    built = [list(row) for row in b._replica2part2dev]
    for step in spec["steps"]:
        b.pretend_min_part_hours_passed()
        for d in step.get("add", []):
            b.add_dev(dict(d))
        for d in list(b.devs):
            if d is not None and d["ip"] == step.get("remove_ip"):
                b.remove_dev(d["id"])
        b.rebalance(seed=2)
    return {"built": built, "final": [list(row) for row in b._replica2part2dev],
            "swift_balance": b.get_balance(), "swift_dispersion": b.dispersion,
            "swift_required_overload": b.get_required_overload()}


def swift_worker() -> None:
    specs = json.load(sys.stdin)
    json.dump([swift_run(s) for s in specs], sys.stdout)


# ---------------------------------------------------------------------------------------- our side
def ours_run(spec: dict) -> dict:
    from ring import RingBuilder

    b = RingBuilder(spec["part_power"], 3, 1)
    b.set_overload(spec["overload"])
    for d in spec["devices"]:
        b.add_device(d["region"], d["zone"], d["ip"], d["port"], d["device"], d["weight"])
    b.rebalance(seed=1, now=T0)
    built = [list(row) for row in b._assign]
    now = T0
    for step in spec["steps"]:
        now += 2 * HOUR
        for d in step.get("add", []):
            b.add_device(d["region"], d["zone"], d["ip"], d["port"], d["device"], d["weight"])
        for d in b.search(step["remove_ip"]) if "remove_ip" in step else []:
            b.remove_device(d.id)
        b.rebalance(seed=2, now=now)
    return {"built": built, "final": [list(row) for row in b._assign]}


def score(spec: dict, run: dict) -> dict:
    """Balance, host balance, dispersion and replicas moved of a run, all computed by our code."""
    from array import array

    from ring import RingBuilder

    devices = list(spec["devices"])
    for step in spec["steps"]:
        devices += step.get("add", [])
        devices = [d for d in devices if d["ip"] != step.get("remove_ip")]
    b = RingBuilder(spec["part_power"], 3, 1)
    b.set_overload(spec["overload"])
    for d in devices:
        b.next_id = d["id"]
        b.add_device(d["region"], d["zone"], d["ip"], d["port"], d["device"], d["weight"])
    b._assign = [array("i", row) for row in run["final"]]
    moved = per_part = 0
    if spec["steps"]:
        changes = Counter(sum(x != y for x, y in zip(col_a, col_b, strict=True))
                          for col_a, col_b in zip(zip(*run["built"], strict=True), zip(*run["final"], strict=True),
                                                  strict=True))
        moved = sum(n * k for k, n in changes.items())
        per_part = max(changes)
    parts = b.parts_per_device()
    total_weight = sum(d["weight"] for d in devices)
    total = b.partition_count * 3
    host_parts: Counter = Counter()
    host_weight: Counter = Counter()
    for d in devices:
        host_parts[d["ip"]] += parts.get(d["id"], 0)
        host_weight[d["ip"]] += d["weight"]
    host_balance = max(abs(host_parts[h] / (total * w / total_weight) - 1) * 100 for h, w in host_weight.items())
    return {"balance": b.balance(), "host_balance": host_balance, "dispersion": b.dispersion(),
            "moved": moved, "max_per_part": per_part}


def fair_share(spec: dict) -> float:
    """Replica-partitions the step should move: the new devices' weight share, or what the host held."""
    if not spec["steps"]:
        return 0.0
    step = spec["steps"][0]
    total = (1 << spec["part_power"]) * 3
    weights = sum(d["weight"] for d in spec["devices"])
    if "add" in step:
        added = sum(d["weight"] for d in step["add"])
        return total * added / (weights + added)
    gone = sum(d["weight"] for d in spec["devices"] if d["ip"] == step["remove_ip"])
    return total * gone / weights


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swift-python", help="interpreter of a venv with swift installed")
    parser.add_argument("--part-power", type=int, default=14)
    parser.add_argument("--swift-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.swift_worker:
        swift_worker()
        return 0
    specs = scenarios(args.part_power)
    swift_runs: list[dict | None] = [None] * len(specs)
    if args.swift_python:
        proc = subprocess.run([args.swift_python, __file__, "--swift-worker"], input=json.dumps(specs),
                              capture_output=True, text=True, check=True)
        swift_runs = json.loads(proc.stdout)
    print(f"part power {args.part_power}, 3 replicas; balance = worst device's deviation from its weight share "
          f"(%), host = same per host, dispersion = % of partitions over the most even spread, moved = "
          f"replica-partitions moved by the step (fair share in brackets), max/part = most replicas of one "
          f"partition moved at once\n")
    header = "| scenario | builder | balance % | host balance % | dispersion % | moved (fair) | max/part |"
    print(header)
    print("|" + "---|" * 7)
    for spec, swift in zip(specs, swift_runs, strict=True):
        fair = fair_share(spec)
        rows = [("StackStore", ours_run(spec), "")]
        if swift is not None:
            note = (f" (Swift's own: balance {swift['swift_balance']:.2f}, dispersion "
                    f"{swift['swift_dispersion']:.2f})")
            rows.append(("Swift 2.38.3", swift, note))
        for name, run, note in rows:
            s = score(spec, run)
            moved = f"{s['moved']} ({fair:.0f})" if spec["steps"] else "-"
            per_part = str(s["max_per_part"]) if spec["steps"] else "-"
            print(f"| {spec['name']} | {name}{note} | {s['balance']:.2f} | {s['host_balance']:.2f} | "
                  f"{s['dispersion']:.2f} | {moved} | {per_part} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
