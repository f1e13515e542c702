"""Kernel-side relay of bytes from one socket to another: ``splice(2)`` through a pipe, driven by the event loop.

A proxy that streams a node's answer to its client receives every byte into user space and sends it again:
two copies in the kernel and one in the event loop's ``bytes`` objects per byte, for nothing it looks at.
:func:`relay` moves ``count`` bytes from a source socket to a destination socket through a pipe instead,
the pages never leaving the kernel (``SPLICE_F_MOVE``). It runs on the event loop: both descriptors are
non-blocking sockets owned by transports, which the caller keeps quiet meanwhile (the source's transport
paused, nothing queued in the destination's). The relay works on ``dup``'ed descriptors, taken before its first
wait: an event loop refuses readers and writers on a descriptor its transport owns (a duplicate is a separate
number for the same socket, removed from the loop's poller before it is closed), and a transport may close its
socket while the relay waits (a client leaving), after which its number can be handed to the next socket the
process opens: a splice on the caller's number then would write one connection's bytes into another's.

:func:`send_file` is the same for a file's bytes (a storage node's object body): ``sendfile(2)`` from the page
cache to the socket, awaiting writability the same way; a caller that sends a body in several calls with waits
between them holds one :func:`duplicate` of the socket across all of them, for the same reason.

Linux only (``os.splice``); :func:`available` says whether it can be used here.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

PIPE_SIZE = 1 << 20  # bytes a relay's pipe holds (F_SETPIPE_SZ; the kernel's default limit for a user)
_F_SETPIPE_SZ = 1031
_FLAGS = getattr(os, "SPLICE_F_MOVE", 1) | getattr(os, "SPLICE_F_NONBLOCK", 2)
_SPARE_PIPES = 32  # empty pipes kept for the next relays

_spare: list[tuple[int, int]] = []


def available() -> bool:
    """Whether this platform has ``splice(2)``."""
    return hasattr(os, "splice")


@contextmanager
def duplicate(fd: int) -> Iterator[int]:
    """A duplicate of descriptor ``fd``, closed on leaving: it names ``fd``'s socket for as long as it is held,
    even after the socket's transport closes ``fd`` and the number goes to another socket."""
    dup = os.dup(fd)
    try:
        yield dup
    finally:
        os.close(dup)


def _pipe() -> tuple[int, int]:
    if _spare:
        return _spare.pop()
    rd, wr = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        fcntl.fcntl(wr, _F_SETPIPE_SZ, PIPE_SIZE)
    except OSError:  # over /proc/sys/fs/pipe-max-size: the default size works too
        pass
    return rd, wr


def _release(pipe: tuple[int, int], empty: bool) -> None:
    if empty and len(_spare) < _SPARE_PIPES:
        _spare.append(pipe)
    else:
        os.close(pipe[0])
        os.close(pipe[1])


@dataclass
class Relayed:
    """What :func:`relay` did: ``moved`` bytes reached the destination; ``source_error`` says why the source
    stopped early (None: all ``count`` bytes came), ``destination_error`` why the destination did."""

    moved: int
    source_error: str | None = None
    destination_error: str | None = None


class _Readiness:
    """Readiness of a relay's source (readable) and destination (writable), on duplicates (see the module).

    A relay waits many times per body (every time its pipe fills or empties), so what it asks for stays
    registered between waits: the poller is updated only when the side awaited changes (``want``), not twice
    per wait, and a wait without a timeout arms no timer. Which side woke the last wait is kept in
    ``readable`` / ``writable`` until the relay clears it."""

    def __init__(self, loop: asyncio.AbstractEventLoop, source: int | None, destination: int):
        self.loop = loop
        self.source = os.dup(source) if source is not None else -1
        try:
            self.destination = os.dup(destination)
        except OSError:
            if self.source >= 0:
                os.close(self.source)
            raise
        self._reading = self._writing = False  # registered with the loop
        self.readable = self.writable = False  # woken since the relay last cleared them
        self._waiter: asyncio.Future[bool] | None = None

    def _source_ready(self) -> None:
        self.readable = True
        self._wake(True)

    def _destination_ready(self) -> None:
        self.writable = True
        self._wake(True)

    def _wake(self, ready: bool) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(ready)

    def want(self, readable: bool, writable: bool) -> None:
        """Keep the source's readability and the destination's writability watched, or not."""
        if readable != self._reading:
            if readable:
                self.loop.add_reader(self.source, self._source_ready)
            else:
                self.loop.remove_reader(self.source)
            self._reading = readable
        if writable != self._writing:
            if writable:
                self.loop.add_writer(self.destination, self._destination_ready)
            else:
                self.loop.remove_writer(self.destination)
            self._writing = writable

    async def wait(self, readable: bool, writable: bool, timeout: float | None) -> bool:
        """Until the source is readable (``readable``) or the destination writable (``writable``); False on
        timeout. A side left watched (level-triggered) wakes the next wait at once while it stays ready, so the
        caller asks only for the sides it can act on."""
        self.want(readable, writable)
        waiter: asyncio.Future[bool] = self.loop.create_future()
        self._waiter = waiter
        timer = self.loop.call_later(timeout, self._wake, False) if timeout is not None else None
        try:
            return await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()

    def close(self) -> None:
        """Stop watching (before the duplicates are closed: a poller must not keep a closed number) and close."""
        self.want(False, False)
        if self.source >= 0:
            os.close(self.source)
        os.close(self.destination)


async def transport_emptied(transport: asyncio.WriteTransport, gone: Callable[[], bool]) -> None:
    """Until ``transport`` has sent everything written to it (its bytes must leave before any moved beside it in
    the kernel) or ``gone()`` says its peer left. Polled every millisecond while bytes wait: an event loop's flow
    control tells only when a buffer falls below its low-water mark, not when it is empty."""
    while transport.get_write_buffer_size() and not gone():
        await asyncio.sleep(0.001)


async def relay(source: int, destination: int, count: int, read_timeout: float | None) -> Relayed:
    """Move ``count`` bytes from socket ``source`` to socket ``destination`` in the kernel.

    ``source`` and ``destination`` must be open when it is called; the relay duplicates them before it waits
    (see the module). ``read_timeout``: seconds the source may keep the relay waiting for bytes (the destination
    may be as slow as it likes, as a client reading a streamed answer may be). Bytes that left the source are always
    delivered to the destination before returning, unless the destination failed.

    A splice that moves less than it asked for means that side is spent for now (the source's queue emptied,
    the destination's buffer filled): it is not tried again until the event loop says it is ready, so the relay
    makes no call that could only answer EAGAIN, and it waits only for a side it can act on (measured on a
    64 MiB GET: two splices in three answered EAGAIN, and the proxy's loop spent half its time re-registering
    descriptors with the poller, when every pass tried both sides and registered afresh)."""
    loop = asyncio.get_running_loop()
    pipe = _pipe()
    rd, wr = pipe
    in_pipe = moved = 0
    source_error: str | None = None
    destination_error: str | None = None
    source_spent = destination_full = False
    pipe_full = False  # the source had bytes but the pipe took none (its slots, not its bytes, ran out)
    ready = _Readiness(loop, source, destination)
    source, destination = ready.source, ready.destination  # the duplicates from here on (see the module)
    try:
        while moved < count and destination_error is None:
            progressed = False
            room = min(count - moved, PIPE_SIZE) - in_pipe
            if source_error is None and room > 0 and not source_spent and not pipe_full:
                try:
                    n = os.splice(source, wr, room, flags=_FLAGS)
                except BlockingIOError:
                    n = -1
                    pipe_full = ready.readable and in_pipe > 0  # readable a moment ago: the pipe refused
                except OSError as exc:
                    source_error = os.strerror(exc.errno or errno.EIO)
                    n = -1
                ready.readable = False
                if n == 0:
                    source_error = f"connection closed with {count - moved - in_pipe} bytes missing"
                elif n > 0:
                    in_pipe += n
                    progressed = True
                source_spent = n < room
            if in_pipe and not destination_full:
                try:
                    m = os.splice(rd, destination, in_pipe, flags=_FLAGS)
                except BlockingIOError:
                    m = 0
                except OSError as exc:
                    destination_error = os.strerror(exc.errno or errno.EIO)
                    break
                destination_full = m < in_pipe
                if m > 0:
                    in_pipe -= m
                    moved += m
                    progressed = True
                    pipe_full = False
            if progressed:
                continue
            if source_error is not None and not in_pipe:
                break
            want_source = source_error is None and not pipe_full and in_pipe < min(count - moved, PIPE_SIZE)
            ready.readable = ready.writable = False
            if not await ready.wait(want_source, in_pipe > 0, read_timeout if not in_pipe else None):
                source_error = f"no bytes for {read_timeout}s"
            source_spent = source_spent and not ready.readable
            destination_full = destination_full and not ready.writable
    finally:
        ready.close()
        _release(pipe, in_pipe == 0)
    return Relayed(moved, source_error, destination_error)


async def send_file(file_fd: int, offset: int, count: int, destination: int) -> Relayed:
    """Send ``count`` bytes of the file ``file_fd`` from ``offset`` to socket ``destination`` with ``sendfile(2)``
    (the destination may be as slow as it likes; its transport keeps nothing queued meanwhile). ``moved`` says
    how many went; ``source_error`` is set when the file ended early, ``destination_error`` when the socket
    failed. ``destination`` must stay this socket's number throughout: a :func:`duplicate` the caller holds when
    the socket belongs to a transport (see the module)."""
    loop = asyncio.get_running_loop()
    moved = 0
    ready: _Readiness | None = None
    try:
        while moved < count:
            try:
                n = os.sendfile(destination, file_fd, offset + moved, count - moved)
            except BlockingIOError:
                if ready is None:
                    ready = _Readiness(loop, None, destination)
                await ready.wait(False, True, None)
                continue
            except OSError as exc:
                return Relayed(moved, destination_error=os.strerror(exc.errno or errno.EIO))
            if n == 0:
                return Relayed(moved, source_error=f"file ended with {count - moved} bytes missing")
            moved += n
    finally:
        if ready is not None:
            ready.close()
    return Relayed(moved)
