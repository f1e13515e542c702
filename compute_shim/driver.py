"""The hypervisor interface of a compute host, and the default driver that runs no guest."""

from __future__ import annotations

import asyncio
from typing import Protocol

from compute_shim.models import Server


class Driver(Protocol):
    async def spawn(self, server: Server) -> None: ...
    async def power_off(self, server: Server) -> None: ...
    async def power_on(self, server: Server) -> None: ...
    async def reboot(self, server: Server, hard: bool) -> None: ...
    async def destroy(self, server: Server) -> None: ...


class NullDriver:
    """Servers are records only; ``spawn`` takes ``build_delay`` seconds so BUILD is observable."""

    def __init__(self, build_delay: float = 0.0):
        self.build_delay = build_delay

    async def spawn(self, server: Server) -> None:
        await asyncio.sleep(self.build_delay)

    async def power_off(self, server: Server) -> None:
        return None

    async def power_on(self, server: Server) -> None:
        return None

    async def reboot(self, server: Server, hard: bool) -> None:
        return None

    async def destroy(self, server: Server) -> None:
        return None


def load_driver(name: str, build_delay: float) -> Driver:
    if name in ("null", "fake", ""):
        return NullDriver(build_delay)
    raise ValueError(f"unknown compute driver {name!r}")
