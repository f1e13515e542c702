"""Object PUT/GET/HEAD/POST/DELETE against a real node process."""

from __future__ import annotations

import hashlib
import os
import socket
import time
import uuid

import httpx
import pytest

from tests import ondisk
from tests.store.conftest import BLOCK, NODE_AUTH, next_ts, object_dir, signed_head, wait_for

ACCT = "AUTH_test"


def opath(name: str, part: int = 7, container: str = "c", device: str = "d1") -> str:
    from urllib.parse import quote

    return f"/obj/{device}/{part}/{ACCT}/{container}/{quote(name, safe='/')}"


def put(client, name, body=b"data", ts=None, part=7, **headers):
    h = {"X-Timestamp": ts or next_ts(), "Content-Type": "text/plain"}
    h.update(headers)
    return client.put(opath(name, part), content=body, headers=h)


def test_put_get_head_roundtrip(client):
    body = os.urandom(3 * BLOCK + 123)
    ts = next_ts()
    r = put(client, "obj1", body, ts=ts, **{"X-Object-Meta-Color": "blue", "Content-Encoding": "identity",
                                          "X-Object-Sysmeta-Thing": "s", "X-Unpersisted": "no"})
    assert r.status_code == 201
    assert r.headers["etag"] == hashlib.md5(body).hexdigest()
    r = client.get(opath("obj1"))
    assert r.status_code == 200
    assert r.content == body
    assert r.headers["content-length"] == str(len(body))
    assert r.headers["etag"] == hashlib.md5(body).hexdigest()
    assert r.headers["content-type"] == "text/plain"
    assert r.headers["x-object-meta-color"] == "blue"
    assert r.headers["content-encoding"] == "identity"
    assert r.headers["x-object-sysmeta-thing"] == "s"
    assert "x-unpersisted" not in r.headers
    assert r.headers["x-timestamp"] == ts
    assert r.headers["x-backend-timestamp"] == ts
    assert r.headers["x-backend-data-timestamp"] == ts
    assert r.headers["accept-ranges"] == "bytes"
    assert r.headers["last-modified"].endswith("GMT")
    h = client.head(opath("obj1"))
    assert h.status_code == 200
    assert h.headers["content-length"] == str(len(body))
    assert h.content == b""


def test_large_objects_and_ranges_are_sent_from_the_file_byte_exact(client, node):
    # files beyond diskfile.SMALL_FILE go by sendfile (store/file_response.py), block by block after each
    # block's check; every range below starts, ends or crosses a block boundary somewhere
    body = os.urandom(7 * BLOCK + 1234)
    assert put(client, "big-sendfile", body).status_code == 201
    assert (data_file_size := sum(f.stat().st_size for f in object_dir(
        node.devices_root, "d1", 7, ACCT, "c", "big-sendfile").glob("*.data"))) > 256 * 1024, data_file_size
    r = client.get(opath("big-sendfile"))
    assert r.status_code == 200 and r.content == body and r.headers["content-length"] == str(len(body))
    size = len(body)
    for first, last in [(0, size - 1), (1, BLOCK), (BLOCK - 1, 3 * BLOCK + 5), (2 * BLOCK, 2 * BLOCK + 70_000),
                        (BLOCK, 2 * BLOCK - 1), (size - 70_000, size - 1), (3, size - 3)]:
        r = client.get(opath("big-sendfile"), headers={"Range": f"bytes={first}-{last}"})
        assert r.status_code == 206, (first, last)
        assert r.content == body[first:last + 1], (first, last)
        assert r.headers["content-range"] == f"bytes {first}-{last}/{size}"
    r = client.get(opath("big-sendfile"), headers={"Range": "bytes=-100000"})
    assert r.status_code == 206 and r.content == body[-100_000:]
    for _ in range(3):  # the client's kept-alive connection answers the next requests after a file's bytes
        assert client.get(opath("big-sendfile")).content == body
    assert client.get("/healthcheck").text == "OK"


def test_object_names_keep_slashes_and_unicode(client):
    for name in ["/tmp/f", "a//b/", "ünïcödé ☃/x?y#z", "%2F"]:
        r = put(client, name, name.encode())
        assert r.status_code == 201, name
        assert client.get(opath(name)).content == name.encode()
    assert client.get(opath("tmp/f")).status_code == 404  # "/tmp/f" and "tmp/f" differ


def test_put_timestamps_and_409(client, node):
    t1, t2 = next_ts(), next_ts()
    assert put(client, "ts-obj", b"new", ts=t2).status_code == 201
    r = put(client, "ts-obj", b"old", ts=t1)
    assert r.status_code == 409
    assert r.headers["x-backend-timestamp"] == t2
    assert r.headers["etag"] == hashlib.md5(b"old").hexdigest()  # read before it was refused
    assert put(client, "ts-obj", b"same", ts=t2).status_code == 409
    assert client.get(opath("ts-obj")).content == b"new"
    t3 = next_ts()
    assert put(client, "ts-obj", b"newer", ts=t3).status_code == 201
    assert client.get(opath("ts-obj")).content == b"newer"
    files = ondisk.names(object_dir(node.devices_root, "d1", 7, ACCT, "c", "ts-obj"))
    assert files == [f"{t3}.data"]  # the older .data was cleaned up


def test_delete_and_tombstones(client, node):
    t1 = next_ts()
    assert put(client, "del-obj", ts=t1).status_code == 201
    r = client.delete(opath("del-obj"), headers={"X-Timestamp": t1})
    assert r.status_code == 409
    t2 = next_ts()
    r = client.delete(opath("del-obj"), headers={"X-Timestamp": t2})
    assert r.status_code == 204
    r = client.get(opath("del-obj"))
    assert r.status_code == 404
    assert r.headers["x-backend-timestamp"] == t2
    assert client.head(opath("del-obj")).headers["x-backend-timestamp"] == t2
    assert ondisk.names(object_dir(node.devices_root, "d1", 7, ACCT, "c", "del-obj")) == [f"{t2}.ts"]
    # PUT older than the tombstone loses; newer wins
    assert put(client, "del-obj", ts=t1).status_code == 409
    # DELETE of a missing object still writes a tombstone -> 404
    t3 = next_ts()
    r = client.delete(opath("never-there"), headers={"X-Timestamp": t3})
    assert r.status_code == 404
    assert ondisk.names(object_dir(node.devices_root, "d1", 7, ACCT, "c", "never-there")) == [f"{t3}.ts"]
    assert put(client, "never-there", ts=next_ts(-10)).status_code == 409
    assert put(client, "del-obj", b"back", ts=next_ts()).status_code == 201
    assert client.get(opath("del-obj")).content == b"back"


def test_post_replaces_metadata(client):
    t1 = next_ts()
    assert put(client, "post-obj", b"x", ts=t1, **{"X-Object-Meta-A": "1", "X-Object-Meta-B": "2",
                                                   "Content-Disposition": "inline"}).status_code == 201
    t2 = next_ts()
    r = client.post(opath("post-obj"), headers={"X-Timestamp": t2, "X-Object-Meta-C": "3",
                                                "Content-Type": "application/x-new"})
    assert r.status_code == 202
    r = client.head(opath("post-obj"))
    assert r.headers["x-object-meta-c"] == "3"
    assert "x-object-meta-a" not in r.headers and "x-object-meta-b" not in r.headers
    assert r.headers["content-type"] == "application/x-new"
    assert r.headers["content-disposition"] == "inline"
    assert r.headers["x-timestamp"] == t1
    assert r.headers["x-backend-timestamp"] == t2
    assert r.headers["x-backend-data-timestamp"] == t1
    assert client.get(opath("post-obj")).content == b"x"
    # an older or equal POST conflicts
    assert client.post(opath("post-obj"), headers={"X-Timestamp": t2}).status_code == 409
    assert client.post(opath("post-obj"), headers={"X-Timestamp": t1}).status_code == 409
    assert client.post(opath("missing-post"), headers={"X-Timestamp": next_ts()}).status_code == 404


def test_delete_at(client):
    future = int(time.time()) + 2
    assert put(client, "exp", b"bye", **{"X-Delete-At": str(future)}).status_code == 201
    assert client.get(opath("exp")).status_code == 200
    # expirer-style delete with the wrong X-If-Delete-At
    r = client.delete(opath("exp"), headers={"X-Timestamp": next_ts(), "X-If-Delete-At": str(future + 5)})
    assert r.status_code == 412
    assert wait_for(lambda: client.get(opath("exp")).status_code == 404, timeout=5)
    r = client.get(opath("exp"))
    assert "x-backend-timestamp" in r.headers
    assert put(client, "exp2", **{"X-Delete-At": str(int(time.time()) - 5)}).status_code == 400
    assert put(client, "exp2", **{"X-Delete-At": "soon"}).status_code == 400
    # POST removes X-Delete-At when absent
    assert put(client, "exp3", **{"X-Delete-At": str(future + 100)}).status_code == 201
    assert client.post(opath("exp3"), headers={"X-Timestamp": next_ts()}).status_code == 202
    assert "x-delete-at" not in client.head(opath("exp3")).headers
    # expirer delete with the right value succeeds
    assert put(client, "exp4", **{"X-Delete-At": str(future + 100)}).status_code == 201
    r = client.delete(opath("exp4"), headers={"X-Timestamp": next_ts(), "X-If-Delete-At": str(future + 100)})
    assert r.status_code == 204


@pytest.mark.parametrize("spec,status,expect", [
    ("bytes=0-9", 206, (0, 9)),
    ("bytes=10-", 206, (10, 999)),
    ("bytes=-100", 206, (900, 999)),
    ("bytes=990-5000", 206, (990, 999)),
    ("bytes=-5000", 206, (0, 999)),
    ("bytes=1000-", 416, None),
    ("bytes=-0", 416, None),
    ("bytes=5-2", 200, None),
    ("bytes=0-1,5-6", 200, None),
    ("pages=1-2", 200, None),
])
def test_ranges(client, spec, status, expect):
    body = bytes(range(256)) * 4
    body = body[:1000]
    name = "range-" + spec
    assert put(client, name, body).status_code == 201
    r = client.get(opath(name), headers={"Range": spec})
    assert r.status_code == status
    if status == 206:
        a, b = expect
        assert r.content == body[a:b + 1]
        assert r.headers["content-range"] == f"bytes {a}-{b}/1000"
    elif status == 416:
        assert r.headers["content-range"] == "bytes */1000"
    else:
        assert r.content == body


def test_range_across_blocks(client):
    body = os.urandom(5 * BLOCK)
    assert put(client, "big-range", body).status_code == 201
    for a, b in [(BLOCK - 10, BLOCK + 10), (0, 5 * BLOCK - 1), (2 * BLOCK, 4 * BLOCK - 1), (123, 4 * BLOCK + 7)]:
        r = client.get(opath("big-range"), headers={"Range": f"bytes={a}-{b}"})
        assert r.status_code == 206
        assert r.content == body[a:b + 1]


def test_etag_mismatch_422_and_match(client):
    r = put(client, "etag-obj", b"abc", ETag="0" * 32)
    assert r.status_code == 422
    assert client.get(opath("etag-obj")).status_code == 404
    r = put(client, "etag-obj", b"abc", ETag='"' + hashlib.md5(b"abc").hexdigest().upper() + '"')
    assert r.status_code == 201


def test_chunked_put(client):
    parts = [os.urandom(1000), os.urandom(BLOCK * 3), b"", os.urandom(17)]
    ts = next_ts()
    r = client.put(opath("chunked"), content=iter(parts), headers={"X-Timestamp": ts})
    assert r.status_code == 201
    body = b"".join(parts)
    assert r.headers["etag"] == hashlib.md5(body).hexdigest()
    got = client.get(opath("chunked"))
    assert got.content == body
    assert got.headers["content-type"] == "application/octet-stream"


def test_zero_byte_object(client):
    assert put(client, "empty", b"").status_code == 201
    r = client.get(opath("empty"))
    assert r.status_code == 200 and r.content == b""
    assert r.headers["etag"] == hashlib.md5(b"").hexdigest()
    assert client.get(opath("empty"), headers={"Range": "bytes=0-1"}).status_code == 416


def test_large_object_streams(client):
    body = os.urandom(6 * 1024 * 1024 + 5)
    assert put(client, "large", body).status_code == 201
    with client.stream("GET", opath("large")) as r:
        assert r.status_code == 200
        got = b"".join(r.iter_bytes())
    assert hashlib.md5(got).digest() == hashlib.md5(body).digest()


def test_short_body_499_stores_nothing(client, node):
    ts = next_ts()
    with socket.create_connection(("127.0.0.1", node.port)) as s:
        s.sendall(signed_head(f"PUT {opath('short')} HTTP/1.1\r\nHost: x\r\nX-Timestamp: {ts}\r\n"
                              "Content-Length: 100000".encode()) + b"\r\n\r\n" + b"x" * 1000)
        time.sleep(0.2)
    assert wait_for(lambda: not os.listdir(node.devices_root / "d1" / "tmp"), timeout=5)
    assert client.get(opath("short")).status_code == 404
    assert not object_dir(node.devices_root, "d1", 7, ACCT, "c", "short").exists()


def test_missing_device_and_no_space_507(client, node):
    r = client.put(opath("x", device="nodev"), content=b"x", headers={"X-Timestamp": next_ts()})
    assert r.status_code == 507
    assert client.get(opath("x", device="nodev")).status_code == 507
    assert client.get("/cont/nodev/1/a/c").status_code == 507
    assert client.get("/acct/nodev/1/a").status_code == 507
    assert raw_status(node, f"PUT {opath('huge')} HTTP/1.1\r\nX-Timestamp: {next_ts()}\r\n"
                            f"Content-Length: {10**17}") == 507


def raw_status(node, head: str | bytes) -> int:
    """Status of a hand-written request (headers only, the connection then closes)."""
    if isinstance(head, str):
        head = head.encode()
    with socket.create_connection(("127.0.0.1", node.port)) as s:
        s.sendall(signed_head(head + b"\r\nHost: x\r\nConnection: close") + b"\r\n\r\n")
        data = s.recv(4096)
    assert data.startswith(b"HTTP/1.1 "), data
    return int(data.split()[1])


def test_bad_content_length_400(node):
    assert raw_status(node, f"PUT {opath('badlen')} HTTP/1.1\r\nX-Timestamp: {next_ts()}\r\n"
                            "Content-Length: abc") == 400


@pytest.mark.parametrize("method,path,headers", [
    ("PUT", "/obj/d1/7/a/c/o", {}),  # no X-Timestamp
    ("PUT", "/obj/d1/7/a/c/o", {"X-Timestamp": "yesterday"}),
    ("PUT", "/obj/d1/7/a/c/o", {"X-Timestamp": "-5"}),
    ("PUT", "/obj/d1/7/a/c/o", {"X-Timestamp": "nan"}),
    ("DELETE", "/obj/d1/7/a/c/o", {"X-Timestamp": "1e30"}),
    ("POST", "/obj/d1/7/a/c/o", {}),
    ("GET", "/obj/d1/abc/a/c/o", {}),
    ("GET", "/obj/d1/-1/a/c/o", {}),
    ("GET", "/obj/d1/99999999999/a/c/o", {}),
    ("GET", "/obj/../7/a/c/o", {}),
    ("GET", "/obj/..%2F..%2Fetc/7/a/c/o", {}),
    ("GET", "/obj/%2E%2E/7/a/c/o", {}),
    ("GET", "/obj/d1/7/a/c", {}),
    ("GET", "/obj/d1/7/a/c/", {}),
    ("GET", "/obj/d1/7/%ff/c/o", {}),
    ("GET", "/obj/d1/7/a/c/%ff%fe", {}),
    ("GET", "/obj/d1/7/a/c%2Fx/o", {}),
    ("GET", "/obj/d1/7/a/c/o%00", {}),
    ("GET", "/nope/d1/7/a/c/o", {}),
    ("GET", "/obj", {}),
    ("PUT", "/obj/d1/7/a/c/o", {"X-Timestamp": "1700000000.00000", "X-Container-Host": "nohost"}),
    ("PUT", "/cont/d1/7/a/c", {"X-Timestamp": "bad"}),
    ("GET", "/cont/d1/7/a/c?limit=abc", {}),
    ("GET", "/acct/d1/7/a?marker=%ff", {}),
])
def test_bad_input_400(client, method, path, headers):
    r = client.request(method, path, headers=headers, content=b"x" if method == "PUT" else None)
    assert r.status_code in (400, 411), (r.status_code, r.text)


def test_raw_bytes_never_500(node):
    for raw in [b"GET /obj/d1/7/a/c/\xff\xfe HTTP/1.1", b"GET /cont/d1/7/a/c?prefix=\xff HTTP/1.1",
                b"PUT /obj/d1/7/a/c/o HTTP/1.1\r\nX-Timestamp: \xff"]:
        with socket.create_connection(("127.0.0.1", node.port)) as s:
            s.sendall(signed_head(raw + b"\r\nHost: x\r\nContent-Length: 0\r\nConnection: close") + b"\r\n\r\n")
            data = s.recv(4096)
        assert data.startswith(b"HTTP/1.1 4"), data


def test_healthcheck(client):
    r = client.get("/healthcheck")
    assert r.status_code == 200 and r.text == "OK"


def test_corrupt_block_never_served_and_quarantined(client, node):
    name = "corrupt-" + uuid.uuid4().hex
    body = os.urandom(6 * BLOCK)
    assert put(client, name, body).status_code == 201
    hdir = object_dir(node.devices_root, "d1", 7, ACCT, "c", name)
    (data_file,) = ondisk.with_ext(hdir, ".data")
    ondisk.flip(hdir, data_file, 4 * BLOCK + 100)
    # a range that does not touch the bad block is still served (only touched blocks are verified)
    r = client.get(opath(name), headers={"Range": f"bytes=0-{BLOCK * 2}"})
    assert r.status_code == 206 and r.content == body[:BLOCK * 2 + 1]
    # a full read starts, then is cut before the bad block: the bad bytes never leave the node
    received = b""
    with pytest.raises(httpx.HTTPError):
        with client.stream("GET", opath(name)) as r:
            assert r.status_code == 200
            for chunk in r.iter_raw():
                received += chunk
    assert len(received) <= 4 * BLOCK
    assert received == body[:len(received)]
    assert not ondisk.exists(hdir)
    assert (node.devices_root / "d1" / "quarantined" / "objects" / hdir.name).is_dir()
    assert client.get(opath(name)).status_code == 404
    assert client.get("/recon/quarantined").json()["objects"] >= 1


def test_corrupt_first_block_is_404_before_headers(client, node):
    name = "corrupt0-" + uuid.uuid4().hex
    body = os.urandom(BLOCK + 10)
    assert put(client, name, body).status_code == 201
    hdir = object_dir(node.devices_root, "d1", 7, ACCT, "c", name)
    (data_file,) = ondisk.with_ext(hdir, ".data")
    ondisk.flip(hdir, data_file, 5)
    assert client.head(opath(name)).status_code == 200  # HEAD does not read the body
    assert client.get(opath(name)).status_code == 404
    assert not ondisk.exists(hdir)
    assert (node.devices_root / "d1" / "quarantined" / "objects" / hdir.name).is_dir()


def test_corrupt_metadata_quarantined(client, node):
    name = "corruptmeta-" + uuid.uuid4().hex
    assert put(client, name, b"hello").status_code == 201
    hdir = object_dir(node.devices_root, "d1", 7, ACCT, "c", name)
    (data_file,) = ondisk.with_ext(hdir, ".data")
    ondisk.flip(hdir, data_file, 5 + 10)  # inside the JSON metadata
    assert client.head(opath(name)).status_code == 404
    assert not ondisk.exists(hdir)
    # a PUT afterwards recreates it cleanly
    assert put(client, name, b"again").status_code == 201
    assert client.get(opath(name)).content == b"again"


def test_concurrent_small_puts(node):
    import asyncio

    async def run():
        async with httpx.AsyncClient(base_url=node.url, timeout=30, auth=NODE_AUTH,
                                     limits=httpx.Limits(max_connections=64)) as ac:
            async def one(i):
                r = await ac.put(opath(f"many/{i}", part=9), content=b"%d" % i,
                                 headers={"X-Timestamp": next_ts()})
                return r.status_code
            return await asyncio.gather(*(one(i) for i in range(200)))

    assert set(asyncio.run(run())) == {201}
    with httpx.Client(base_url=node.url, auth=NODE_AUTH) as c:
        for i in (0, 99, 199):
            assert c.get(opath(f"many/{i}", part=9)).content == b"%d" % i


def test_post_without_content_type_keeps_the_last_one(client):
    assert put(client, "ctype-obj", b"x", ts=next_ts(), **{"Content-Type": "text/a"}).status_code == 201
    assert client.post(opath("ctype-obj"), headers={"X-Timestamp": next_ts(),
                                                    "Content-Type": "text/b"}).status_code == 202
    assert client.post(opath("ctype-obj"), headers={"X-Timestamp": next_ts(),
                                                    "X-Object-Meta-M": "1"}).status_code == 202
    r = client.head(opath("ctype-obj"))
    assert r.headers["content-type"] == "text/b" and r.headers["x-object-meta-m"] == "1"


def test_post_merges_sysmeta(client):
    assert put(client, "sysmeta", b"x", **{"X-Object-Sysmeta-A": "1", "X-Object-Sysmeta-B": "2",
                                           "X-Object-Transient-Sysmeta-T": "t"}).status_code == 201
    assert client.post(opath("sysmeta"), headers={"X-Timestamp": next_ts(), "X-Object-Sysmeta-B": "3",
                                                  "X-Object-Sysmeta-C": "4"}).status_code == 202
    h = client.head(opath("sysmeta")).headers
    assert (h["x-object-sysmeta-a"], h["x-object-sysmeta-b"], h["x-object-sysmeta-c"]) == ("1", "3", "4")
    assert "x-object-transient-sysmeta-t" not in h  # transient sysmeta is replaced like user metadata
    assert client.post(opath("sysmeta"), headers={"X-Timestamp": next_ts(), "X-Object-Sysmeta-A": "",
                                                  "X-Object-Sysmeta-C": ""}).status_code == 202
    h = client.head(opath("sysmeta")).headers
    assert "x-object-sysmeta-a" not in h and "x-object-sysmeta-c" not in h
    assert h["x-object-sysmeta-b"] == "3"
    r = client.post(opath("sysmeta"), headers={"X-Timestamp": next_ts(), "X-Object-Sysmeta-B": ""})
    assert r.status_code == 202
    assert not [k for k in client.head(opath("sysmeta")).headers if k.startswith("x-object-sysmeta-")]


def test_post_sets_changes_or_removes_x_object_manifest(client):
    """A POST's .meta replaces X-Object-Manifest as Swift's object server does: kept only when sent."""
    assert put(client, "dlo-meta", b"body", **{"X-Object-Manifest": "c/old"}).status_code == 201
    assert client.post(opath("dlo-meta"), headers={"X-Timestamp": next_ts(),
                                                   "X-Object-Manifest": "c/new"}).status_code == 202
    assert client.head(opath("dlo-meta")).headers["x-object-manifest"] == "c/new"
    assert client.post(opath("dlo-meta"), headers={"X-Timestamp": next_ts()}).status_code == 202
    assert "x-object-manifest" not in client.head(opath("dlo-meta")).headers
    assert client.get(opath("dlo-meta")).content == b"body"


def test_meta_written_before_manifest_replacement_keeps_the_manifest():
    """A .meta without the ``manifest_set`` mark (written by an older version) leaves the data's
    X-Object-Manifest alone, so an upgrade does not turn POSTed DLOs into plain objects."""
    from store.diskfile import ObjectReader

    meta = {"size": 0, "etag": "", "ts": next_ts(), "bs": BLOCK, "blocks": "",
            "headers": {"X-Object-Manifest": "c/p", "X-Object-Meta-A": "1"}}
    old = {"ts": next_ts(), "headers": {"X-Object-Meta-B": "2"}, "sysmeta_set": True}
    reader = ObjectReader(None, -1, meta, old, None, 0)  # metadata merging only: no file is read
    assert reader.headers["X-Object-Manifest"] == "c/p" and "X-Object-Meta-A" not in reader.headers
    reader = ObjectReader(None, -1, meta, dict(old, manifest_set=True), None, 0)
    assert "X-Object-Manifest" not in reader.headers


def test_far_future_timestamps_are_refused(client, node):
    """A tombstone stamped years ahead would make the name unwritable until then: 400, nothing stored."""
    from stackstore.timestamp import Timestamp

    future = Timestamp(time.time() + 10 * 365 * 86400).normal
    r = client.delete(opath("future-ts"), headers={"X-Timestamp": future})
    assert r.status_code == 400
    assert put(client, "future-ts", ts=future).status_code == 400
    assert client.post(opath("future-ts"), headers={"X-Timestamp": future}).status_code == 400
    assert not object_dir(node.devices_root, "d1", 7, ACCT, "c", "future-ts").exists()
    assert put(client, "future-ts", b"now").status_code == 201
    assert client.put(f"/cont/d1/7/{ACCT}/future-c", headers={"X-Timestamp": future}).status_code == 400
    assert client.put(f"/acct/d1/7/{ACCT}-future", headers={"X-Timestamp": future}).status_code == 400
    arabic = "\u0661" * 10 + ".00000"  # Unicode digits: float() takes them, the wire format does not
    r = client.put(opath("future-ts"), content=b"x", headers={"X-Timestamp": arabic.encode()})
    assert r.status_code == 400
