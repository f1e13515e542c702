"""In-memory stand-in for StorageClient (same method names and answers), for S3-layer tests that
run without storage nodes. Mirrors docs/internal-api.md: listings with exactly ``limit`` rows,
container-update override sysmeta, POST replacing user metadata."""

from __future__ import annotations

import bisect
import hashlib
import re
from collections.abc import AsyncIterator, Mapping

from proxy.backend.client import BackendResponse
from proxy.backend.headers import HeaderDict
from stackstore.timestamp import Timestamp

PERSIST = ("content-type", "content-encoding", "content-disposition", "content-language", "cache-control",
           "expires", "x-delete-at", "x-object-manifest", "x-static-large-object")


def _persisted(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items()
            if k.lower() in PERSIST or k.lower().startswith(("x-object-meta-", "x-object-sysmeta-"))}


class _Container:
    def __init__(self, ts: Timestamp, headers: dict[str, str]):
        self.ts = ts
        self.headers = headers
        self.objects: dict[str, tuple[bytes, dict[str, str]]] = {}
        self.names: list[str] = []


class MemoryStorage:
    def __init__(self) -> None:
        self.accounts: dict[str, dict[str, _Container]] = {}

    async def close(self) -> None:
        pass

    def _cont(self, account: str, container: str) -> _Container | None:
        return self.accounts.get(account, {}).get(container)

    # -- objects ------------------------------------------------------------------------------
    def _obj_headers(self, data: bytes, meta: dict[str, str]) -> HeaderDict:
        h = HeaderDict(meta)
        h["Content-Length"] = str(len(data))
        h["Accept-Ranges"] = "bytes"
        return h

    async def head_object(self, account, container, obj, headers=None) -> BackendResponse:
        c = self._cont(account, container)
        if c is None or obj not in c.objects:
            return BackendResponse.simple(404)
        data, meta = c.objects[obj]
        return BackendResponse.simple(200, self._obj_headers(data, meta))

    async def get_object(self, account, container, obj, headers=None) -> BackendResponse:
        c = self._cont(account, container)
        if c is None or obj not in c.objects:
            return BackendResponse.simple(404)
        data, meta = c.objects[obj]
        h = self._obj_headers(data, meta)
        rng = HeaderDict(headers or {}).get("range")
        m = re.match(r"bytes=(\d*)-(\d*)$", rng or "")
        if m and (m.group(1) or m.group(2)):
            size = len(data)
            if m.group(1):
                start = int(m.group(1))
                end = min(int(m.group(2)) + 1, size) if m.group(2) else size
            else:
                start, end = max(0, size - int(m.group(2))), size
            if start >= size or (not m.group(1) and int(m.group(2)) == 0):
                h["Content-Range"] = f"bytes */{size}"
                return BackendResponse.simple(416, h)
            h["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
            h["Content-Length"] = str(end - start)
            return BackendResponse(206, h, _chunks(data[start:end]))
        return BackendResponse(200, h, _chunks(data))

    async def put_object(self, account, container, obj, headers, body: AsyncIterator[bytes],
                         content_length=None) -> BackendResponse:
        buf = bytearray()
        if content_length != 0:
            try:
                async for chunk in body:
                    buf += chunk
                    if content_length is not None and len(buf) > content_length:
                        return BackendResponse.simple(400)
            except Exception:
                return BackendResponse.simple(499)
        if content_length is not None and len(buf) != content_length:
            return BackendResponse.simple(499)
        data = bytes(buf)
        md5 = hashlib.md5(data).hexdigest()
        h = HeaderDict(headers)
        if h.get("etag") and h["etag"].strip('"') != md5:
            return BackendResponse.simple(422)
        ts = Timestamp.now()
        meta = _persisted(h)
        meta.setdefault("Content-Type", "application/octet-stream")
        meta.update({"ETag": md5, "X-Timestamp": ts.normal, "Last-Modified": ts.http_date,
                     "X-Backend-Timestamp": ts.normal, "X-Backend-Data-Timestamp": ts.normal})
        c = self._cont(account, container)
        if c is not None:
            if obj not in c.objects:
                bisect.insort(c.names, obj)
            c.objects[obj] = (data, meta)
        return BackendResponse.simple(201, {"ETag": md5, "X-Timestamp": ts.normal, "Last-Modified": ts.http_date})

    async def post_object(self, account, container, obj, headers) -> BackendResponse:
        c = self._cont(account, container)
        if c is None or obj not in c.objects:
            return BackendResponse.simple(404)
        data, meta = c.objects[obj]
        new = {k: v for k, v in meta.items() if not k.lower().startswith("x-object-meta-")}
        for k, v in headers.items():
            low = k.lower()
            if low.startswith("x-object-meta-") or low == "content-type":
                new = {a: b for a, b in new.items() if a.lower() != low}
                new[k] = v
            elif low.startswith("x-object-sysmeta-"):
                new = {a: b for a, b in new.items() if a.lower() != low}
                if v:
                    new[k] = v
        c.objects[obj] = (data, new)
        return BackendResponse.simple(202)

    async def delete_object(self, account, container, obj, headers=None) -> BackendResponse:
        c = self._cont(account, container)
        if c is None or obj not in c.objects:
            return BackendResponse.simple(404)
        del c.objects[obj]
        c.names.remove(obj)
        return BackendResponse.simple(204)

    # -- containers ---------------------------------------------------------------------------
    def _cont_headers(self, c: _Container) -> HeaderDict:
        h = HeaderDict(c.headers)
        h["X-Container-Object-Count"] = str(len(c.objects))
        h["X-Container-Bytes-Used"] = str(sum(len(d) for d, _ in c.objects.values()))
        h["X-Timestamp"] = c.ts.normal
        h["X-Put-Timestamp"] = c.ts.normal
        h["Last-Modified"] = c.ts.http_date
        return h

    async def head_container(self, account, container, headers=None) -> BackendResponse:
        c = self._cont(account, container)
        return BackendResponse.simple(404) if c is None else BackendResponse.simple(204, self._cont_headers(c))

    def _row(self, name: str, data: bytes, meta: dict[str, str]) -> dict:
        m = HeaderDict(meta)
        etag = m.get("x-object-sysmeta-container-update-override-etag") or m["etag"]
        size = m.get("x-object-sysmeta-container-update-override-size") or str(len(data))
        return {"name": name, "hash": etag, "bytes": int(size), "content_type": m.get("content-type", ""),
                "last_modified": Timestamp(m["x-timestamp"]).isoformat}

    async def list_container(self, account, container, *, prefix=None, delimiter=None, marker=None,
                             end_marker=None, limit=10000, reverse=False):
        c = self._cont(account, container)
        if c is None:
            return BackendResponse.simple(404), []
        rows: list[dict] = []
        names = c.names
        i = bisect.bisect_right(names, marker) if marker else 0
        if prefix:
            i = max(i, bisect.bisect_left(names, prefix))
        while i < len(names) and len(rows) < limit:
            name = names[i]
            if prefix and not name.startswith(prefix):
                break
            if end_marker and name >= end_marker:
                break
            if delimiter:
                idx = name.find(delimiter, len(prefix or ""))
                if idx >= 0:
                    sub = name[: idx + len(delimiter)]
                    if not marker or sub > marker:
                        rows.append({"subdir": sub})
                    # skip everything under sub
                    i = bisect.bisect_left(names, sub + "\U0010ffff")
                    continue
            data, meta = c.objects[name]
            rows.append(self._row(name, data, meta))
            i += 1
        return BackendResponse.simple(200, self._cont_headers(c)), rows

    async def put_container(self, account, container, headers=None) -> BackendResponse:
        acct = self.accounts.setdefault(account, {})
        if container in acct:
            acct[container].headers.update(dict(headers or {}))
            return BackendResponse.simple(202)
        acct[container] = _Container(Timestamp.now(), dict(headers or {}))
        return BackendResponse.simple(201)

    async def post_container(self, account, container, headers) -> BackendResponse:
        c = self._cont(account, container)
        if c is None:
            return BackendResponse.simple(404)
        c.headers.update(dict(headers))
        return BackendResponse.simple(204)

    async def delete_container(self, account, container, headers=None) -> BackendResponse:
        c = self._cont(account, container)
        if c is None:
            return BackendResponse.simple(404)
        if c.objects:
            return BackendResponse.simple(409)
        del self.accounts[account][container]
        return BackendResponse.simple(204)

    # -- accounts -----------------------------------------------------------------------------
    async def head_account(self, account, headers=None) -> BackendResponse:
        if account not in self.accounts:
            return BackendResponse.simple(404)
        return BackendResponse.simple(204, {"X-Account-Container-Count": str(len(self.accounts[account]))})

    async def list_account(self, account, *, prefix=None, delimiter=None, marker=None, end_marker=None,
                           limit=10000, reverse=False):
        if account not in self.accounts:
            return BackendResponse.simple(404), []
        rows = []
        for name in sorted(self.accounts[account]):
            if marker and name <= marker:
                continue
            if prefix and not name.startswith(prefix):
                continue
            c = self.accounts[account][name]
            rows.append({"name": name, "count": len(c.objects), "bytes": 0,
                         "last_modified": c.ts.isoformat})
            if len(rows) >= limit:
                break
        return BackendResponse.simple(200), rows


async def _chunks(data: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i:i + size]


