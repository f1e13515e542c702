"""ResumingBody.relay against real storage nodes: an object body moved from a node's socket to another socket
in the kernel (``stackstore.splice``), resumed from another replica when the serving node dies mid-body."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import threading
import uuid

from objclient.http import SpliceSource
from stackstore import splice
from tests.objclient.streams import body, byte_range, md5_of

MiB = 1 << 20


class SocketOutlet:
    """A relay's destination: one end of a connected TCP pair; a thread reads the other end."""

    def __init__(self, on_bytes):
        listener = socket.create_server(("127.0.0.1", 0))
        self.sock = socket.create_connection(listener.getsockname())
        peer, _ = listener.accept()
        listener.close()
        self.sock.setblocking(False)
        self.md5 = hashlib.md5()
        self.received = 0
        self.sent = self.spliced = 0
        self.on_bytes = on_bytes

        def read() -> None:
            while data := peer.recv(1 << 20):
                self.md5.update(data)
                self.received += len(data)
                on_bytes(self.received)
            peer.close()

        self.reader = threading.Thread(target=read, daemon=True)
        self.reader.start()

    def can_splice(self) -> bool:
        return True

    async def send(self, data: bytes) -> bool:
        self.sent += len(data)
        await asyncio.get_running_loop().sock_sendall(self.sock, data)
        return True

    async def splice(self, source: SpliceSource) -> splice.Relayed:
        result = await splice.relay(source.fd, self.sock.fileno(), source.remaining, source.timeout)
        self.spliced += result.moved
        return result

    def finish(self) -> None:
        self.sock.close()
        self.reader.join(30)


async def stored_object(cluster_nodes, size: int):
    """(client, account, container) with the object ``o`` of ``size`` pattern bytes stored."""
    account, container = "AUTH_r" + uuid.uuid4().hex[:8], "c" + uuid.uuid4().hex[:8]
    client = cluster_nodes.client()
    assert (await client.put_account(account)).status in (201, 202)
    assert (await client.put_container(account, container)).status == 201
    assert (await client.put_object(account, container, "o", {}, body(size), size)).status == 201
    return client, account, container


def test_relay_moves_the_body_in_the_kernel_and_resumes_when_the_node_dies(cluster_nodes):
    size = 48 * MiB

    async def main():
        client, account, container = await stored_object(cluster_nodes, size)
        for headers, start, end in (({}, 0, size - 1), ({"Range": "bytes=1000-40000000"}, 1000, 40000000)):
            got = await client.get_object(account, container, "o", headers)
            serving = cluster_nodes.index_of(next(d for d in cluster_nodes.rings().object.devices
                                                  if got.node == f"{d.ip}:{d.port}/{d.device}"))
            killed = threading.Event()

            def kill_after_4_mib(received: int, serving=serving, killed=killed) -> None:
                if received >= 4 * MiB and not killed.is_set():
                    killed.set()
                    cluster_nodes.kill(serving)

            outlet = SocketOutlet(kill_after_4_mib)
            assert await got.body.relay(outlet)
            outlet.finish()
            assert killed.is_set()
            assert outlet.received == end - start + 1
            assert outlet.spliced > outlet.sent  # most of the body never entered user space
            if start == 0:
                assert outlet.md5.hexdigest() == md5_of(size)
            else:
                ref = hashlib.md5()
                for s in range(start, end + 1, 8 * MiB):
                    ref.update(byte_range(size, s, min(end, s + 8 * MiB - 1)))
                assert outlet.md5.hexdigest() == ref.hexdigest()
            cluster_nodes.restart(serving)
        await client.close()

    asyncio.run(main())


def test_relayed_bodies_are_whole_and_the_client_goes_on(cluster_nodes):
    size = 3 * MiB

    async def main():
        client, account, container = await stored_object(cluster_nodes, size)
        for _ in range(3):  # complete relays give their connections back to the pool
            got = await client.get_object(account, container, "o")
            outlet = SocketOutlet(lambda received: None)
            assert await got.body.relay(outlet)
            outlet.finish()
            assert outlet.received == size and outlet.md5.hexdigest() == md5_of(size)
            assert outlet.spliced > 0
        small = await client.get_object(account, container, "o", {"Range": "bytes=5-9"})
        assert small.status == 206 and await small.read() == byte_range(size, 5, 9)
        await client.close()

    asyncio.run(main())
