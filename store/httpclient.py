"""A minimal asyncio HTTP/1.1 client with keep-alive pooling, for small node-to-node requests."""

from __future__ import annotations

import asyncio
import weakref

MAX_IDLE_PER_HOST = 32


class HTTPClientError(Exception):
    """Connection failure, timeout or malformed response."""


Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class ConnectionPool:
    """Idle keep-alive connections per (host, port), for one event loop."""

    def __init__(self, max_idle_per_host: int = MAX_IDLE_PER_HOST):
        self.max_idle = max_idle_per_host
        self._idle: dict[tuple[str, int], list[Conn]] = {}

    def _get(self, key: tuple[str, int]) -> Conn | None:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if not conn[1].is_closing() and not conn[0].at_eof():
                return conn
            conn[1].close()
        return None

    def _put(self, key: tuple[str, int], conn: Conn) -> None:
        idle = self._idle.setdefault(key, [])
        if len(idle) < self.max_idle:
            idle.append(conn)
        else:
            conn[1].close()

    async def request(self, host: str, port: int, method: str, path: str, headers: dict[str, str] | None,
                      body: bytes, timeout: float) -> tuple[int, dict[str, str], bytes]:
        key = (host, port)
        try:
            async with asyncio.timeout(timeout):
                for attempt in range(2):
                    conn = self._get(key) if attempt == 0 else None
                    reused = conn is not None
                    if conn is None:
                        conn = await asyncio.open_connection(host, port)
                    try:
                        status, resp_headers, data, keep = await _roundtrip(conn, host, port, method, path,
                                                                            headers, body)
                    except (OSError, asyncio.IncompleteReadError, HTTPClientError):
                        conn[1].close()
                        if reused:  # the peer closed an idle connection: retry once on a new one
                            continue
                        raise
                    except BaseException:
                        conn[1].close()
                        raise
                    if keep:
                        self._put(key, conn)
                    else:
                        conn[1].close()
                    return status, resp_headers, data
                raise HTTPClientError("unreachable")
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            raise HTTPClientError(f"{method} {host}:{port}{path}: {exc!r}") from exc

    def close(self) -> None:
        for idle in self._idle.values():
            for _, writer in idle:
                writer.close()
        self._idle.clear()


async def _roundtrip(conn: Conn, host: str, port: int, method: str, path: str, headers: dict[str, str] | None,
                     body: bytes) -> tuple[int, dict[str, str], bytes, bool]:
    reader, writer = conn
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
    status_line = await reader.readline()
    parts = status_line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise HTTPClientError(f"bad status line {status_line!r}")
    resp_headers: dict[str, str] = {}
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        k, _, v = line.decode("latin-1").partition(":")
        resp_headers[k.strip().lower()] = v.strip()
    status = int(parts[1])
    keep = resp_headers.get("connection", "").lower() != "close" and parts[0] == b"HTTP/1.1"
    if method == "HEAD" or status in (204, 304) or status < 200:
        data = b""
    elif "content-length" in resp_headers:
        data = await reader.readexactly(int(resp_headers["content-length"]))
    else:
        data = await reader.read(1 << 20)
        keep = False
    return status, resp_headers, data, keep


_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ConnectionPool] = weakref.WeakKeyDictionary()


def pool() -> ConnectionPool:
    """The running loop's connection pool."""
    loop = asyncio.get_running_loop()
    p = _pools.get(loop)
    if p is None:
        p = _pools[loop] = ConnectionPool()
    return p


async def request(host: str, port: int, method: str, path: str, headers: dict[str, str] | None = None,
                  body: bytes = b"", timeout: float = 2.0) -> tuple[int, dict[str, str], bytes]:
    """Send one request (``path`` already percent-encoded) over a pooled keep-alive connection;
    return (status, lower-case headers, body). Raises HTTPClientError on any failure."""
    return await pool().request(host, port, method, path, headers, body, timeout)
