"""Dynamic large objects end to end: swift CLI --use-dlo and a hand-made X-Object-Manifest."""

from __future__ import annotations

import hashlib
import os


def test_cli_dlo_roundtrip(swift, http, tmp_path):
    data = os.urandom(3 * 1024 * 1024 + 777)
    src = tmp_path / "dlo.bin"
    src.write_bytes(data)
    swift("upload", "--use-dlo", "--segment-size", "1M", "dlo-cli", str(src), "--object-name", "big")
    head = http.head("dlo-cli/big")
    assert head.status_code == 200
    assert head.headers["x-object-manifest"].startswith("dlo-cli_segments/big/")
    assert int(head.headers["content-length"]) == len(data)
    out = tmp_path / "out.bin"
    swift("download", "dlo-cli", "big", "-o", str(out))
    assert out.read_bytes() == data
    swift("delete", "dlo-cli", "big")
    assert http.get("dlo-cli_segments", params={"format": "json"}).json() == []


def test_hand_made_dlo(http, container):
    parts = [os.urandom(n) for n in (700, 1300, 5)]
    etags = []
    for i, part in enumerate(parts):
        r = http.put(f"{container}/segs/{i:08d}", content=part)
        assert r.status_code == 201
        etags.append(r.headers["etag"])
    # rclone sends the manifest chunked with an empty body
    r = http.put(f"{container}/dlo", content=iter([b""]), headers={"X-Object-Manifest": f"{container}/segs/"})
    assert r.status_code == 201
    data = b"".join(parts)
    get = http.get(f"{container}/dlo")
    assert get.content == data
    assert get.headers["etag"] == '"{}"'.format(hashlib.md5("".join(etags).encode()).hexdigest())
    assert get.headers["x-object-manifest"] == f"{container}/segs/"
    r = http.get(f"{container}/dlo", headers={"Range": "bytes=695-2004"})
    assert r.status_code == 206 and r.content == data[695:2005]
    # a new segment shows up at once
    assert http.put(f"{container}/segs/00000003", content=b"tail").status_code == 201
    assert http.get(f"{container}/dlo").content == data + b"tail"
