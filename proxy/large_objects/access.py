"""Reading a large object's segments with the caller's authority, never the proxy's.

A manifest (SLO JSON or DLO ``X-Object-Manifest``) names other objects; whoever may read the manifest
must not thereby read objects they could not read directly (issue 12, attack 2). Every segment, nested
manifest and DLO segment listing is therefore checked with ``SegmentAccess`` before it is read, as
Swift's ``slo``/``dlo`` middlewares do by re-issuing their sub-requests with the original request's
authorization. The decision itself comes from the API that received the request (``ReadCheck``: the
Swift router table's GET sub-request, or S3's ``check_access`` as the S3 credential); this package only
decides *when* to ask.

Read decisions depend on the container alone (owner, reader role, container read ACL), so they are
asked once per container and request: a 1000-segment manifest costs one check per segment container.

**S3 multipart objects.** The S3 layer stores a completed multipart upload as an SLO manifest in the
bucket's container, marked with sysmeta (``MULTIPART_MARKER``, which only the proxy can write), whose
parts live in the bucket's own segment container ``<bucket>+segments``. Whoever may read such a manifest
may read the segments of *that manifest in that container*: top-level entries in ``<container>+segments``
of a marked manifest are trusted (nested manifests never are). So a container ACL reader of a bucket
reads its multipart objects, as in S3, without any rights on the hidden segment container.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from proxy.http.headers import lookup
from proxy.large_objects.segments import Segment, SegmentError
from proxy.symlinks import DEFAULT_SYMLOOP_MAX

# (account, container, object or None for the container listing) → None when the caller may read it,
# else 401/403
ReadCheck = Callable[[str, str, str | None], Awaitable[int | None]]

# what proxy/s3 writes for a completed multipart upload (proxy.s3.headers.SYSMETA_ETAG, and the parts'
# container proxy.s3.bucket.segments_container); tests/security/test_large_object_authz.py keeps them equal
MULTIPART_MARKER = "X-Object-Sysmeta-S3-Etag"
MULTIPART_SEGMENTS_SUFFIX = "+segments"


class SegmentForbidden(SegmentError):
    """The caller may not read a segment (or the DLO segment listing) of the large object."""

    def __init__(self, status: int, container: str, obj: str | None):
        path = f"/{container}" + (f"/{obj}" if obj is not None else "")
        super().__init__(f"{path}: {status} for the caller")
        self.status = status
        self.path = path


@dataclass
class SegmentAccess:
    """The caller's read rights on the segments of one large object read (one request).

    Segments live in ``account`` (the large object's request account); a segment that is a symlink
    may lead to another account's object, which is checked there (``account=``). ``link_hops`` is how
    many links one segment read follows (Swift's ``symloop_max``, proxy/large_objects/links.py)."""

    check: ReadCheck
    account: str
    trusted: frozenset[str] = frozenset()  # segment containers of a marked S3 multipart manifest (top level)
    link_hops: int = DEFAULT_SYMLOOP_MAX
    _decided: dict[tuple[str, str, bool], int | None] = field(default_factory=dict)

    async def status(self, container: str, obj: str | None, account: str | None = None) -> int | None:
        """None when the caller may read ``container/obj`` (``obj`` None: list the container) of
        ``account`` (default: the large object's), else 401/403."""
        account = self.account if account is None else account
        key = (account, container, obj is None)
        if key not in self._decided:
            self._decided[key] = await self.check(account, container, obj)
        return self._decided[key]

    async def require(self, container: str, obj: str | None, top_level: bool = False,
                      account: str | None = None) -> None:
        """Raise SegmentForbidden unless the caller may read it (``top_level``: a trusted container counts)."""
        if top_level and obj is not None and account is None and container in self.trusted:
            return
        status = await self.status(container, obj, account)
        if status is not None:
            raise SegmentForbidden(status, container, obj)

    async def require_all(self, segments: Iterable[Segment]) -> None:
        """``require`` every top-level segment (and nested manifest) of a manifest, before any byte is sent."""
        for seg in segments:
            if seg.data is not None:
                continue  # inline data: part of the manifest itself
            await self.require(seg.container, seg.obj, top_level=not seg.sub_slo)

    def trusting_multipart(self, manifest_headers: Mapping[str, str], container: str) -> SegmentAccess:
        """This access, trusting ``<container>+segments`` when the manifest is an S3 multipart upload's."""
        if not lookup(manifest_headers, MULTIPART_MARKER):
            return self
        return replace(self, trusted=self.trusted | {container + MULTIPART_SEGMENTS_SUFFIX},
                       _decided=self._decided)


class WatchedBody:
    """A large object's body being copied, remembering the ``SegmentForbidden`` that cut it off (a
    nested manifest's segment the caller may not read): the storage PUT fed from it then fails, and the
    copy answers with ``forbidden.status`` instead of the storage error."""

    def __init__(self, body: AsyncIterable[bytes]):
        self.body = body
        self.forbidden: SegmentForbidden | None = None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.body:
                yield chunk
        except SegmentForbidden as err:
            self.forbidden = err
            raise
