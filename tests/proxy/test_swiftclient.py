"""python-swiftclient (the library real tools are built on) against the proxy."""

from __future__ import annotations

import hashlib
import io
import uuid

import pytest
from swiftclient import client as sc
from swiftclient.exceptions import ClientException


def test_swiftclient_roundtrip(swift_conn):
    cont = "sc-" + uuid.uuid4().hex[:8]
    swift_conn.put_container(cont, headers={"X-Container-Meta-A": "b"})
    assert swift_conn.head_container(cont)["x-container-meta-a"] == "b"
    data = b"x" * 100_000
    etag = swift_conn.put_object(cont, "dir/obj", io.BytesIO(data), content_length=len(data),
                                 headers={"X-Object-Meta-Mtime": "1795313726.360864"})
    assert etag == hashlib.md5(data).hexdigest()
    etag2 = swift_conn.put_object(cont, "streamed", io.BytesIO(data), chunk_size=10_000)  # chunked
    assert etag2 == hashlib.md5(data).hexdigest()
    headers, body = swift_conn.get_object(cont, "dir/obj")
    assert body == data and headers["x-object-meta-mtime"] == "1795313726.360864"
    headers, body = swift_conn.get_object(cont, "dir/obj", headers={"Range": "bytes=10-19"})
    assert body == data[10:20]
    _, listing = swift_conn.get_container(cont, delimiter="/")
    assert [r.get("name") or r.get("subdir") for r in listing] == ["dir/", "streamed"]
    _, full = swift_conn.get_container(cont, full_listing=True, limit=1)
    assert [r["name"] for r in full] == ["dir/obj", "streamed"]
    swift_conn.post_object(cont, "dir/obj", headers={"X-Object-Meta-Color": "blue"})
    assert swift_conn.head_object(cont, "dir/obj")["x-object-meta-color"] == "blue"
    swift_conn.copy_object(cont, "dir/obj", destination=f"/{cont}/copied")
    assert swift_conn.get_object(cont, "copied")[1] == data
    account_headers, containers = swift_conn.get_account(prefix=cont)
    assert [c["name"] for c in containers] == [cont]
    for name in ("dir/obj", "streamed", "copied"):
        swift_conn.delete_object(cont, name)
    with pytest.raises(ClientException) as err:
        swift_conn.get_object(cont, "dir/obj")
    assert err.value.http_status == 404
    swift_conn.delete_container(cont)
    info = swift_conn.get_capabilities()
    assert "slo" in info and "swift" in info


def test_swiftclient_bad_key(cluster):
    with pytest.raises(ClientException) as err:
        sc.get_auth(cluster.proxy_url + "/auth/v1.0", "test:tester", "wrong")
    assert err.value.http_status == 401
