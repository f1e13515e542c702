"""The expirer's side of object versioning: a current version with an id is archived, not lost, when its
X-Delete-At passes.

In a versioned container (Swift's ``X-Versions-Enabled``, S3 bucket versioning) the current version of a
name is a plain object carrying its version id (``stackstore.versioning_names``). Its X-Delete-At ends its
being current, not its data — as Swift's object versioning, where the expiry removes the name's link to the
version: before the expirer deletes such an object it copies it, as stored and without its X-Delete-At, to
the versions container under its id. The proxy's versioning engine settles an expired current the same way
when a request reaches it first (``proxy/versioning/engine.settle_expired``); the two agree on the name and
content, so whichever runs second finds the work done.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from objclient.client import StorageClient
from objclient.response import BackendResponse
from stackstore import versioning_names as names
from stackstore.headers import lookup
from stackstore.timestamp import Timestamp
from stackstore.wire import VERSION_ID_SYSMETA

KEPT_STATUSES = frozenset((201, 202, 409))  # 202/409: the same version was archived a moment earlier


async def _body(resp: BackendResponse) -> AsyncIterator[bytes]:
    try:
        async for chunk in resp.body:
            yield chunk
    finally:
        await resp.close()


async def archive_before_expiry(client: StorageClient, account: str, container: str, obj: str, delete_at: str,
                                policy: int = 0) -> bool:
    """Keep the version an expiring current object is (when it has an id) before the expirer deletes it.
    True when the object may be expired now (nothing to keep, already gone or changed, or kept); False when
    the copy failed (the expirer retries next pass)."""
    resp = await client.opening_expired().get_object(account, container, obj, policy=policy)
    if resp.status != 200:
        await resp.close()
        return resp.status == 404
    version_id = names.stored_version_id(resp.headers)
    if version_id == names.NULL_VERSION or lookup(resp.headers, "x-delete-at") != delete_at:
        await resp.close()  # an unversioned object, or one a POST or overwrite changed: the DELETE decides
        return True
    headers = names.archived_headers(resp.headers)
    headers[VERSION_ID_SYSMETA] = version_id
    headers["X-Timestamp"] = Timestamp.now().normal
    length = int(resp.headers.get("content-length") or 0)
    put = await client.put_object(account, names.versions_container(container),
                                  names.version_object(obj, version_id), headers, _body(resp),
                                  content_length=length, policy=policy)
    await put.close()
    return put.status in KEPT_STATUSES
