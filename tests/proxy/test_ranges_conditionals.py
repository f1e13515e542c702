"""Range requests (single, suffix, open, multiple, unsatisfiable) and If-* conditionals."""

from __future__ import annotations

import hashlib
import re
from email.utils import formatdate, parsedate_to_datetime

import pytest

DATA = bytes(range(256)) * 4  # 1024 bytes


@pytest.fixture()
def obj(http, container) -> str:
    assert http.put(f"{container}/r", content=DATA, headers={"Content-Type": "application/x-test"}).status_code == 201
    return f"{container}/r"


@pytest.mark.parametrize("header,start,end", [
    ("bytes=0-9", 0, 10), ("bytes=1000-", 1000, 1024), ("bytes=-24", 1000, 1024),
    ("bytes=1000-5000", 1000, 1024), ("bytes=-5000", 0, 1024), ("bytes=5-5", 5, 6),
])
def test_single_range(http, obj, header, start, end):
    r = http.get(obj, headers={"Range": header})
    assert r.status_code == 206
    assert r.content == DATA[start:end]
    assert r.headers["Content-Range"] == f"bytes {start}-{end - 1}/1024"
    assert r.headers["Content-Length"] == str(end - start)
    assert r.headers["Etag"] == hashlib.md5(DATA).hexdigest()


def test_unsatisfiable_range(http, obj):
    r = http.get(obj, headers={"Range": "bytes=2000-"})
    assert r.status_code == 416 and r.headers["Content-Range"] == "bytes */1024"
    r = http.get(obj, headers={"Range": "bytes=2000-3000,4000-"})
    assert r.status_code == 416 and r.headers["Content-Range"] == "bytes */1024"


def test_malformed_range_ignored(http, obj):
    for header in ("bytes=9-1", "lines=1-2", "bytes=a-b"):
        r = http.get(obj, headers={"Range": header})
        assert r.status_code == 200 and r.content == DATA


def _parts(resp) -> list[tuple[str, bytes]]:
    boundary = re.search(r"boundary=(\S+)", resp.headers["Content-Type"]).group(1).encode()
    body = resp.content
    assert body.endswith(b"--" + boundary + b"--\r\n")
    out = []
    for chunk in body.split(b"--" + boundary)[1:-1]:
        head, _, data = chunk.partition(b"\r\n\r\n")
        assert data.endswith(b"\r\n")
        cr = re.search(rb"Content-Range: (.*)\r", head + b"\r").group(1).decode()
        assert b"Content-Type: application/x-test" in head
        out.append((cr, data[:-2]))
    return out


def test_multiple_ranges(http, obj):
    r = http.get(obj, headers={"Range": "bytes=0-1,10-19,-3"})
    assert r.status_code == 206
    assert r.headers["Content-Type"].startswith("multipart/byteranges; boundary=")
    assert int(r.headers["Content-Length"]) == len(r.content)
    assert _parts(r) == [("bytes 0-1/1024", DATA[0:2]), ("bytes 10-19/1024", DATA[10:20]),
                         ("bytes 1021-1023/1024", DATA[1021:])]
    # only one satisfiable range left: a plain 206
    r = http.get(obj, headers={"Range": "bytes=5-6,5000-"})
    assert r.status_code == 206 and r.content == DATA[5:7] and r.headers["Content-Range"] == "bytes 5-6/1024"


def test_head_with_range(http, obj):
    r = http.head(obj, headers={"Range": "bytes=0-9"})
    assert r.status_code == 206 and r.headers["Content-Length"] == "10"
    assert r.headers["Content-Range"] == "bytes 0-9/1024"


def test_conditionals(http, obj):
    etag = hashlib.md5(DATA).hexdigest()
    lm = http.head(obj).headers["Last-Modified"]
    later = formatdate(parsedate_to_datetime(lm).timestamp() + 3600, usegmt=True)
    earlier = formatdate(parsedate_to_datetime(lm).timestamp() - 3600, usegmt=True)
    cases = [
        ({"If-Match": f'"{etag}"'}, 200), ({"If-Match": etag}, 200), ({"If-Match": "*"}, 200),
        ({"If-Match": '"nope"'}, 412),
        ({"If-None-Match": f'"{etag}"'}, 304), ({"If-None-Match": "*"}, 304), ({"If-None-Match": '"x"'}, 200),
        ({"If-Modified-Since": lm}, 304), ({"If-Modified-Since": later}, 304),
        ({"If-Modified-Since": earlier}, 200),
        ({"If-Unmodified-Since": earlier}, 412), ({"If-Unmodified-Since": later}, 200),
        ({"If-Match": f'"{etag}"', "Range": "bytes=0-1"}, 206), ({"If-Match": '"x"', "Range": "bytes=0-1"}, 412),
    ]
    for headers, status in cases:
        r = http.get(obj, headers=headers)
        assert r.status_code == status, (headers, r.status_code)
        if status == 304:
            assert r.content == b"" and r.headers["Etag"] == etag
        assert http.head(obj, headers=headers).status_code == status, headers
