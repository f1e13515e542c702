"""stackstore.splice.relay between real sockets: every byte through a slow source and a slow destination, and each
way a relay ends early (a silent source, a source closing, a destination gone) said as the proxy expects it."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import socket
import threading
import time

import uvloop

from stackstore import splice

MiB = 1 << 20


def tcp_pair() -> tuple[socket.socket, socket.socket]:
    """A connected loopback TCP pair (the proxy's client side): (relay's end, non-blocking; the peer's end)."""
    listener = socket.create_server(("127.0.0.1", 0))
    mine = socket.create_connection(listener.getsockname())
    peer, _ = listener.accept()
    listener.close()
    mine.setblocking(False)
    return mine, peer


def unix_pair() -> tuple[socket.socket, socket.socket]:
    """A connected Unix stream pair (the proxy's node side): (relay's end, non-blocking; the node's end)."""
    mine, peer = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    mine.setblocking(False)
    return mine, peer


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_every_byte_goes_through_a_slow_source_and_a_slow_destination():
    size = 24 * MiB + 12345
    body = random.Random(7).randbytes(size)
    source, node = unix_pair()
    destination, client = tcp_pair()
    received = hashlib.md5()
    got = [0]

    def send() -> None:  # bursts of uneven size with pauses: the relay waits on an empty source
        rng, at = random.Random(1), 0
        while at < size:
            n = rng.choice((100, 4096, 65536, 300_000, 2 * MiB))
            node.sendall(body[at:at + n])
            at += n
            if rng.random() < 0.3:
                time.sleep(0.002)

    def read() -> None:  # small reads with pauses: the relay waits on a full destination
        rng = random.Random(2)
        while data := client.recv(rng.choice((1000, 65536, 512 * 1024))):
            received.update(data)
            got[0] += len(data)
            if rng.random() < 0.2:
                time.sleep(0.002)

    threads = [threading.Thread(target=send), threading.Thread(target=read)]
    for t in threads:
        t.start()

    async def relay() -> splice.Relayed:
        fds, spares = open_fds(), len(splice._spare)
        relayed = await splice.relay(source.fileno(), destination.fileno(), size, read_timeout=10)
        assert open_fds() == fds + 2 * (len(splice._spare) - spares)  # only the pipe left, as a spare
        return relayed

    result = uvloop.run(relay())
    destination.close()
    for t in threads:
        t.join(30)
    assert result == splice.Relayed(size)
    assert got[0] == size and received.hexdigest() == hashlib.md5(body).hexdigest()
    source.close(), node.close(), client.close()


def test_a_pipe_out_of_slots_waits_for_the_destination_and_loses_nothing():
    """Tiny writes reach the relay as one socket buffer each, and a pipe holds 256 of them whatever their size: the
    pipe refuses more while the source is still readable. The relay then waits for the (throttled) destination
    instead of the source, and every byte still goes through in order."""
    count, piece = 8_000, 50
    source, node = unix_pair()
    destination, client = tcp_pair()
    destination.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    body = b"".join(i.to_bytes(4, "big") * (piece // 4) + b"--" for i in range(count))
    assert len(body) == count * piece
    received = bytearray()

    def send() -> None:
        for at in range(0, len(body), piece):
            node.send(body[at:at + piece])

    def read() -> None:
        time.sleep(0.5)  # the pipe fills (by slots) and the destination's buffers fill meanwhile
        while data := client.recv(65536):
            received.extend(data)

    threads = [threading.Thread(target=send), threading.Thread(target=read)]
    for t in threads:
        t.start()
    cpu = time.thread_time()
    result = uvloop.run(splice.relay(source.fileno(), destination.fileno(), len(body), read_timeout=10))
    cpu = time.thread_time() - cpu
    destination.close()
    for t in threads:
        t.join(30)
    assert result == splice.Relayed(len(body))
    assert bytes(received) == body
    # it waited through the reader's pause: asking the source again (readable, but the pipe full) would spin
    # the loop at 100% for those 0.5 s
    assert cpu < 0.15, cpu
    source.close(), node.close(), client.close()


def test_a_silent_source_ends_the_relay_after_its_timeout_with_what_came_delivered():
    source, node = unix_pair()
    destination, client = tcp_pair()
    node.sendall(b"x" * 1000)
    result = uvloop.run(splice.relay(source.fileno(), destination.fileno(), 10_000, read_timeout=0.3))
    assert result.moved == 1000 and result.destination_error is None
    assert result.source_error == "no bytes for 0.3s"
    destination.close()
    assert client.recv(10_000, socket.MSG_WAITALL) == b"x" * 1000
    for s in (source, node, client):
        s.close()


def test_a_source_closing_early_is_reported_with_the_bytes_missing():
    source, node = unix_pair()
    destination, client = tcp_pair()
    node.sendall(b"y" * 5000)
    node.close()
    result = uvloop.run(splice.relay(source.fileno(), destination.fileno(), 10_000, read_timeout=5))
    assert result == splice.Relayed(5000, source_error="connection closed with 5000 bytes missing")
    destination.close()
    assert client.recv(10_000, socket.MSG_WAITALL) == b"y" * 5000
    source.close(), client.close()


def test_a_destination_gone_stops_the_relay_at_once():
    source, node = unix_pair()
    destination, client = tcp_pair()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # close: RST
    client.close()
    stop = threading.Event()

    def send() -> None:
        try:
            while not stop.is_set():
                node.sendall(b"z" * 65536)
        except OSError:
            pass

    sender = threading.Thread(target=send)
    sender.start()
    result = uvloop.run(splice.relay(source.fileno(), destination.fileno(), 64 * MiB, read_timeout=5))
    stop.set()
    source.close()  # the sender's blocked sendall fails
    sender.join(10)
    assert result.destination_error is not None and result.moved < 64 * MiB
    destination.close(), node.close()


def _take_number(number: int) -> tuple[socket.socket, socket.socket]:
    """A new connected pair whose first socket is given descriptor ``number`` (just freed), as the next socket a
    process opens is: (that socket, its peer)."""
    intruder, peer = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    if intruder.fileno() != number:  # (the lowest free number usually is that one already)
        os.dup2(intruder.fileno(), number)
        intruder.close()
        intruder = socket.socket(fileno=number)
    return intruder, peer


def _unread(sock: socket.socket) -> bytes:
    sock.setblocking(False)
    try:
        return sock.recv(1 << 20)
    except BlockingIOError:
        return b""


def test_a_destination_closed_by_its_transport_mid_relay_never_gets_its_number_written_to():
    # a proxy's client leaves while the relay waits for the node: the client's transport closes the socket, and
    # the number goes to the next socket the proxy opens (another client's, a node connection). The relay's
    # bytes must not go there.
    source, node = unix_pair()
    destination, client = tcp_pair()
    number = destination.fileno()
    taken: list[tuple[socket.socket, socket.socket]] = []

    async def scenario() -> splice.Relayed:
        task = asyncio.ensure_future(splice.relay(source.fileno(), number, 10_000, read_timeout=5))
        await asyncio.sleep(0.05)  # the relay waits for the source
        destination.close()  # as the transport does
        taken.append(_take_number(number))
        node.sendall(b"q" * 10_000)
        return await task

    result = uvloop.run(scenario())
    intruder, intruder_peer = taken[0]
    assert _unread(intruder_peer) == b""  # nothing reached the socket that now has the number
    assert result.moved == 10_000 and client.recv(20_000, socket.MSG_WAITALL) == b"q" * 10_000
    for s in (source, node, client, intruder, intruder_peer):
        s.close()


def test_send_file_on_a_held_duplicate_never_writes_to_a_reused_number(tmp_path):
    # a storage node sends a body in blocks, awaiting between them; the proxy may leave meanwhile
    path = tmp_path / "body"
    body = random.Random(3).randbytes(8 * MiB)
    path.write_bytes(body)
    destination, client = tcp_pair()
    number = destination.fileno()
    taken: list[tuple[socket.socket, socket.socket]] = []
    received = bytearray()

    def read() -> None:
        time.sleep(0.3)  # the socket's buffers fill; send_file waits for writability
        while data := client.recv(1 << 20):
            received.extend(data)

    async def scenario() -> splice.Relayed:
        fd = os.open(path, os.O_RDONLY)
        try:
            with splice.duplicate(number) as held:
                task = asyncio.ensure_future(splice.send_file(fd, 0, len(body), held))
                await asyncio.sleep(0.1)
                destination.close()  # as the transport does
                taken.append(_take_number(number))
                result = await task
        finally:
            os.close(fd)
        return result

    reader = threading.Thread(target=read)
    reader.start()
    result = uvloop.run(scenario())
    reader.join(30)
    intruder, intruder_peer = taken[0]
    assert _unread(intruder_peer) == b""
    assert result == splice.Relayed(len(body)) and bytes(received) == body
    for s in (client, intruder, intruder_peer):
        s.close()
