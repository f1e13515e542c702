"""Operator view of one storage node: per-device stats files and the ``GET /recon`` document.

Background tasks persist their counters as JSON under ``<device>/.recon/<name>.json`` (``auditor``,
``updater``, ``expirer``; the replicator writes ``replication``), so they survive restarts and can be
read without asking the task. ``node_recon`` gathers them with disk usage and quarantine counts.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any

from store.fsutil import make_dir_once

RECON_DIR = ".recon"
TASKS = ("auditor", "updater", "expirer", "replication")


def stats_path(device_path: str, name: str) -> str:
    return os.path.join(device_path, RECON_DIR, f"{name}.json")


def write_stats(device_path: str, name: str, stats: dict[str, Any]) -> None:
    """Atomically replace ``<device>/.recon/<name>.json`` (not fsynced: counters, not data)."""
    path = stats_path(device_path, name)
    make_dir_once(os.path.join(device_path, RECON_DIR))
    tmp = f"{path}.{uuid.uuid4().hex[:8]}.tmp"
    with open(tmp, "w") as fh:
        json.dump(stats, fh, separators=(",", ":"))
    os.replace(tmp, path)


def read_stats(device_path: str, name: str) -> dict[str, Any] | None:
    """The stats a task last wrote, or None (missing or unreadable)."""
    try:
        with open(stats_path(device_path, name)) as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _count_entries(path: str) -> int:
    try:
        return len(os.listdir(path))
    except (FileNotFoundError, NotADirectoryError):
        return 0


def async_pending_count(device_path: str) -> int:
    """Container updates waiting on this device (``async_pending/<suffix>/<record>``)."""
    root = os.path.join(device_path, "async_pending")
    try:
        suffixes = os.listdir(root)
    except (FileNotFoundError, NotADirectoryError):
        return 0
    return sum(_count_entries(os.path.join(root, s)) for s in suffixes)


def disk_usage(device_path: str) -> dict[str, int]:
    st = os.statvfs(device_path)
    size, avail = st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize
    return {"size": size, "avail": avail, "used": size - st.f_bfree * st.f_frsize}


def device_recon(device_path: str) -> dict[str, Any]:
    """Everything known about one device; ``mounted`` False when it cannot even be stat'ed."""
    out: dict[str, Any] = {"mounted": os.path.isdir(device_path)}
    if not out["mounted"]:
        return out
    try:
        out.update(disk_usage(device_path))
    except OSError as exc:
        out.update(mounted=False, error=str(exc))
        return out
    out["quarantined"] = _count_entries(os.path.join(device_path, "quarantined", "objects"))
    out["async_pending"] = async_pending_count(device_path)
    for name in TASKS:
        out[name] = read_stats(device_path, name)
    return out


def _sum(devices: dict[str, dict[str, Any]], task: str, key: str) -> int:
    total = 0
    for dev in devices.values():
        value = (dev.get(task) or {}).get(key)
        if isinstance(value, (int, float)):
            total += int(value)
    return total


def _oldest(devices: dict[str, dict[str, Any]], task: str, key: str) -> float | None:
    """The oldest ``key`` timestamp over devices (None if some device never finished a pass)."""
    values = [(dev.get(task) or {}).get(key) for dev in devices.values() if dev.get("mounted")]
    if not values or any(not isinstance(v, (int, float)) for v in values):
        return None
    return float(min(values))


def node_recon(devices_root: str, replication: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``GET /recon`` document of a node serving ``devices_root``; ``replication`` (live
    replicator counters) is used when no device has a ``replication.json``."""
    try:
        names = sorted(os.listdir(devices_root))
    except FileNotFoundError:
        names = []
    devices = {n: device_recon(os.path.join(devices_root, n)) for n in names
               if os.path.isdir(os.path.join(devices_root, n))}
    doc = {
        "up": True,
        "time": time.time(),
        "devices": devices,
        "quarantined": sum(d.get("quarantined", 0) for d in devices.values()),
        "async_pending": sum(d.get("async_pending", 0) for d in devices.values()),
        "auditor": {"last_pass": _oldest(devices, "auditor", "last_pass"),
                    "objects_checked": _sum(devices, "auditor", "objects_checked"),
                    "quarantined": _sum(devices, "auditor", "quarantined_total"),
                    "listing_problems": _sum(devices, "auditor", "listing_problems")},
        "replication": {"last_pass": _oldest(devices, "replication", "last_pass"),
                        "replicated": _sum(devices, "replication", "replicated"),
                        "failed": _sum(devices, "replication", "failed")},
        "updater": {"last_pass": _oldest(devices, "updater", "last_pass"),
                    "successes": _sum(devices, "updater", "successes"),
                    "failures": _sum(devices, "updater", "failures")},
        "expirer": {"last_pass": _oldest(devices, "expirer", "last_pass"),
                    "expired": _sum(devices, "expirer", "expired_total"),
                    "failures": _sum(devices, "expirer", "failures_total")},
    }
    if replication is not None and not any(d.get("replication") for d in devices.values()):
        doc["replication"] = replication
    return doc
