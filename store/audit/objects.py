"""Verify one object hash dir: metadata trailer and checksum, every block's xxh3, tombstones.

The result also carries the object's delete-at index entry (when it has X-Delete-At), so the
auditor can re-add entries the index lost.

A copy that fails is moved to ``<device>/quarantined/objects/`` by diskfile's quarantine, which
also invalidates the partition's suffix hash, so replication brings a good copy back. Reads
happen in the node's I/O threads; the caller's limiters pace them.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from store import diskfile
from store.diskfile import (
    DiskFile,
    DiskFileNotFound,
    DiskFileQuarantined,
    ObjectReader,
)
from store.expiring import Entry, entry_for

log = logging.getLogger("store.auditor")
BLOCKS_PER_HOP = 8  # blocks verified per trip to an I/O thread (large objects)


@dataclass
class AuditResult:
    """What auditing one hash dir found."""

    checked: bool = False  # a .data (or tombstone) was verified
    bytes: int = 0
    quarantined: str | None = None  # reason, when the copy was quarantined
    expiring: Entry | None = None  # the delete-at index entry of a good copy with X-Delete-At


def _quarantine(df: DiskFile, reason: str) -> str:
    df.quarantine()  # also marks the suffix for replication
    log.warning("quarantined %s: %s", df.dir, reason)
    return reason


def _open(df: DiskFile, result: AuditResult) -> ObjectReader | None:
    """Open the newest .data (metadata verified), or check the tombstone; None when nothing to read."""
    state = df.state()
    if state.data is None:
        if state.tombstone is not None:
            try:
                df.read_marker(state.tombstone)  # a file or a row
                result.checked = True
            except FileNotFoundError:
                pass
            except (OSError, ValueError):
                result.quarantined = _quarantine(df, "bad tombstone")
        return None
    try:
        reader = df.open(state, now=0.0)  # now=0: expired objects are audited too
    except DiskFileNotFound:
        return None
    except DiskFileQuarantined as exc:  # open() already moved it
        result.quarantined = str(exc)
        log.warning("quarantined %s: %s", df.dir, exc)
        return None
    result.checked = True
    return reader


def _verify_blocks(reader: ObjectReader, first: int, last: int) -> int:
    return sum(reader.verify_block(i) for i in range(first, last))


def _verify_or_quarantine(df: DiskFile, reader: ObjectReader, first: int, last: int,
                          result: AuditResult) -> int | None:
    """Verify blocks ``first`` to ``last`` (blocking): the bytes verified, or None when the object is bad (its
    reader closed, the hash dir quarantined, the reason in ``result``). Errors other than a failed check or
    EIO are raised."""
    try:
        return _verify_blocks(reader, first, last)
    except DiskFileQuarantined as exc:
        reason = str(exc)
    except OSError as exc:
        if exc.errno != errno.EIO:
            reader.close()
            raise
        reason = f"read error: {exc}"
    except BaseException:
        reader.close()
        raise
    reader.close()
    result.quarantined = _quarantine(df, reason)
    return None


def _open_small(df: DiskFile, result: AuditResult) -> tuple[ObjectReader | None, int | None]:
    """``_open``, and for an object read whole (up to ``SMALL_FILE``) every block verified in the same trip to
    the I/O thread: (reader, bytes verified); bytes None when the caller verifies a larger object's blocks."""
    reader = _open(df, result)
    if reader is None or reader.size > diskfile.SMALL_FILE:
        return reader, None
    nbytes = _verify_or_quarantine(df, reader, 0, reader.block_count, result)
    return (reader, nbytes) if nbytes is not None else (None, None)


async def audit_hash_dir(df: DiskFile, run: Callable[..., Awaitable],
                         pace: Callable[[int], Awaitable[None]], partition: int | None = None) -> AuditResult:
    """Audit one hash dir. ``run(fn, *args)`` runs blocking work off the loop; ``pace(nbytes)``
    waits as the byte rate limit requires; with ``partition`` the result has its index entry."""
    result = AuditResult()
    reader, nbytes = await run(_open_small, df, result)  # a small object: opened and verified in one trip
    if reader is None:
        return result
    if partition is not None:
        result.expiring = entry_for(reader, df.hash_hex, partition, df.policy)
    try:
        if nbytes is not None:
            result.bytes += nbytes
            await pace(nbytes)
            return result
        count = reader.block_count
        for first in range(0, count, BLOCKS_PER_HOP):
            nbytes = await run(_verify_or_quarantine, df, reader, first, min(first + BLOCKS_PER_HOP, count), result)
            if nbytes is None:
                result.expiring = None
                return result
            result.bytes += nbytes
            await pace(nbytes)
    finally:
        reader.close()
    return result


async def audit_hash_dirs(dfs: list[DiskFile], run: Callable[..., Awaitable], pace: Callable[[int], Awaitable[None]],
                          partition: int | None = None) -> list[AuditResult | OSError]:
    """``audit_hash_dir`` of several hash dirs, in order: the small objects (and tombstones) of all of them opened
    and verified in one trip to an I/O thread (a trip per object cost far more than auditing a small one,
    docs/benchmarks.md session 27), a larger object audited on its own afterwards. An ``OSError`` in place of a
    result is that hash dir's failure; the others are audited."""
    opened = await run(_audit_small_each, dfs, partition)
    out: list[AuditResult | OSError] = []
    for df, item in zip(dfs, opened, strict=True):
        try:
            if item is None:  # larger than SMALL_FILE: its blocks are verified a few per trip
                item = await audit_hash_dir(df, run, pace, partition)
            elif not isinstance(item, OSError) and item.bytes:
                await pace(item.bytes)
        except OSError as exc:
            item = exc
        out.append(item)
    return out


def _audit_small_each(dfs: list[DiskFile], partition: int | None) -> list[AuditResult | OSError | None]:
    """For each hash dir: its result when it holds no object larger than ``SMALL_FILE`` (verified here; with
    ``partition``, its index entry), the ``OSError`` it raised, or None for a larger object (left to
    ``audit_hash_dir``)."""
    out: list[AuditResult | OSError | None] = []
    for df in dfs:
        result = AuditResult()
        try:
            reader, nbytes = _open_small(df, result)
        except OSError as exc:
            out.append(exc)
            continue
        if reader is not None and nbytes is None:
            reader.close()
            out.append(None)
            continue
        if reader is not None:
            try:
                if partition is not None:
                    result.expiring = entry_for(reader, df.hash_hex, partition, df.policy)
            finally:
                reader.close()
            result.bytes += nbytes or 0
        out.append(result)
    return out
