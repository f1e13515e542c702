"""ImageStore without a cluster: hashes while streaming, size limit, failed writes."""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from images.store import ImageStore, StoreError, TooLarge
from objclient.response import BackendResponse


class FakeClient:
    def __init__(self, status: int = 201):
        self.status, self.objects = status, {}

    async def put_account(self, account):
        return BackendResponse.simple(201)

    async def put_container(self, account, container):
        return BackendResponse.simple(201)

    async def put_object(self, account, container, obj, headers, body, length):
        data = b"".join([c async for c in body])
        self.objects[obj] = data
        return BackendResponse.simple(self.status, {"etag": hashlib.md5(data).hexdigest()})


async def _chunks(*parts: bytes):
    for p in parts:
        yield p


def test_put_hashes_stream():
    client = FakeClient()
    store = ImageStore(client, ".images", "glance", 100)
    stored = asyncio.run(store.put("i1", _chunks(b"abc", b"", b"def"), None))
    assert (stored.size, stored.md5) == (6, hashlib.md5(b"abcdef").hexdigest())
    assert stored.sha512 == hashlib.sha512(b"abcdef").hexdigest()


def test_put_limits_and_failures():
    store = ImageStore(FakeClient(), ".images", "glance", 5)
    with pytest.raises(TooLarge):
        asyncio.run(store.put("i1", _chunks(b"abc", b"def"), None))
    with pytest.raises(TooLarge):
        asyncio.run(store.put("i1", _chunks(b"abc"), 6))
    with pytest.raises(StoreError):
        asyncio.run(ImageStore(FakeClient(503), ".images", "glance", 99).put("i1", _chunks(b"abc"), None))
    with pytest.raises(StoreError):
        asyncio.run(ImageStore(FakeClient(), ".images", "glance", 99).put("i1", _chunks(b"abc"), 4))
