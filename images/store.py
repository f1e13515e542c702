"""Image bytes as objects in the object store, through the proxy's internal client.

All images live in one service account (``[images] account``, not reachable with user tokens), one
object per image named by its id. Uploads stream to the replicas while md5 and sha512 are computed;
downloads stream back. Nothing is held whole in memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from objclient import StorageClient


class StoreError(Exception):
    """The object store did not accept or return the image data."""


class TooLarge(Exception):
    """The upload went past the configured maximum image size."""


@dataclass
class Stored:
    size: int
    md5: str
    sha512: str


class ImageStore:
    def __init__(self, client: StorageClient, account: str, container: str, max_size: int):
        self.client, self.account, self.container, self.max_size = client, account, container, max_size
        self._ready = False

    async def _ensure_container(self) -> None:
        if self._ready:
            return
        resp = await self.client.put_account(self.account)
        if resp.status not in (201, 202, 204):
            raise StoreError(f"cannot create image account: {resp.status}")
        resp = await self.client.put_container(self.account, self.container)
        if resp.status not in (201, 202, 204):
            raise StoreError(f"cannot create image container: {resp.status}")
        self._ready = True

    async def put(self, image_id: str, body: AsyncIterator[bytes], length: int | None) -> Stored:
        """Stream ``body`` into the image's object; hashes and size of what was stored."""
        if length is not None and length > self.max_size:
            raise TooLarge()
        await self._ensure_container()
        md5, sha512 = hashlib.md5(usedforsecurity=False), hashlib.sha512()
        size = 0
        too_large = False

        async def hashed() -> AsyncIterator[bytes]:
            nonlocal size, too_large
            async for chunk in body:
                if not chunk:
                    continue
                size += len(chunk)
                if size > self.max_size:
                    too_large = True
                    raise TooLarge()
                md5.update(chunk)
                sha512.update(chunk)
                yield chunk

        try:
            resp = await self.client.put_object(self.account, self.container, image_id,
                                                {"Content-Type": "application/octet-stream"}, hashed(),
                                                length)
        except TooLarge:
            raise
        except Exception as exc:
            if too_large:
                raise TooLarge() from None
            raise StoreError(f"upload failed: {exc}") from exc
        if too_large:
            raise TooLarge()
        if resp.status != 201:
            raise StoreError(f"object store answered {resp.status}")
        if length is not None and size != length:
            raise StoreError("short upload")
        etag = resp.headers.get("etag", "").strip('"')
        if etag and etag != md5.hexdigest():
            raise StoreError("stored data does not match what was sent")
        return Stored(size, md5.hexdigest(), sha512.hexdigest())

    async def get(self, image_id: str, headers: dict[str, str] | None = None):
        """The object's BackendResponse (stream the body, ``close()`` when abandoning it)."""
        return await self.client.get_object(self.account, self.container, image_id, headers)

    async def delete(self, image_id: str) -> None:
        resp = await self.client.delete_object(self.account, self.container, image_id)
        if resp.status not in (204, 404):
            raise StoreError(f"object store answered {resp.status} to delete")
