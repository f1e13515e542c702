"""Replays async-pending container updates (the object updater's core).

A full updater (rate limits, per-container ordering, sharding across workers) comes later; this pass
sends every ``<device>/async_pending/*/*`` record once and removes the ones that succeeded.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from store.httpclient import HTTPClientError, request
from store.updates import is_success

log = logging.getLogger("store.updater")


async def run_updater_pass(devices_root: str | Path, timeout: float = 2.0) -> dict[str, int]:
    """Retry every async-pending record under ``devices_root``; {"success", "failure", "bad"} counts."""
    stats = {"success": 0, "failure": 0, "bad": 0}
    root = str(devices_root)
    try:
        devices = sorted(os.listdir(root))
    except FileNotFoundError:
        return stats
    for device in devices:
        pending_dir = os.path.join(root, device, "async_pending")
        try:
            suffixes = os.listdir(pending_dir)
        except (FileNotFoundError, NotADirectoryError):
            continue
        for suffix in suffixes:
            sdir = os.path.join(pending_dir, suffix)
            try:
                names = sorted(os.listdir(sdir))
            except (FileNotFoundError, NotADirectoryError):
                continue
            for name in names:
                path = os.path.join(sdir, name)
                try:
                    with open(path, "rb") as fh:
                        record = json.load(fh)
                    host, _, port = record["host"].rpartition(":")
                    method, req_path, headers = record["method"], record["path"], record["headers"]
                    port_num = int(port)
                except FileNotFoundError:
                    continue
                except (OSError, ValueError, KeyError, TypeError, AttributeError):
                    stats["bad"] += 1
                    log.warning("unreadable async pending %s; leaving it", path)
                    continue
                try:
                    status, _, _ = await request(host.strip("[]"), port_num, method, req_path, headers,
                                                 timeout=timeout)
                except HTTPClientError as exc:
                    log.info("async pending %s still failing: %s", name, exc)
                    stats["failure"] += 1
                    continue
                if is_success(status):
                    stats["success"] += 1
                    try:
                        os.unlink(path)
                    except FileNotFoundError:
                        pass
                else:
                    stats["failure"] += 1
            try:
                os.rmdir(sdir)  # only succeeds when empty
            except OSError:
                pass
    return stats
