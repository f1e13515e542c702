"""Storage nodes reached through their Unix sockets by processes of the same cloud on the same host
(stackstore/local_sockets.py): the real nodes bind them, the internal client and the proxy use them, and
everything that is not a loopback node with a socket keeps to TCP."""

from __future__ import annotations

import asyncio
import os
import socket
import stat
import uuid
from pathlib import Path

import pytest

import objclient
from stackstore import local_sockets
from stackstore.local_sockets import LocalSockets, bind_node_socket, node_socket_path


async def _one(data: bytes):
    yield data


def test_socket_path_rules(tmp_path):
    directory = str(tmp_path)
    assert node_socket_path(directory, 6201) == os.path.join(directory, "node-6201.sock")
    assert node_socket_path("/" + "d" * 120, 6201) is None  # longer than sun_path: no socket, TCP
    sock = bind_node_socket(directory, 6201)
    assert sock is not None
    try:
        found = LocalSockets(directory)
        assert found.path_for("127.0.0.1", 6201) == node_socket_path(directory, 6201)
        assert found.path_for("localhost", 6201) is not None
        assert found.path_for("10.0.0.2", 6201) is None  # another host's node, whatever its port
        assert found.path_for("127.0.0.1", 6202) is None  # no such socket
        assert stat.S_IMODE(os.stat(node_socket_path(directory, 6201) or "").st_mode) == 0o600
    finally:
        sock.close()
    again = bind_node_socket(directory, 6201)  # a stale file of an earlier run is replaced
    assert again is not None
    again.close()


def test_no_sockets_without_the_setting_or_with_internal_tls(nodes):
    conf = nodes.conf
    assert local_sockets.from_conf(conf) is not None
    conf["cluster"]["local_sockets"] = False
    try:
        assert local_sockets.from_conf(conf) is None
    finally:
        conf["cluster"]["local_sockets"] = True
    conf["cluster"]["internal_tls"] = True
    try:
        assert local_sockets.from_conf(conf) is None  # a socket would bypass the TLS the cluster asks for
    finally:
        conf["cluster"]["internal_tls"] = False


def _families(client) -> set[int]:
    return {conn.transport.get_extra_info("socket").family
            for idle in client.pool._idle.values() for conn in idle}


def test_internal_client_uses_the_nodes_unix_sockets(nodes):
    """Every node binds its socket; a client built from the cloud's config connects through them, and
    through TCP to a node whose socket file is gone."""
    conf = nodes.conf
    directory = local_sockets.socket_dir(conf.data_dir)
    ports = sorted(dev.port for dev in nodes.rings().object.devices)
    assert sorted(p.name for p in Path(directory).iterdir()) == [f"node-{port}.sock" for port in ports]

    async def round_trip() -> set[int]:
        client = objclient.from_config(conf)
        try:
            account = "AUTH_u" + uuid.uuid4().hex[:8]
            assert (await client.put_account(account)).status in (201, 202)
            assert (await client.put_container(account, "c")).status == 201
            assert (await client.put_object(account, "c", "o", {}, _one(b"x" * 5000), 5000)).status == 201
            got = await client.get_object(account, "c", "o")
            assert got.status == 200 and await got.read() == b"x" * 5000
            return _families(client)
        finally:
            await client.close()

    assert asyncio.run(round_trip()) == {socket.AF_UNIX}
    moved = Path(directory + ".away")
    os.rename(directory, moved)
    try:
        assert asyncio.run(round_trip()) == {socket.AF_INET}
    finally:
        os.rename(moved, directory)


def _tcp_peers(pid: int) -> set[int]:
    """Remote ports of the established TCP connections process ``pid`` holds."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as fh:
            for line in fh.readlines()[1:]:
                fields = line.split()
                if fields[3] == "01" and fields[9] in inodes:  # ESTABLISHED
                    ports.add(int(fields[2].rsplit(":", 1)[1], 16))
    return ports


@pytest.mark.parametrize("size", [100, 3 << 20])  # one buffered write, one relayed read (splice from the socket)
def test_proxy_reaches_nodes_without_tcp(cluster, http, size):
    name = f"uds-{uuid.uuid4().hex[:8]}"
    assert http.put(name).status_code in (201, 202)
    body = os.urandom(size)
    assert http.put(f"{name}/o", content=body).status_code == 201
    assert http.get(f"{name}/o").content == body
    node_ports = {cluster.cloud.node_port(i) for i in range(1, cluster.cloud.node_count + 1)}
    proxy = cluster.cloud.services["proxy"].proc.pid
    assert not _tcp_peers(proxy) & node_ports
