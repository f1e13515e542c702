"""``stackstore relink [--cleanup] --config F [--wait S]``: where the storage nodes are in a partition
power increase (docs/ring.md).

The nodes do the work themselves (``store/relinker.py``, every ``[store] relinker_interval``): they
relink while a ring has ``next_part_power`` and clean up once its power went up. This command asks every
node (``GET /recon``) and reports the devices not done yet:

* ``stackstore relink``: after ``prepare-increase-partition-power``, every device holding objects of a
  prepared object ring has relinked them for the next power. Then run ``increase-partition-power``.
* ``stackstore relink --cleanup``: after ``increase-partition-power``, every device has cleaned up the
  old locations (objects) and reindexed its listings for every ring's current power. Then run
  ``finish-increase-partition-power``.

Exit status 0 when every device is done, 1 otherwise (with ``--wait S``: once done, or 1 after S
seconds); 2 when no ring is in the state the step expects.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from stackstore import internal_tls
from stackstore.config import Config, ensure_hash_path_suffix, load_config
from stackstore.secrets import ensure_secret
from store.cluster_status import fetch_recons

LISTING_RINGS = ("container", "account")


def ring_names(conf: Config) -> list[str]:
    """Every ring file's name (``object``, ``object-1``, ..., ``container``, ``account``)."""
    return sorted(p.name[:-len(".ring")] for p in conf.ring_dir.glob("*.ring"))


def expected(conf: Config, cleanup: bool) -> dict[str, tuple[Any, list[tuple[str, str]]]]:
    """``ring name -> (what its devices must report, [(address, device)])`` for the step."""
    from ring import Ring

    suffix = ensure_hash_path_suffix(conf)
    out: dict[str, tuple[Any, list[tuple[str, str]]]] = {}
    for name in ring_names(conf):
        ring = Ring(conf.ring_dir / f"{name}.ring", suffix)
        devices = sorted({(d.address, d.device) for d in ring.devices if d is not None})
        if cleanup:
            out[name] = (("power", ring.part_power), devices)
        elif name.startswith("object") and ring.next_part_power == ring.part_power + 1:
            out[name] = (("relinked_to", ring.next_part_power), devices)
    return out


def pending(conf: Config, cleanup: bool, timeout: float) -> tuple[list[str], int]:
    """Devices not done yet (``address/device ring: what it reports``) and how many were checked."""
    wanted = expected(conf, cleanup)
    addresses = sorted({addr for _, devs in wanted.values() for addr, _ in devs})
    if not addresses:
        return [], 0
    node_key = ensure_secret(conf, "node_key").encode()
    tls = internal_tls.client_context(conf)
    docs = fetch_recons(addresses, timeout, node_key, tls)
    out, checked = [], 0
    for name, ((field, value), devices) in sorted(wanted.items()):
        for address, device in devices:
            checked += 1
            doc = docs.get(address)
            if doc is None:
                out.append(f"{address}/{device} {name}: node down")
                continue
            dev = (doc.get("devices") or {}).get(device) or {}
            if not dev.get("mounted", False):
                out.append(f"{address}/{device} {name}: device not mounted")
                continue
            state = ((dev.get("relinker") or {}).get("rings") or {}).get(name) or {}
            if state.get(field) != value:
                out.append(f"{address}/{device} {name}: {field} {state.get(field)} (want {value})")
    return out, checked


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stackstore relink", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="TOML configuration file of the cluster")
    parser.add_argument("--cleanup", action="store_true", help="check the cleanup after increase-partition-power")
    parser.add_argument("--wait", type=float, default=0.0, help="poll for up to this many seconds until done")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for each node")
    args = parser.parse_args(argv)
    conf = load_config(args.config)
    if not expected(conf, args.cleanup):
        print("stackstore relink: no object ring has a prepared partition power increase "
              "(run `stackstore ring <builder> prepare-increase-partition-power` and write the ring)"
              if not args.cleanup else f"stackstore relink: no rings under {conf.ring_dir}")
        return 2
    deadline = time.monotonic() + max(0.0, args.wait)
    while True:
        left, checked = pending(conf, args.cleanup, args.timeout)
        if not left or time.monotonic() >= deadline:
            break
        time.sleep(1.0)
    step = "cleaned up" if args.cleanup else "relinked"
    for line in left:
        print(line)
    print(f"{checked - len(left)} of {checked} ring devices {step}")
    return 0 if not left else 1


if __name__ == "__main__":
    sys.exit(main())
