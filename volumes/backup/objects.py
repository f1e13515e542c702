"""Synchronous access to the object store for the backup threads, through the internal StorageClient.

The client is async and bound to one event loop, so this runs a private loop in a daemon thread and
hands it coroutines. Objects go to the project's account ``AUTH_<project_id>`` exactly as the proxy
stores them (same rings, quorum writes, listings), without a token round-trip through the proxy.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from objclient.crypto.client import encrypting_client
from objclient.rings import rings_exist
from volumes.errors import BackendError


class ObjectStoreError(BackendError):
    pass


class ObjectTooLarge(ObjectStoreError, ValueError):
    """An object is longer than its reader accepts (a backup object rewritten by a project member)."""


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


class ObjectStore:
    def __init__(self, conf: Any):
        self.conf = conf
        self.loop = asyncio.new_event_loop()
        self._client: Any = None
        self._thread = threading.Thread(target=self.loop.run_forever, name="volumes-objects", daemon=True)
        self._thread.start()

    def _run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=300)

    async def _get_client(self) -> Any:
        if self._client is None:
            ring_dir = self.conf.ring_dir
            if not rings_exist(ring_dir, ["object"]):
                raise ObjectStoreError(f"object store unavailable: no rings in {ring_dir}")
            self._client = encrypting_client(self.conf)  # [proxy] encryption covers backups too
        return self._client

    def ensure_container(self, account: str, container: str) -> None:
        async def go() -> None:
            client = await self._get_client()
            head = await client.head_container(account, container)
            if head.status == 204 or head.status == 200:
                return
            acct = await client.put_account(account)
            if acct.status not in (201, 202, 409):
                raise ObjectStoreError(f"cannot create account {account}: {acct.status}")
            resp = await client.put_container(account, container)
            if resp.status not in (201, 202):
                raise ObjectStoreError(f"cannot create container {container}: {resp.status}")

        self._run(go())

    def put(self, account: str, container: str, name: str, data: bytes,
            content_type: str = "application/octet-stream") -> str:
        """Store ``data``; its ETag (the MD5 the upload computed as it sent the bytes, of the plaintext when
        the cluster encrypts)."""
        async def go() -> str:
            client = await self._get_client()
            headers = {"Content-Type": content_type, "Content-Length": str(len(data))}
            resp = await client.put_object(account, container, name, headers, _once(data), len(data))
            if resp.status != 201:
                raise ObjectStoreError(f"PUT {container}/{name} failed: {resp.status}")
            answered = (resp.headers.get("ETag") or "").strip('"').lower()
            if len(answered) != 32:
                raise ObjectStoreError(f"PUT {container}/{name} answered no MD5 ETag: {answered!r}")
            return answered

        return self._run(go())

    def get(self, account: str, container: str, name: str, max_bytes: int | None = None) -> bytes:
        """The object's data; with ``max_bytes``, ObjectTooLarge rather than reading a longer object."""
        async def go() -> bytes:
            client = await self._get_client()
            resp = await client.get_object(account, container, name)
            if resp.status != 200:
                await resp.close()
                raise ObjectStoreError(f"GET {container}/{name} failed: {resp.status}")
            if max_bytes is None:
                return await resp.read()
            length = resp.headers.get("Content-Length", "")
            parts, size = [], 0
            try:
                if length.isdigit() and int(length) > max_bytes:
                    raise ObjectTooLarge(f"{container}/{name} is over {max_bytes} bytes")
                async for part in resp.body:
                    size += len(part)
                    if size > max_bytes:
                        raise ObjectTooLarge(f"{container}/{name} is over {max_bytes} bytes")
                    parts.append(part)
            finally:
                await resp.close()
            return b"".join(parts)

        return self._run(go())

    def delete(self, account: str, container: str, name: str) -> None:
        async def go() -> None:
            client = await self._get_client()
            resp = await client.delete_object(account, container, name)
            if resp.status not in (204, 404):
                raise ObjectStoreError(f"DELETE {container}/{name} failed: {resp.status}")

        self._run(go())

    def close(self) -> None:
        async def go() -> None:
            if self._client is not None:
                await self._client.close()

        try:
            self._run(go())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
