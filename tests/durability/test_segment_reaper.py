"""Space that comes back (issue 17 §4): S3 multipart parts orphaned through the Swift API, or left by an
upload whose marker is gone, are deleted by the nodes' segment reaper once older than
``[store] segment_reaper_grace``; then their tombstones and listing rows go after ``reclaim_age``, so
the churned containers return to their live size on disk. Uploads in progress, parts a manifest names
(the object now or an archived Swift version) are never touched. Real node processes, boto3 and Swift
over HTTP."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.durability.test_reclaim import container_rows
from tests.durability.test_replication_support import Client, Layout, replication_cluster, wait_until
from tests.s3.conftest import make_client

GRACE = 3.0
RECLAIM_AGE = 6.0
TIMEOUT = 120.0
PART = 5 * 1024 * 1024  # S3's minimum size of a part that is not the last


@pytest.fixture
def cluster(tmp_path):
    c = replication_cluster(tmp_path / "cloud", store={"reclaim_age": RECLAIM_AGE, "segment_reaper_interval": 1.0,
                                                       "segment_reaper_grace": GRACE})
    yield c
    c.stop()


def object_bytes(layout: Layout) -> tuple[int, int, int]:
    """(``.data`` files, their bytes, ``.ts`` files) on every node: what objects occupy on disk."""
    files = size = tombstones = 0
    for root in layout.roots.values():
        for dirpath, _dirs, names in os.walk(root):
            if "/objects" not in dirpath:
                continue
            for name in names:
                if name.endswith(".data"):
                    files += 1
                    size += os.path.getsize(Path(dirpath) / name)
                elif name.endswith(".ts"):
                    tombstones += 1
    return files, size, tombstones


def multipart(s3, bucket: str, key: str, fill: bytes, complete: bool = True) -> str:
    """A two-part upload of ``key`` (completed unless told otherwise); its upload id."""
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    parts = []
    for number, body in ((1, fill * PART), (2, fill * 1000)):
        etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=number, Body=body)["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    if complete:
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": parts})
    return upload


def segment_names(swift: Client, bucket: str) -> set[str]:
    resp = swift.http.get(f"{swift.url}/{bucket}+segments", params={"format": "json"})
    assert resp.status_code in (200, 404)
    return set() if resp.status_code == 404 else {row["name"] for row in resp.json()}


def stable(measure, settle: float = 3.0, timeout: float = 60.0):
    """``measure()`` once it gave the same answer for ``settle`` seconds (replication at rest)."""
    deadline = time.monotonic() + timeout
    last, since = measure(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = measure()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= settle:
            return now
    raise AssertionError(f"never settled: {last}")


def test_churned_segments_return_to_live_size(cluster):
    s3 = make_client(cluster.proxy_url)
    swift = Client(cluster)
    layout = Layout(cluster)
    s3.create_bucket(Bucket="churn")
    multipart(s3, "churn", "live", b"L")
    pending = multipart(s3, "churn", "pending", b"P", complete=False)
    live_segments = segment_names(swift, "churn")
    live = stable(lambda: object_bytes(layout)[:2]) + (0,)  # Complete's marker tombstone goes too
    started = time.time()

    # churn that leaves orphans: a multipart object deleted and one overwritten through Swift, an upload
    # whose marker vanished (an Abort that died half way, an UploadPart racing it)
    multipart(s3, "churn", "deleted-by-swift", b"D")
    assert swift.delete("churn", "deleted-by-swift") == 204
    multipart(s3, "churn", "overwritten-by-swift", b"O")
    assert swift.put("churn", "overwritten-by-swift", b"small") == 201
    lost = multipart(s3, "churn", "lost-marker", b"M", complete=False)
    assert swift.delete("churn+segments", f"lost-marker/{lost}") == 204
    assert swift.delete("churn", "overwritten-by-swift") == 204
    churned = object_bytes(layout)
    assert churned[1] > live[1] + 3 * 3 * PART  # three orphaned 5 MiB parts, three replicas each

    def not_back() -> list[str]:
        problems = []
        if (now := object_bytes(layout)) != live:
            problems.append(f"objects on disk (files, bytes, tombstones) {now} != {live}")
        if (names := segment_names(swift, "churn")) != live_segments:
            problems.append(f"segments {sorted(names)}")
        for container, rows in (("churn+segments", len(live_segments)), ("churn", 1)):
            if (found := container_rows(layout, swift.account, container)) != [(rows, 0)] * 3:
                problems.append(f"{container} rows {found}")
        return problems

    took = wait_until(not_back, TIMEOUT, 1.0)
    print(f"\nchurned segments back to their live size {took:.1f}s after the churn")
    assert time.time() - started > GRACE  # the live parts are older than the grace: kept for their references
    body = s3.get_object(Bucket="churn", Key="live")["Body"].read()
    assert body == b"L" * PART + b"L" * 1000
    listed = s3.list_parts(Bucket="churn", Key="pending", UploadId=pending)["Parts"]
    assert [p["PartNumber"] for p in listed] == [1, 2]
    assert {u["UploadId"] for u in s3.list_multipart_uploads(Bucket="churn").get("Uploads", [])} == {pending}


def test_referenced_parts_survive_the_reaper(cluster):
    """Parts an archived Swift version names and parts of an upload in progress stay past the grace; an
    orphan in the same bucket goes (so passes ran)."""
    s3 = make_client(cluster.proxy_url)
    swift = Client(cluster)
    s3.create_bucket(Bucket="kept")
    swift.create_container("kept-archive")
    resp = swift.http.post(f"{swift.url}/kept", headers={"X-Versions-Location": "kept-archive"})
    assert resp.status_code == 204
    multipart(s3, "kept", "versioned", b"V")
    assert swift.put("kept", "versioned", b"newer") == 201  # the manifest goes to the archive
    pending = multipart(s3, "kept", "pending", b"P", complete=False)
    orphan = multipart(s3, "kept", "orphan", b"X", complete=False)
    assert swift.delete("kept+segments", f"orphan/{orphan}") == 204
    expected = {name for name in segment_names(swift, "kept") if not name.startswith("orphan/")}
    assert len(expected) == 2 + 3  # the archived version's two parts, the pending marker and two parts

    wait_until(lambda: segment_names(swift, "kept") != expected, TIMEOUT, 1.0)
    time.sleep(2 * GRACE)  # more passes, everything older than the grace
    assert segment_names(swift, "kept") == expected
    archived = swift.http.get(f"{swift.url}/kept-archive", params={"format": "json"}).json()
    assert len(archived) == 1
    resp = swift.get("kept-archive", archived[0]["name"])
    assert resp.status_code == 200 and resp.content == b"V" * PART + b"V" * 1000
    assert swift.delete("kept", "versioned") == 204  # stack mode: the archived version comes back
    assert s3.get_object(Bucket="kept", Key="versioned")["Body"].read() == b"V" * PART + b"V" * 1000
    listed = s3.list_parts(Bucket="kept", Key="pending", UploadId=pending)["Parts"]
    assert [p["PartNumber"] for p in listed] == [1, 2]
