"""The streaming multipart/form-data reader: parts come out whole whatever the network chunk sizes."""

from __future__ import annotations

import asyncio

import pytest

from proxy.http.multipart_form import MultipartError, MultipartReader, header_params

BODY = (b"--XyZ\r\nContent-Disposition: form-data; name=\"redirect\"\r\n\r\nhttp://x/y\r\n"
        b"--XyZ\r\nContent-Disposition: form-data; name=\"file1\"; filename=\"a b.txt\"\r\n"
        b"Content-Type: text/plain\r\n\r\n" + b"A\r\n--X" * 2000 + b"\r\n"
        b"--XyZ\r\nContent-Disposition: form-data; name=\"file2\"; filename=\"b\"\r\n\r\n\r\n--XyZ--\r\n")


async def _chunks(data: bytes, size: int):
    for i in range(0, len(data), size):
        yield data[i:i + size]


async def _parts(data: bytes, size: int, read: bool = True):
    reader = MultipartReader(_chunks(data, size), "XyZ")
    out = []
    while (part := await reader.next_part()) is not None:
        body = b"".join([c async for c in part.body()]) if read else b""
        out.append((part.disposition, part.headers.get("content-type"), body))
    return out


@pytest.mark.parametrize("size", [1, 2, 3, 7, 100, 5000, 1 << 20])
def test_parts_survive_any_chunking(size):
    parts = asyncio.run(_parts(BODY, size))
    assert parts == [(("form-data", {"name": "redirect"}), None, b"http://x/y"),
                     (("form-data", {"name": "file1", "filename": "a b.txt"}), "text/plain", b"A\r\n--X" * 2000),
                     (("form-data", {"name": "file2", "filename": "b"}), None, b"")]


def test_unread_parts_are_skipped():
    names = [p[0][1]["name"] for p in asyncio.run(_parts(BODY, 9, read=False))]
    assert names == ["redirect", "file1", "file2"]


def test_bad_starting_boundary():
    with pytest.raises(MultipartError):
        asyncio.run(_parts(b"garbage\r\n--XyZ--\r\n", 4))
    # leading blank lines are allowed
    assert len(asyncio.run(_parts(b"\r\n\r\n" + BODY, 4))) == 3


def test_header_params_unquotes():
    assert header_params('multipart/form-data; boundary="a b"') == ("multipart/form-data", {"boundary": "a b"})
    assert header_params("") == ("", {})
