"""Symlinks (Swift's ``symlink`` middleware) end to end against a real cloud: creating and following
links, ``?symlink=get``, loops, static links, cross-account links under ACLs, POST/COPY, listings."""

from __future__ import annotations

import hashlib
import json
import uuid

import httpx
import pytest

MD5_OF_EMPTY = hashlib.md5(b"").hexdigest()
BODY = b"target body"


@pytest.fixture(scope="module")
def account_name(account) -> str:
    return account[0].rstrip("/").rsplit("/", 1)[-1]


@pytest.fixture()
def target(http, container) -> str:
    """``container/object`` of a fresh target object holding BODY."""
    name = f"{container}/tgt-{uuid.uuid4().hex[:8]}"
    assert http.put(name, content=BODY, headers={"Content-Type": "application/target"}).status_code == 201
    return name


def link(http, path: str, target: str, **headers: str) -> httpx.Response:
    return http.put(path, content=b"", headers={"X-Symlink-Target": target, **headers})


def test_info_advertises_symlinks(cluster):
    info = httpx.get(cluster.proxy_url + "/info").json()
    assert info["symlink"] == {"symloop_max": 2, "static_links": True}


def test_create_follow_and_read_the_link_itself(http, container, target, account_name):
    r = link(http, f"{container}/link", target)
    assert r.status_code == 201 and r.headers["etag"] == MD5_OF_EMPTY
    get = http.get(f"{container}/link")
    assert get.status_code == 200 and get.content == BODY
    assert get.headers["content-location"] == f"/v1/{account_name}/{target}"
    assert get.headers["etag"] == hashlib.md5(BODY).hexdigest()
    head = http.head(f"{container}/link")
    assert head.status_code == 200 and head.headers["content-length"] == str(len(BODY))
    ranged = http.get(f"{container}/link", headers={"Range": "bytes=7-10"})
    assert ranged.status_code == 206 and ranged.content == b"body"
    assert http.get(f"{container}/link", headers={"If-Match": "nope"}).status_code == 412
    itself = http.get(f"{container}/link", params={"symlink": "get"})
    assert itself.status_code == 200 and itself.content == b""
    assert itself.headers["x-symlink-target"] == target
    assert itself.headers["content-type"] == "application/symlink"
    assert "content-location" not in itself.headers
    assert link(http, f"{container}/link", target, **{"If-None-Match": "*"}).status_code == 412
    # deleting the link leaves the target alone
    assert http.delete(f"{container}/link").status_code == 204
    assert http.get(target).content == BODY


def test_put_validation(http, container, target):
    r = http.put(f"{container}/l", content=b"x", headers={"X-Symlink-Target": target})
    assert r.status_code == 400 and r.content == b"Symlink requests require a zero byte body"
    r = link(http, f"{container}/l", "no-container")
    assert r.status_code == 412
    assert r.content == b"X-Symlink-Target header must be of the form <container name>/<object name>"
    r = link(http, f"{container}/l", f"{container}/l")
    assert r.status_code == 400 and r.content == b"Symlink cannot target itself"
    r = http.post(target, headers={"X-Symlink-Target": "c/o"})
    assert r.status_code == 400 and r.content == b"A PUT request is required to set a symlink target"
    assert link(http, f"missing-{uuid.uuid4().hex}/l", target).status_code == 404
    assert link(http, f"{container}/l", f"{container}/a%00b").status_code == 412
    assert link(http, f"{container}/l", f"{container}/a%FFb").status_code == 412
    assert link(http, f"{container}/l", f"{container}/" + "o" * 1100).status_code == 400
    assert link(http, f"{container}/l", target, **{"X-Symlink-Target-Account": "a/b"}).status_code == 412
    assert link(http, f"{container}/l", target, **{"X-Symlink-Target-Etag": 'a"b'}).status_code == 400


def test_dangling_link_and_loops(http, container, account_name):
    assert link(http, f"{container}/dangling", f"{container}/nowhere").status_code == 201
    r = http.get(f"{container}/dangling")
    assert r.status_code == 404 and r.headers["content-location"] == f"/v1/{account_name}/{container}/nowhere"
    assert link(http, f"{container}/a", f"{container}/b").status_code == 201
    assert link(http, f"{container}/b", f"{container}/a").status_code == 201
    r = http.get(f"{container}/a")
    assert r.status_code == 409 and r.content == b"Too many levels of symbolic links, maximum allowed is 2"
    assert http.head(f"{container}/a").status_code == 409
    assert http.get(f"{container}/a", params={"symlink": "get"}).status_code == 200


def test_chain_within_symloop_max(http, container, target):
    assert link(http, f"{container}/one", target).status_code == 201
    assert link(http, f"{container}/two", f"{container}/one").status_code == 201
    assert http.get(f"{container}/two").content == BODY
    assert link(http, f"{container}/three", f"{container}/two").status_code == 201
    assert http.get(f"{container}/three").status_code == 409


def test_static_link(http, container, target, account_name):
    etag = hashlib.md5(BODY).hexdigest()
    r = link(http, f"{container}/bad", target, **{"X-Symlink-Target-Etag": "not-it"})
    assert r.status_code == 409
    assert r.content == f"Object Etag '{etag}' does not match X-Symlink-Target-Etag header 'not-it'".encode()
    r = link(http, f"{container}/nowhere", f"{container}/missing", **{"X-Symlink-Target-Etag": etag})
    assert r.status_code == 409 and r.content == b"X-Symlink-Target does not exist"
    assert link(http, f"{container}/static", target, **{"X-Symlink-Target-Etag": etag}).status_code == 201
    assert http.get(f"{container}/static").content == BODY
    copied = http.request("COPY", f"{container}/static", params={"symlink": "get"},
                          headers={"Destination": f"{container}/static2"})
    assert copied.status_code == 201
    assert http.head(f"{container}/static2", params={"symlink": "get"}).headers["x-symlink-target-etag"] == etag
    itself = http.head(f"{container}/static", params={"symlink": "get"})
    assert itself.headers["content-type"] == "application/target"  # the target's type by default
    assert itself.headers["x-symlink-target-etag"] == etag
    listed = {row["name"]: row for row in http.get(container, params={"format": "json"}).json()}
    assert listed["static"]["symlink_etag"] == etag
    assert listed["static"]["symlink_bytes"] == len(BODY)
    assert listed["static"]["hash"] == MD5_OF_EMPTY
    # the target changes: the static link breaks, and says where it points
    assert http.put(target, content=b"changed").status_code == 201
    r = http.get(f"{container}/static")
    assert r.status_code == 409 and r.headers["content-location"] == f"/v1/{account_name}/{target}"
    # a copy of the link is a new static link: checked again, so refused now
    copied = http.request("COPY", f"{container}/static", params={"symlink": "get"},
                          headers={"Destination": f"{container}/static3"})
    assert copied.status_code == 409


def test_listing_shows_symlink_path(http, container, target, account_name):
    assert link(http, f"{container}/lnk", target).status_code == 201
    rows = {row["name"]: row for row in http.get(container, params={"format": "json"}).json()}
    assert rows["lnk"]["symlink_path"] == f"/v1/{account_name}/{target}"
    assert rows["lnk"]["hash"] == MD5_OF_EMPTY and rows["lnk"]["bytes"] == 0
    assert "symlink_etag" not in rows["lnk"]
    tgt_name = target.split("/", 1)[1]
    assert "symlink_path" not in rows[tgt_name]
    xml = http.get(container, params={"format": "xml"}).text
    assert f"<hash>{MD5_OF_EMPTY}</hash>" in xml and "symlink_target" not in xml
    assert sorted(http.get(container).text.split()) == sorted(rows)


def test_post_to_link_answers_307(http, container, target, account_name):
    assert link(http, f"{container}/lnk", target).status_code == 201
    r = http.post(f"{container}/lnk", headers={"X-Object-Meta-Color": "red"})
    assert r.status_code == 307 and r.headers["location"] == f"/v1/{account_name}/{target}"
    # the metadata went to the link, not its target
    assert http.head(f"{container}/lnk", params={"symlink": "get"}).headers["x-object-meta-color"] == "red"
    assert "x-object-meta-color" not in http.head(target).headers
    assert http.post(target, headers={"X-Object-Meta-Color": "blue"}).status_code == 202


def test_copy_follows_unless_symlink_get(http, container, target):
    assert link(http, f"{container}/lnk", target).status_code == 201
    r = http.request("COPY", f"{container}/lnk", headers={"Destination": f"{container}/copied"})
    assert r.status_code == 201 and r.headers["x-copied-from"] == f"{container}/lnk"
    plain = http.get(f"{container}/copied")
    assert plain.content == BODY and "content-location" not in plain.headers
    r = http.put(f"{container}/copied2", headers={"X-Copy-From": f"{container}/lnk"})
    assert r.status_code == 201 and http.get(f"{container}/copied2").content == BODY
    r = http.request("COPY", f"{container}/lnk", params={"symlink": "get"},
                     headers={"Destination": f"{container}/lnk2"})
    assert r.status_code == 201
    assert http.head(f"{container}/lnk2", params={"symlink": "get"}).headers["x-symlink-target"] == target
    assert http.get(f"{container}/lnk2").content == BODY


def test_cross_account_link_needs_read_on_the_target(cluster, http, container, target, account_name):
    _, token2 = cluster.auth("test2:tester2", "testing2")
    url2 = cluster.proxy_url + "/v1/AUTH_test2/"
    with httpx.Client(base_url=url2, headers={"X-Auth-Token": token2}, timeout=60) as other:
        assert other.put(container).status_code in (201, 202)
        headers = {"X-Symlink-Target-Account": account_name}
        assert link(other, f"{container}/xlink", target, **headers).status_code == 201
        # the link itself is test2's; the target is not readable by test2 yet
        assert other.get(f"{container}/xlink", params={"symlink": "get"}).status_code == 200
        denied = other.get(f"{container}/xlink")
        assert denied.status_code == 403
        assert denied.headers["content-location"] == f"/v1/{account_name}/{target}"
        # a static link checks the target as its creator: 403 as well
        etag = hashlib.md5(BODY).hexdigest()
        r = link(other, f"{container}/xstatic", target, **headers, **{"X-Symlink-Target-Etag": etag})
        assert r.status_code == 403
        # a read ACL on the target's container lets test2 follow it
        tgt_container = target.split("/", 1)[0]
        assert http.post(tgt_container, headers={"X-Container-Read": "test2:tester2"}).status_code == 204
        allowed = other.get(f"{container}/xlink")
        assert allowed.status_code == 200 and allowed.content == BODY
        r = link(other, f"{container}/xstatic", target, **headers, **{"X-Symlink-Target-Etag": etag})
        assert r.status_code == 201
        # the ACL goes away: so does the access through the link
        assert http.post(tgt_container, headers={"X-Remove-Container-Read": "x"}).status_code == 204
        assert other.get(f"{container}/xlink").status_code == 403


def test_link_to_static_large_object(http, container, account_name):
    seg = b"s" * 1024 * 1024
    assert http.put(f"{container}/seg1", content=seg).status_code == 201
    assert http.put(f"{container}/seg2", content=b"tail").status_code == 201
    manifest = json.dumps([{"path": f"{container}/seg1"}, {"path": f"{container}/seg2"}])
    r = http.put(f"{container}/slo", params={"multipart-manifest": "put"}, content=manifest)
    assert r.status_code == 201
    assert link(http, f"{container}/to-slo", f"{container}/slo").status_code == 201
    got = http.get(f"{container}/to-slo")
    assert got.status_code == 200 and got.content == seg + b"tail"
    assert got.headers["content-location"] == f"/v1/{account_name}/{container}/slo"
    manifest_json = http.get(f"{container}/to-slo", params={"multipart-manifest": "get"}).json()
    assert [e["name"] for e in manifest_json] == [f"/{container}/seg1", f"/{container}/seg2"]
    # a static link records the manifest's ETag (not the large object's)
    slo_head = http.head(f"{container}/slo")
    manifest_etag = http.head(f"{container}/slo", params={"multipart-manifest": "get"}).headers["etag"]
    assert manifest_etag.strip('"') != slo_head.headers["etag"].strip('"')
    r = link(http, f"{container}/bad", f"{container}/slo", **{"X-Symlink-Target-Etag": slo_head.headers["etag"]})
    assert r.status_code == 409
    r = link(http, f"{container}/static-slo", f"{container}/slo", **{"X-Symlink-Target-Etag": manifest_etag})
    assert r.status_code == 201
    assert http.get(f"{container}/static-slo").content == seg + b"tail"
    rows = {row["name"]: row for row in http.get(container, params={"format": "json"}).json()}
    assert rows["static-slo"]["symlink_bytes"] == len(seg) + 4
    assert rows["static-slo"]["slo_etag"] == slo_head.headers["etag"]
    assert rows["static-slo"]["symlink_etag"] == manifest_etag


def test_listing_row_turns_hash_params_into_symlink_keys():
    from proxy.swift.links import listing_row

    row = listing_row({"name": "l", "hash": f"{MD5_OF_EMPTY}; other=1; symlink_target=c/o%20x; "
                                            "symlink_target_account=AUTH_b; symlink_target_etag=e; "
                                            "symlink_target_bytes=5"}, "v1", "AUTH_a")
    assert row == {"name": "l", "hash": f"{MD5_OF_EMPTY}; other=1", "symlink_path": "/v1/AUTH_b/c/o%20x",
                   "symlink_etag": "e", "symlink_bytes": 5}
    plain = {"name": "o", "hash": "abc"}
    assert listing_row(dict(plain), "v1", "AUTH_a") == plain


def test_symloop_max_setting():
    from proxy.swift.features.symlink import symloop_max

    assert symloop_max({}) == 2
    assert symloop_max({"symlink": {"symloop_max": 5}}) == 5
    assert symloop_max({"symlink": {"symloop_max": 0}}) == 2
    assert symloop_max({"symlink": {"symloop_max": "x"}}) == 2


def test_copy_of_a_link_to_another_account(cluster, http, container, target, account_name):
    assert link(http, f"{container}/lnk", target, **{"X-Object-Meta-Color": "red"}).status_code == 201
    assert http.post(container, headers={"X-Container-Read": "test2:tester2"}).status_code == 204
    _, token2 = cluster.auth("test2:tester2", "testing2")
    with httpx.Client(base_url=cluster.proxy_url + "/v1/AUTH_test2/", headers={"X-Auth-Token": token2},
                      timeout=60) as other:
        assert other.put(container).status_code in (201, 202)
        source = {"X-Copy-From": f"{container}/lnk", "X-Copy-From-Account": account_name}
        # the copied link names no account: it points into test2's own account
        r = other.put(f"{container}/copy1", params={"symlink": "get"}, headers=source)
        assert r.status_code == 201 and r.headers["x-copied-from-account"] == account_name
        itself = other.head(f"{container}/copy1", params={"symlink": "get"})
        assert itself.headers["x-object-meta-color"] == "red" and itself.headers["x-symlink-target"] == target
        r = other.get(f"{container}/copy1")
        assert r.status_code == 404 and r.headers["content-location"] == f"/v1/AUTH_test2/{target}"
        # the client's X-Symlink-Target-Account wins over the source's
        r = other.put(f"{container}/copy2", params={"symlink": "get"},
                      headers={**source, "X-Symlink-Target-Account": account_name})
        assert r.status_code == 201
        assert other.get(f"{container}/copy2").content == BODY
