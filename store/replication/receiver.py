"""The receiving side of object replication: suffix hashes, wanted files, the file stream."""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import TypeGuard

from stackstore.timestamp import Timestamp
from store import expiring
from store.diskfile import DiskFile, DiskFileWriter, HashDirState
from store.layout import partition_path
from store.node import Node
from store.replication.framing import FrameReader
from store.replication.suffix_hashes import get_hashes

log = logging.getLogger("store.replication")
COMMITS_IN_FLIGHT = 32


def _ts(name: str) -> Timestamp:
    return Timestamp(name.rsplit(".", 1)[0])


def wanted(state: HashDirState, offered: list[str]) -> list[str]:
    """Which of the sender's files (newest .data/.ts, optional .meta) would change this replica."""
    out: list[str] = []
    newest = state.newest
    for name in offered:
        if name.endswith((".data", ".ts")):
            if newest is None or _ts(name) > newest:
                out.append(name)
                newest = _ts(name)
    for name in offered:
        if name.endswith(".meta"):
            ts = _ts(name)
            local_meta = state.meta_timestamp
            if (newest is None or ts > newest) and (local_meta is None or ts > local_meta):
                out.append(name)
    return out


async def suffix_hashes(node: Node, device: str, partition: int, recalc: list[str],
                        reclaim_age: float) -> dict[str, str]:
    path = partition_path(node.device_path(device), partition)
    return await asyncio.get_running_loop().run_in_executor(
        node.executor, functools.partial(get_hashes, path, reclaim_age, recalc))


def check_offers(node: Node, device: str, partition: int, offers: dict[str, list[str]]) -> dict[str, list[str]]:
    """``hash -> wanted file names`` for the sender's offer (blocking: listdirs)."""
    node.device_path(device)
    out: dict[str, list[str]] = {}
    for h, files in offers.items():
        if not _valid_hash(h) or not isinstance(files, list):
            continue
        state = node.diskfiles.get(device, partition, h, "").state()
        want = wanted(state, [f for f in files if isinstance(f, str)])
        if want:
            out[h] = want
    return out


def _valid_hash(h: object) -> TypeGuard[str]:
    return isinstance(h, str) and len(h) == 32 and all(c in "0123456789abcdef" for c in h)


async def _commit(writer: DiskFileWriter, name: str) -> None:
    try:
        await writer.commit_raw(name)
    finally:
        await writer.aclose()


async def receive_stream(node: Node, device: str, partition: int, reader: FrameReader,
                         in_flight: int = COMMITS_IN_FLIGHT) -> dict[str, int]:
    """Write every streamed file that is still newer than what this replica holds, durably.

    Bodies are read in stream order; up to ``in_flight`` commits wait for durability at once (they
    share group-commit rounds). The answer is sent only once every file is durable, and once the
    objects that got a .data or .meta are in the device's delete-at index when they carry X-Delete-At
    (a first primary may learn of an object only this way).
    """
    node.device_path(device)
    loop = asyncio.get_running_loop()
    written = skipped = 0
    changed: set[str] = set()  # hashes whose .data/.meta was replaced
    pending: set[asyncio.Task] = set()
    try:
        while (header := await reader.next_header()) is not None:
            h, name, size = header.get("hash"), header.get("file"), header.get("size")
            if not _valid_hash(h) or not isinstance(name, str) or not isinstance(size, int) or size < 0:
                raise ValueError("bad frame header")
            df: DiskFile = node.diskfiles.get(device, partition, h, "")
            if name not in wanted(await loop.run_in_executor(node.executor, df.state), [name]):
                async for _ in reader.body(size):
                    pass
                skipped += 1
                continue
            writer = df.writer()
            try:
                async for chunk in reader.body(size):
                    await writer.write_raw(chunk)
            except BaseException:
                await writer.aclose()
                raise
            pending.add(asyncio.ensure_future(_commit(writer, name)))
            written += 1
            if name.endswith((".data", ".meta")):
                changed.add(h)
            if len(pending) >= in_flight:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()
        if pending:
            await asyncio.gather(*pending)
            pending = set()
    finally:
        for task in pending:
            task.cancel()
    if changed:
        await expiring.record_stored(node, device, partition, changed)
    return {"written": written, "skipped": skipped}
