"""A replica that missed a write of a versioned name (it hung while the other replicas acknowledged it) must
not make a later writer lose that write: the next write archives the version the cluster holds, not the older
one the stale replica may answer a read with (docs/versioning.md "Concurrent writers"). Replication is off,
so the replica stays stale for the whole test; reads pick a primary at random, so every later write has a
fair chance to be served by it. The same for a metadata change decided on what it reads (an Object Lock
retention, which must never shrink)."""

from __future__ import annotations

import os
import signal
import time
import uuid

import pytest

from tests.durability.bg_helpers import Layout, Swift, start_cluster, wait_for

LATER_WRITES = 20


@pytest.fixture(scope="module")
def cl(tmp_path_factory):
    # a node that was down is read from again soon after it is back (its stale copies are the point here)
    c = start_cluster(tmp_path_factory.mktemp("stale"), proxy={"error_suppression_interval": 1.0})
    yield c
    c.stop()


def test_a_replica_that_missed_a_write_loses_no_version(cl):
    swift, layout = Swift(cl), Layout(cl)
    container = "stale-" + uuid.uuid4().hex[:6]
    assert swift.put(container, **{"X-Versions-Enabled": "true"}).status_code in (201, 202)
    written: list[tuple[str, bytes]] = []
    markers: list[str] = []

    def put(body: bytes) -> None:
        resp = swift.put(container, "name", body)
        assert resp.status_code == 201, resp.text
        written.append((resp.headers["x-object-version-id"], body))

    put(b"first")
    _, devs = layout.object.get_nodes(swift.account, container, "name")
    pid = cl.node_pids[f"node{layout.node_index(devs[0])}"]
    os.kill(pid, signal.SIGSTOP)  # it keeps "first" while the others take "second"
    try:
        put(b"second")
    finally:
        os.kill(pid, signal.SIGCONT)
    for i in range(LATER_WRITES):  # writes and deletes (a delete archives the current version first too)
        put(f"later {i}".encode())
        if i % 4 == 3:
            resp = swift.http.delete(swift.path(container, "name"))
            assert resp.status_code == 204, resp.text
            markers.append(resp.headers["x-object-version-id"])

    for version_id, body in written:
        resp = swift.http.get(swift.path(container, "name"), params={"version-id": version_id})
        assert (resp.status_code, resp.content) == (200, body), f"version {version_id} ({body!r}) lost"

    def listed() -> set[str]:
        resp = swift.http.get(swift.path(container), params={"format": "json", "versions": ""})
        return {row["version_id"] for row in resp.json()} if resp.status_code == 200 else set()

    wait_for(lambda: listed() == {vid for vid, _ in written} | set(markers))


def test_a_replica_that_missed_a_retention_does_not_let_it_shrink(cl):
    """S3 Object Lock: a COMPLIANCE retention set while one replica hung is never shortened or removed by a
    later PutObjectRetention that reads the replica which missed it (a retention change reads the version's
    newest copy before it decides)."""
    from datetime import UTC, datetime, timedelta

    import botocore.exceptions

    from tests.s3.conftest import make_client

    c, swift, layout = make_client(cl.proxy_url), Swift(cl), Layout(cl)
    bucket = "stale-lock-" + uuid.uuid4().hex[:6]
    c.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    version_id = c.put_object(Bucket=bucket, Key="held", Body=b"kept")["VersionId"]
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    _, devs = layout.object.get_nodes(swift.account, bucket, "held")
    down = layout.node_index(devs[0])
    cl.stop_node(down)  # it keeps the version without the retention (a hung one would apply it on waking)
    try:
        c.put_object_retention(Bucket=bucket, Key="held", VersionId=version_id,
                               Retention={"Mode": "COMPLIANCE", "RetainUntilDate": until})
    finally:
        cl.start_node(down)
    time.sleep(1.5)  # the proxy's error limiting of the restarted node has passed
    for _ in range(12):  # reads pick a primary at random
        with pytest.raises(botocore.exceptions.ClientError) as err:
            c.put_object_retention(Bucket=bucket, Key="held", VersionId=version_id, Retention={
                "Mode": "COMPLIANCE", "RetainUntilDate": until - timedelta(hours=12)})
        assert err.value.response["Error"]["Code"] == "AccessDenied"
    kept = c.get_object_retention(Bucket=bucket, Key="held", VersionId=version_id)["Retention"]
    assert (kept["Mode"], kept["RetainUntilDate"]) == ("COMPLIANCE", until)


def test_a_replica_that_missed_an_acl_change_grants_nothing(cl):
    """An object ACL made private while one replica was down: the replica that still holds public-read never
    lets an anonymous reader in (the ACL check reads the object's newest copy)."""
    import httpx

    from tests.s3.conftest import make_client

    c, swift, layout = make_client(cl.proxy_url), Swift(cl), Layout(cl)
    bucket = "stale-acl-" + uuid.uuid4().hex[:6]
    c.create_bucket(Bucket=bucket)
    c.put_object(Bucket=bucket, Key="pub", Body=b"was public", ACL="public-read")
    assert httpx.get(f"{cl.proxy_url}/{bucket}/pub").status_code == 200
    _, devs = layout.object.get_nodes(swift.account, bucket, "pub")
    down = layout.node_index(devs[0])
    cl.stop_node(down)  # it keeps public-read
    try:
        c.put_object_acl(Bucket=bucket, Key="pub", ACL="private")
    finally:
        cl.start_node(down)
    time.sleep(1.5)  # the proxy's error limiting of the restarted node has passed
    statuses = [httpx.get(f"{cl.proxy_url}/{bucket}/pub").status_code for _ in range(12)]
    assert statuses == [403] * 12


def test_a_replica_that_missed_a_completion_still_answers_a_retried_complete(cl):
    """CompleteMultipartUpload retried after it succeeded (a client that lost the answer) gets the same success,
    also when the object's replica that was down during the completion answers the read with the object before."""
    from tests.s3.conftest import make_client

    c, swift, layout = make_client(cl.proxy_url), Swift(cl), Layout(cl)
    bucket = "stale-mpu-" + uuid.uuid4().hex[:6]
    c.create_bucket(Bucket=bucket)
    c.put_object(Bucket=bucket, Key="big", Body=b"the object before")
    upload = c.create_multipart_upload(Bucket=bucket, Key="big")["UploadId"]
    etag = c.upload_part(Bucket=bucket, Key="big", UploadId=upload, PartNumber=1, Body=b"p" * 1024)["ETag"]
    parts = {"Parts": [{"PartNumber": 1, "ETag": etag}]}
    _, devs = layout.object.get_nodes(swift.account, bucket, "big")
    down = layout.node_index(devs[0])
    cl.stop_node(down)  # it keeps "the object before"
    try:
        done = c.complete_multipart_upload(Bucket=bucket, Key="big", UploadId=upload, MultipartUpload=parts)
    finally:
        cl.start_node(down)
    time.sleep(1.5)  # the proxy's error limiting of the restarted node has passed
    for _ in range(12):
        again = c.complete_multipart_upload(Bucket=bucket, Key="big", UploadId=upload, MultipartUpload=parts)
        assert again["ETag"] == done["ETag"]


def test_a_registry_replica_that_missed_a_bucket_changing_hands_names_the_new_owner(cl):
    """S3 bucket names are one namespace: a bucket deleted by its owner and created again by another account
    while one replica of its registry entry was down belongs to the new owner, also when a lookup reads that
    replica first (registry lookups read every replica; a deleted or re-created entry answers with the newer
    of its put and delete times)."""
    from proxy.s3.owners import SYSTEM_ACCOUNT
    from tests.s3.conftest import make_client

    first, second, layout = make_client(cl.proxy_url), make_client(cl.proxy_url, key="test2:tester2",
                                                                    secret="testing2"), Layout(cl)
    down = 1
    names = layout.containers_on(down, SYSTEM_ACCOUNT, "hands-", 16)  # registry entries with a replica there
    for name in names:
        first.create_bucket(Bucket=name)
    cl.stop_node(down)  # its registry replicas keep naming the first owner
    try:
        for name in names:
            first.delete_bucket(Bucket=name)
            second.create_bucket(Bucket=name)
    finally:
        cl.start_node(down)
    time.sleep(5.5)  # the proxy's cached registry entries and its error limiting of the restarted node have passed
    for name in names:
        second.put_object(Bucket=name, Key="mine", Body=b"second owner's")
        assert second.get_object(Bucket=name, Key="mine")["Body"].read() == b"second owner's"
    for name in names:
        with pytest.raises(Exception) as err:
            first.get_object(Bucket=name, Key="mine")
        assert err.value.response["Error"]["Code"] == "AccessDenied", name


def test_a_container_replica_that_missed_an_acl_revocation_lets_no_one_in(cl):
    """A container made private (its public read ACL removed) while one of its replicas was down: the replica
    that still holds the public ACL never lets an anonymous reader in (the proxy's container info, which every
    ACL, policy and configuration check reads, comes from the container's newest copy)."""
    import httpx

    swift, layout = Swift(cl), Layout(cl)
    down = 2
    names = layout.containers_on(down, swift.account, "revoked-", 12)
    for name in names:
        assert swift.put(name, **{"X-Container-Read": ".r:*"}).status_code in (201, 202)
        assert swift.put(name, "pub", b"was public").status_code == 201
        assert httpx.get(swift.path(name, "pub")).status_code == 200
    cl.stop_node(down)  # its container replicas keep the public read ACL
    try:
        for name in names:
            resp = swift.http.post(swift.path(name), headers={"X-Remove-Container-Read": "x"})
            assert resp.status_code == 204, resp.text
    finally:
        cl.start_node(down)
    time.sleep(5.5)  # the proxy's cached container info and its error limiting of the restarted node have passed
    statuses = {name: httpx.get(swift.path(name, "pub")).status_code for name in names}
    assert set(statuses.values()) == {401}, statuses


def test_a_replica_that_missed_an_abort_takes_no_part(cl):
    """A multipart upload aborted while one replica of its upload record was down is gone: a later UploadPart
    answers NoSuchUpload (as AWS) also when it reads that replica first, instead of storing a part of an upload
    nobody can complete or list."""
    import botocore.exceptions

    from proxy.s3.bucket import segments_container
    from proxy.s3.multipart import marker_name
    from tests.s3.conftest import make_client

    c, swift, layout = make_client(cl.proxy_url), Swift(cl), Layout(cl)
    bucket = "stale-abort-" + uuid.uuid4().hex[:6]
    c.create_bucket(Bucket=bucket)
    upload = c.create_multipart_upload(Bucket=bucket, Key="big")["UploadId"]
    c.upload_part(Bucket=bucket, Key="big", UploadId=upload, PartNumber=1, Body=b"p" * 1024)
    _, devs = layout.object.get_nodes(swift.account, segments_container(bucket), marker_name("big", upload))
    down = layout.node_index(devs[0])
    cl.stop_node(down)  # it keeps the upload's record
    try:
        c.abort_multipart_upload(Bucket=bucket, Key="big", UploadId=upload)
    finally:
        cl.start_node(down)
    time.sleep(1.5)  # the proxy's error limiting of the restarted node has passed
    for number in range(2, 14):
        with pytest.raises(botocore.exceptions.ClientError) as err:
            c.upload_part(Bucket=bucket, Key="big", UploadId=upload, PartNumber=number, Body=b"q" * 1024)
        assert err.value.response["Error"]["Code"] == "NoSuchUpload", number
