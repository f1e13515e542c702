"""Swift's SLO feature: ``?multipart-manifest=put|delete|get`` and GET/HEAD of a stored manifest.

A pipeline feature (proxy/pipeline.py): it claims the manifest PUT and DELETE operations of the
router table and turns a manifest the object controller found (``ManifestResponse``) into the large
object's answer. The API-neutral parts (reading manifests, streaming segments) are proxy/large_objects.

Everything a manifest names is touched with the caller's authority, never the proxy's (as Swift's
``slo`` middleware re-issues its sub-requests with the original request's auth):

- PUT: each segment is HEADed as the caller (a symlink segment counts as its target, which the caller
  must be able to read too); a missing one is ``404 Not Found``, one the caller may not
  read ``403 Forbidden`` (``401 Unauthorized`` when anonymous) in the 400 answer's ``Errors:`` list.
- GET: segments are read with ``proxy.swift.access.segment_access`` (403 before the body when a
  top-level segment or nested manifest is forbidden; see ``proxy.large_objects.response``).
- ``multipart-manifest=delete``: the manifest (and nested ones) are read as the caller's GETs, and every
  segment and the manifest are DELETE sub-requests by the caller through the rest of the pipeline, like
  bulk delete; forbidden ones are reported (``403 Forbidden``) in the result body and left in place.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
from collections.abc import AsyncIterator
from urllib.parse import quote

from starlette.responses import Response, StreamingResponse

from objclient.crypto.client import stored_view
from proxy.http.errors import STATUS, HTTPError, error_response, status_line
from proxy.http.headers import lookup
from proxy.large_objects.access import SegmentAccess, SegmentForbidden
from proxy.large_objects.response import ManifestResponse, get_large_object, get_manifest
from proxy.large_objects.segments import SegmentError, open_segment
from proxy.large_objects.slo import is_slo, read_manifest
from proxy.large_objects.slo_manifest import (
    MAX_MANIFEST_SIZE,
    MIN_SEGMENT_SIZE,
    SYSMETA_ETAG,
    SYSMETA_SIZE,
    YIELD_FREQUENCY,
    ManifestError,
    SegmentSpec,
    parse_put_body,
    parse_stored,
    resolve_range,
    slo_etag,
    slo_size,
    to_raw,
)
from proxy.pipeline import Handler, handles
from proxy.swift import constraints
from proxy.swift.access import authorize, segment_access
from proxy.swift.context import SwiftRequest
from proxy.swift.features import meta, results
from proxy.swift.headers import guess_content_type, object_write_headers
from proxy.swift.operations import DELETE_SLO, PUT_SLO_MANIFEST
from proxy.swift.replies import backend_failure, created_response
from proxy.versioning import engine
from proxy.versioning.guarded_write import GuardedWrite
from stackstore.timestamp import Timestamp

HEAD_CONCURRENCY = 8
WRITE_ATTEMPTS = 20  # a heartbeat manifest write that keeps losing the race to other writers of its name
DELETE_CONCURRENCY = 8


# manifest PUT/DELETE; reads (a ManifestResponse only answers GET/HEAD of an object); listings (slo_etag)
@handles(operations={PUT_SLO_MANIFEST, DELETE_SLO, "get_object", "head_object", "list_objects"})
async def feature(req: SwiftRequest, call_next: Handler) -> Response:
    """The pipeline stage: manifest PUT/DELETE here, GET/HEAD of an SLO manifest answered for the
    large object (or, with ``multipart-manifest=get``, as the manifest JSON)."""
    name = req.operation.name if req.operation else ""
    if name == PUT_SLO_MANIFEST:
        return await put_manifest(req)
    if name == DELETE_SLO:
        return await delete(req, call_next)
    response = await call_next(req)
    if name == "list_objects":
        return show_slo_etags(response)
    if not isinstance(response, ManifestResponse) or not response.is_slo:
        return response
    if req.query.get("multipart-manifest") == "get":
        return await get_manifest(req, response.backend)
    return await get_large_object(req, response.backend, segment_access(req))


# -- copies of the manifest ----------------------------------------------------------------------

async def copy_manifest(req: SwiftRequest, dst: tuple[str, str, str], stored: bytes,
                        headers: dict[str, str]) -> Response:
    """COPY / X-Copy-From of an SLO with ``multipart-manifest=get``: the manifest's PUT-able form is
    PUT at ``dst`` with ``multipart-manifest=put`` (``headers``: the copy's object headers), so its
    segments are checked as the caller in the destination's account, as Swift's copy middleware
    re-PUTs a manifest through its SLO middleware (400 with ``Errors:`` when they are missing or
    forbidden there)."""
    try:
        raw = json.dumps(to_raw(parse_stored(stored))).encode()
    except ValueError:
        return error_response(500, "Unable to load SLO manifest")
    sub = req.subrequest("PUT", *dst, query={"multipart-manifest": "put"}, headers=headers, body=raw)
    sub.timestamp = req.timestamp
    sub.sysmeta = dict(req.sysmeta)  # what features decided for the copy (object versioning's version id)
    sub.versioned.guard = req.versioned.guard  # and the version it may replace: a lost race reruns the whole copy
    resp = await put_manifest(sub)
    req.versioned.lost_race = sub.versioned.lost_race
    return resp


# -- container listings ---------------------------------------------------------------------------

def show_slo_etags(response: Response) -> Response:
    """A JSON container listing shows an SLO's ETag as ``slo_etag`` (quoted) next to the manifest's own
    MD5 in ``hash``, as Swift's SLO middleware does with the ``; slo_etag=`` parameter stored there."""
    ctype = (response.headers.get("content-type") or "").split(";")[0].strip()
    body = getattr(response, "body", None)  # listings are rendered whole (bounded by the listing limit)
    if response.status_code != 200 or ctype != "application/json" or not isinstance(body, bytes) \
            or b"slo_etag=" not in body:
        return response
    try:
        rows = json.loads(body)
    except ValueError:
        return response
    for row in rows:
        value = row.get("hash") if isinstance(row, dict) else None
        if not isinstance(value, str) or "slo_etag=" not in value:
            continue
        etag, *params = [p.strip() for p in value.split(";")]
        kept = []
        for param in params:
            key, _, val = param.partition("=")
            if key.strip() == "slo_etag":
                row["slo_etag"] = f'"{val.strip()}"'
            else:
                kept.append(param)
        row["hash"] = etag + "".join(f"; {p}" for p in kept)
    body = json.dumps(rows, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return Response(body, status_code=200, headers=headers)


# -- PUT ------------------------------------------------------------------------------------------

async def put_manifest(req: SwiftRequest) -> Response:
    """``PUT ?multipart-manifest=put``: check every segment, store the manifest, 201 with quoted ETag.

    With ``?heartbeat=on`` (Swift's): once the body is parsed, a 202 streams a space every
    YIELD_FREQUENCY seconds while segments are checked, then the outcome as a result body."""
    fmt = results.best_format(req.headers.get("accept"))
    if req.versioned.manifest_body is None:  # kept: versioning runs a write that lost the race again
        req.versioned.manifest_body = await _read_body(req, MAX_MANIFEST_SIZE + 1)
    try:
        specs = parse_put_body(req.versioned.manifest_body)
    except ManifestError as err:
        return error_response(err.status, err.detail)
    if not constraints.true_value(req.query.get("heartbeat")):
        response, _ = await _check_and_store(req, specs, fmt)
        return response
    # the manifest is written after the versioning stages have answered: their guard, and their way to
    # prepare the write again after a lost race, go with it
    # (a copy: the stage clears the request's own once it has answered)
    stream = _heartbeat(req, specs, fmt, dataclasses.replace(req.versioned))
    return StreamingResponse(stream, status_code=202, media_type=results.content_type(fmt))


async def _heartbeat(req: SwiftRequest, specs: list[SegmentSpec], fmt: str,
                     guarded: GuardedWrite) -> AsyncIterator[bytes]:
    task = asyncio.ensure_future(_check_and_store(req, specs, fmt, guarded))
    try:
        yield b" "
        while not (await asyncio.wait({task}, timeout=YIELD_FREQUENCY))[0]:
            yield b" "
        response, problems = task.result()
    finally:
        task.cancel()
    outcome: dict[str, object] = {"Response Status": status_line(response.status_code)}
    if response.status_code == 201:
        outcome["Etag"] = response.headers.get("etag", "")
        outcome["Last Modified"] = response.headers.get("last-modified", "")
        outcome["Response Body"] = ""
    elif not problems and (response.headers.get("content-type") or "").startswith("text/plain") \
            and response.body:
        outcome["Response Body"] = bytes(response.body).decode("utf-8", "replace")
    else:
        outcome["Response Body"] = "\n".join(STATUS.get(response.status_code, ("", "")))
    yield b"\r\n\r\n" + results.render(fmt, outcome, problems, "upload")


async def _check_and_store(req: SwiftRequest, specs: list[SegmentSpec], fmt: str,
                           guarded: GuardedWrite | None = None) -> tuple[Response, list[list[str]]]:
    """HEAD the segments as the caller and store the manifest: the answer and the segment problems.

    In a versioned container the write carries the versioning stage's guard: a lost race answers 409 with
    ``req.versioned.lost_race`` (the stage runs the request again), or, ``guarded`` (heartbeat=on), is prepared again
    and retried here."""
    problems: list[list[str]] = []
    if await meta.container_headers(req, req.container or "") is None:
        return error_response(404), problems
    if_none_match = req.headers.get("if-none-match")
    if if_none_match is not None and if_none_match.strip() != "*":
        return error_response(400, "If-None-Match only supports *"), problems
    if if_none_match is not None:
        existing = await stored_view(req.client).head_object(req.account, req.container_name, req.object_name)
        if existing.status // 100 == 2:
            return error_response(412), problems
    own = f"/{req.container}/{req.obj}"
    sem = asyncio.Semaphore(HEAD_CONCURRENCY)
    access = segment_access(req)

    async def check_one(spec: SegmentSpec) -> dict | None:
        if spec.data is not None:
            return spec.stored_data()
        async with sem:
            return await _check_segment(req, access, spec, len(specs), own, problems)

    entries = await asyncio.gather(*(check_one(s) for s in specs))
    if problems:
        body = results.render(fmt, {}, problems, "upload")
        return Response(body, status_code=400, media_type=results.content_type(fmt)), problems
    manifest = [e for e in entries if e is not None]
    etag, size = slo_etag(manifest), slo_size(manifest)
    client_etag = req.headers.get("etag")
    if client_etag and client_etag.strip('"') != etag:
        return error_response(422), problems
    body = json.dumps(manifest).encode()
    # versioning: replace only the version it archived (the client's If-None-Match decides otherwise); the
    # nodes refuse before the body
    guard = (guarded.guard if guarded else req.versioned.guard) if if_none_match is None else None
    for attempt in range(WRITE_ATTEMPTS):
        try:
            headers = _manifest_headers(req, etag, size, hashlib.md5(body).hexdigest())
        except HTTPError as err:
            return err.response(), problems
        resp = await req.client.put_object(req.account, req.container_name, req.object_name, headers,
                                           _once(body), len(body), condition=guard)
        await resp.close()
        if guard is None or resp.status not in (404, 409, 412):
            break
        if guarded is None or guarded.reguard is None:  # the stage runs it again (the body kept: manifest_body)
            req.versioned.lost_race = True
            return error_response(409), problems
        await engine.backoff(attempt)
        try:
            stopped = await guarded.reguard()
        except HTTPError as err:
            return err.response(), problems
        if stopped is not None:
            return stopped, problems
        guard = req.versioned.guard
    if resp.status != 201:
        return backend_failure(resp.status), problems
    return created_response(req, resp.headers, {"Etag": f'"{etag}"'}), problems


async def _read_body(req: SwiftRequest, limit: int) -> bytes:
    buf = bytearray()
    async for chunk in req.request.stream():
        buf += chunk
        if len(buf) > limit:
            break
    return bytes(buf)


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _manifest_headers(req: SwiftRequest, etag: str, size: int, manifest_md5: str) -> dict[str, str]:
    """Headers stored with the manifest: the client's object headers plus SLO markers and sysmeta.

    The container listing shows the manifest's own MD5 as ``hash``, the SLO's as ``slo_etag`` and the
    large object's size as ``bytes``, as Swift's."""
    constraints.check_metadata(req.headers, "object")
    headers = {k: v for k, v in object_write_headers(req.headers).items()
               if k.lower() not in ("etag", "x-object-manifest")}
    headers["Content-Type"] = guess_content_type(req.obj or "", req.headers)
    delete_at = constraints.delete_at(req.headers)
    if delete_at is not None:
        headers["X-Delete-At"] = delete_at
    headers.update({
        "X-Static-Large-Object": "True",
        SYSMETA_ETAG: etag,
        SYSMETA_SIZE: str(size),
        # what the container listing should show for this object (Swift's override sysmeta)
        "X-Object-Sysmeta-Container-Update-Override-Etag": f"{manifest_md5}; slo_etag={etag}",
        "X-Object-Sysmeta-Container-Update-Override-Size": str(size),
    })
    headers.update(req.sysmeta)  # what features decided (the version id)
    if req.timestamp:
        headers["X-Timestamp"] = req.timestamp
    return headers


async def _check_segment(req: SwiftRequest, access: SegmentAccess, spec: SegmentSpec, count: int, own: str,
                         problems: list[list[str]]) -> dict | None:
    """HEAD one segment as the caller; append ``[quoted path, reason]`` to problems or return its entry."""
    name = quote(spec.written or spec.path)
    if spec.path == own:
        problems.append([name, "Manifest must not include itself as a segment"])
        return None
    denied = await access.status(spec.container, spec.obj)
    if denied is not None:
        problems.append([name, status_line(denied)])
        return None
    try:  # a segment that is a symlink counts as its target, as Swift's SLO HEADs through ``symlink``
        resp = await open_segment(req.client, req.account, spec.container, spec.obj, access, method="HEAD")
    except SegmentForbidden as err:
        problems.append([name, status_line(err.status)])
        return None
    except SegmentError:  # a link loop, a static link whose target changed
        problems.append([name, status_line(409)])
        return None
    if resp.status // 100 != 2:
        problems.append([name, status_line(resp.status)])
        return None
    h = resp.headers
    sub = is_slo(h)
    if sub:
        size = int(lookup(h, SYSMETA_SIZE) or 0)
        etag = (lookup(h, SYSMETA_ETAG) or "").strip('"')
    else:
        size = int(h.get("content-length") or 0)
        etag = (h.get("etag") or "").strip('"')
    if spec.size_bytes is not None and spec.size_bytes != size:
        problems.append([name, "Size Mismatch"])
        return None
    if spec.etag is not None and spec.etag != etag:
        problems.append([name, "Etag Mismatch"])
        return None
    resolved = resolve_range(spec.range, size)
    if resolved is None:
        problems.append([name, "Unsatisfiable Range"])
        return None
    offset, length = resolved
    if length < MIN_SEGMENT_SIZE and spec.index != count - 1:
        problems.append([name, f"Too small; each segment must be at least {MIN_SEGMENT_SIZE} byte."])
        return None
    stamp = h.get("x-timestamp")
    entry = {
        "name": spec.path,
        "bytes": size,
        "hash": etag,
        "content_type": h.get("content-type", "application/octet-stream"),
        "last_modified": Timestamp(stamp).isoformat if stamp else "",
    }
    if (offset, length) != (0, size):
        entry["range"] = f"{offset}-{offset + length - 1}"
    if sub:
        entry["sub_slo"] = True
    return entry


# -- DELETE ---------------------------------------------------------------------------------------

async def delete(req: SwiftRequest, call_next: Handler) -> Response:
    """``DELETE ?multipart-manifest=delete``: segments (nested SLOs too), then the manifest; 200 + result.

    Manifests are read as the caller's GETs and every path is deleted by a DELETE sub-request of the
    caller through ``call_next`` (the pipeline below this feature), authorized like any DELETE."""
    fmt = results.best_format(req.headers.get("accept"))
    stats = {"Number Deleted": 0, "Number Not Found": 0}
    errors: list[list[str]] = []
    top = f"/{req.container}/{req.obj}"
    access = segment_access(req)
    denied = await access.status(req.container or "", req.obj)
    resp = (None if denied is not None
            else await req.client.get_object(req.account, req.container_name, req.object_name))
    if resp is None:
        errors.append([quote(top), status_line(denied or 403)])
    elif resp.status == 404:
        await resp.close()
        stats["Number Not Found"] += 1
    elif resp.status != 200:
        await resp.close()
        errors.append([quote(top), status_line(resp.status)])
    elif not is_slo(resp.headers):
        await resp.close()
        errors.append([quote(top), "Not an SLO manifest"])
    else:
        paths: list[str] = []
        try:
            entries = parse_stored(await resp.read())
            await _collect(req, access, entries, paths, errors, depth=0)
        except ValueError:
            errors.append([quote(top), "Unable to load SLO manifest"])
        else:
            await _delete_paths(req, call_next, list(dict.fromkeys(paths)), stats, errors)
            await _delete_paths(req, call_next, [top], stats, errors)
    if req.shown_as is not None:  # a version's object: the result names it as the caller did
        errors = [[quote(req.shown_as) if path == quote(top) else path, why] for path, why in errors]
    data = {**stats, "Response Status": "200 OK", "Response Body": ""}
    if errors:
        data["Response Status"] = status_line(400)
    body = results.render(fmt, data, errors, "delete")
    return Response(body, status_code=200, media_type=results.content_type(fmt))


async def _collect(req: SwiftRequest, access: SegmentAccess, entries: list[dict], paths: list[str],
                   errors: list[list[str]], depth: int) -> None:
    """Paths to delete, sub-SLO segments before their sub-manifest (read only when the caller may)."""
    for entry in entries:
        if "name" not in entry:
            continue  # inline data: nothing stored to delete
        name = "/" + entry["name"].lstrip("/")
        if entry.get("sub_slo") and depth < 10:
            container, _, obj = name[1:].partition("/")
            denied = await access.status(container, obj)
            if denied is not None:
                errors.append([quote(name), status_line(denied)])
                continue
            try:
                _, sub = await read_manifest(req, container, obj, access=access)
            except SegmentError:
                errors.append([quote(name), "Unable to load SLO manifest or segment."])
                continue
            await _collect(req, access, sub, paths, errors, depth + 1)
        paths.append(name)


async def _delete_paths(req: SwiftRequest, call_next: Handler, paths: list[str], stats: dict[str, int],
                        errors: list[list[str]]) -> None:
    """Each path deleted by a DELETE sub-request of the caller (authorized as any DELETE)."""
    sem = asyncio.Semaphore(DELETE_CONCURRENCY)

    async def one(path: str) -> None:
        container, _, obj = path[1:].partition("/")
        sub = req.subrequest("DELETE", req.account, container, obj)
        async with sem:
            status = (await authorize(sub, call_next)).status_code
        if status // 100 == 2:
            stats["Number Deleted"] += 1
        elif status == 404:
            stats["Number Not Found"] += 1
        else:
            errors.append([quote(path), status_line(status)])

    await asyncio.gather(*(one(p) for p in paths))
