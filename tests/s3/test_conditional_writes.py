"""Atomic conditional writes: of concurrent If-None-Match: * / If-Match writers exactly one wins, decided
where the write commits (node reservations, stackstore/wire.py); every replica then holds the winner."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

import httpx
import pytest
import swiftclient
from botocore.exceptions import ClientError

from tests.durability.test_replication_support import Layout
from tests.s3.conftest import make_client

ROUNDS = 12
WRITERS = 4


def _race(writers: list[Callable[[], object]]) -> list[object]:
    """Run the writers at once (a barrier releases them together); their results or exceptions."""
    barrier = threading.Barrier(len(writers))
    results: list[object] = [None] * len(writers)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = writers[i]()
        except Exception as exc:  # the loser's ClientError is a result here
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(writers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def _code(result: object) -> str:
    if isinstance(result, ClientError):
        return result.response["Error"]["Code"]
    return "OK" if isinstance(result, dict) else repr(result)


@pytest.fixture
def account(s3) -> str:
    url, _ = s3.cluster.auth("test:tester", "testing")
    return unquote(urlsplit(url).path.split("/")[2])


def stored_etags(layout: Layout, account: str, bucket: str, key: str) -> list[str]:
    """The ETag of the data on every device that holds the object: its primaries, and the handoffs that
    stand in for a primary the proxy error-limits (an earlier test on this shared cloud may have stopped
    a node, or a loaded machine timed a connection out)."""
    return [etag for _, etag in layout.object_states(account, bucket, key, handoffs=True) if etag is not None]


def assert_only_winner_stored(layout: Layout, account: str, bucket: str, key: str, winner: str,
                              losers: list[str]) -> None:
    """A full set of replicas holds the winner's data, no device a loser's (the nodes are reserved in
    ring order, so the winner holds them all)."""
    etags = stored_etags(layout, account, bucket, key)
    assert not set(etags) & set(losers), (etags, winner)
    assert etags == [winner] * len(etags) and len(etags) >= 3, (etags, winner)


def _md5s(bodies: list[bytes], winner: int) -> tuple[str, list[str]]:
    sums = [hashlib.md5(b).hexdigest() for b in bodies]
    return sums[winner], sums[:winner] + sums[winner + 1:]


@pytest.mark.parametrize("size", [1000, 200_000])  # a small body and one past BUFFERED_PUT_MAX
def test_if_none_match_race_exactly_one_wins(s3, bucket, account, size):
    clients = [make_client(s3.url, when_required=True) for _ in range(WRITERS)]
    layout = Layout(s3.cluster)
    for rnd in range(ROUNDS):
        key = f"race-{size}-{rnd}"
        bodies = [os.urandom(size) for _ in clients]
        results = _race([lambda c=c, b=b, k=key: c.put_object(Bucket=bucket, Key=k, Body=b, IfNoneMatch="*")
                         for c, b in zip(clients, bodies, strict=True)])
        codes = [_code(r) for r in results]
        assert codes.count("OK") == 1, codes
        assert set(codes) <= {"OK", "PreconditionFailed", "ConditionalRequestConflict"}, codes
        got = clients[0].get_object(Bucket=bucket, Key=key)["Body"].read()
        assert got == bodies[codes.index("OK")]
        assert_only_winner_stored(layout, account, bucket, key, *_md5s(bodies, codes.index("OK")))


def test_if_match_race_exactly_one_wins(s3, bucket, account):
    clients = [make_client(s3.url, when_required=True) for _ in range(WRITERS)]
    layout = Layout(s3.cluster)
    key = "if-match"
    etag = clients[0].put_object(Bucket=bucket, Key=key, Body=b"base")["ETag"]
    for rnd in range(ROUNDS):
        bodies = [os.urandom(3000) for _ in clients]
        results = _race([lambda c=c, b=b, e=etag: c.put_object(Bucket=bucket, Key=key, Body=b, IfMatch=e)
                         for c, b in zip(clients, bodies, strict=True)])
        codes = [_code(r) for r in results]
        assert codes.count("OK") == 1, (rnd, codes)
        etag = results[codes.index("OK")]["ETag"]
        winner, losers = _md5s(bodies, codes.index("OK"))
        assert etag.strip('"') == winner
        assert set(codes) <= {"OK", "PreconditionFailed", "ConditionalRequestConflict"}, codes
        assert_only_winner_stored(layout, account, bucket, key, winner, losers)


def test_conditional_write_errors(s3, bucket):
    c = make_client(s3.url, when_required=True)
    with pytest.raises(ClientError) as err:
        c.put_object(Bucket=bucket, Key="missing", Body=b"x", IfMatch='"0123"')
    assert err.value.response["Error"]["Code"] == "NoSuchKey"
    first = c.put_object(Bucket=bucket, Key="k", Body=b"one")["ETag"]
    with pytest.raises(ClientError) as err:
        c.put_object(Bucket=bucket, Key="k", Body=b"two", IfMatch='"0123"')
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    with pytest.raises(ClientError) as err:
        c.put_object(Bucket=bucket, Key="k", Body=b"two", IfNoneMatch="*")
    assert err.value.response["Error"]["Code"] == "PreconditionFailed"
    assert c.put_object(Bucket=bucket, Key="k", Body=b"two", IfMatch=first)["ETag"] != first
    assert c.get_object(Bucket=bucket, Key="k")["Body"].read() == b"two"
    c.delete_object(Bucket=bucket, Key="k")
    c.put_object(Bucket=bucket, Key="k", Body=b"three", IfNoneMatch="*")  # deleted: absent again


def test_if_none_match_with_an_etag_and_if_match_any(s3, bucket):
    """If-None-Match: <etag> writes unless the current object has that ETag; If-Match: * writes only over an
    existing object (RFC 9110; Ceph's s3-tests test_put_object_if_match)."""
    c = make_client(s3.url, when_required=True)
    with pytest.raises(ClientError) as err:
        c.put_object(Bucket=bucket, Key="e", Body=b"x", IfMatch="*")
    assert err.value.response["Error"]["Code"] == "NoSuchKey"
    etag = c.put_object(Bucket=bucket, Key="e", Body=b"one", IfNoneMatch='"deadbeef"')["ETag"]
    with pytest.raises(ClientError) as err:
        c.put_object(Bucket=bucket, Key="e", Body=b"two", IfNoneMatch=etag)
    assert err.value.response["Error"]["Code"] == "PreconditionFailed"
    assert c.get_object(Bucket=bucket, Key="e")["Body"].read() == b"one"
    c.put_object(Bucket=bucket, Key="e", Body=b"three", IfNoneMatch='"badetag"')
    c.put_object(Bucket=bucket, Key="e", Body=b"four", IfMatch="*")
    assert c.get_object(Bucket=bucket, Key="e")["Body"].read() == b"four"


def test_swift_if_none_match_race(s3, bucket, account):
    url, token = s3.cluster.auth("test:tester", "testing")
    layout = Layout(s3.cluster)
    for rnd in range(ROUNDS):
        name = f"swift-race-{rnd}"
        bodies = [os.urandom(100_000 if i % 2 else 500) for i in range(WRITERS)]

        def put(body: bytes, name: str = name) -> int:
            try:  # python-swiftclient, as a Swift user would
                swiftclient.put_object(url, token, bucket, name, body, headers={"If-None-Match": "*"})
            except swiftclient.ClientException as exc:
                return exc.http_status or 0
            return 201

        statuses = _race([lambda b=b: put(b) for b in bodies])
        assert statuses.count(201) == 1 and set(statuses) <= {201, 412}, statuses
        assert_only_winner_stored(layout, account, bucket, name, *_md5s(bodies, statuses.index(201)))


def _multipart(client, bucket: str, key: str, body: bytes) -> tuple[str, str]:
    upload = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    etag = client.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=body)["ETag"]
    return upload, etag


def test_complete_multipart_if_none_match_race(s3, bucket):
    clients = [make_client(s3.url, when_required=True) for _ in range(WRITERS)]
    for rnd in range(4):
        key = f"mpu-race-{rnd}"
        bodies = [os.urandom(2000) for _ in clients]
        uploads = [_multipart(c, bucket, key, b) for c, b in zip(clients, bodies, strict=True)]
        results = _race([
            lambda c=c, u=u, k=key: c.complete_multipart_upload(
                Bucket=bucket, Key=k, UploadId=u[0], IfNoneMatch="*",
                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": u[1]}]})
            for c, u in zip(clients, uploads, strict=True)])
        codes = [_code(r) for r in results]
        assert codes.count("OK") == 1, (rnd, codes)
        assert set(codes) <= {"OK", "PreconditionFailed", "ConditionalRequestConflict"}, codes
        assert clients[0].get_object(Bucket=bucket, Key=key)["Body"].read() == bodies[codes.index("OK")]
        for client, (upload, _), code in zip(clients, uploads, codes, strict=True):
            if code != "OK":  # a refused completion leaves the upload open
                client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload)


def test_if_match_with_multipart_etag(s3, bucket):
    c = make_client(s3.url, when_required=True)
    upload, part = _multipart(c, bucket, "mp", b"part one")
    etag = c.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload,
                                       MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part}]})["ETag"]
    assert etag.strip('"').endswith("-1")
    with pytest.raises(ClientError) as err:
        c.put_object(Bucket=bucket, Key="mp", Body=b"new", IfMatch='"' + "0" * 32 + '"')
    assert err.value.response["Error"]["Code"] == "PreconditionFailed"
    c.put_object(Bucket=bucket, Key="mp", Body=b"new", IfMatch=etag)
    assert c.get_object(Bucket=bucket, Key="mp")["Body"].read() == b"new"
    upload, part = _multipart(c, bucket, "mp", b"part two")
    with pytest.raises(ClientError) as err:
        c.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload, IfNoneMatch="*",
                                    MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part}]})
    assert err.value.response["Error"]["Code"] == "PreconditionFailed"
    c.abort_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload)


def _slow_put(url: str, body: bytes, headers: dict[str, str], pause: float) -> int:
    """PUT ``body`` in two halves with ``pause`` seconds between them (a slow client)."""
    def chunks():
        yield body[: len(body) // 2]
        time.sleep(pause)
        yield body[len(body) // 2:]
    return httpx.put(url, content=chunks(), timeout=30,
                     headers={**headers, "Content-Length": str(len(body))}).status_code


@pytest.mark.parametrize("size", [1000, 200_000])
def test_s3_last_to_complete_wins(s3, bucket, account, size):
    """A slow upload that started first but completes last wins over a fast one in between (AWS)."""
    client = make_client(s3.url, when_required=True)
    key = f"order-{size}"
    url = client.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key})
    slow, fast = os.urandom(size), os.urandom(size)
    status: list[int] = []
    thread = threading.Thread(target=lambda: status.append(_slow_put(url, slow, {}, 1.5)))
    thread.start()
    time.sleep(0.5)
    client.put_object(Bucket=bucket, Key=key, Body=fast)
    thread.join(30)
    assert status == [200]
    assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == slow
    etags = stored_etags(Layout(s3.cluster), account, bucket, key)
    assert etags == [hashlib.md5(slow).hexdigest()] * len(etags) and len(etags) >= 3, etags


@pytest.mark.parametrize("size", [1000, 200_000])
def test_swift_newest_request_wins(s3, bucket, size):
    """Over Swift the newest request timestamp wins, whichever completes last (Swift's rule)."""
    url, token = s3.cluster.auth("test:tester", "testing")
    target = f"{url}/{bucket}/swift-order-{size}"
    slow, fast = os.urandom(size), os.urandom(size)
    status: list[int] = []
    thread = threading.Thread(target=lambda: status.append(
        _slow_put(target, slow, {"X-Auth-Token": token}, 1.5)))
    thread.start()
    time.sleep(0.5)
    assert httpx.put(target, content=fast, headers={"X-Auth-Token": token}).status_code == 201
    thread.join(30)
    assert status  # the superseded slow PUT's own status is the Swift controller's business
    assert httpx.get(target, headers={"X-Auth-Token": token}).content == fast


def test_if_match_on_encrypted_objects(s3, bucket):
    """If-Match compares the ETag clients were shown: the plaintext md5 of an SSE-S3 object (its stored
    body is ciphertext), the md5 an SSE-C object was answered with."""
    c = make_client(s3.url, when_required=True)
    first = c.put_object(Bucket=bucket, Key="sse-s3", Body=b"one", ServerSideEncryption="AES256")["ETag"]
    assert first.strip('"') == hashlib.md5(b"one").hexdigest()
    with pytest.raises(ClientError) as err:
        c.put_object(Bucket=bucket, Key="sse-s3", Body=b"two", IfMatch='"0123"', ServerSideEncryption="AES256")
    assert err.value.response["Error"]["Code"] == "PreconditionFailed"
    c.put_object(Bucket=bucket, Key="sse-s3", Body=b"two", IfMatch=first, ServerSideEncryption="AES256")
    assert c.get_object(Bucket=bucket, Key="sse-s3")["Body"].read() == b"two"
    key = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": "k" * 32}
    shown = c.put_object(Bucket=bucket, Key="sse-c", Body=b"one", **key)["ETag"]
    c.put_object(Bucket=bucket, Key="sse-c", Body=b"two", IfMatch=shown, **key)
    assert c.get_object(Bucket=bucket, Key="sse-c", **key)["Body"].read() == b"two"


def test_copy_object_destination_conditions(s3, bucket):
    """CopyObject's If-None-Match: * / If-Match apply to the destination (AWS), the source keeping its
    x-amz-copy-source-if-* conditions; both together."""
    c = make_client(s3.url, when_required=True)
    src = c.put_object(Bucket=bucket, Key="src", Body=b"source")["ETag"]
    dst = c.put_object(Bucket=bucket, Key="dst", Body=b"destination")["ETag"]
    copy = {"Bucket": bucket, "CopySource": {"Bucket": bucket, "Key": "src"}}

    def code(**kwargs) -> str:
        try:
            c.copy_object(**copy, **kwargs)
        except ClientError as exc:
            return exc.response["Error"]["Code"]
        return "OK"

    assert code(Key="dst", IfNoneMatch="*") == "PreconditionFailed"
    assert code(Key="dst", IfMatch='"0123"') == "PreconditionFailed"
    assert code(Key="missing", IfMatch=dst) == "NoSuchKey"
    assert code(Key="dst", IfNoneMatch=dst) == "PreconditionFailed"  # the destination has that ETag
    assert c.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"destination"
    assert code(Key="dst", IfMatch=dst, CopySourceIfMatch='"0123"') == "PreconditionFailed"  # the source's
    assert code(Key="dst", IfMatch=dst, CopySourceIfMatch=src) == "OK"
    assert c.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"source"
    assert code(Key="new", IfNoneMatch="*") == "OK"
    assert c.get_object(Bucket=bucket, Key="new")["Body"].read() == b"source"


def test_copy_object_if_none_match_race(s3, bucket, account):
    clients = [make_client(s3.url, when_required=True) for _ in range(WRITERS)]
    layout = Layout(s3.cluster)
    bodies = [os.urandom(3000) for _ in clients]
    for i, (c, body) in enumerate(zip(clients, bodies, strict=True)):
        c.put_object(Bucket=bucket, Key=f"src-{i}", Body=body)
    for rnd in range(ROUNDS // 2):
        key = f"copy-race-{rnd}"
        results = _race([lambda c=c, i=i, k=key: c.copy_object(Bucket=bucket, Key=k, IfNoneMatch="*", CopySource={
            "Bucket": bucket, "Key": f"src-{i}"}) for i, c in enumerate(clients)])
        codes = [_code(r) for r in results]
        assert codes.count("OK") == 1, codes
        assert set(codes) <= {"OK", "PreconditionFailed", "ConditionalRequestConflict"}, codes
        assert clients[0].get_object(Bucket=bucket, Key=key)["Body"].read() == bodies[codes.index("OK")]
        assert_only_winner_stored(layout, account, bucket, key, *_md5s(bodies, codes.index("OK")))
