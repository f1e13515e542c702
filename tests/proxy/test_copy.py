"""Server-side copies: COPY + Destination, PUT + X-Copy-From, metadata handling, cross-account."""

from __future__ import annotations

import hashlib
import uuid

import httpx


def test_copy_verb(http, container):
    http.put(f"{container}/src", content=b"payload", headers={"X-Object-Meta-A": "1", "Content-Type": "text/x"})
    r = http.request("COPY", f"{container}/src", headers={"Destination": f"/{container}/dst",
                                                          "X-Object-Meta-B": "2"})
    assert r.status_code == 201
    assert r.headers["X-Copied-From"] == f"{container}/src"
    assert r.headers["X-Copied-From-Last-Modified"] == http.head(f"{container}/src").headers["Last-Modified"]
    assert r.headers["Etag"] == hashlib.md5(b"payload").hexdigest()
    g = http.get(f"{container}/dst")
    assert g.content == b"payload" and g.headers["Content-Type"] == "text/x"
    assert g.headers["X-Object-Meta-A"] == "1" and g.headers["X-Object-Meta-B"] == "2"
    # destination without a leading slash works too
    r = http.request("COPY", f"{container}/src", headers={"Destination": f"{container}/dst2"})
    assert r.status_code == 201
    assert http.request("COPY", f"{container}/src", headers={"Destination": "nocontainer"}).status_code == 412
    assert http.request("COPY", f"{container}/src").status_code == 412
    assert http.request("COPY", f"{container}/missing",
                        headers={"Destination": f"/{container}/x"}).status_code == 404


def test_put_copy_from(http, container):
    http.put(f"{container}/src name", content=b"abc", headers={"X-Object-Meta-A": "1"})
    r = http.put(f"{container}/dst", headers={"X-Copy-From": f"/{container}/src%20name", "Content-Length": "0"})
    assert r.status_code == 201
    assert r.headers["X-Copied-From"] == f"{container}/src%20name"
    assert http.get(f"{container}/dst").content == b"abc"
    assert http.head(f"{container}/dst").headers["X-Object-Meta-A"] == "1"
    r = http.put(f"{container}/fresh", headers={"X-Copy-From": f"{container}/src%20name", "X-Fresh-Metadata": "true",
                                                "X-Object-Meta-New": "n"})
    assert r.status_code == 201
    h = http.head(f"{container}/fresh").headers
    assert "X-Object-Meta-A" not in h and h["X-Object-Meta-New"] == "n"
    assert http.put(f"{container}/x", headers={"X-Copy-From": f"/{container}/nope"}).status_code == 404
    assert http.put(f"{container}/x", headers={"X-Copy-From": "bad"}).status_code == 412
    assert http.put(f"no-such-{uuid.uuid4().hex[:6]}/x",
                    headers={"X-Copy-From": f"/{container}/src%20name"}).status_code == 404


def test_cross_account_copy(cluster, http, container):
    http.put(f"{container}/shared", content=b"data")
    storage2, token2 = cluster.auth("test2:tester2", "testing2")
    with httpx.Client(base_url=storage2 + "/", headers={"X-Auth-Token": token2}) as other:
        dest = "xacct-" + uuid.uuid4().hex[:6]
        assert other.put(dest).status_code == 201
        copy_from = {"X-Copy-From": f"/{container}/shared", "X-Copy-From-Account": "AUTH_test"}
        assert other.put(f"{dest}/o", headers=copy_from).status_code == 403  # no read access to AUTH_test
        http.post(container, headers={"X-Container-Read": "test2:tester2"})
        r = other.put(f"{dest}/o", headers=copy_from)
        assert r.status_code == 201 and r.headers["X-Copied-From-Account"] == "AUTH_test"
        assert other.get(f"{dest}/o").content == b"data"
    # COPY into an account we may not write to
    r = http.request("COPY", f"{container}/shared", headers={"Destination": f"/{dest}/o2",
                                                             "Destination-Account": "AUTH_test2"})
    assert r.status_code == 403
