"""Quorum arithmetic and the fan-out of small (bodyless) mutations to all replicas."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from objclient.headers import HeaderDict
from objclient.http import HttpError, Pool, Response
from objclient.nodes import Device, ErrorLimiter, write_handoffs
from objclient.rings import Ring
from stackstore.wire import update_target_headers

PathFn = Callable[[Device], str]


def quorum_size(replicas: int) -> int:
    return replicas // 2 + 1


def best_status(statuses: Sequence[int], quorum: int) -> int | None:
    """The status class (2xx, 3xx, 4xx) reached by a quorum, as Swift's proxy picks it (highest code
    of the class); ``None`` when no class has a quorum."""
    for base in (200, 300, 400):
        in_class = [s for s in statuses if base <= s < base + 100]
        if len(in_class) >= quorum:
            return max(in_class)
    return None


def most_common(statuses: Sequence[int]) -> int:
    return Counter(statuses).most_common(1)[0][0]


@dataclass
class NodeResult:
    """One replica's final answer to a small request (503 stands in for "no usable answer")."""

    status: int
    headers: HeaderDict = field(default_factory=HeaderDict)
    body: bytes = b""
    dev: Device | None = None


class NodeIO:
    """The connection pool plus error limiting: every node request goes through here."""

    def __init__(self, pool: Pool, limiter: ErrorLimiter):
        self.pool = pool
        self.limiter = limiter

    def note_status(self, dev: Device, status: int) -> bool:
        """Account a node's status; True if it means "try another node" (507, 5xx)."""
        if status == 507:
            self.limiter.limit_now(dev)
            return True
        if status >= 500:
            self.limiter.error(dev)
            return True
        return False

    async def call(
        self,
        dev: Device,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes = b"",
        timeout: float | None = None,
    ) -> Response | None:
        """Send one request; None (and an error counted) if the node could not be reached/answer."""
        try:
            return await self.pool.request(dev.ip, dev.port, method, path, headers, body, timeout)
        except HttpError:
            self.limiter.error(dev)
            return None

    async def call_small(
        self, dev: Device, method: str, path: str, headers: Mapping[str, str], body: bytes = b""
    ) -> NodeResult | None:
        """:meth:`call` and read the (small) response body."""
        resp = await self.call(dev, method, path, headers, body)
        if resp is None:
            return None
        try:
            data = await resp.read()
        except HttpError:
            self.limiter.error(dev)
            return None
        return NodeResult(resp.status, resp.headers, data, dev)

    async def fanout(
        self,
        ring: Ring,
        part: int,
        method: str,
        path_fn: PathFn,
        slot_headers: Sequence[Mapping[str, str]],
        body: bytes = b"",
    ) -> list[NodeResult]:
        """Send one request per primary slot at once; a slot whose node is error-limited, unreachable
        or answers 5xx/507 moves on to the next handoff. One result per slot."""
        primaries = list(ring.primaries(part))
        handoffs = write_handoffs(ring, part, self.limiter, len(primaries))

        async def slot(i: int) -> NodeResult:
            dev: Device | None = primaries[i]
            if self.limiter.is_limited(primaries[i]):
                dev = next(handoffs, None)
            while dev is not None:
                result = await self.call_small(dev, method, path_fn(dev), slot_headers[i], body)
                if result is not None and not self.note_status(dev, result.status):
                    return result
                dev = next(handoffs, None)
            return NodeResult(503)

        return list(await asyncio.gather(*(slot(i) for i in range(len(primaries)))))


def paired_with_slots(nodes: Sequence[Device], slot_devices: Sequence[Device]) -> list[Device]:
    """A container's replicas ``nodes`` in the order of the object's slots (``slot_devices``, its primaries):
    each replica goes, where there is one, to the slot whose object device is on the same server (address
    and port), so that node merges the listing row into its own DB instead of sending a request
    (store.updates); the others fill the slots left in ring order. Every replica still gets its row from
    exactly one slot, as in Swift (any pairing serves). Unchanged when the counts differ."""
    if len(nodes) != len(slot_devices):
        return list(nodes)
    paired: list[Device | None] = [None] * len(nodes)
    left = list(nodes)
    for i, dev in enumerate(slot_devices):
        for j, node in enumerate(left):
            if node.port == dev.port and node.ip == dev.ip:
                paired[i] = left.pop(j)
                break
    rest = iter(left)
    return [node if node is not None else next(rest) for node in paired]


def slot_update_headers(
    prefix: str, ring: Ring, part: int, nodes: Sequence[Device], count: int
) -> Iterator[dict[str, str]]:
    """``X-<prefix>-Host/-Device/-Partition`` for each of ``count`` slots: slot i gets the i-th of ``nodes``
    (cycled when there are fewer nodes than slots) and, when there are more nodes than slots (an object
    policy with fewer replicas than the container ring), also every ``count``-th one after it, so each
    node is updated by some slot (Swift's comma-separated update lists)."""
    host_header, device_header, partition_header = update_target_headers(prefix)
    for i in range(count):
        if not nodes:
            yield {}
            continue
        targets = [nodes[j] for j in range(i, len(nodes), count)] or [nodes[i % len(nodes)]]
        hosts = ",".join(f"[{d.ip}]:{d.port}" if ":" in d.ip else f"{d.ip}:{d.port}" for d in targets)
        yield {host_header: hosts, device_header: ",".join(d.device for d in targets),
               partition_header: str(part)}
