"""The sending side of object replication: push one partition's differences to one peer device.

1. ``POST /replicate/obj/<dev>/<part>`` -> the peer's suffix hashes; compare with ours.
2. ``POST /replicate/obj/<dev>/<part>/check`` with our newest files of every differing suffix ->
   the files the peer lacks (or holds older versions of).
3. ``POST /replicate/obj/<dev>/<part>/sync``: one chunked stream carrying all of them (see
   ``framing``); every .data is verified block by block while it is read, so a corrupt local copy
   is quarantined rather than spread.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ring import Device
from store.diskfile import (
    DiskFile,
    DiskFileError,
    DiskFileManager,
    HashDirState,
    suffixes_states,
)
from store.io_threads import run_blocking
from store.layout import partition_path
from store.replication.framing import END, frame_header
from store.replication.transport import PeerError, RateLimiter, call_json, stream_upload

T = TypeVar("T")
Listing = dict[str, dict[str, HashDirState]]  # suffix -> hash -> state


@dataclass
class PushResult:
    """Outcome of one (partition, peer) push."""

    ok: bool
    suffixes_differing: int = 0
    files_sent: int = 0
    bytes_sent: int = 0
    error: str = ""
    listing: Listing = field(default_factory=dict)


def policy_query(policy: int) -> str:
    """``?policy=<N>`` on object replication requests of storage policy N (nothing for policy 0)."""
    return f"?policy={policy}" if policy else ""


def replicate_path(kind: str, dev: Device, partition: int, action: str = "", policy: int = 0) -> str:
    return f"/replicate/{kind}/{dev.device}/{partition}" + (f"/{action}" if action else "") + policy_query(policy)


async def bulk_hashes(peer: Device, partitions: list[int], timeout: float,
                      batch: int = 256, policy: int = 0) -> dict[int, dict[str, str]]:
    """The peer's suffix hashes of many partitions (of storage policy ``policy``), a few requests instead
    of one per partition."""
    out: dict[int, dict[str, str]] = {}
    for i in range(0, len(partitions), batch):
        answer = await call_json(peer.ip, peer.port, "POST", f"/replicate/obj/{peer.device}{policy_query(policy)}",
                                 {"partitions": partitions[i:i + batch]}, timeout)
        if not isinstance(answer, dict):
            raise PeerError("bad bulk hashes answer")
        out.update({int(p): h for p, h in answer.items()})
    return out


def offered_files(state: HashDirState) -> list[str]:
    return [n for n in (state.data or state.tombstone, state.meta) if n]


class Pusher:
    """Pushes partitions of one local device to peers (shared rate limiter, one executor)."""

    def __init__(self, diskfiles: DiskFileManager, device: str, timeout: float, limiter: RateLimiter,
                 policy: int = 0):
        self.diskfiles = diskfiles
        self.device = device
        self.policy = policy  # the storage policy whose objects directory is pushed
        self.device_path = diskfiles.device_path(device)
        self.timeout = timeout
        self.limiter = limiter

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:  # thin executor helper
        return await run_blocking(self.diskfiles.executor, fn, *args)

    def _path(self, peer: Device, partition: int, action: str = "") -> str:
        return replicate_path("obj", peer, partition, action, self.policy)

    def _listing(self, partition: int, suffixes: list[str]) -> Listing:
        part = partition_path(self.device_path, partition, self.policy)
        return suffixes_states(part, suffixes)

    async def push(self, partition: int, local_hashes: dict[str, str], peer: Device,
                   remote: dict[str, str] | None = None) -> PushResult:
        """Make ``peer`` hold at least our newest version of every object of the partition
        (``remote``: the peer's suffix hashes when already known)."""
        try:
            if remote is None:
                remote = await call_json(peer.ip, peer.port, "POST", self._path(peer, partition), {}, self.timeout)
            differing = sorted(s for s, h in local_hashes.items() if remote.get(s) != h)
            result = PushResult(ok=True, suffixes_differing=len(differing))
            if not differing:
                return result
            result.listing = await self._run(self._listing, partition, differing)
            offers = {h: offered_files(st) for states in result.listing.values() for h, st in states.items()}
            want = await call_json(peer.ip, peer.port, "POST", self._path(peer, partition, "check"),
                                   offers, self.timeout) if offers else {}
            if want:
                sent = await stream_upload(peer.ip, peer.port, self._path(peer, partition, "sync"),
                                           self._frames(partition, want, result), self.timeout)
                if not isinstance(sent, dict):
                    raise PeerError("bad sync answer")
            return result
        except (PeerError, DiskFileError, OSError, ValueError) as exc:
            return PushResult(ok=False, error=str(exc))

    async def _frames(self, partition: int, want: dict[str, list[str]],
                      result: PushResult) -> AsyncIterator[bytes | bytearray]:
        for h, names in sorted(want.items()):
            if not isinstance(names, list):
                continue
            df = self.diskfiles.get(self.device, partition, h, "", self.policy)
            await self._run(df.state)  # which of its files are rows
            for name in names:
                async for chunk in self._file(df, name, h):
                    await self.limiter.take(len(chunk))
                    result.bytes_sent += len(chunk)
                    yield chunk
                result.files_sent += 1
        yield END

    async def _file(self, df: DiskFile, name: str, h: str) -> AsyncIterator[bytes | bytearray]:
        """A frame for one file; nothing if it vanished (a newer version replaced it meanwhile)."""
        if name.endswith(".data"):
            try:
                reader = await self._run(df.open_data, name, None)
            except FileNotFoundError:
                return
            except (OSError, ValueError, KeyError, TypeError):
                await self._run(df.quarantine)
                return
            try:
                total = reader.file_size
                yield frame_header({"hash": h, "file": name, "size": total})
                nblocks = -(-reader.size // reader.block_size) if reader.size else 0
                for i in range(nblocks):
                    yield await reader.read_block(i)  # verified; quarantines and raises if corrupt
                yield await self._run(reader.trailer_bytes)
            finally:
                reader.close()
            return
        try:
            blob = await self._run(df.read_file_bytes, name)
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError):
            await self._run(df.quarantine)
            return
        yield frame_header({"hash": h, "file": name, "size": len(blob)})
        yield blob

