"""A tiny scriptable HTTP/1.1 server: a stand-in for a misbehaving storage node in unit tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    conn_id: int

    async def read_body(self) -> bytes:
        if self.headers.get("expect", "").lower() == "100-continue":
            self.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "content-length" in self.headers:
            return await self.reader.readexactly(int(self.headers["content-length"]))
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readline()).strip(), 16)
                if size == 0:
                    await self.reader.readline()
                    return b"".join(parts)
                parts.append(await self.reader.readexactly(size))
                await self.reader.readline()
        return b""

    def respond(
        self, status: int, body: bytes = b"", headers: dict[str, str] | None = None, chunked: bool = False
    ) -> None:
        lines = [f"HTTP/1.1 {status} X"]
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        if chunked:
            lines.append("Transfer-Encoding: chunked")
            payload = b"".join(
                b"%x\r\n%s\r\n" % (len(body[i : i + 7]), body[i : i + 7]) for i in range(0, len(body), 7)
            )
            payload += b"0\r\n\r\n"
        else:
            if "Content-Length" not in (headers or {}):
                lines.append(f"Content-Length: {len(body)}")
            payload = body if self.method != "HEAD" else b""
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)


Handler = Callable[[Request], Awaitable[bool | None]]  # return False to close the connection


@dataclass
class FakeNode:
    handler: Handler
    port: int = 0
    connections: int = 0
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    _server: asyncio.Server | None = None

    async def __aenter__(self) -> FakeNode:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        assert self._server is not None
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        conn_id = self.connections
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                self.requests.append((method, path, headers))
                keep = await self.handler(Request(method, path, headers, reader, writer, conn_id))
                await writer.drain()
                if keep is False:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
