"""Ring distribution: every host converges on the newest version of each ring without files copied by hand.

A ring file carries a version (the builder's, raised by every change) and a checksum. Storage nodes
serve theirs and accept newer ones (``store.ring_routes``: ``GET /rings``, ``GET|PUT /rings/<name>``,
signed like every node request). Two ways a new ring spreads, both signed with the cluster's node key:

* push: ``stackstore ring push`` sends the operator's ring files to every node the rings name (``push``);
* pull: every node and proxy asks a few peers (the nodes its rings name) every ``[cluster]
  ring_check_interval`` seconds which versions they hold, and fetches any ring newer than its own
  (``RingWatcher``). A node that missed the push (down, unplugged) gets the ring from a peer.

A ring is installed only when it decodes, its checksum holds and its version is newer than the installed
one; it is written atomically (temp file, fsync, rename), and services reload it within seconds
(``ring.Ring`` watches its file). An older or equal version is never installed: a stale push cannot
roll a cluster back.

Blocking I/O (files; node requests through ``objclient.blocking``): call from threads, never from an
event loop.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import ssl
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from objclient.blocking import NodeCall, call_node
from objclient.http import HttpError
from ring.atomic import atomic_write
from ring.errors import RingFileError
from ring.ringfile import decode_ring, read_ring_file
from stackstore import internal_tls
from stackstore.config import Config
from stackstore.secrets import ensure_secret

log = logging.getLogger("objclient.ring_distribution")

RING_NAME = re.compile(r"^(account|container|object(-[0-9]{1,4})?)$")
MAX_RING_BYTES = 64 * 1024 * 1024  # a part power 22 ring with 5 replicas is ~40 MiB uncompressed
PEERS_ASKED = 3  # peers asked per check (random ones of the ring's nodes)


def is_ring_name(name: str) -> bool:
    """Whether ``name`` names a ring (``account``, ``container``, ``object``, ``object-<policy>``)."""
    return bool(RING_NAME.match(name))


def ring_path(ring_dir: str | Path, name: str) -> Path:
    """Where ring ``name`` lives in ``ring_dir``."""
    return Path(ring_dir) / f"{name}.ring"


def local_versions(ring_dir: str | Path) -> dict[str, int]:
    """``{ring name: version}`` of the readable ring files in ``ring_dir``."""
    found: dict[str, int] = {}
    try:
        entries = sorted(os.listdir(ring_dir))
    except FileNotFoundError:
        return found
    for entry in entries:
        name = entry.removesuffix(".ring")
        if entry.endswith(".ring") and is_ring_name(name):
            try:
                found[name] = ring_version(ring_path(ring_dir, name))
            except (RingFileError, OSError) as exc:
                log.warning("ignoring unreadable ring %s: %s", entry, exc)
    return found


_versions: dict[str, tuple[tuple[int, int, int], int]] = {}  # path -> (stat key, version): decode once


def ring_version(path: Path) -> int:
    """The version of the ring file at ``path`` (decoded again only when the file changed)."""
    st = os.stat(path)
    key = (st.st_mtime_ns, st.st_size, st.st_ino)
    cached = _versions.get(str(path))
    if cached is not None and cached[0] == key:
        return cached[1]
    version = read_ring_file(path).version
    _versions[str(path)] = (key, version)
    return version


def ring_peers(ring_dir: str | Path) -> list[tuple[str, int]]:
    """Every node address (ip, port) the ring files in ``ring_dir`` name, once each."""
    peers: dict[tuple[str, int], None] = {}
    for name in local_versions(ring_dir):
        for dev in read_ring_file(ring_path(ring_dir, name)).devices:
            peers[(dev.ip, int(dev.port))] = None
    return list(peers)


@dataclass(frozen=True)
class InstallResult:
    """What ``install`` did with a ring: installed (newer), or kept the current one (``current``)."""

    installed: bool
    version: int
    current: int | None


_install_lock = threading.Lock()


def install(ring_dir: str | Path, name: str, blob: bytes) -> InstallResult:
    """Install ring ``name`` from ``blob`` when it is valid and newer than the installed one.

    Raises ``RingFileError`` when ``blob`` is not a valid ring, ``ValueError`` for a bad name."""
    if not is_ring_name(name):
        raise ValueError(f"not a ring name: {name!r}")
    data = decode_ring(blob, name)
    path = ring_path(ring_dir, name)
    with _install_lock:  # one process may receive a push while its watcher fetches
        try:
            current: int | None = read_ring_file(path).version
        except RingFileError:
            current = None  # missing or damaged: any valid ring is better
        if current is not None and data.version <= current:
            return InstallResult(False, data.version, current)
        atomic_write(path, blob)
    log.warning("installed %s ring version %d (was %s)", name, data.version, current)
    return InstallResult(True, data.version, current)


class PeerError(Exception):
    """A peer did not answer, or answered something unexpected."""


def _request(ip: str, port: int, key: bytes, method: str, target: str, body: bytes | None = None,
             timeout: float = 5.0, tls: ssl.SSLContext | None = None) -> tuple[int, bytes]:
    """One signed request to a node: ``(status, body)``; PeerError when it did not answer one."""
    headers = {"Content-Type": "application/octet-stream"} if body is not None else {}
    try:
        reply = call_node(NodeCall(ip, port, method, target, headers, body or b""), signing_key=key, tls=tls,
                          timeout=timeout, max_body=MAX_RING_BYTES)
    except HttpError as exc:
        raise PeerError(f"{ip}:{port}: {exc}") from exc
    return reply.status, reply.body


def peer_versions(ip: str, port: int, key: bytes, timeout: float = 5.0,
                  tls: ssl.SSLContext | None = None) -> dict[str, int]:
    """``{ring name: version}`` a node holds (``GET /rings``; ``tls``: the nodes serve HTTPS)."""
    status, body = _request(ip, port, key, "GET", "/rings", timeout=timeout, tls=tls)
    if status != 200:
        raise PeerError(f"{ip}:{port}: GET /rings answered {status}")
    try:
        doc = json.loads(body)
        return {str(name): int(info["version"]) for name, info in doc.items() if is_ring_name(str(name))}
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise PeerError(f"{ip}:{port}: bad /rings answer") from exc


def fetch_ring(ip: str, port: int, key: bytes, name: str, timeout: float = 10.0,
               tls: ssl.SSLContext | None = None) -> bytes:
    """Ring file ``name`` as a node holds it."""
    status, body = _request(ip, port, key, "GET", f"/rings/{name}", timeout=timeout, tls=tls)
    if status != 200:
        raise PeerError(f"{ip}:{port}: GET /rings/{name} answered {status}")
    return body


def push_ring(ip: str, port: int, key: bytes, name: str, blob: bytes, timeout: float = 10.0,
              tls: ssl.SSLContext | None = None) -> tuple[int, str]:
    """Offer ring ``name`` to a node: ``(status, the node's answer)``: 201 installed, 200 it already had
    this version, 409 it holds a newer one."""
    status, body = _request(ip, port, key, "PUT", f"/rings/{name}", body=blob, timeout=timeout, tls=tls)
    return status, body.decode("utf-8", "replace").strip()


def sync_from_peers(ring_dir: str | Path, key: bytes, peers: Iterable[tuple[str, int]] | None = None,
                    asked: int = PEERS_ASKED, timeout: float = 5.0, tls: ssl.SSLContext | None = None) -> list[str]:
    """Ask up to ``asked`` peers (default: random nodes the local rings name) for their ring versions and
    install every ring newer than the local one; returns the names installed."""
    candidates = list(peers) if peers is not None else ring_peers(ring_dir)
    random.shuffle(candidates)
    installed: list[str] = []
    answered = 0
    for ip, port in candidates:
        if answered >= asked:
            break
        try:
            theirs = peer_versions(ip, port, key, timeout, tls)
        except PeerError as exc:
            log.debug("ring check: %s", exc)
            continue
        answered += 1
        mine = local_versions(ring_dir)
        for name, version in sorted(theirs.items()):
            if version > mine.get(name, -1):
                try:
                    result = install(ring_dir, name, fetch_ring(ip, port, key, name, timeout, tls))
                except (PeerError, RingFileError) as exc:
                    log.warning("fetching %s ring version %d: %s", name, version, exc)
                    continue
                if result.installed:
                    installed.append(name)
    return installed


class RingWatcher:
    """A daemon thread that runs ``sync_from_peers`` every ``interval`` seconds (``poke`` runs it now)."""

    def __init__(self, ring_dir: str | Path, key: bytes, interval: float, tls: ssl.SSLContext | None = None):
        self.ring_dir = Path(ring_dir)
        self.key = key
        self.tls = tls  # the nodes serve HTTPS ([cluster] internal_tls)
        self.interval = interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start checking (no-op when the interval is not positive)."""
        if self.interval > 0 and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="ring-watcher", daemon=True)
            self._thread.start()

    def poke(self) -> None:
        """Check now (e.g. a request named a ring version newer than ours)."""
        self._wake.set()

    def stop(self) -> None:
        """Stop the thread (waits for a check in progress)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval * random.uniform(0.8, 1.2))  # jitter: hosts do not ask in step
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                sync_from_peers(self.ring_dir, self.key, tls=self.tls)
            except Exception:  # a bad peer or file must not end the watcher
                log.exception("ring check failed")


_watchers: dict[str, RingWatcher] = {}
_watchers_lock = threading.Lock()


def watcher_from_config(conf: Config) -> RingWatcher:
    """This process's ``RingWatcher`` of ``conf.ring_dir``, started (one per ring directory): the node key
    signs its requests, ``[cluster] ring_check_interval`` paces it. Every process that routes by rings
    starts it (storage nodes, proxies, and any process building an internal client: volumes backups,
    images), so each keeps its own copy of the rings current."""
    ring_dir = str(conf.ring_dir)
    with _watchers_lock:
        watcher = _watchers.get(ring_dir)
        if watcher is None:
            interval = float(conf["cluster"].get("ring_check_interval", 0) or 0)
            watcher = _watchers[ring_dir] = RingWatcher(conf.ring_dir, ensure_secret(conf, "node_key").encode(),
                                                        interval, internal_tls.client_context(conf))
            watcher.start()
    return watcher


def stop_watcher(conf: Config) -> None:
    """Stop this process's ``RingWatcher`` of ``conf.ring_dir`` (at shutdown; blocks up to a check)."""
    with _watchers_lock:
        watcher = _watchers.pop(str(conf.ring_dir), None)
    if watcher is not None:
        watcher.stop()
