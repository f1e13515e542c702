"""Handlers of bucket and object sub-resources: "none configured" answers (tagging: ``proxy.s3.tagging``;
ACLs: ``proxy.s3.acl``).

Clients such as Cyberduck probe ``?versioning``, ``?acl``, ``?ownershipControls``, ``?lifecycle``,
``?logging`` before uploading: each gets a valid minimal document or a ``NoSuch…`` 404 (never a 500).
Which sub-resource names which operation, and which operations are not implemented (501), is the
operation table's business (``proxy.s3.operations``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.responses import Response

from proxy.s3 import xml
from proxy.s3.bucket import require_bucket
from proxy.s3.context import S3Request
from proxy.s3.errors import S3Error

Handler = Callable[[S3Request], Awaitable[Response]]

def empty_document(root: str, **children: str) -> Handler:
    """A handler answering the bucket's configuration as an empty ``<root>`` document (with ``children``)."""

    async def handler(req: S3Request) -> Response:
        await require_bucket(req)
        doc = xml.root(root)
        for name, text in children.items():
            xml.add(doc, name, text)
        return xml.xml_response(doc)

    return handler


def none_configured(code: str) -> Handler:
    """A handler answering that the bucket has no such configuration (the ``code`` 404)."""

    async def handler(req: S3Request) -> Response:
        await require_bucket(req)
        raise S3Error(code, BucketName=req.bucket)

    return handler


async def nothing_to_delete(req: S3Request) -> Response:
    """Delete of a configuration that is never set: 204, as for a deleted one."""
    await require_bucket(req)
    return Response(status_code=204)

