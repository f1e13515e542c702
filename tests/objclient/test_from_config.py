"""``objclient.from_config``: the one constructor every process uses, against real nodes and rings."""

from __future__ import annotations

import asyncio
import uuid

import objclient
from objclient.rings import rings_exist


async def _one(data: bytes):
    yield data


def test_from_config_reads_rings_and_proxy_timeouts(nodes):
    conf = nodes.conf

    async def main() -> None:
        client = objclient.from_config(conf)
        try:
            assert client.settings.node_timeout == float(conf["proxy"]["node_timeout"])
            assert client.rings.object.replica_count == 3
            account, container = "AUTH_f" + uuid.uuid4().hex[:8], "c"
            assert (await client.put_account(account)).status in (201, 202)
            assert (await client.put_container(account, container)).status == 201
            put = await client.put_object(account, container, "o", {}, _one(b"payload"), 7)
            assert put.status == 201
            got = await client.get_object(account, container, "o")
            assert got.status == 200 and await got.read() == b"payload"
        finally:
            await client.close()

    asyncio.run(main())


def test_rings_exist(nodes, tmp_path):
    assert rings_exist(nodes.conf.ring_dir)
    assert not rings_exist(tmp_path)
    assert not rings_exist(nodes.conf.ring_dir, ["object", "missing"])
