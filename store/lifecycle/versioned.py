"""The versioning engine's writes that lifecycle needs, done from a storage node through the internal
object client (never the proxy): keep the current version in the versions container, write a delete
marker, remove a stored version. Same layout and semantics as proxy/versioning/engine.py
(docs/versioning.md); ``version_layout`` restates its definitions.

Every removal is made with ``X-Timestamp`` one tick after the stored object's own, so a newer write of
the same name always survives (the nodes answer 409) and a repeated pass is harmless.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from objclient.client import BackendResponse, StorageClient
from stackstore import versioning_names as names
from stackstore.timestamp import Timestamp
from stackstore.wire import TIMESTAMP_TICKS_PER_SECOND
from store.lifecycle import s3_layout, version_layout

MAX_VERSION_SIZE = 5 * 1024**3 + 2  # what one archive copy may move (the object size limit)
NULL_PAGE = 1000  # rows per listing while looking for a key's archived null version


def just_after(stamp: Timestamp) -> Timestamp:
    """One tick after ``stamp``: a delete at this time loses to any newer write."""
    return Timestamp((stamp.ticks + 1) / TIMESTAMP_TICKS_PER_SECOND)


async def _streamed(resp: BackendResponse) -> AsyncIterator[bytes]:
    try:
        async for chunk in resp.body:
            yield chunk
    finally:
        await resp.close()


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # an async generator with no chunks


class VersionedBucket:
    """One versioned bucket's versions, as lifecycle changes them."""

    def __init__(self, client: StorageClient, account: str, bucket: str, policy: int):
        self.client = client
        self.account = account
        self.bucket = bucket
        self.policy = policy
        self.hidden = names.versions_container(bucket)

    async def archive_current(self, key: str, stamp: Timestamp, version_id: str) -> bool:
        """Copy the current object written at ``stamp`` into the versions container as ``version_id`` (a
        ``null`` current: its write time; it keeps its stored id), streamed. False when it is no longer that
        object (overwritten or deleted since) or too large; raises RuntimeError when the cluster refuses."""
        resp = await self.client.get_object(self.account, self.bucket, key, policy=self.policy)
        if resp.status != 200 or s3_layout.header(resp.headers, "X-Timestamp") != stamp.normal:
            await resp.close()
            if resp.status not in (200, 404):
                raise RuntimeError(f"GET of the current version answered {resp.status}")
            return False
        length = int(resp.headers.get("content-length") or 0)
        if length > MAX_VERSION_SIZE:
            await resp.close()
            return False
        headers = version_layout.kept_headers(resp.headers)
        # its stored id: a null version archived under its write time stays null (docs/versioning.md)
        headers[version_layout.OBJECT_VERSION_SYSMETA] = version_layout.version_id_of(resp.headers)
        headers["X-Timestamp"] = Timestamp.now().normal
        put = await self.client.put_object(self.account, self.hidden, names.version_object(key, version_id),
                                           headers, _streamed(resp), content_length=length, policy=self.policy)
        await put.close()
        if put.status != 201:
            raise RuntimeError(f"archiving the current version answered {put.status}")
        return True

    async def add_delete_marker(self, key: str, *, null: bool = False) -> str:
        """Write a delete marker as ``key``'s newest version; the id its name carries (its write time;
        with ``null``, a suspended bucket's ``null`` marker: stored id ``null``). RuntimeError on failure."""
        version_id = names.new_version_id()
        stored_id = names.NULL_VERSION if null else version_id
        resp = await self.client.put_object(
            self.account, self.hidden, names.version_object(key, version_id),
            {"Content-Type": version_layout.DELETE_MARKER_CONTENT_TYPE, "X-Timestamp": version_id,
             version_layout.OBJECT_VERSION_SYSMETA: stored_id}, _nothing(), content_length=0, policy=self.policy)
        await resp.close()
        if resp.status != 201:
            raise RuntimeError(f"writing a delete marker answered {resp.status}")
        return version_id

    async def archived_null(self, key: str) -> tuple[str, Mapping[str, str]] | None:
        """(versions-container name, stored headers) of ``key``'s archived ``null`` version or marker (its
        listing row carries stored id ``null``), None when there is none; RuntimeError on failure."""
        marker: str | None = None
        while True:
            resp, rows = await self.client.list_container(self.account, self.hidden, marker=marker, limit=NULL_PAGE,
                                                          prefix=names.version_object_prefix(key))
            await resp.close()
            if resp.status == 404:
                return None
            if resp.status // 100 != 2:
                raise RuntimeError(f"listing {key!r}'s versions answered {resp.status}")
            for row in rows:
                if row.get("version_id") == names.NULL_VERSION:
                    head = await self.head_archived(row["name"])
                    if head.status == 200:
                        return row["name"], head.headers
            if len(rows) < NULL_PAGE:
                return None
            marker = rows[-1]["name"]

    async def remove_archived(self, name: str, stamp: Timestamp) -> int:
        """Delete the versions-container object ``name`` stored at ``stamp``; the nodes' status."""
        resp = await self.client.delete_object(self.account, self.hidden, name,
                                               headers={"X-Timestamp": just_after(stamp).normal},
                                               policy=self.policy)
        await resp.close()
        return resp.status

    async def head_archived(self, name: str) -> BackendResponse:
        """The stored headers of a versions-container object (200/404)."""
        resp = await self.client.head_object(self.account, self.hidden, name, policy=self.policy)
        await resp.close()
        return resp

    async def head_current(self, key: str) -> Mapping[str, str] | None:
        """The current object's stored headers (None when there is none); RuntimeError on failure."""
        resp = await self.client.head_object(self.account, self.bucket, key, policy=self.policy)
        await resp.close()
        if resp.status == 404:
            return None
        if resp.status != 200:
            raise RuntimeError(f"HEAD of the current version answered {resp.status}")
        return resp.headers
