"""Cluster-wide object dispersion: are all replicas of every partition on their primaries?

Asks every node of the object ring for the suffix hashes of the partitions it holds
(``GET /replicate/partitions``). A partition is *in place* when each primary holds it with the
same suffix hashes and no other device holds it. ``python -m store.replication.dispersion
--config F`` (also ``stackstore dispersion``) prints the report; exit 0 at 100 %.
"""

from __future__ import annotations

import argparse
import json
import ssl
import sys
from dataclasses import dataclass, field

from objclient.blocking import NodeCall, call_nodes
from objclient.http import HttpError, Reply
from ring import Ring
from stackstore import internal_tls
from stackstore.config import Config, ensure_hash_path_suffix, load_config
from stackstore.secrets import ensure_secret

DevKey = tuple[str, int, str]  # ip, port, device
MAX_ANSWER = 256 << 20  # a node's partition listing: tens of bytes per partition held


@dataclass
class DispersionReport:
    partitions: int = 0  # partitions holding data anywhere
    in_place: int = 0
    missing_replicas: int = 0  # primary replicas absent or different
    on_handoffs: int = 0  # partitions also held by a non-primary device
    unreachable: list[str] = field(default_factory=list)

    @property
    def percent(self) -> float:
        return 100.0 if not self.partitions else 100.0 * self.in_place / self.partitions

    def summary(self) -> str:
        return (f"{self.in_place}/{self.partitions} object partitions in place ({self.percent:.2f}%), "
                f"{self.missing_replicas} primary replicas missing or stale, {self.on_handoffs} partitions "
                f"on handoffs" + (f", unreachable: {', '.join(self.unreachable)}" if self.unreachable else ""))


def holdings(ring: Ring, node_key: bytes, timeout: float = 30.0, tls: ssl.SSLContext | None = None
             ) -> tuple[dict[DevKey, dict[int, dict[str, str]]], list[str]]:
    """What every device of the ring holds: ``{(ip, port, device): {partition: suffix hashes}}``
    (every node asked at once, with requests signed by the cluster's ``node_key``; over HTTPS with
    ``tls``), and the nodes that did not answer."""
    out: dict[DevKey, dict[int, dict[str, str]]] = {}
    unreachable = []
    nodes = sorted({(d.ip, d.port) for d in ring.devices})
    calls = [NodeCall(ip, port, "GET", "/replicate/partitions") for ip, port in nodes]
    replies = call_nodes(calls, signing_key=node_key, tls=tls, timeout=timeout, max_body=MAX_ANSWER)
    for (ip, port), reply in zip(nodes, replies, strict=True):
        data = _partitions(reply)
        if data is None:
            unreachable.append(f"{ip}:{port}")
            continue
        for device, parts in data.items():
            out[(ip, port, device)] = {int(p): h for p, h in parts.items()}
    return out, unreachable


def _partitions(reply: Reply | HttpError) -> dict[str, dict[str, dict[str, str]]] | None:
    """A node's ``{device: {partition: suffix hashes}}``, None when it did not answer one."""
    if isinstance(reply, HttpError) or reply.status != 200:
        return None
    try:
        data = json.loads(reply.body)
        return data if isinstance(data, dict) and all(isinstance(v, dict) for v in data.values()) else None
    except ValueError:
        return None


def report(ring: Ring, node_key: bytes, timeout: float = 30.0, tls: ssl.SSLContext | None = None) -> DispersionReport:
    """How well the objects of ``ring`` sit on their primaries (nodes asked with ``node_key``)."""
    held, unreachable = holdings(ring, node_key, timeout, tls)
    rep = DispersionReport(unreachable=unreachable)
    parts = {p for dev_parts in held.values() for p, h in dev_parts.items() if h}
    for part in sorted(parts):
        primaries = [(d.ip, d.port, d.device) for d in ring.primaries(part)]
        replicas = [held.get(k, {}).get(part) or None for k in primaries]
        best = max((r for r in replicas if r), key=len, default=None)
        missing = sum(1 for r in replicas if r != best)
        others = any(held[k].get(part) for k in held if k not in primaries)
        rep.partitions += 1
        rep.missing_replicas += missing
        rep.on_handoffs += others
        if not missing and not others and best is not None:
            rep.in_place += 1
    return rep


def cluster_report(conf: Config, timeout: float = 30.0) -> DispersionReport:
    ring = Ring(conf.ring_dir / "object.ring", ensure_hash_path_suffix(conf), reload_interval=0.0)
    return report(ring, ensure_secret(conf, "node_key").encode(), timeout, internal_tls.client_context(conf))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stackstore dispersion", description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="the cluster's TOML config (rings under its data_dir)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    rep = cluster_report(load_config(args.config))
    if args.json:
        print(json.dumps({**rep.__dict__, "percent": rep.percent}))
    else:
        print(rep.summary())
    return 0 if rep.percent == 100.0 and not rep.unreachable else 1


if __name__ == "__main__":
    sys.exit(main())
