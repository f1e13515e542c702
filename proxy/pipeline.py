"""The proxy's feature pipeline: features that wrap requests, composed in ONE ordered list.

A feature is an async callable ``(req, call_next) -> Response``: it may answer by itself, pass the
request on with ``await call_next(req)`` and change the answer, or issue sub-requests through the
rest of the pipeline with the caller's identity (``await proxy.swift.access.authorize(sub, call_next)``
re-checks each sub-request's authorization). ``build`` nests them like Swift's ``pipeline =`` line or
Starlette's middleware stack: the first feature is the outermost.

The Swift API's order (``swift_features``), outermost first:

1. ``cors``         answers ``OPTIONS`` preflights; adds CORS headers to every answer from below.
   ``etag_quoter``  quoted ETags on object answers where the container, account or cluster default
                    asks (``X-Container-/X-Account-Rfc-Compliant-Etags``).
2. ``tempurl``      a temp URL signature authenticates and authorizes one object request, its
                    sub-requests only inside the signing key's account/container; hides
                    metadata and sets Content-Disposition on the answer.
   ``formpost``     a signed HTML form POST (multipart) uploads its files as PUT sub-requests scoped
                    to the signing key's container/prefix.
3. ``authenticate`` tokens (TempAuth, Keystone) → ``req.identity``; 401 for a bad token.
   ``open_expired`` ``X-Open-Expired: true`` on an object GET/HEAD/POST (``[proxy] allow_open_expired``):
                    the request's storage client reaches expired objects not yet reaped.
   ``container_sync`` an object PUT/DELETE/HEAD signed for container sync (``X-Container-Sync-Auth``, or
                    the legacy ``X-Container-Sync-Key``) is authorized by it alone, keeping its X-Timestamp.
   ``staticweb``    anonymous (or ``X-Web-Mode``) GET/HEAD of a web container: index pages, listings,
                    error pages, redirects to ``dir/``; before ``authorize`` so denials get error pages.
4. ``authorize``    the access the router table's entry names (read/write/reseller/public), checked
                    once, before any handler or feature that acts on storage.
   ``container_sync.settings`` an owner's ``X-Container-Sync-To`` validated on container PUT/POST (400).
5. ``bulk``         ``?bulk-delete`` on the account.
   ``extract_archive`` ``PUT ?extract-archive=tar|tar.gz|tar.bz2``: a streamed archive's files uploaded
                    as PUT sub-requests by the caller (containers created as needed).
   ``container_quotas`` / ``account_quotas``  413 for an object write (PUT, copy) past the container's
                    or account's quota; quota metadata validated (account quotas: reseller admins only).
   ``object_versioning`` ``X-Versions-Enabled`` (proxy/versioning/ engine): writes keep the replaced
                    version, DELETE writes a delete marker, ``?version-id`` / ``?versions``.
   ``versioned_writes`` ``X-Versions-Location`` / ``X-History-Location``: an object write (PUT, copy,
                    SLO manifest, symlink) first archives the object it replaces; DELETE restores the
                    newest version (stack) or archives and writes a delete marker (history).
6. ``symlink``      ``X-Symlink-Target`` links: created, followed as the caller (through SLO/DLO
                    below, so a link to a large object reads it), ``symlink_path`` in listings.
7. ``slo``          ``?multipart-manifest=put|delete|get``; a stored SLO manifest read as its data.
8. ``dlo``          an ``X-Object-Manifest`` object read as its segments' data.

The endpoint below the last feature runs the table entry's handler (proxy/swift/operations.py).
Every stage sees answers, never exceptions: an ``HTTPError`` raised below becomes its response at
the stage that raised it, so CORS and temp URL decorate error answers too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

from starlette.responses import Response

from proxy.http.errors import HTTPError, error_response

Handler = Callable[[Any], Awaitable[Response]]
Feature = Callable[[Any, Handler], Awaitable[Response]]


F = TypeVar("F")


def handles(*, operations: Iterable[str] | None = None, methods: Iterable[str] | None = None) -> Callable[[F], F]:
    """Declare the requests a feature can act on: router table operations (names) and/or verbs (None:
    any). A request of another operation or verb skips the feature's stage altogether."""

    def mark(feature: F) -> F:
        feature.handles_operations = None if operations is None else frozenset(operations)  # type: ignore[attr-defined]
        feature.handles_methods = None if methods is None else frozenset(methods)  # type: ignore[attr-defined]
        return feature

    return mark


def _acts_on(feature: Feature, operation: str, method: str) -> bool:
    operations = getattr(feature, "handles_operations", None)
    methods = getattr(feature, "handles_methods", None)
    return (operations is None or operation in operations) and (methods is None or method in methods)


def build(features: Sequence[Feature], endpoint: Handler) -> Handler:
    """One handler running ``features`` in order (the first outermost), then ``endpoint``.

    Each request passes only the features that act on its operation and verb (``handles``): which
    stage comes next is worked out once per (operation, verb) and position, then looked up, like one
    prebuilt chain per operation. The lookup is made at every step with the request it is given, so a
    sub-request sent into the rest of the pipeline (bulk deletes, copies, segments) passes the features
    below that act on *its* operation. A request without an operation passes every stage."""
    entries: list[Handler] = []
    final = _answering(endpoint)
    for start in range(len(features) + 1):
        entries.append(_entry(start, features, entries, final))
    return entries[0]


def _entry(start: int, features: Sequence[Feature], entries: list[Handler], final: Handler) -> Handler:
    """Run the first feature at or after ``start`` that acts on the request (its ``HTTPError`` answered
    as its response, ``NotImplementedError`` as 501), bound to the entry after it; else the endpoint."""
    count = len(features)
    first: dict[tuple[str, str], int] = {}  # (operation, verb) -> index of the next acting feature

    async def stage(req: Any) -> Response:
        try:
            key = (req.operation.name, req.method)
        except AttributeError:  # no operation (None, or a request object without one)
            index = start
        else:
            try:
                index = first[key]
            except KeyError:
                index = start
                while index < count and not _acts_on(features[index], *key):
                    index += 1
                first[key] = index
        if index == count:
            return await final(req)
        try:
            return await features[index](req, entries[index + 1])
        except HTTPError as err:
            return err.response()
        except NotImplementedError:
            return error_response(501)

    return stage


def _answering(handler: Handler) -> Handler:
    """``handler`` with ``HTTPError`` turned into its response and ``NotImplementedError`` into 501."""

    async def answer(req: Any) -> Response:
        try:
            return await handler(req)
        except HTTPError as err:
            return err.response()
        except NotImplementedError:
            return error_response(501)

    return answer


def swift_features(auth_backends: Sequence[Any]) -> list[Feature]:
    """The Swift API's features in pipeline order (documented above and in docs/pipeline.md)."""
    from proxy.swift import access
    from proxy.swift.features import (
        bulk,
        container_sync,
        cors,
        dlo,
        etag_quoter,
        extract_archive,
        formpost,
        object_versioning,
        open_expired,
        slo,
        staticweb,
        symlink,
        tempurl_stage,
        versioned_writes,
    )
    from proxy.swift.features.account_quotas import feature as account_quotas
    from proxy.swift.features.container_quotas import feature as container_quotas

    return [
        cors.feature,
        etag_quoter.feature,
        tempurl_stage.feature,
        formpost.feature,
        access.Authenticate(auth_backends),
        open_expired.feature,
        container_sync.feature,
        staticweb.feature,
        access.authorize,
        container_sync.settings,
        bulk.feature,
        extract_archive.feature,
        container_quotas,
        account_quotas,
        object_versioning.feature,
        versioned_writes.feature,
        symlink.feature,
        slo.feature,
        dlo.feature,
    ]
