"""Reading a tar archive (plain, gzip or bzip2) from an async byte stream, one member at a time.

``tarfile`` is synchronous, so it runs in a thread of its own (``r|`` stream mode: it never seeks and
never holds more than a block). That thread pulls the request body from the event loop chunk by chunk
and hands each regular file's header and data back through a small bounded queue, so at most
``QUEUE_DEPTH`` chunks of the archive are in memory and the thread waits while the consumer (a PUT
sub-request) is slower than the client. Nothing touches the disk.
"""

from __future__ import annotations

import asyncio
import tarfile
import threading
from collections.abc import AsyncIterator
from typing import IO, Any, cast

CHUNK_SIZE = 65536
QUEUE_DEPTH = 4

_MEMBER, _DATA, _MEMBER_END, _END, _ERROR = "member", "data", "member_end", "end", "error"


class _Stopped(Exception):
    """The consumer closed the stream: the reading thread gives up."""


class _BodyReader:
    """A blocking file-like ``read`` over an async iterator of bytes, for the reading thread."""

    def __init__(self, chunks: AsyncIterator[bytes], loop: asyncio.AbstractEventLoop, stop: threading.Event):
        self.chunks, self.loop, self.stop = chunks, loop, stop
        self.buffer = bytearray()
        self.eof = False

    async def _pull(self) -> bytes:
        return await anext(self.chunks, b"")

    def read(self, size: int = -1) -> bytes:
        while not self.eof and (size < 0 or len(self.buffer) < size):
            if self.stop.is_set():
                raise _Stopped()
            chunk = asyncio.run_coroutine_threadsafe(self._pull(), self.loop).result()
            if chunk:
                self.buffer += chunk
            else:
                self.eof = True
        size = len(self.buffer) if size < 0 else min(size, len(self.buffer))
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data


class TarStream:
    """The regular files of a tar archive read from ``chunks`` (``compression``: ``""``, ``gz``, ``bz2``).

    Use as ``async with``; ``next_file()`` gives each file's ``TarInfo`` (None at the end) and
    ``file_chunks()`` the current file's data. Archive errors (``tarfile.TarError``, corrupt
    compression) are raised from these calls."""

    def __init__(self, chunks: AsyncIterator[bytes], compression: str):
        self.chunks = chunks
        self.mode = "r|" + compression
        self.queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(QUEUE_DEPTH)
        self.stop = threading.Event()
        self.finished: asyncio.Future[None] | None = None
        self.in_member = False

    async def __aenter__(self) -> TarStream:
        loop = asyncio.get_running_loop()
        self.finished = loop.create_future()
        thread = threading.Thread(target=self._read_archive, args=(loop,), name="tar-stream", daemon=True)
        thread.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop the reading thread (it may be waiting on a full queue) and wait for it."""
        self.stop.set()
        assert self.finished is not None
        while not self.finished.done():
            try:
                self.queue.get_nowait()
            except asyncio.QueueEmpty:
                await asyncio.wait([self.finished], timeout=0.05)

    async def next_file(self) -> tarfile.TarInfo | None:
        """The next regular file's header (the rest of the current file's data is skipped); None at the end."""
        while True:
            kind, value = await self._get()
            if kind == _MEMBER:
                self.in_member = True
                member: tarfile.TarInfo = value
                return member
            if kind == _END:
                return None

    async def file_chunks(self) -> AsyncIterator[bytes]:
        """The data of the file ``next_file`` returned last, in chunks."""
        while self.in_member:
            kind, value = await self._get()
            if kind == _DATA:
                yield value
            elif kind == _MEMBER_END:
                self.in_member = False

    async def _get(self) -> tuple[str, Any]:
        kind, value = await self.queue.get()
        if kind == _ERROR:
            self.in_member = False
            raise value
        if kind in (_MEMBER_END, _END):
            self.in_member = False
        return kind, value

    def _read_archive(self, loop: asyncio.AbstractEventLoop) -> None:
        """The reading thread: every regular file's header, data chunks and end, then the archive's end."""

        def put(kind: str, value: Any = None) -> None:
            if self.stop.is_set():
                raise _Stopped()
            asyncio.run_coroutine_threadsafe(self.queue.put((kind, value)), loop).result()

        try:
            reader = cast(IO[bytes], _BodyReader(self.chunks, loop, self.stop))  # a read()-only file object
            with tarfile.open(mode=self.mode, fileobj=reader) as tar:  # type: ignore[call-overload]
                for info in tar:
                    if not info.isfile():
                        continue
                    put(_MEMBER, info)
                    member = tar.extractfile(info)
                    assert member is not None
                    while chunk := member.read(CHUNK_SIZE):
                        put(_DATA, chunk)
                    put(_MEMBER_END)
            put(_END)
        except _Stopped:
            pass
        except BaseException as exc:  # handed to the consumer, raised where it reads
            try:
                put(_ERROR, exc)
            except _Stopped:
                pass
        finally:
            loop.call_soon_threadsafe(_finish, self.finished)


def _finish(future: asyncio.Future[None] | None) -> None:
    if future is not None and not future.done():
        future.set_result(None)
