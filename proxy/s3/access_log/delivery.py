"""Delivery of access log records: batched per target in the proxy, written as objects into the target bucket.

Each proxy worker keeps one ``LogDelivery`` (``delivery_of(state)``). Records are appended to the batch of
their target (target account and bucket, key prefix, and for ``PartitionedPrefix`` with ``EventTime`` the
day of the events); a background task writes every batch as one object each
``[s3] access_log_flush_seconds``, and a batch reaching ``access_log_object_bytes`` is written at once.
Memory is bounded: past ``access_log_max_pending_bytes`` buffered, new records are dropped (counted and
logged). Delivery is best effort, as AWS's: a failed write is retried ``RETRIES`` times, then the batch is
dropped with a warning. Requests never wait for it.

Object keys, as AWS names them: ``<TargetPrefix>YYYY-mm-DD-HH-MM-SS-<UniqueString>`` (SimplePrefix) or
``<TargetPrefix><SourceAccountId>/<SourceRegion>/<SourceBucket>/YYYY/mm/DD/YYYY-mm-DD-HH-MM-SS-<UniqueString>``
(PartitionedPrefix). The unique string (16 hex digits) is random per object, so several workers and proxies
never write the same key.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from proxy.context import ProxyState
from proxy.s3.access_log.config import DELIVERY_TIME, LoggingConfig
from proxy.s3.namespace import owner_account

log = logging.getLogger("stackstore.proxy.s3.access_log")

STATE_KEY = "s3_access_log_delivery"
RETRIES = 3
RETRY_PAUSE = 1.0


@dataclass(frozen=True)
class BatchKey:
    """Records written together into one object."""

    account: str  # the source (and target) bucket owner's account
    target_bucket: str
    prefix: str  # the key up to the time stamp (partitioned: with the date path of EventTime)


@dataclass
class Batch:
    lines: list[bytes] = field(default_factory=list)
    size: int = 0


def _stamp(epoch: float) -> str:
    return time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(epoch))


def key_prefix(config: LoggingConfig, source_account_id: str, region: str, source_bucket: str,
               event_time: float) -> str:
    """The object key before the time stamp; for DeliveryTime partitions the date path is added at delivery."""
    if not config.partitioned:
        return config.target_prefix
    base = f"{config.target_prefix}{source_account_id}/{region}/{source_bucket}/"
    if config.date_source == DELIVERY_TIME:
        return base
    return base + time.strftime("%Y/%m/%d/", time.gmtime(event_time))


def object_key(prefix: str, delivered: float) -> str:
    """The full key of a log object delivered at ``delivered``."""
    unique = os.urandom(8).hex().upper()
    return f"{prefix}{_stamp(delivered)}-{unique}"


class LogDelivery:
    """The batches of one proxy worker and the task writing them."""

    def __init__(self, state: ProxyState):
        conf = state.conf.get("s3", {}) if hasattr(state.conf, "get") else {}
        self.state = state
        self.flush_seconds = float(conf.get("access_log_flush_seconds", 60.0))
        self.object_bytes = int(conf.get("access_log_object_bytes", 1 << 20))
        self.max_pending = int(conf.get("access_log_max_pending_bytes", 16 << 20))
        self.batches: dict[BatchKey, Batch] = {}
        self.pending = 0
        self.dropped = 0
        self.partitioned_by_delivery: set[BatchKey] = set()
        self._task: asyncio.Task | None = None
        self._writes: set[asyncio.Task] = set()

    def add(self, key: BatchKey, line: str, partition_at_delivery: bool = False) -> None:
        """Queue one record (never blocks; dropped when the memory bound is reached)."""
        data = line.encode("utf-8", "replace")
        if self.pending + len(data) > self.max_pending:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("S3 access log: %d records dropped, %d bytes waiting for delivery",
                            self.dropped, self.pending)
            return
        batch = self.batches.setdefault(key, Batch())
        batch.lines.append(data)
        batch.size += len(data)
        self.pending += len(data)
        if partition_at_delivery:
            self.partitioned_by_delivery.add(key)
        self._ensure_task()
        if batch.size >= self.object_bytes:
            self._start_write(key)

    def _ensure_task(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_seconds)
            for key in list(self.batches):
                self._start_write(key)

    def _start_write(self, key: BatchKey) -> None:
        batch = self.batches.pop(key, None)
        if batch is None or not batch.lines:
            return
        by_delivery = key in self.partitioned_by_delivery
        self.partitioned_by_delivery.discard(key)
        task = asyncio.get_running_loop().create_task(self._deliver(key, batch, by_delivery))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def flush(self) -> None:
        """Write every batch now and wait for the writes (shutdown, tests)."""
        for key in list(self.batches):
            self._start_write(key)
        if self._writes:
            await asyncio.gather(*list(self._writes), return_exceptions=True)

    async def _deliver(self, key: BatchKey, batch: Batch, by_delivery: bool) -> None:
        try:
            for attempt in range(RETRIES + 1):
                try:
                    if await self._write(key, batch, by_delivery):
                        return
                except Exception:
                    log.warning("S3 access log delivery to %s failed", key.target_bucket, exc_info=True)
                if attempt < RETRIES:
                    await asyncio.sleep(RETRY_PAUSE * (attempt + 1))
            log.warning("S3 access log: %d records for bucket %s dropped after %d attempts",
                        len(batch.lines), key.target_bucket, RETRIES + 1)
        finally:
            self.pending -= batch.size

    async def _write(self, key: BatchKey, batch: Batch, by_delivery: bool) -> bool:
        """One attempt; True when written, or when the target can no longer take logs (nothing to retry)."""
        owner = await owner_account(self.state, key.target_bucket)
        info = await self.state.container_info(key.account, key.target_bucket)
        if owner not in (None, key.account) or not 200 <= info.get("status", 404) < 300:
            log.warning("S3 access log: target bucket %s is gone or changed owner; %d records dropped",
                        key.target_bucket, len(batch.lines))
            return True
        now = time.time()
        prefix = key.prefix
        if by_delivery:
            prefix += time.strftime("%Y/%m/%d/", time.gmtime(now))
        name = object_key(prefix, now)

        async def body() -> AsyncIterator[bytes]:
            for line in batch.lines:
                yield line

        resp = await self.state.client.put_object(key.account, key.target_bucket, name,
                                                  {"Content-Type": "text/plain"}, body(), batch.size)
        if resp.status // 100 != 2:
            log.warning("S3 access log: writing %s/%s answered %s", key.target_bucket, name, resp.status)
            return False
        self.state.invalidate_info(key.account, key.target_bucket)
        return True


def delivery_of(state: ProxyState) -> LogDelivery:
    """This worker's delivery (made on first use)."""
    found = state.extras.get(STATE_KEY)
    if found is None:
        found = state.extras[STATE_KEY] = LogDelivery(state)
    return found


SHUTDOWN_FLUSH_SECONDS = 10.0


async def flush_at_shutdown(state: ProxyState) -> None:
    """Deliver what this worker still holds before it stops (bounded: ``SHUTDOWN_FLUSH_SECONDS``)."""
    found: LogDelivery | None = state.extras.get(STATE_KEY)
    if found is None:
        return
    if found._task is not None:
        found._task.cancel()
    try:
        await asyncio.wait_for(found.flush(), SHUTDOWN_FLUSH_SECONDS)
    except TimeoutError:
        log.warning("S3 access log: delivery unfinished at shutdown, %d bytes of records lost", found.pending)
