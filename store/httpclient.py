"""A minimal asyncio HTTP/1.1 client for small node-to-node requests (row updates)."""

from __future__ import annotations

import asyncio


class HTTPClientError(Exception):
    """Connection failure, timeout or malformed response."""


async def request(host: str, port: int, method: str, path: str, headers: dict[str, str] | None = None,
                  body: bytes = b"", timeout: float = 2.0) -> tuple[int, dict[str, str], bytes]:
    """Send one request (``path`` already percent-encoded); return (status, lower-case headers, body)."""
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port)
            try:
                lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close",
                         f"Content-Length: {len(body)}"]
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
                if method == "HEAD" or status in (204, 304) or status < 200:
                    data = b""
                elif "content-length" in resp_headers:
                    data = await reader.readexactly(int(resp_headers["content-length"]))
                else:
                    data = await reader.read(1 << 20)
                return status, resp_headers, data
            finally:
                writer.close()
    except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
        raise HTTPClientError(f"{method} {host}:{port}{path}: {exc!r}") from exc
