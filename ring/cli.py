"""``stackstore ring <builder-file> <command> ...``: create, change, rebalance and inspect ring builders.

Exit codes: 0 ok, 1 warning (nothing could be rebalanced), 2 error.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ring.builder import RingBuilder
from ring.device import Device, parse_device_spec
from ring.errors import RingError
from ring.ringfile import read_ring_file

EXIT_OK, EXIT_WARNING, EXIT_ERROR = 0, 1, 2

USAGE = """stackstore ring <builder-file> <command> ...

  create <part_power> <replicas> <min_part_hours>
  add r<region>z<zone>-<ip>:<port>/<device>[_meta] <weight> [<device> <weight> ...]
  remove <id or search value>
  set-weight <id or search value> <weight>
  set-overload <overload>            (0.1, or a percentage: how far a tier may exceed its weight share)
  set-replicas <count>               (then rebalance)
  rebalance [--seed N] [--force]     (--force: ignore min_part_hours for this rebalance)
  show
  validate
  write-ring <ring-file>
  dispersion
  prepare-increase-partition-power   (ring gets next_part_power; nodes start relinking)
  increase-partition-power           (partition p becomes 2p and 2p+1 on the same devices)
  finish-increase-partition-power    (after nodes cleaned up the old locations)
  cancel-increase-partition-power    (abandon a prepared, unapplied increase)

Search values: an id (5 or d5) or any leading part of r<region>z<zone>-<ip>:<port>/<device>,
e.g. r1z2, 127.0.0.1:6201, /sdb. rebalance also writes <name>.ring next to <name>.builder.json."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise RingError(f"{message}\n\n{USAGE}")


def ring_path_for(builder_path: str | Path) -> Path:
    """``<dir>/<name>.builder.json`` -> ``<dir>/<name>.ring``."""
    path = Path(builder_path)
    name = path.name
    for suffix in (".json", ".builder"):
        name = name.removesuffix(suffix)
    return path.with_name(name + ".ring")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="stackstore ring", usage=USAGE, add_help=False)
    p.add_argument("builder")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    c = sub.add_parser("create")
    c.add_argument("part_power", type=int)
    c.add_argument("replicas", type=int)
    c.add_argument("min_part_hours", type=float)
    a = sub.add_parser("add")
    a.add_argument("specs", nargs="+")
    sub.add_parser("remove").add_argument("search")
    w = sub.add_parser("set-weight")
    w.add_argument("search")
    w.add_argument("weight", type=float)
    r = sub.add_parser("rebalance")
    r.add_argument("--seed", type=int)
    r.add_argument("--force", action="store_true")
    sub.add_parser("show")
    sub.add_parser("validate")
    sub.add_parser("write-ring").add_argument("ring_file")
    sub.add_parser("dispersion")
    sub.add_parser("set-overload").add_argument("overload", type=_overload)
    sub.add_parser("set-replicas").add_argument("replicas", type=int)
    for name in _PART_POWER_STEPS:
        sub.add_parser(name)
    return p


def _overload(text: str) -> float:
    """``0.1`` or ``10%`` -> 0.1."""
    try:
        return float(text[:-1]) / 100.0 if text.endswith("%") else float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"bad overload {text!r}: expected e.g. 0.1 or 10%") from exc


def main(argv: list[str] | None = None) -> int:
    """Run one ring command; returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return EXIT_OK if argv else EXIT_ERROR
    try:
        args = _parser().parse_args(argv)
        return _COMMANDS[args.command](args)
    except RingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR


def _load(args: argparse.Namespace) -> RingBuilder:
    return RingBuilder.load(args.builder)


def _find(builder: RingBuilder, search: str) -> list[Device]:
    found = builder.search(search)
    if not found:
        raise RingError(f"no device matches {search!r}")
    return found


def _create(args: argparse.Namespace) -> int:
    if Path(args.builder).exists():
        raise RingError(f"{args.builder} already exists")
    RingBuilder(args.part_power, args.replicas, args.min_part_hours).save(args.builder)
    print(f"Created {args.builder}: 2**{args.part_power} partitions, {args.replicas} replicas, "
          f"min_part_hours {args.min_part_hours:g}")
    return EXIT_OK


def _add(args: argparse.Namespace) -> int:
    if len(args.specs) % 2:
        raise RingError("add takes pairs of <device> <weight>")
    builder = _load(args)
    for spec, weight in zip(args.specs[::2], args.specs[1::2], strict=True):
        try:
            weight_value = float(weight)
        except ValueError as exc:
            raise RingError(f"bad weight {weight!r}") from exc
        dev_id = builder.add_device(weight=weight_value, **parse_device_spec(spec))
        print(f"Device {builder.devices[dev_id]} with weight {weight_value:g} got id {dev_id}")
    builder.save(args.builder)
    return EXIT_OK


def _remove(args: argparse.Namespace) -> int:
    builder = _load(args)
    for dev in _find(builder, args.search):
        builder.remove_device(dev.id)
        print(f"Device d{dev.id} {dev} marked for removal (its partitions move at the next rebalance)")
    builder.save(args.builder)
    return EXIT_OK


def _set_weight(args: argparse.Namespace) -> int:
    builder = _load(args)
    for dev in _find(builder, args.search):
        builder.set_weight(dev.id, args.weight)
        print(f"Device d{dev.id} {dev} weight {dev.weight:g} -> {args.weight:g}")
    builder.save(args.builder)
    return EXIT_OK


def _set_overload(args: argparse.Namespace) -> int:
    builder = _load(args)
    builder.set_overload(args.overload)
    builder.save(args.builder)
    print(f"Overload set to {args.overload * 100:.2f}% (takes effect at the next rebalance); "
          f"this device set needs {builder.replica_plan().required_overload * 100:.2f}% for full dispersion")
    return EXIT_OK


def _set_replicas(args: argparse.Namespace) -> int:
    builder = _load(args)
    old = builder.replicas
    builder.set_replicas(args.replicas)
    builder.save(args.builder)
    print(f"Replicas {old} -> {builder.replicas} (takes effect at the next rebalance)")
    return EXIT_OK


_PART_POWER_STEPS = {
    "prepare-increase-partition-power": (
        RingBuilder.prepare_increase_partition_power,
        "next_part_power is {next}: let every storage node relink its data, then run "
        "increase-partition-power"),
    "increase-partition-power": (
        RingBuilder.increase_partition_power,
        "part_power is now {power} ({parts} partitions, each old partition p is now 2p and 2p+1 on the "
        "same devices): let nodes clean up the old locations, then run finish-increase-partition-power"),
    "finish-increase-partition-power": (
        RingBuilder.finish_increase_partition_power, "partition power increase finished: part_power {power}"),
    "cancel-increase-partition-power": (
        RingBuilder.cancel_increase_partition_power,
        "partition power increase cancelled: nodes remove the links they made for it"),
}


def _part_power_step(args: argparse.Namespace) -> int:
    builder = _load(args)
    step, message = _PART_POWER_STEPS[args.command]
    step(builder)
    builder.save(args.builder)
    ring_file = ring_path_for(args.builder)
    builder.write_ring(ring_file)
    print(message.format(next=builder.next_part_power, power=builder.part_power,
                         parts=builder.partition_count))
    print(f"Wrote {ring_file} (version {builder.version})")
    return EXIT_OK


def _rebalance(args: argparse.Namespace) -> int:
    builder = _load(args)
    if args.force:
        builder.pretend_min_part_hours_passed()
    ring_file = ring_path_for(args.builder)
    result = builder.rebalance(seed=args.seed)
    if not result.parts_moved and not result.devices_removed:
        print("No partitions could be reassigned: either none need to be or min_part_hours "
              f"({builder.min_part_hours:g}h) blocks them. Balance {result.balance_percent:.2f}, "
              f"dispersion {result.dispersion:.2f}.")
        if _ring_version(ring_file) != builder.version:  # missing, or older than device changes
            builder.write_ring(ring_file)
            print(f"Wrote {ring_file} (version {builder.version})")
        return EXIT_WARNING
    builder.save(args.builder)
    builder.write_ring(ring_file)
    total = builder.partition_count * builder.replicas
    print(f"Reassigned {result.parts_moved} ({result.parts_moved / total * 100:.2f}%) partition-replicas. "
          f"Balance is now {result.balance_percent:.2f}. Dispersion is now {result.dispersion:.2f}.")
    print(f"Wrote {ring_file} (version {builder.version})")
    return EXIT_OK


def _ring_version(path: Path) -> int | None:
    try:
        return read_ring_file(path).version
    except RingError:
        return None


def _show(args: argparse.Namespace) -> int:
    builder = _load(args)
    print(render(builder, args.builder))
    return EXIT_OK


def render(builder: RingBuilder, name: str) -> str:
    """The ``show`` text: summary line and the device table."""
    devs = list(builder.devices.values())
    regions = len({d.region for d in devs})
    zones = len({(d.region, d.zone) for d in devs})
    left = builder.min_part_seconds_left()
    lines = [
        f"{name}, build version {builder.version}",
        f"{builder.partition_count} partitions, {builder.replicas} replicas, {regions} regions, {zones} zones, "
        f"{len(devs)} devices, {builder.balance():.2f} balance, {builder.dispersion():.2f} dispersion",
        f"The minimum number of hours before a partition can be reassigned is {builder.min_part_hours:g} "
        f"({time.strftime('%H:%M:%S', time.gmtime(left))} remaining)",
        *overload_lines(builder),
        "Devices:",
    ]
    header = ("id", "region", "zone", "ip address:port", "device", "weight", "partitions", "balance", "meta")
    rows = [header]
    parts = builder.parts_per_device()
    balance = builder.device_balance()
    for dev_id, d in sorted(builder.devices.items()):
        meta = d.meta + (" (pending removal)" if dev_id in builder.removing else "")
        rows.append((str(dev_id), str(d.region), str(d.zone), d.address, d.device, f"{d.weight:.2f}",
                     str(parts.get(dev_id, 0)), f"{balance.get(dev_id, 0.0):.2f}", meta))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for row in rows:
        lines.append("  " + "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def overload_lines(builder: RingBuilder) -> list[str]:
    """Overload, the overload full dispersion needs, the tiers weight keeps from dispersing, and any
    partition power increase in progress."""
    plan = builder.replica_plan()
    lines = [f"Overload is {builder.overload * 100:.2f}%, required overload is "
             f"{plan.required_overload * 100:.2f}%"]
    constrained = plan.constrained_tiers()
    if constrained:
        effect = ("dispersion wins" if builder.overload >= plan.required_overload - 1e-9
                  else "some partitions keep more replicas together than dispersion would")
        lines.append(f"Constrained tiers (weight share below what dispersion wants, replicas per partition; "
                     f"{effect}):")
        for c in constrained:
            lines.append(f"  {c.level} {c.name}: weighted {c.weighted:.4f}, wanted {c.wanted:.4f}, "
                         f"target {c.target:.4f}")
    if builder.next_part_power is not None:
        lines.append(f"Partition power increase in progress: next_part_power {builder.next_part_power}")
    return lines


def _validate(args: argparse.Namespace) -> int:
    builder = _load(args)
    builder.validate()
    print(f"{args.builder} is valid: {builder.partition_count} partitions x {builder.replicas} replicas "
          f"on {len(builder.active_devices())} devices")
    return EXIT_OK


def _write_ring(args: argparse.Namespace) -> int:
    builder = _load(args)
    builder.write_ring(args.ring_file)
    print(f"Wrote {args.ring_file} (version {builder.version})")
    return EXIT_OK


def _dispersion(args: argparse.Namespace) -> int:
    builder = _load(args)
    report = builder.dispersion_report()
    print(f"Dispersion is {report['dispersion']:.2f}% (partitions that could be spread more widely)")
    per = report["max_replicas_per"]
    print(f"Most replicas of one partition in one zone: {per['zone']}, on one host: {per['host']}")
    for line in overload_lines(builder):
        print(line)
    cols = " ".join(f"{n:>8}" for n in range(builder.replicas + 1))
    for level, tiers in report["tiers"].items():
        print(f"\n{level:<28} partitions holding this many replicas:\n{'':<28} {cols}")
        for tier, hist in sorted(tiers.items()):
            print(f"{tier:<28} " + " ".join(f"{n:>8}" for n in hist))
    return EXIT_OK


_COMMANDS = {
    "create": _create, "add": _add, "remove": _remove, "set-weight": _set_weight, "rebalance": _rebalance,
    "show": _show, "validate": _validate, "write-ring": _write_ring, "dispersion": _dispersion,
    "set-overload": _set_overload, "set-replicas": _set_replicas,
    **{name: _part_power_step for name in _PART_POWER_STEPS},
}
