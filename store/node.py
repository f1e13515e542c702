"""The storage node's shared state: configuration, devices, I/O machinery, listing stores."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any, Literal, TypeVar, overload

from objclient import loop_pool
from ring import hash_path
from stackstore import internal_tls, local_sockets
from stackstore.config import Config, ensure_hash_path_suffix
from stackstore.secrets import ensure_secret
from stackstore.storage_policies import policies_from_conf
from store import layout
from store.diskfile import DiskFileManager
from store.expiring import ExpiringIndex
from store.fsutil import free_bytes
from store.group_commit import GroupCommit
from store.io_threads import IOThreads
from store.listings import AccountStore, ContainerStore
from store.node_address import NodeAddress
from store.node_rings import NodeRings
from store.reqparse import HTTPError
from store.reservations import Reservations
from store.updates import RowUpdater

DEVICE_CHECK_INTERVAL = 1.0
ListingStore = TypeVar("ListingStore", ContainerStore, AccountStore)


class Node:
    """Everything a request handler needs; one per server process."""

    def __init__(self, conf: Config, devices_root: str | Path):
        self.conf = conf
        sconf: dict[str, Any] = conf["store"]
        self.devices_root = str(Path(devices_root).resolve())
        self.hash_suffix = ensure_hash_path_suffix(conf)
        self.policies = policies_from_conf(conf)
        # Every request this node serves must be signed with the cluster's node key, and every request it
        # sends its peers (row updates, the updater, replication) is signed with it too.
        self.node_key = ensure_secret(conf, "node_key").encode()
        loop_pool.set_signing_key(self.node_key)
        loop_pool.set_ssl_context(internal_tls.client_context(conf))  # peers serve HTTPS: verify them
        loop_pool.set_local_sockets(local_sockets.from_conf(conf))  # peers on this host by Unix socket
        self.fallocate_reserve = int(sconf.get("fallocate_reserve", 0))
        self.container_update_timeout = float(sconf.get("container_update_timeout", 2.0))
        self.executor = IOThreads(max_workers=int(sconf.get("io_threads", 32)),
                                           thread_name_prefix="store-io")
        self.group = GroupCommit(self.executor, enabled=bool(sconf.get("fsync", True)),
                                 mode=str(sconf.get("sync_mode", "auto")))
        self.rings = NodeRings(conf.ring_dir, self.hash_suffix)
        for policy in self.policies:  # loaded here, not on the event loop by the first write
            self.rings.next_part_power(policy.index)
        self.diskfiles = DiskFileManager(self.devices_root, self.executor, self.group,
                                         int(sconf.get("block_size", 1 << 20)), self.rings.next_part_power,
                                         int(sconf.get("inline_max_size", 65536)))
        self.reservations = Reservations()  # names held by conditional PUTs (store/reservations.py)
        self.address = NodeAddress.from_store_conf(sconf)  # node_ip/port: set by the server entry point
        self.updater = RowUpdater(self.group, self.container_update_timeout, self.local_containers)
        self._device_ok: dict[str, tuple[float, str]] = {}  # device -> (last seen present, path)
        self._containers: dict[str, ContainerStore] = {}
        self._accounts: dict[str, AccountStore] = {}
        self._expiring: dict[str, ExpiringIndex] = {}
        self._expiring_lock = threading.Lock()  # opened from I/O threads; LMDB allows one env per process

    def device_path(self, device: str) -> str:
        """The device directory; 507 when it is missing (checked at most once a second per device)."""
        now = time.monotonic()
        cached = self._device_ok.get(device)
        if cached is not None and now - cached[0] < DEVICE_CHECK_INTERVAL:
            return cached[1]
        path = layout.device_path(self.devices_root, device)
        if not os.path.isdir(path):
            self._device_ok.pop(device, None)
            raise HTTPError(507, f"{device} is not mounted")
        self._device_ok[device] = (now, path)
        return path

    def check_space(self, device_path: str, size: int) -> None:
        """507 unless ``size`` bytes fit while keeping the configured reserve free.

        Asked of the filesystem on every write, never remembered: this ``statvfs`` is also how a write notices,
        before its body, a device that vanished within the node's presence cache (twice cached, twice reverted:
        tests/objclient/test_cluster.py::test_507_before_the_body_switches_to_a_handoff)."""
        try:
            free = free_bytes(device_path)
        except OSError:
            raise HTTPError(507, "device unavailable") from None
        if free < size + self.fallocate_reserve:
            raise HTTPError(507, "not enough space")

    def object_hash(self, account: str, container: str, obj: str) -> str:
        return hash_path(self.hash_suffix, account, container, obj).hex()

    def containers(self, device: str) -> ContainerStore:
        store = self._containers.get(device)
        if store is None:
            store = self._containers[device] = self._open_listings(ContainerStore, device)
        return store

    def local_containers(self, host: str, port: int, device: str) -> ContainerStore | None:
        """The container DB of ``device`` when a row update addressed to ``host:port`` comes to this very
        node and the device is here, else None (a port this node does not know of: never)."""
        address = self.address
        if address.port is None or port != address.port or not address.owns_ip(host):
            return None
        # not mounted (507) or its DB not openable (500): the row goes out as a request, whose refusal leaves
        # the async pending as for any other node
        try:
            self.device_path(device)
            return self.containers(device)
        except Exception:
            return None

    def accounts(self, device: str) -> AccountStore:
        store = self._accounts.get(device)
        if store is None:
            store = self._accounts[device] = self._open_listings(AccountStore, device)
        return store

    def _open_listings(self, kind: type[ListingStore], device: str) -> ListingStore:
        try:
            return kind(self.device_path(device))
        except OSError:  # the device vanished since device_path() last looked
            raise HTTPError(507, f"{device} is not mounted") from None

    @overload
    def expiring(self, device: str, create: Literal[True] = ...) -> ExpiringIndex: ...
    @overload
    def expiring(self, device: str, create: bool) -> ExpiringIndex | None: ...
    def expiring(self, device: str, create: bool = True) -> ExpiringIndex | None:
        """The device's delete-at index (blocking); None when ``create`` is False and there is none.
        FileNotFoundError when the device is gone."""
        index = self._expiring.get(device)
        if index is not None:
            return index
        path = layout.device_path(self.devices_root, device)
        if not create and not os.path.isdir(layout.expiring_index_path(path)):
            return None
        with self._expiring_lock:
            index = self._expiring.get(device)
            if index is None:
                index = self._expiring[device] = ExpiringIndex(path)
        return index

    def open_container_stores(self) -> list[ContainerStore]:
        """Open the container DB of every device that already has one (for background reporting;
        blocking)."""
        for device in layout.list_devices(self.devices_root):
            if device not in self._containers and os.path.isdir(
                    layout.containers_db_path(layout.device_path(self.devices_root, device))):
                self.containers(device)
        return list(self._containers.values())

    def container_stores(self) -> list[ContainerStore]:
        return list(self._containers.values())

    def sync_listings(self) -> None:
        """Flush every listing and delete-at index environment (about once a second and at shutdown)."""
        with self._expiring_lock:  # called in an I/O thread while others may open an index
            indexes = list(self._expiring.values())
        envs: list[ContainerStore | AccountStore | ExpiringIndex] = [
            *self._containers.values(), *self._accounts.values(), *indexes]
        for store in envs:
            store.sync()

    def close(self) -> None:
        stores: list[ContainerStore | AccountStore] = [*self._containers.values(), *self._accounts.values()]
        for store in stores:
            store.close()
        self._containers.clear()
        self._accounts.clear()
        self.group.close()
        self.executor.shutdown(wait=True)
        for index in self._expiring.values():  # after the I/O threads that write them have finished
            index.close()
        self._expiring.clear()
