"""``[proxy] encryption`` on: every new object's data and user metadata encrypted at rest, for the Swift
and S3 APIs alike (Swift's ``encryption`` middleware); key rotation keeps old objects readable."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from typing import Any

import httpx
import pytest

from tests import ondisk
from tests.durability.bg_helpers import Layout, Swift, wait_for
from tests.harness import Cluster
from tests.s3.conftest import make_client

MARKER = b"SWIFT-PLAINTEXT-MARKER"


@pytest.fixture(scope="module")
def cl(tmp_path_factory):
    off = {"enabled": False}
    c = Cluster(tmp_path_factory.mktemp("encrypted"),
                proxy={"encryption": True, "sse_c_require_tls": True, "node_timeout": 3.0},
                identity=off, volumes=off, compute=off, images=off).start()
    yield c
    c.stop()


@pytest.fixture(scope="module")
def swift(cl) -> Swift:
    return Swift(cl)


def _stored(cl: Cluster, account: str, container: str, obj: str) -> list[tuple[dict[str, Any], bytes]]:
    """(metadata headers the node serves, raw bytes of its .data and .meta files) of each primary copy."""
    layout = Layout(cl)
    out = []
    with httpx.Client(timeout=10, auth=cl.node_auth) as http:
        for dev in layout.object.get_nodes(account, container, obj)[1]:
            hdir = layout.hash_dir(dev, account, container, obj)
            files = ondisk.with_ext(hdir, ".data") + ondisk.with_ext(hdir, ".meta")
            if not files:
                continue
            head = http.head(layout.object_url(dev, account, container, obj))
            out.append((dict(head.headers), b"".join(ondisk.read(hdir, f) for f in files)))
    return out


def _container(swift: Swift) -> str:
    name = "enc-" + uuid.uuid4().hex[:8]
    assert swift.put(name).status_code in (201, 202)
    return name


def test_swift_object_and_metadata_encrypted_at_rest(cl, swift):
    container = _container(swift)
    body = os.urandom(150_000) + MARKER * 100
    put = swift.put(container, "o", body, **{"X-Object-Meta-Color": "ultra-secret-blue",
                                             "Content-Type": "text/x-test"})
    assert put.status_code == 201 and put.headers["Etag"] == hashlib.md5(body).hexdigest()
    got = swift.get(container, "o")
    assert got.content == body and got.headers["Etag"] == hashlib.md5(body).hexdigest()
    assert got.headers["X-Object-Meta-Color"] == "ultra-secret-blue"
    assert got.headers["Content-Type"] == "text/x-test"
    for first, last in ((0, 0), (17, 65_553), (149_999, 150_100)):
        part = swift.get(container, "o", Range=f"bytes={first}-{last}")
        assert part.status_code == 206 and part.content == body[first:last + 1]
    listing = swift.http.get(swift.path(container), params={"format": "json"}).json()
    assert listing[0]["hash"] == hashlib.md5(body).hexdigest() and listing[0]["bytes"] == len(body)
    stored = _stored(cl, swift.account, container, "o")
    assert len(stored) >= 2
    for headers, raw in stored:
        assert MARKER not in raw and b"ultra-secret-blue" not in raw
        assert "ultra-secret-blue" not in headers.get("x-object-meta-color", "")
        assert headers["etag"] != hashlib.md5(body).hexdigest()  # the node's ETag is the ciphertext's
    # metadata POSTed later is sealed too
    assert swift.http.post(swift.path(container, "o"), headers={"X-Object-Meta-Shape": "hidden-cube"}
                           ).status_code == 202
    assert swift.http.head(swift.path(container, "o")).headers["X-Object-Meta-Shape"] == "hidden-cube"
    for headers, raw in _stored(cl, swift.account, container, "o"):
        assert "hidden-cube" not in headers.get("x-object-meta-shape", "") and b"hidden-cube" not in raw


def test_swift_etag_checked_against_the_plaintext(swift):
    container = _container(swift)
    assert swift.put(container, "good", b"abc", Etag=hashlib.md5(b"abc").hexdigest()).status_code == 201
    assert swift.put(container, "bad", b"abc", Etag=hashlib.md5(b"abd").hexdigest()).status_code == 422
    assert swift.get(container, "bad").status_code == 404


def test_swift_copy_and_slo_read_through_the_decrypting_path(swift):
    container = _container(swift)
    seg1, seg2 = os.urandom(70_000), os.urandom(1_000)
    for name, data in (("s1", seg1), ("s2", seg2)):
        assert swift.put(container, name, data).status_code == 201
    manifest = (f'[{{"path": "/{container}/s1"}}, {{"path": "/{container}/s2", "etag": '
                f'"{hashlib.md5(seg2).hexdigest()}"}}]')
    resp = swift.http.put(swift.path(container, "big"), params={"multipart-manifest": "put"}, content=manifest)
    assert resp.status_code == 201, resp.text
    assert swift.get(container, "big").content == seg1 + seg2
    assert swift.get(container, "big", Range="bytes=69990-70010").content == (seg1 + seg2)[69990:70011]
    copy = swift.http.request("COPY", swift.path(container, "s1"), headers={"Destination": f"{container}/s1-copy"})
    assert copy.status_code == 201
    assert swift.get(container, "s1-copy").content == seg1


def test_s3_objects_encrypted_by_default(cl):
    s3c = make_client(cl.proxy_url)
    bucket = "enc-" + uuid.uuid4().hex[:8]
    s3c.create_bucket(Bucket=bucket)
    conf = s3c.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    assert conf["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    put = s3c.put_object(Bucket=bucket, Key="k", Body=MARKER * 10, Metadata={"note": "s3-secret-note"})
    assert put["ServerSideEncryption"] == "AES256"
    got = s3c.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == MARKER * 10 and got["Metadata"] == {"note": "s3-secret-note"}
    for _headers, raw in _stored(cl, "AUTH_test", bucket, "k"):
        assert MARKER not in raw and b"s3-secret-note" not in raw
    # tagging POSTs the metadata back: sealed once more, read back in clear
    s3c.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": [{"Key": "t", "Value": "1"}]})
    got = s3c.get_object(Bucket=bucket, Key="k")
    assert got["Metadata"] == {"note": "s3-secret-note"} and got["TagCount"] == 1


def _key_id(cl: Cluster, account: str, container: str, obj: str) -> str:
    import json

    headers, _ = _stored(cl, account, container, obj)[0]
    return json.loads(headers["x-object-sysmeta-crypto-body"])["kid"]


def test_key_rotation_keeps_old_objects_readable(cl, swift):
    container = _container(swift)
    s3c = make_client(cl.proxy_url)
    bucket = "rot-" + uuid.uuid4().hex[:8]
    s3c.create_bucket(Bucket=bucket)
    old_body = os.urandom(100_000)
    assert swift.put(container, "old", old_body).status_code == 201
    s3c.put_object(Bucket=bucket, Key="old", Body=old_body, ServerSideEncryption="AES256")
    old_kid = _key_id(cl, swift.account, container, "old")
    config = cl.data_dir / "stackstore.effective.toml"
    cli = [sys.executable, "-m", "stackstore.cli", "encryption-key"]
    added = subprocess.run([*cli, "add", "--config", str(config)], capture_output=True, text=True, check=True)
    assert added.stdout.startswith("added key ")
    listed = subprocess.run([*cli, "list", "--config", str(config)], capture_output=True, text=True, check=True)
    new_kid = listed.stdout.split()[-2]
    assert new_kid != old_kid and "(active)" in listed.stdout
    key_file = cl.data_dir / "secrets" / "encryption_keys"
    assert key_file.stat().st_mode & 0o777 == 0o600 and new_kid.encode() in key_file.read_bytes()

    def new_writes_use_new_key() -> bool:
        assert swift.put(container, "new", b"written after rotation").status_code == 201
        return _key_id(cl, swift.account, container, "new") == new_kid

    wait_for(new_writes_use_new_key, timeout=30, interval=0.5)
    assert swift.get(container, "new").content == b"written after rotation"
    assert swift.get(container, "old").content == old_body
    assert s3c.get_object(Bucket=bucket, Key="old")["Body"].read() == old_body
    # the old object was not rewritten: its data key is still wrapped by the old key
    assert _key_id(cl, swift.account, container, "old") == old_kid


def test_swift_chunked_upload_gets_the_plaintext_etag(swift):
    """A PUT of unknown length (chunked) still carries the sealed ETag: swiftclient checks it."""
    container = _container(swift)
    body = os.urandom(200_000)

    def chunks():
        for i in range(0, len(body), 30_000):
            yield body[i:i + 30_000]

    put = swift.http.put(swift.path(container, "chunked"), content=chunks())
    assert put.status_code == 201 and put.headers["Etag"] == hashlib.md5(body).hexdigest()
    got = swift.get(container, "chunked")
    assert got.content == body and got.headers["Etag"] == hashlib.md5(body).hexdigest()
    listing = swift.http.get(swift.path(container), params={"format": "json"}).json()
    assert listing[0]["hash"] == hashlib.md5(body).hexdigest()


def test_sse_c_over_tls_only_when_required(cl):
    from botocore.exceptions import ClientError

    key = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": os.urandom(32)}
    plain, tls = make_client(cl.proxy_url), make_client(cl.tls_url, verify=cl.tls_cafile)
    bucket = "tls-" + uuid.uuid4().hex[:8]
    plain.create_bucket(Bucket=bucket)
    with pytest.raises(ClientError) as err:
        plain.put_object(Bucket=bucket, Key="k", Body=b"over http", **key)
    assert err.value.response["Error"]["Code"] == "InvalidRequest"
    tls.put_object(Bucket=bucket, Key="k", Body=b"over https", **key)
    assert tls.get_object(Bucket=bucket, Key="k", **key)["Body"].read() == b"over https"
    with pytest.raises(ClientError) as err:
        plain.get_object(Bucket=bucket, Key="k", **key)
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_swift_copy_gets_its_own_data_key(cl, swift):
    """A copy is encrypted afresh (its own data key and IV), with its own listing ETag."""
    container = _container(swift)
    body = os.urandom(100_000)
    assert swift.put(container, "src", body).status_code == 201
    resp = swift.http.put(swift.path(container, "dst"), headers={"X-Copy-From": f"{container}/src"})
    assert resp.status_code == 201
    got = swift.get(container, "dst")
    assert got.content == body and got.headers["Etag"] == hashlib.md5(body).hexdigest()
    rows = {r["name"]: r for r in swift.http.get(swift.path(container), params={"format": "json"}).json()}
    assert rows["dst"]["hash"] == hashlib.md5(body).hexdigest() and rows["dst"]["bytes"] == len(body)
    (src_headers, src_raw), (dst_headers, dst_raw) = (_stored(cl, swift.account, container, name)[0]
                                                      for name in ("src", "dst"))
    assert src_headers["x-object-sysmeta-crypto-body"] != dst_headers["x-object-sysmeta-crypto-body"]
    assert body[:1000] not in dst_raw and src_raw[-50_000:] != dst_raw[-50_000:]


def test_image_data_encrypted_through_the_same_layer(cl):
    """The images service stores image bytes through ``encrypting_client`` too: ciphertext on disk."""
    import asyncio

    from images.store import ImageStore
    from objclient.crypto.client import encrypting_client

    body = MARKER * 5000
    image_id = uuid.uuid4().hex

    async def round_trip() -> bytes:
        client = encrypting_client(cl.conf)
        try:
            store = ImageStore(client, ".images", "glance", 10 * 1024 * 1024)

            async def chunks():
                yield body

            stored = await store.put(image_id, chunks(), len(body))
            assert stored.md5 == hashlib.md5(body).hexdigest()
            resp = await store.get(image_id)
            return b"".join([chunk async for chunk in resp.body])
        finally:
            await client.close()

    assert asyncio.run(round_trip()) == body
    stored = _stored(cl, ".images", "glance", image_id)
    assert stored and all(MARKER not in raw for _headers, raw in stored)
