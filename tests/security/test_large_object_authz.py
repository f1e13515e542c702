"""Issue 12, attack 2: large objects and copies read with the caller's authority, never the proxy's.

Played against a real cloud (the session's ``cluster``, one set of containers per module). TempAuth users:
``test:tester`` owns AUTH_test; ``test:tester3`` has no rights but container ACLs; ``test2:tester2``
owns another account. ``private`` has no ACL; tester3 may read and write ``shared``; tester3 may read
``open``. The attack: tester3 points a DLO/SLO in ``shared`` at ``private``, or copies ``private/secret``
into ``shared``, and gets the private bytes; ``?multipart-manifest=delete`` deletes the private segment.
"""

from __future__ import annotations

import json
import os
import uuid

import httpx
import pytest

from proxy.large_objects import access as lo_access
from proxy.s3 import bucket as s3_bucket
from proxy.s3 import headers as s3_headers
from tests.s3.conftest import error_code, make_client

SECRET = b"TOP-SECRET-" + b"s" * 64
OPEN_PARTS = (b"open-part-one;", b"open-part-two;")
SHARED_BYTES = b"shared-segment;"


def _names() -> dict[str, str]:
    sfx = uuid.uuid4().hex[:8]
    return {k: f"lo-{k}-{sfx}" for k in ("private", "shared", "open", "public", "listed")}


@pytest.fixture(scope="module")
def world(cluster):
    """Containers and objects of the scenario; returns names, storage URLs and tokens."""
    names = _names()
    owner_url, owner_token = cluster.auth("test:tester", "testing")
    _, t3_token = cluster.auth("test:tester3", "testing3")
    t2_url, t2_token = cluster.auth("test2:tester2", "testing2")
    owner = httpx.Client(base_url=owner_url + "/", headers={"X-Auth-Token": owner_token}, timeout=60)
    tester3 = httpx.Client(base_url=owner_url + "/", headers={"X-Auth-Token": t3_token}, timeout=60)
    other = httpx.Client(base_url=t2_url + "/", headers={"X-Auth-Token": t2_token}, timeout=60)
    acls = {
        "private": {},
        "shared": {"X-Container-Read": "test:tester3", "X-Container-Write": "test:tester3"},
        "open": {"X-Container-Read": "test:tester3"},
        "public": {"X-Container-Read": ".r:*"},  # objects to anyone, no listings
        "listed": {"X-Container-Read": ".r:*,.rlistings"},
    }
    for key, headers in acls.items():
        assert owner.put(names[key], headers=headers).status_code in (201, 202)
    p, s, o = names["private"], names["shared"], names["open"]
    assert owner.put(f"{p}/secret", content=SECRET).status_code == 201
    assert owner.put(f"{p}/parts-1", content=SECRET[:20]).status_code == 201
    assert owner.put(f"{p}/parts-2", content=SECRET[20:]).status_code == 201
    for i, part in enumerate(OPEN_PARTS, 1):
        assert owner.put(f"{o}/parts-{i}", content=part).status_code == 201
    assert owner.put(f"{s}/plain-seg", content=SHARED_BYTES).status_code == 201
    for key in ("public", "listed"):
        for i, part in enumerate(OPEN_PARTS, 1):
            assert owner.put(f"{names[key]}/parts-{i}", content=part).status_code == 201
    other_container = f"lo-other-{uuid.uuid4().hex[:8]}"
    assert other.put(other_container).status_code in (201, 202)
    yield {"names": names, "owner": owner, "tester3": tester3, "other": other, "other_container": other_container,
           "owner_url": owner_url, "t2_url": t2_url, "cluster": cluster}
    for client in (owner, tester3, other):
        client.close()


def _slo_put(client: httpx.Client, path: str, segments: list[str], accept: str | None = None) -> httpx.Response:
    body = json.dumps([{"path": seg} for seg in segments])
    headers = {"Accept": accept} if accept else {}
    return client.put(path, params={"multipart-manifest": "put"}, content=body, headers=headers)


def _no_secret(resp: httpx.Response) -> None:
    assert b"TOP-SECRET" not in resp.content
    assert b"s" * 32 not in resp.content


# --- DLO ------------------------------------------------------------------------------------------

def test_attack_dlo_pointing_at_a_private_container_is_403(world):
    n, t3, owner = world["names"], world["tester3"], world["owner"]
    path = f"{n['shared']}/dlo-private"
    # creating the manifest is a plain write (Swift allows it); reading it is what must fail
    assert t3.put(path, content=b"", headers={"X-Object-Manifest": f"{n['private']}/"}).status_code == 201
    for method in ("GET", "HEAD"):
        resp = t3.request(method, path)
        assert resp.status_code == 403, (method, resp.status_code)
        _no_secret(resp)
    resp = t3.get(path, headers={"Range": "bytes=0-10"})
    assert resp.status_code == 403
    _no_secret(resp)
    # the owner reads it: the same manifest, their authority
    resp = owner.get(path)
    assert resp.status_code == 200 and resp.content.startswith(b"TOP-SECRET")


def test_dlo_in_a_readable_container_is_read_by_the_acl_reader(world):
    n, t3 = world["names"], world["tester3"]
    path = f"{n['shared']}/dlo-open"
    assert t3.put(path, content=b"", headers={"X-Object-Manifest": f"{n['open']}/parts-"}).status_code == 201
    resp = t3.get(path)
    assert resp.status_code == 200, resp.text
    assert resp.content == b"".join(OPEN_PARTS)
    assert t3.head(path).headers["Content-Length"] == str(len(b"".join(OPEN_PARTS)))
    resp = t3.get(path, headers={"Range": "bytes=5-20"})
    assert resp.status_code == 206 and resp.content == b"".join(OPEN_PARTS)[5:21]


def test_dlo_listing_needs_rlistings_as_in_swift(world):
    n, t3 = world["names"], world["tester3"]
    unlisted, listed = f"{n['shared']}/dlo-public", f"{n['shared']}/dlo-listed"
    assert t3.put(unlisted, content=b"", headers={"X-Object-Manifest": f"{n['public']}/parts-"}).status_code == 201
    assert t3.put(listed, content=b"", headers={"X-Object-Manifest": f"{n['listed']}/parts-"}).status_code == 201
    assert t3.get(unlisted).status_code == 403  # .r:* reads objects but does not list the container
    resp = t3.get(listed)
    assert resp.status_code == 200 and resp.content == b"".join(OPEN_PARTS)


# --- SLO PUT --------------------------------------------------------------------------------------

def test_attack_slo_put_with_a_private_segment_is_400_with_swifts_errors(world):
    n, t3, owner = world["names"], world["tester3"], world["owner"]
    path = f"{n['shared']}/slo-private"
    resp = _slo_put(t3, path, [f"/{n['private']}/secret"])
    assert resp.status_code == 400
    assert resp.text == f"Errors:\n/{n['private']}/secret, 403 Forbidden\n"
    _no_secret(resp)
    assert owner.head(path).status_code == 404  # nothing stored
    resp = _slo_put(t3, path, [f"/{n['open']}/parts-1", f"/{n['private']}/secret", f"/{n['open']}/missing"],
                    accept="application/json")
    assert resp.status_code == 400
    errors = sorted(json.loads(resp.content)["Errors"])
    assert errors == sorted([[f"/{n['private']}/secret", "403 Forbidden"], [f"/{n['open']}/missing", "404 Not Found"]])
    # a container that does not exist is forbidden too for a non-owner (nothing learnt about it)
    resp = _slo_put(t3, path, [f"/no-such-{uuid.uuid4().hex[:6]}/x"])
    assert resp.status_code == 400 and "403 Forbidden" in resp.text
    assert owner.head(path).status_code == 404


def test_slo_put_with_readable_segments_works_for_the_acl_user(world):
    n, t3 = world["names"], world["tester3"]
    path = f"{n['shared']}/slo-open"
    resp = _slo_put(t3, path, [f"/{n['open']}/parts-1", f"/{n['shared']}/plain-seg", f"/{n['public']}/parts-2"])
    assert resp.status_code == 201, resp.text
    resp = t3.get(path)
    assert resp.status_code == 200 and resp.content == OPEN_PARTS[0] + SHARED_BYTES + OPEN_PARTS[1]


def test_slo_put_missing_segment_for_the_owner_is_404_in_the_errors(world):
    n, owner = world["names"], world["owner"]
    resp = _slo_put(owner, f"{n['shared']}/slo-missing", [f"/{n['private']}/nope"])
    assert resp.status_code == 400 and resp.text == f"Errors:\n/{n['private']}/nope, 404 Not Found\n"


# --- SLO GET / DELETE -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def private_slo(world):
    """An SLO in ``shared`` (the owner made it: it is theirs to make) whose segment is ``private/secret``."""
    n, owner = world["names"], world["owner"]
    path = f"{n['shared']}/slo-owner-private"
    assert _slo_put(owner, path, [f"/{n['open']}/parts-1", f"/{n['private']}/secret"]).status_code == 201
    return path


def test_attack_slo_with_a_private_segment_is_refused_before_any_byte(world, private_slo):
    """The manifest is readable, a segment is not: 409 Conflict as Swift's SLO answers a first segment it may not
    read (here any top-level segment, checked before the first byte), never the readable segments' bytes."""
    t3, owner = world["tester3"], world["owner"]
    for headers in ({}, {"Range": "bytes=0-5"}, {"Range": f"bytes={len(OPEN_PARTS[0])}-"}):
        resp = t3.get(private_slo, headers=headers)
        assert resp.status_code == 409, (headers, resp.status_code)
        _no_secret(resp)
        assert OPEN_PARTS[0] not in resp.content  # nothing of the large object at all
    resp = owner.get(private_slo)
    assert resp.status_code == 200 and resp.content == OPEN_PARTS[0] + SECRET
    # the manifest itself is the caller's to read (it names paths, not bytes)
    resp = t3.get(private_slo, params={"multipart-manifest": "get"})
    assert resp.status_code == 200
    _no_secret(resp)


def test_attack_nested_slo_never_sends_forbidden_bytes(world):
    """A nested manifest is only expanded when reached: the body is cut before any private byte."""
    n, t3, owner = world["names"], world["tester3"], world["owner"]
    inner, outer = f"{n['shared']}/nested-inner", f"{n['shared']}/nested-outer"
    assert _slo_put(owner, inner, [f"/{n['private']}/secret"]).status_code == 201
    assert _slo_put(owner, outer, [f"/{n['shared']}/plain-seg", f"/{inner}"]).status_code == 201
    received = b""
    try:
        with t3.stream("GET", outer) as resp:
            status = resp.status_code
            for chunk in resp.iter_bytes():
                received += chunk
    except httpx.HTTPError:
        status = 200  # cut off mid-body
    assert b"TOP-SECRET" not in received
    assert status == 200 and received in (b"", SHARED_BYTES)  # the readable prefix at most
    assert owner.get(outer).content == SHARED_BYTES + SECRET


def test_attack_multipart_manifest_delete_leaves_forbidden_segments(world):
    n, t3, owner = world["names"], world["tester3"], world["owner"]
    path = f"{n['shared']}/slo-to-delete"
    assert owner.put(f"{n['shared']}/own-seg", content=b"mine").status_code == 201
    assert _slo_put(owner, path, [f"/{n['shared']}/own-seg", f"/{n['private']}/secret"]).status_code == 201
    resp = t3.delete(path, params={"multipart-manifest": "delete"}, headers={"Accept": "application/json"})
    assert resp.status_code == 200
    result = json.loads(resp.content)
    assert result["Errors"] == [[f"/{n['private']}/secret", "403 Forbidden"]]
    assert result["Response Status"] == "400 Bad Request"
    assert result["Number Deleted"] == 2  # the caller's own segment and the manifest
    assert owner.get(f"{n['private']}/secret").content == SECRET  # still there
    assert owner.head(f"{n['shared']}/own-seg").status_code == 404
    assert owner.head(path).status_code == 404


def test_owner_multipart_manifest_delete_still_deletes_everything(world):
    n, owner = world["names"], world["owner"]
    assert owner.put(f"{n['private']}/del-1", content=b"a").status_code == 201
    assert owner.put(f"{n['shared']}/del-2", content=b"b").status_code == 201
    path = f"{n['shared']}/slo-owner-delete"
    assert _slo_put(owner, path, [f"/{n['private']}/del-1", f"/{n['shared']}/del-2"]).status_code == 201
    resp = owner.delete(path, params={"multipart-manifest": "delete"}, headers={"Accept": "application/json"})
    result = json.loads(resp.content)
    assert resp.status_code == 200 and result["Errors"] == [] and result["Number Deleted"] == 3
    for gone in (f"{n['private']}/del-1", f"{n['shared']}/del-2", path):
        assert owner.head(gone).status_code == 404


# --- Swift copies ---------------------------------------------------------------------------------

def test_attack_copy_of_a_private_object_is_403_and_writes_nothing(world):
    n, t3, owner = world["names"], world["tester3"], world["owner"]
    dest = f"{n['shared']}/stolen-copy"
    resp = t3.request("COPY", f"{n['private']}/secret", headers={"Destination": dest})
    assert resp.status_code == 403
    resp = t3.put(f"{n['shared']}/stolen-from", content=b"", headers={"X-Copy-From": f"{n['private']}/secret"})
    assert resp.status_code == 403
    _no_secret(resp)
    for path in (dest, f"{n['shared']}/stolen-from"):
        assert owner.head(path).status_code == 404


def test_attack_copy_of_a_large_object_reads_segments_as_the_caller(world, private_slo):
    n, t3, owner = world["names"], world["tester3"], world["owner"]
    dlo = f"{n['shared']}/dlo-private"
    assert t3.put(dlo, content=b"", headers={"X-Object-Manifest": f"{n['private']}/"}).status_code == 201
    # the source GET's refusal is the copy's answer, as Swift's copy: 409 for the SLO, 403 for the DLO
    for source, refused in ((private_slo, 409), (dlo, 403)):
        dest = f"{n['shared']}/laundered-{uuid.uuid4().hex[:6]}"
        resp = t3.put(dest, content=b"", headers={"X-Copy-From": source})
        assert resp.status_code == refused, (source, resp.status_code)
        resp = t3.request("COPY", source, headers={"Destination": dest})
        assert resp.status_code == refused, (source, resp.status_code)
        assert owner.head(dest).status_code == 404


def test_attack_copy_across_accounts_needs_rights_on_both_sides(world):
    n, owner, other, t3 = world["names"], world["owner"], world["other"], world["tester3"]
    dest = f"{world['other_container']}/took-it"
    # test2:tester2 owns AUTH_test2 but has no ACL in AUTH_test
    resp = other.put(dest, content=b"", headers={"X-Copy-From": f"{n['shared']}/plain-seg",
                                                 "X-Copy-From-Account": "AUTH_test"})
    assert resp.status_code == 403
    assert other.head(dest).status_code == 404
    # tester3 may read shared but not write AUTH_test2
    resp = t3.request("COPY", f"{n['shared']}/plain-seg",
                      headers={"Destination": dest, "Destination-Account": "AUTH_test2"})
    assert resp.status_code == 403
    assert other.head(dest).status_code == 404
    # the owner of AUTH_test copies into its own account; the owner of both sides would too
    resp = owner.put(f"{n['shared']}/owner-copy", content=b"", headers={"X-Copy-From": f"{n['private']}/secret"})
    assert resp.status_code == 201
    assert owner.get(f"{n['shared']}/owner-copy").content == SECRET


def test_copies_with_readable_sources_work_for_the_acl_user(world):
    n, t3 = world["names"], world["tester3"]
    resp = t3.request("COPY", f"{n['open']}/parts-1", headers={"Destination": f"{n['shared']}/t3-copy"})
    assert resp.status_code == 201
    assert t3.get(f"{n['shared']}/t3-copy").content == OPEN_PARTS[0]
    dlo = f"{n['shared']}/dlo-open-copy-src"
    assert t3.put(dlo, content=b"", headers={"X-Object-Manifest": f"{n['open']}/parts-"}).status_code == 201
    resp = t3.put(f"{n['shared']}/t3-dlo-copy", content=b"", headers={"X-Copy-From": dlo})
    assert resp.status_code == 201
    assert t3.get(f"{n['shared']}/t3-dlo-copy").content == b"".join(OPEN_PARTS)


def test_owner_copy_of_own_slo_works(world):
    n, owner = world["names"], world["owner"]
    src = f"{n['private']}/own-slo"
    assert _slo_put(owner, src, [f"/{n['private']}/parts-1", f"/{n['private']}/parts-2"]).status_code == 201
    resp = owner.request("COPY", src, headers={"Destination": f"{n['private']}/own-slo-copy"})
    assert resp.status_code == 201
    assert owner.get(f"{n['private']}/own-slo-copy").content == SECRET


# --- S3 -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def s3_clients(world):
    url = world["cluster"].proxy_url
    return make_client(url, when_required=True), make_client(url, when_required=True, key="test:tester3",
                                                             secret="testing3")


def test_attack_s3_copy_object_from_an_unreadable_bucket_is_access_denied(world, s3_clients):
    n, owner = world["names"], world["owner"]
    _, t3 = s3_clients
    assert error_code(t3.copy_object, Bucket=n["shared"], Key="s3-stolen",
                      CopySource={"Bucket": n["private"], "Key": "secret"}) == "AccessDenied"
    assert owner.head(f"{n['shared']}/s3-stolen").status_code == 404


def test_attack_s3_upload_part_copy_from_an_unreadable_bucket_is_access_denied(world, s3_clients):
    n = world["names"]
    _, t3 = s3_clients
    upload = t3.create_multipart_upload(Bucket=n["shared"], Key="s3-mpu-stolen")["UploadId"]
    try:
        assert error_code(t3.upload_part_copy, Bucket=n["shared"], Key="s3-mpu-stolen", UploadId=upload,
                          PartNumber=1, CopySource={"Bucket": n["private"], "Key": "secret"}) == "AccessDenied"
        assert t3.list_parts(Bucket=n["shared"], Key="s3-mpu-stolen", UploadId=upload).get("Parts", []) == []
    finally:
        t3.abort_multipart_upload(Bucket=n["shared"], Key="s3-mpu-stolen", UploadId=upload)


def test_attack_s3_reads_of_swift_large_objects_check_segments(world, s3_clients, private_slo):
    n, t3_swift, owner = world["names"], world["tester3"], world["owner"]
    _, t3 = s3_clients
    dlo = "dlo-private-s3"
    assert t3_swift.put(f"{n['shared']}/{dlo}", content=b"",
                        headers={"X-Object-Manifest": f"{n['private']}/"}).status_code == 201
    slo_key = private_slo.split("/", 1)[1]
    for key in (dlo, slo_key):
        assert error_code(t3.get_object, Bucket=n["shared"], Key=key) == "AccessDenied", key
        dest = f"s3-laundered-{uuid.uuid4().hex[:6]}"
        assert error_code(t3.copy_object, Bucket=n["shared"], Key=dest,
                          CopySource={"Bucket": n["shared"], "Key": key}) == "AccessDenied", key
        assert owner.head(f"{n['shared']}/{dest}").status_code == 404
    upload = t3.create_multipart_upload(Bucket=n["shared"], Key="s3-mpu-laundered")["UploadId"]
    try:
        assert error_code(t3.upload_part_copy, Bucket=n["shared"], Key="s3-mpu-laundered", UploadId=upload,
                          PartNumber=1, CopySource={"Bucket": n["shared"], "Key": slo_key}) == "AccessDenied"
    finally:
        t3.abort_multipart_upload(Bucket=n["shared"], Key="s3-mpu-laundered", UploadId=upload)


def test_s3_copies_by_the_acl_user_from_readable_buckets_work(world, s3_clients):
    n = world["names"]
    _, t3 = s3_clients
    t3.copy_object(Bucket=n["shared"], Key="s3-t3-copy", CopySource={"Bucket": n["open"], "Key": "parts-2"})
    assert t3.get_object(Bucket=n["shared"], Key="s3-t3-copy")["Body"].read() == OPEN_PARTS[1]


@pytest.fixture(scope="module")
def s3_multipart(world, s3_clients):
    """A two-part S3 multipart object in ``shared`` (the owner's), its bytes."""
    owner, _ = s3_clients
    bucket, key = world["names"]["shared"], "s3-multipart"
    parts = [os.urandom(5 * 1024 * 1024), b"tail-of-the-upload"]
    upload = owner.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    done = []
    for number, data in enumerate(parts, 1):
        etag = owner.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=number, Body=data)["ETag"]
        done.append({"PartNumber": number, "ETag": etag})
    owner.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": done})
    return key, b"".join(parts)


def test_s3_multipart_object_is_read_by_owner_and_acl_reader(world, s3_clients, s3_multipart):
    """The parts live in ``shared+segments``, where tester3 has no ACL: the S3 layer's own segments of the
    manifest are readable to whoever may read the object (proxy.large_objects.access)."""
    n = world["names"]
    owner, t3 = s3_clients
    key, data = s3_multipart
    assert owner.get_object(Bucket=n["shared"], Key=key)["Body"].read() == data
    assert t3.get_object(Bucket=n["shared"], Key=key)["Body"].read() == data
    got = t3.get_object(Bucket=n["shared"], Key=key, Range="bytes=5242870-5242889")["Body"].read()
    assert got == data[5242870:5242890]
    # the same object over Swift, by the same ACL reader
    resp = world["tester3"].get(f"{n['shared']}/{key}")
    assert resp.status_code == 200 and resp.content == data
    # and copies of it
    t3.copy_object(Bucket=n["shared"], Key="s3-multipart-copy", CopySource={"Bucket": n["shared"], "Key": key})
    assert owner.get_object(Bucket=n["shared"], Key="s3-multipart-copy")["Body"].read() == data


def test_the_s3_segment_container_is_not_trusted_for_other_manifests(world, s3_multipart):
    """tester3 cannot name the hidden segment container in a manifest of its own."""
    n, t3 = world["names"], world["tester3"]
    segments = s3_bucket.segments_container(n["shared"])
    listing = world["owner"].get(segments, params={"format": "json"}).json()
    assert listing
    part = f"/{segments}/{listing[0]['name']}"
    resp = _slo_put(t3, f"{n['shared']}/slo-of-s3-parts", [part])
    assert resp.status_code == 400 and "403 Forbidden" in resp.text
    dlo = f"{n['shared']}/dlo-of-s3-parts"
    assert t3.put(dlo, content=b"", headers={"X-Object-Manifest": f"{segments}/"}).status_code == 201
    assert t3.get(dlo).status_code == 403


def test_multipart_trust_markers_match_the_s3_layer():
    assert lo_access.MULTIPART_MARKER == s3_headers.SYSMETA_ETAG
    assert s3_bucket.segments_container("b") == "b" + lo_access.MULTIPART_SEGMENTS_SUFFIX
