"""Separate network hosts on this machine: one network namespace per host, all on one bridge.

The bridge lives in a namespace of its own (the "switch"); each host namespace gets a veth pair whose
outer end is a port of that bridge, and an address on a private /24. Traffic never leaves the machine
and never touches the root namespace (on some kernels root <-> namespace veth traffic is filtered). Taking
a host's switch port down is a cable pulled out: its processes keep running and nobody reaches them.

The test process talks to the hosts from a thread that has entered a client namespace (``Client``).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
CLONE_NEWNET = 0x40000000


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=30)


class Network:
    """A switch namespace with a bridge, and host namespaces plugged into it (names share a prefix)."""

    def __init__(self, prefix: str, subnet: str = "10.211.0"):
        self.prefix = prefix
        self.subnet = subnet
        self.switch = f"{prefix}sw"
        self.hosts: dict[str, str] = {}  # host name -> address
        self.procs: list[subprocess.Popen] = []
        self.namespaces: list[str] = []  # created so far, removed by destroy()
        try:
            self._add_ns(self.switch)
            _ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
            _ip("-n", self.switch, "link", "set", "br0", "up")
        except BaseException:
            self.destroy()
            raise

    def _add_ns(self, ns: str) -> None:
        _ip("netns", "add", ns)
        self.namespaces.append(ns)

    def ns(self, host: str) -> str:
        """The namespace name of ``host``."""
        return f"{self.prefix}{host}"

    def port(self, host: str) -> str:
        """The switch port (outer veth end) of ``host``."""
        return f"{self.prefix}{host}p"[:15]

    def add_host(self, host: str, octet: int) -> str:
        """Create ``host`` with address ``<subnet>.<octet>`` plugged into the switch; returns the address."""
        ns, outer, inner = self.ns(host), self.port(host), f"{self.prefix}{host}i"[:15]
        self._add_ns(ns)
        _ip("link", "add", inner, "type", "veth", "peer", "name", outer)
        self.hosts[host] = ""  # removed by destroy() from here on, even if the rest fails
        _ip("link", "set", inner, "netns", ns)
        _ip("link", "set", outer, "netns", self.switch)
        _ip("-n", ns, "link", "set", inner, "name", "eth0")
        addr = f"{self.subnet}.{octet}"
        _ip("-n", ns, "addr", "add", f"{addr}/24", "dev", "eth0")
        _ip("-n", ns, "link", "set", "eth0", "up")
        _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", self.switch, "link", "set", outer, "master", "br0")
        _ip("-n", self.switch, "link", "set", outer, "up")
        self.hosts[host] = addr
        return addr

    def unplug(self, host: str) -> None:
        """Take ``host``'s switch port down: nothing reaches it, its processes keep running."""
        _ip("-n", self.switch, "link", "set", self.port(host), "down")

    def plug(self, host: str) -> None:
        """Bring ``host``'s switch port back up."""
        _ip("-n", self.switch, "link", "set", self.port(host), "up")

    def spawn(self, host: str, argv: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
        """Start ``argv`` inside ``host``'s namespace, output to ``log``."""
        with open(log, "ab") as out:
            proc = subprocess.Popen(["ip", "netns", "exec", self.ns(host), *argv], stdout=out,
                                    stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.procs.append(proc)
        return proc

    def destroy(self) -> None:
        """Stop every process started here and delete every namespace (safe to call more than once)."""
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for ns in reversed(self.namespaces):
            _ip("link", "del", f"{ns}i"[:15], check=False)  # a veth pair created but not moved yet
            for pid in _ip("netns", "pids", ns, check=False).stdout.split():  # anything left in it
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            _ip("netns", "del", ns, check=False)
        self.namespaces.clear()
        self.hosts.clear()


def remove_stale(prefix_start: str) -> None:
    """Delete namespaces (``<prefix_start><pid>x...``) left by a test process that died before it could
    clean up (e.g. SIGKILL), with the service processes still running in them."""
    for line in _ip("netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        owner = name[len(prefix_start):].split("x")[0]
        if not name.startswith(prefix_start) or not owner.isdigit() or Path(f"/proc/{owner}").exists():
            continue
        for pid in _ip("netns", "pids", name, check=False).stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        _ip("netns", "del", name, check=False)


class Client:
    """Run functions in a thread whose network namespace is a host's (``os.setns`` is per thread)."""

    def __init__(self, ns: str):
        self.ns = ns
        self.pool = ThreadPoolExecutor(max_workers=4, initializer=self._enter)

    def _enter(self) -> None:
        fd = os.open(f"/run/netns/{self.ns}", os.O_RDONLY)
        try:
            if ctypes.CDLL(None, use_errno=True).setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns failed")
        finally:
            os.close(fd)

    def run(self, fn: Callable[..., T], *args: object, timeout: float = 60.0) -> T:
        """``fn(*args)`` inside the namespace; its result."""
        return self.pool.submit(fn, *args).result(timeout)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
