"""In-memory stand-in storage nodes (object subset of the contract) with failure modes, plus a fake ring."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

import xxhash

from stackstore.footer import decode_footer
from tests.objclient.fakenode import FakeNode, Request


@dataclass(frozen=True)
class Dev:
    id: int
    ip: str
    port: int
    device: str
    zone: int = 1
    region: int = 1
    weight: float = 1.0


class FakeRing:
    """Partition 0 everywhere; primaries are the first ``replicas`` devices, handoffs the rest."""

    def __init__(self, devs: list[Dev], replicas: int = 3):
        self.devs = devs
        self.replica_count = replicas

    def partition(self, *args) -> int:
        return 0

    def primaries(self, part: int) -> list[Dev]:
        return self.devs[: self.replica_count]

    def handoffs(self, part: int):
        return iter(self.devs[self.replica_count :])

    def get_nodes(self, *args):
        return 0, self.primaries(0)


@dataclass
class MemNode:
    """One node; ``mode``: ok | full (507 before the body) | hang | drop (GET bodies break halfway)."""

    mode: str = "ok"
    objects: dict[str, tuple[bytes, dict[str, str]]] = field(default_factory=dict)
    server: FakeNode | None = None

    async def handle(self, req: Request):
        if self.mode == "hang":
            await req.reader.read()
            return False
        if self.mode == "full" and req.method == "PUT":
            req.respond(507)
            return False
        key = req.path.split("/", 4)[-1]
        if req.method == "PUT":
            data = await req.read_body()
            footer_length = int(req.headers.get("x-backend-footer-length", "0"))
            footer = decode_footer(data[len(data) - footer_length:]) if footer_length else {}
            data = data[:len(data) - footer_length]
            md5 = hashlib.md5(data).hexdigest()
            if req.headers.get("x-backend-body-digests") == "footer":  # the contract's end-to-end check
                assert footer["X-Backend-Body-Xxh3"] == xxhash.xxh3_64(data).hexdigest()
                assert footer["X-Backend-Body-Md5"] == md5
            if "etag" in req.headers and req.headers["etag"] != md5:
                req.respond(422)
                return
            ts = req.headers["x-timestamp"]
            self.objects[key] = (
                data,
                {
                    "ETag": md5,
                    "X-Timestamp": ts,
                    "X-Backend-Timestamp": ts,
                    "X-Backend-Data-Timestamp": ts,
                    "X-Container-Host": req.headers.get("x-container-host", ""),
                },
            )
            req.respond(201, headers={"ETag": md5})
            return
        if req.method == "DELETE":
            existed = self.objects.pop(key, None)
            req.respond(204 if existed else 404)
            return
        if key not in self.objects:
            req.respond(404)
            return
        data, meta = self.objects[key]
        start, end, status = 0, len(data) - 1, 200
        m = re.match(r"bytes=(\d*)-(\d*)$", req.headers.get("range", ""))
        headers = dict(meta)
        if m:
            if m.group(1):
                start = int(m.group(1))
                end = min(int(m.group(2)), len(data) - 1) if m.group(2) else len(data) - 1
            else:
                start = max(0, len(data) - int(m.group(2)))
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
        body = data[start : end + 1]
        headers["Content-Length"] = str(len(body))
        if self.mode == "drop" and req.method == "GET":
            head = f"HTTP/1.1 {status} X\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
            req.writer.write(head.encode() + body[: len(body) // 2])
            await req.writer.drain()
            return False
        req.respond(status, body, headers)


async def start_nodes(modes: list[str]) -> tuple[list[MemNode], list[FakeNode], FakeRing]:
    nodes = [MemNode(m) for m in modes]
    servers = []
    for n in nodes:
        s = FakeNode(n.handle)
        await s.__aenter__()
        n.server = s
        servers.append(s)
    devs = [Dev(i, "127.0.0.1", s.port, f"d{i}") for i, s in enumerate(servers)]
    return nodes, servers, FakeRing(devs)
