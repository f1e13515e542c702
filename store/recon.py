"""Operator view of one storage node: per-device stats files and the ``GET /recon`` document.

Background tasks persist their counters as JSON under ``<device>/.recon/<name>.json`` (``auditor``,
``updater``, ``expirer``, ``lifecycle``, ``segment_reaper``; the replicator writes ``replication``), so they
survive restarts and can be read without asking the task. ``node_recon`` gathers them with disk usage and
quarantine counts; ``quarantined_counts`` is the ``GET /recon/quarantined`` document. Everything here reads the disk:
call it from an I/O thread.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any

from store import layout
from store.fsutil import make_dir_once

TASKS = ("auditor", "updater", "expirer", "replication", "lifecycle", "segment_reaper", "relinker", "container_sync")


def write_stats(device_path: str, name: str, stats: dict[str, Any]) -> None:
    """Atomically replace ``<device>/.recon/<name>.json`` (not fsynced: counters, not data)."""
    path = layout.recon_stats_path(device_path, name)
    make_dir_once(layout.recon_path(device_path))
    tmp = f"{path}.{uuid.uuid4().hex[:8]}.tmp"
    with open(tmp, "w") as fh:
        json.dump(stats, fh, separators=(",", ":"))
    os.replace(tmp, path)


def read_stats(device_path: str, name: str) -> dict[str, Any] | None:
    """The stats a task last wrote, or None (missing or unreadable)."""
    try:
        with open(layout.recon_stats_path(device_path, name)) as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def async_pending_count(device_path: str) -> int:
    """Container updates waiting on this device (its async-pending records)."""
    return layout.count_async_pendings(device_path)


def disk_usage(device_path: str) -> dict[str, int]:
    """Size, available and used bytes of the filesystem holding a device."""
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
    out["quarantined"] = layout.count_quarantined_objects(device_path)
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
    numbers = [v for v in values if isinstance(v, (int, float))]
    if not values or len(numbers) < len(values):
        return None
    return float(min(numbers))


def node_recon(devices_root: str, replication: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``GET /recon`` document of a node serving ``devices_root``; ``replication`` (live
    replicator counters) is used when no device has a ``replication.json``."""
    devices = {n: device_recon(layout.device_path(devices_root, n)) for n in layout.list_devices(devices_root)}
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
        "lifecycle": {"last_pass": _oldest(devices, "lifecycle", "last_pass"),
                      "buckets": _sum(devices, "lifecycle", "buckets"),
                      "expired": _sum(devices, "lifecycle", "expired_total"),
                      "aborted": _sum(devices, "lifecycle", "aborted_total"),
                      "failures": _sum(devices, "lifecycle", "failures_total")},
        "segment_reaper": {"last_pass": _oldest(devices, "segment_reaper", "last_pass"),
                           "reaped": _sum(devices, "segment_reaper", "reaped_total"),
                           "reaped_bytes": _sum(devices, "segment_reaper", "reaped_bytes_total"),
                           "failures": _sum(devices, "segment_reaper", "failures_total")},
        "container_sync": {"last_pass": _oldest(devices, "container_sync", "last_pass"),
                           "containers": _sum(devices, "container_sync", "containers"),
                           "puts": _sum(devices, "container_sync", "puts_total"),
                           "posts": _sum(devices, "container_sync", "posts_total"),
                           "deletes": _sum(devices, "container_sync", "deletes_total"),
                           "bytes": _sum(devices, "container_sync", "bytes_total"),
                           "failures": _sum(devices, "container_sync", "failures_total")},
    }
    doc["relinker"] = relinker_summary(devices)
    if replication is not None and not any(d.get("replication") for d in devices.values()):
        doc["replication"] = replication
    return doc


def relinker_summary(devices: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The relinker over a node's devices: the steps running now (``running``: device -> step and ring),
    the hash dirs they have looked at, linked and removed so far, and when a device last reported."""
    running: dict[str, str] = {}
    totals = {"hash_dirs": 0, "linked": 0, "removed": 0}
    updated: list[float] = []
    for name, dev in devices.items():
        state = dev.get("relinker") or {}
        if isinstance(state.get("updated"), (int, float)):
            updated.append(float(state["updated"]))
        progress = state.get("progress")
        if not isinstance(progress, dict):
            continue
        running[name] = f"{progress.get('step', '?')} {progress.get('ring', '?')}"
        for key in totals:
            value = progress.get(key)
            if isinstance(value, int):
                totals[key] += value
    return {"running": running, **totals, "updated": max(updated) if updated else None}


def quarantined_counts(devices_root: str) -> dict[str, Any]:
    """The ``GET /recon/quarantined`` document: quarantined objects per device and in total."""
    counts = {n: layout.count_quarantined_objects(layout.device_path(devices_root, n))
              for n in layout.list_devices(devices_root)}
    return {"objects": sum(counts.values()), "devices": counts}
