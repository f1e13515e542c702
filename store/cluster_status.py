"""``stackstore status --config F``: one line per storage node from its ``GET /recon``, then one line
per service of the ``stackstore up`` running on this data directory (state, pid, restarts).

The nodes are the distinct ``ip:port`` of the devices in the account, container and object rings; a
node that does not answer is shown as down. Exit status 1 when any node is down.
"""

from __future__ import annotations

import argparse
import json
import ssl
import time
from typing import Any

from objclient.blocking import NodeCall, call_nodes, split_address
from objclient.http import HttpError, Reply
from stackstore import internal_tls
from stackstore.config import Config, ensure_hash_path_suffix, load_config
from stackstore.secrets import ensure_secret

COLUMNS = ("NODE", "STATUS", "DEVICES", "USED", "QUARANTINED", "ASYNC", "AUDITED", "REPLICATED",
           "SENT/FAILED", "EXPIRED", "LIFECYCLE", "LC EXPIRED/ABORTED", "RELINKER", "SEGMENTS REAPED",
           "CONTAINER SYNC")


def ring_nodes(conf: Config) -> dict[str, list[str]]:
    """``ip:port`` -> device names, from every ring file that exists."""
    from ring import Ring

    suffix = ensure_hash_path_suffix(conf)
    nodes: dict[str, set[str]] = {}
    for name in ("account", "container", "object"):
        path = conf.ring_dir / f"{name}.ring"
        if path.exists():
            for dev in Ring(path, suffix).devices:
                if dev is not None:
                    nodes.setdefault(dev.address, set()).add(dev.device)
    return {addr: sorted(devs) for addr, devs in sorted(nodes.items())}


def fetch_recons(addresses: list[str], timeout: float, node_key: bytes,
                 tls: ssl.SSLContext | None = None) -> dict[str, dict[str, Any] | None]:
    """Every node's recon document (``GET /recon``, asked concurrently, signed with the cluster's
    ``node_key``; over HTTPS verified with ``tls`` when the nodes serve it): ``{address: document}``,
    None for a node that does not answer properly."""
    calls = [NodeCall(*split_address(address), "GET", "/recon") for address in addresses]
    replies = call_nodes(calls, signing_key=node_key, tls=tls, timeout=timeout)
    return {address: _recon_document(reply) for address, reply in zip(addresses, replies, strict=True)}


def _recon_document(reply: Reply | HttpError) -> dict[str, Any] | None:
    if isinstance(reply, HttpError) or reply.status != 200:
        return None
    try:
        doc = json.loads(reply.body)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def _age(ts: Any, now: float) -> str:
    if not isinstance(ts, (int, float)):
        return "never"
    seconds = max(0, int(now - ts))
    if seconds < 120:
        return f"{seconds}s ago"
    if seconds < 7200:
        return f"{seconds // 60}m ago"
    return f"{seconds // 3600}h ago"


def _used(devices: dict[str, Any]) -> str:
    size = sum(d.get("size", 0) for d in devices.values())
    used = sum(d.get("used", 0) for d in devices.values())
    return f"{100.0 * used / size:.1f}%" if size else "-"


def _relinker(summary: Any) -> str:
    """``relink object 1200 dirs`` while a step runs (``(2 devs)`` when on several), ``idle`` after one,
    ``-`` when the node never relinked."""
    if not isinstance(summary, dict):
        return "-"
    running = summary.get("running") or {}
    if running:
        steps = sorted(set(running.values()))
        devs = f" ({len(running)} devs)" if len(running) > 1 else ""
        return f"{', '.join(steps)} {summary.get('hash_dirs', 0)} dirs{devs}"
    return "idle" if summary.get("updated") is not None else "-"


def _segments_reaped(summary: Any, now: float) -> str:
    """``12 (3.4 MB) 5m ago``: parts the segment reaper deleted (in total) and when its last pass ended."""
    if not isinstance(summary, dict) or summary.get("last_pass") is None:
        return "never"
    size = float(summary.get("reaped_bytes") or 0)
    unit = "B"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            break
        size /= 1000
    failed = f", {summary['failures']} failed" if summary.get("failures") else ""
    shown = f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
    return f"{summary.get('reaped', 0)} ({shown}){failed} {_age(summary.get('last_pass'), now)}"


def _container_sync(summary: Any, now: float) -> str:
    """``5 put/2 del, 1 failed 30s ago`` (``5 put/3 post/...`` once metadata POSTs were sent): rows the
    container sync daemon sent (in total) and its last pass."""
    if not isinstance(summary, dict) or summary.get("last_pass") is None:
        return "never"
    failed = f", {summary['failures']} failed" if summary.get("failures") else ""
    posts = f"/{summary['posts']} post" if summary.get("posts") else ""
    return (f"{summary.get('puts', 0)} put{posts}/{summary.get('deletes', 0)} del{failed} "
            f"{_age(summary['last_pass'], now)}")


def row(address: str, devices: list[str], doc: dict[str, Any] | None, now: float) -> list[str]:
    """One table line for a node."""
    if doc is None:
        return [address, "DOWN", str(len(devices))] + ["-"] * (len(COLUMNS) - 3)
    devs = doc.get("devices") or {}
    unmounted = [n for n, d in devs.items() if not d.get("mounted")]
    status = "up" if not unmounted else f"up ({len(unmounted)} unmounted)"
    repl = doc.get("replication") or {}
    return [
        address, status, str(len(devs)), _used(devs), str(doc.get("quarantined", 0)),
        str(doc.get("async_pending", 0)), _age((doc.get("auditor") or {}).get("last_pass"), now),
        _age(repl.get("last_pass"), now), f"{repl.get('replicated', 0)}/{repl.get('failed', 0)}",
        str((doc.get("expirer") or {}).get("expired", 0)),
        _age((doc.get("lifecycle") or {}).get("last_pass"), now),
        f"{(doc.get('lifecycle') or {}).get('expired', 0)}/{(doc.get('lifecycle') or {}).get('aborted', 0)}",
        _relinker(doc.get("relinker")), _segments_reaped(doc.get("segment_reaper"), now),
        _container_sync(doc.get("container_sync"), now),
    ]


SERVICE_COLUMNS = ("SERVICE", "STATE", "PID", "RESTARTS", "LAST EXIT", "SINCE")


def service_rows(conf: Config, now: float) -> list[list[str]]:
    """One line per service the local supervisor (``stackstore up``) published; empty when none."""
    from stackstore.supervisor import read_states

    return [[s.name, s.state, str(s.pid or "-"), str(s.restarts),
             "-" if s.last_exit is None else str(s.last_exit), _age(s.since, now)]
            for s in read_states(conf.data_dir)]


def format_table(rows: list[list[str]], columns: tuple[str, ...] = COLUMNS) -> str:
    widths = [max(len(r[i]) for r in [list(columns), *rows]) for i in range(len(columns))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in [list(columns), *rows]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stackstore status", description=__doc__)
    parser.add_argument("--config", help="TOML configuration file of the cluster")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for each node")
    parser.add_argument("--json", action="store_true", help="print every node's recon document as JSON")
    args = parser.parse_args(argv)
    conf = load_config(args.config)
    nodes = ring_nodes(conf)
    if not nodes:
        print(f"stackstore status: no rings under {conf.ring_dir}")
        return 1
    node_key = ensure_secret(conf, "node_key").encode()
    tls = internal_tls.client_context(conf)
    docs = fetch_recons(list(nodes), args.timeout, node_key, tls)
    if args.json:
        print(json.dumps({a: d if d is not None else {"up": False} for a, d in docs.items()}, indent=2))
    else:
        now = time.time()
        print(format_table([row(a, devs, docs[a], now) for a, devs in nodes.items()]))
        services = service_rows(conf, now)
        if services:
            print()
            print(format_table(services, SERVICE_COLUMNS))
    return 1 if any(d is None for d in docs.values()) else 0
