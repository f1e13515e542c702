"""S3 Object Lock with boto3 against the real cluster (proxy/s3/object_lock.py, stackstore/object_lock.py):
bucket configuration, per-version retention and legal hold, enforcement over S3 and over the Swift API."""

from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from swiftclient import client as swift_client

from tests.s3.conftest import error_code, make_client


@pytest.fixture
def c(s3):
    return make_client(s3.url)  # sends a checksum with every upload, as AWS requires in a lock bucket


@pytest.fixture
def lock_bucket(c, request):
    """A fresh Object Lock bucket; its versions are removed afterwards with a governance bypass."""
    name = f"lk{os.urandom(5).hex()}-{request.node.name[:20].lower().replace('_', '-')}"
    name = "".join(ch for ch in name if ch.isalnum() or ch == "-")[:60].rstrip("-")
    c.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    yield name
    try:
        listed = c.list_object_versions(Bucket=name)
        for v in listed.get("Versions", []) + listed.get("DeleteMarkers", []):
            try:
                c.put_object_legal_hold(Bucket=name, Key=v["Key"], VersionId=v["VersionId"],
                                        LegalHold={"Status": "OFF"})
            except ClientError:
                pass
            c.delete_object(Bucket=name, Key=v["Key"], VersionId=v["VersionId"], BypassGovernanceRetention=True)
        c.delete_bucket(Bucket=name)
    except ClientError:  # best effort: a COMPLIANCE version stays until its date
        pass


def soon(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def status_and_code(call, *args, **kwargs) -> tuple[int, str]:
    try:
        call(*args, **kwargs)
    except ClientError as err:
        return err.response["ResponseMetadata"]["HTTPStatusCode"], err.response["Error"]["Code"]
    return 200, ""


def test_bucket_configuration(c, lock_bucket, bucket):
    assert c.get_bucket_versioning(Bucket=lock_bucket)["Status"] == "Enabled"
    got = c.get_object_lock_configuration(Bucket=lock_bucket)["ObjectLockConfiguration"]
    assert got == {"ObjectLockEnabled": "Enabled"}
    conf = {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}}
    c.put_object_lock_configuration(Bucket=lock_bucket, ObjectLockConfiguration=conf)
    assert c.get_object_lock_configuration(Bucket=lock_bucket)["ObjectLockConfiguration"] == conf
    conf["Rule"]["DefaultRetention"] = {"Mode": "COMPLIANCE", "Years": 1}
    c.put_object_lock_configuration(Bucket=lock_bucket, ObjectLockConfiguration=conf)
    assert c.get_object_lock_configuration(Bucket=lock_bucket)["ObjectLockConfiguration"] == conf
    # versioning of a lock bucket cannot be suspended
    assert status_and_code(c.put_bucket_versioning, Bucket=lock_bucket,
                           VersioningConfiguration={"Status": "Suspended"}) == (409, "InvalidBucketState")
    # invalid configurations
    for bad, expected in (({"Mode": "GOVERNANCE", "Days": 1, "Years": 1}, (400, "MalformedXML")),
                          ({"Mode": "BOGUS", "Days": 1}, (400, "MalformedXML")),
                          ({"Mode": "GOVERNANCE", "Days": 0}, (400, "InvalidRetentionPeriod")),
                          ({"Mode": "GOVERNANCE"}, (400, "MalformedXML"))):
        assert status_and_code(c.put_object_lock_configuration, Bucket=lock_bucket, ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": bad}}) == expected, bad
    # a bucket without Object Lock
    assert status_and_code(c.get_object_lock_configuration, Bucket=bucket) == \
        (404, "ObjectLockConfigurationNotFoundError")
    assert status_and_code(c.put_object_lock_configuration, Bucket=bucket,
                           ObjectLockConfiguration=conf) == (409, "InvalidBucketState")
    c.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert status_and_code(c.get_object_retention, Bucket=bucket, Key="k") == (400, "InvalidRequest")
    assert status_and_code(c.put_object_legal_hold, Bucket=bucket, Key="k",
                           LegalHold={"Status": "ON"}) == (400, "InvalidRequest")
    assert status_and_code(c.put_object, Bucket=bucket, Key="k2", Body=b"x", ObjectLockMode="GOVERNANCE",
                           ObjectLockRetainUntilDate=soon(60)) == (400, "InvalidRequest")
    # a versioned bucket may turn Object Lock on (AWS allows it since 2023)
    c.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    c.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"})
    assert c.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"] == \
        {"ObjectLockEnabled": "Enabled"}


def test_governance_retention(c, lock_bucket):
    until = soon(3600)
    put = c.put_object(Bucket=lock_bucket, Key="g", Body=b"one", ObjectLockMode="GOVERNANCE",
                       ObjectLockRetainUntilDate=until)
    vid = put["VersionId"]
    head = c.head_object(Bucket=lock_bucket, Key="g")
    assert head["ObjectLockMode"] == "GOVERNANCE"
    assert abs((head["ObjectLockRetainUntilDate"] - until).total_seconds()) < 1
    got = c.get_object_retention(Bucket=lock_bucket, Key="g", VersionId=vid)["Retention"]
    assert got["Mode"] == "GOVERNANCE"
    # deleting the version is refused; a delete marker is still allowed
    assert status_and_code(c.delete_object, Bucket=lock_bucket, Key="g", VersionId=vid) == (403, "AccessDenied")
    deleted = c.delete_objects(Bucket=lock_bucket, Delete={"Objects": [{"Key": "g", "VersionId": vid}]})
    assert deleted["Errors"][0]["Code"] == "AccessDenied"
    marker = c.delete_object(Bucket=lock_bucket, Key="g")
    assert marker["DeleteMarker"] is True
    c.delete_object(Bucket=lock_bucket, Key="g", VersionId=marker["VersionId"])
    # the archived version keeps its lock
    c.put_object(Bucket=lock_bucket, Key="g", Body=b"two")
    assert c.head_object(Bucket=lock_bucket, Key="g", VersionId=vid)["ObjectLockMode"] == "GOVERNANCE"
    assert status_and_code(c.delete_object, Bucket=lock_bucket, Key="g", VersionId=vid) == (403, "AccessDenied")
    # extending is allowed, shortening needs the bypass
    c.put_object_retention(Bucket=lock_bucket, Key="g", VersionId=vid,
                           Retention={"Mode": "GOVERNANCE", "RetainUntilDate": soon(7200)})
    assert status_and_code(c.put_object_retention, Bucket=lock_bucket, Key="g", VersionId=vid,
                           Retention={"Mode": "GOVERNANCE", "RetainUntilDate": soon(60)}) == (403, "AccessDenied")
    c.put_object_retention(Bucket=lock_bucket, Key="g", VersionId=vid, BypassGovernanceRetention=True,
                           Retention={"Mode": "GOVERNANCE", "RetainUntilDate": soon(60)})
    # moving it to COMPLIANCE overrides the governance setting: the bypass too
    assert status_and_code(c.put_object_retention, Bucket=lock_bucket, Key="g", VersionId=vid,
                           Retention={"Mode": "COMPLIANCE", "RetainUntilDate": soon(7200)}) == (403, "AccessDenied")
    assert c.get_object_retention(Bucket=lock_bucket, Key="g", VersionId=vid)["Retention"]["Mode"] == "GOVERNANCE"
    # the owner may bypass governance
    c.delete_object(Bucket=lock_bucket, Key="g", VersionId=vid, BypassGovernanceRetention=True)
    assert error_code(c.head_object, Bucket=lock_bucket, Key="g", VersionId=vid) == "404"


def test_bypass_denied_by_policy(c, lock_bucket):
    vid = c.put_object(Bucket=lock_bucket, Key="p", Body=b"x", ObjectLockMode="GOVERNANCE",
                       ObjectLockRetainUntilDate=soon(3600))["VersionId"]
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "s3:BypassGovernanceRetention",
        "Resource": f"arn:aws:s3:::{lock_bucket}/*"}]}
    c.put_bucket_policy(Bucket=lock_bucket, Policy=json.dumps(policy))
    try:
        assert status_and_code(c.delete_object, Bucket=lock_bucket, Key="p", VersionId=vid,
                               BypassGovernanceRetention=True) == (403, "AccessDenied")
    finally:
        c.delete_bucket_policy(Bucket=lock_bucket)
    c.delete_object(Bucket=lock_bucket, Key="p", VersionId=vid, BypassGovernanceRetention=True)


def test_compliance_retention(c, lock_bucket):
    until = soon(4)
    vid = c.put_object(Bucket=lock_bucket, Key="c", Body=b"x", ObjectLockMode="COMPLIANCE",
                       ObjectLockRetainUntilDate=until)["VersionId"]
    assert status_and_code(c.delete_object, Bucket=lock_bucket, Key="c", VersionId=vid,
                           BypassGovernanceRetention=True) == (403, "AccessDenied")
    for retention in ({"Mode": "COMPLIANCE", "RetainUntilDate": soon(1)},
                      {"Mode": "GOVERNANCE", "RetainUntilDate": soon(3600)}):
        assert status_and_code(c.put_object_retention, Bucket=lock_bucket, Key="c", VersionId=vid,
                               BypassGovernanceRetention=True, Retention=retention) == (403, "AccessDenied")
    time.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()) + 0.5)
    c.delete_object(Bucket=lock_bucket, Key="c", VersionId=vid)  # the period is over


def test_legal_hold(c, lock_bucket):
    vid = c.put_object(Bucket=lock_bucket, Key="h", Body=b"x", ObjectLockLegalHoldStatus="ON")["VersionId"]
    assert c.head_object(Bucket=lock_bucket, Key="h")["ObjectLockLegalHoldStatus"] == "ON"
    assert c.get_object_legal_hold(Bucket=lock_bucket, Key="h")["LegalHold"] == {"Status": "ON"}
    assert status_and_code(c.delete_object, Bucket=lock_bucket, Key="h", VersionId=vid,
                           BypassGovernanceRetention=True) == (403, "AccessDenied")
    assert status_and_code(c.put_object_legal_hold, Bucket=lock_bucket, Key="h",
                           LegalHold={"Status": "MAYBE"}) == (400, "MalformedXML")
    c.put_object_legal_hold(Bucket=lock_bucket, Key="h", VersionId=vid, LegalHold={"Status": "OFF"})
    assert c.get_object_legal_hold(Bucket=lock_bucket, Key="h")["LegalHold"] == {"Status": "OFF"}
    c.delete_object(Bucket=lock_bucket, Key="h", VersionId=vid)
    c.put_object(Bucket=lock_bucket, Key="none", Body=b"x")
    assert status_and_code(c.get_object_legal_hold, Bucket=lock_bucket, Key="none") == \
        (404, "NoSuchObjectLockConfiguration")
    assert status_and_code(c.get_object_retention, Bucket=lock_bucket, Key="none") == \
        (404, "NoSuchObjectLockConfiguration")


def test_put_header_validation_and_digest(c, s3, lock_bucket):
    assert status_and_code(c.put_object, Bucket=lock_bucket, Key="v", Body=b"x",
                           ObjectLockMode="GOVERNANCE") == (400, "InvalidArgument")
    assert status_and_code(c.put_object, Bucket=lock_bucket, Key="v", Body=b"x", ObjectLockMode="GOVERNANCE",
                           ObjectLockRetainUntilDate=soon(-60)) == (400, "InvalidArgument")
    # without Content-MD5 or a checksum, a locked upload is refused
    plain = make_client(s3.url, when_required=True)
    assert status_and_code(plain.put_object, Bucket=lock_bucket, Key="v", Body=b"x", ObjectLockMode="GOVERNANCE",
                           ObjectLockRetainUntilDate=soon(60)) == (400, "InvalidRequest")
    plain.put_object(Bucket=lock_bucket, Key="v", Body=b"x")  # nothing to lock: no digest needed
    # a locked version cannot expire (Swift's X-Delete-After, which the S3 layer passes on)
    c.meta.events.register("before-sign.s3.PutObject",
                           lambda request, **_: request.headers.__setitem__("X-Delete-After", "60"))
    assert status_and_code(c.put_object, Bucket=lock_bucket, Key="v", Body=b"x",
                           ObjectLockLegalHoldStatus="ON") == (400, "InvalidRequest")


def test_default_retention_and_other_writes(c, lock_bucket):
    c.put_object_lock_configuration(Bucket=lock_bucket, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 2}}})
    vid = c.put_object(Bucket=lock_bucket, Key="d", Body=b"x")["VersionId"]
    got = c.get_object_retention(Bucket=lock_bucket, Key="d", VersionId=vid)["Retention"]
    assert got["Mode"] == "GOVERNANCE"
    left = got["RetainUntilDate"] - datetime.now(UTC)
    assert timedelta(days=1, hours=23) < left <= timedelta(days=2)
    # CopyObject and multipart uploads take the request's lock headers
    copied = c.copy_object(Bucket=lock_bucket, Key="copy", CopySource={"Bucket": lock_bucket, "Key": "d"},
                           ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=soon(3),
                           ObjectLockLegalHoldStatus="ON")
    head = c.head_object(Bucket=lock_bucket, Key="copy", VersionId=copied["VersionId"])
    assert head["ObjectLockMode"] == "COMPLIANCE" and head["ObjectLockLegalHoldStatus"] == "ON"
    up = c.create_multipart_upload(Bucket=lock_bucket, Key="mpu", ObjectLockLegalHoldStatus="ON")
    etag = c.upload_part(Bucket=lock_bucket, Key="mpu", UploadId=up["UploadId"], PartNumber=1, Body=b"p")["ETag"]
    done = c.complete_multipart_upload(Bucket=lock_bucket, Key="mpu", UploadId=up["UploadId"],
                                       MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert c.get_object_legal_hold(Bucket=lock_bucket, Key="mpu", VersionId=done["VersionId"])["LegalHold"] == \
        {"Status": "ON"}
    assert status_and_code(c.delete_object, Bucket=lock_bucket, Key="mpu", VersionId=done["VersionId"],
                           BypassGovernanceRetention=True) == (403, "AccessDenied")


def test_swift_delete_of_locked_version_refused(c, s3, lock_bucket):
    vid = c.put_object(Bucket=lock_bucket, Key="s", Body=b"x", ObjectLockLegalHoldStatus="ON")["VersionId"]
    c.put_object(Bucket=lock_bucket, Key="s", Body=b"newer")  # the held version is archived
    conn = swift_client.Connection(authurl=f"{s3.cluster.proxy_url}/auth/v1.0", user="test:tester",
                                   key="testing", retries=0)
    try:
        with pytest.raises(swift_client.ClientException) as err:
            conn.delete_object(lock_bucket, "s", query_string=f"version-id={vid}")
        assert err.value.http_status == 403
        assert conn.get_object(lock_bucket, "s", query_string=f"version-id={vid}")[1] == b"x"
        # an expiry on a held current version would let the expirer remove it
        current = c.put_object(Bucket=lock_bucket, Key="s2", Body=b"y", ObjectLockLegalHoldStatus="ON")
        with pytest.raises(swift_client.ClientException) as err:
            conn.post_object(lock_bucket, "s2", {"X-Delete-After": "1"})
        assert err.value.http_status == 403
        assert "x-delete-at" not in conn.head_object(lock_bucket, "s2")
        c.put_object_legal_hold(Bucket=lock_bucket, Key="s2", VersionId=current["VersionId"],
                                LegalHold={"Status": "OFF"})
    finally:
        conn.close()
    c.put_object_legal_hold(Bucket=lock_bucket, Key="s", VersionId=vid, LegalHold={"Status": "OFF"})


def test_lock_bucket_keeps_its_versions(c, s3, lock_bucket):
    vid = c.put_object(Bucket=lock_bucket, Key="b", Body=b"x", ObjectLockLegalHoldStatus="ON")["VersionId"]
    c.delete_object(Bucket=lock_bucket, Key="b")  # a delete marker over the held version
    assert c.list_objects_v2(Bucket=lock_bucket).get("KeyCount") == 0
    assert status_and_code(c.delete_bucket, Bucket=lock_bucket) == (409, "BucketNotEmpty")
    conn = swift_client.Connection(authurl=f"{s3.cluster.proxy_url}/auth/v1.0", user="test:tester",
                                   key="testing", retries=0)
    try:
        with pytest.raises(swift_client.ClientException) as err:
            conn.post_container(lock_bucket, {"X-Versions-Enabled": "false"})
        assert err.value.http_status == 409
    finally:
        conn.close()
    assert c.get_bucket_versioning(Bucket=lock_bucket)["Status"] == "Enabled"
    assert c.get_object(Bucket=lock_bucket, Key="b", VersionId=vid)["Body"].read() == b"x"


def test_versioned_bucket_delete(c, bucket):
    """Any versioned bucket is not empty while it keeps versions; once they are gone it is deleted."""
    c.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    vid = c.put_object(Bucket=bucket, Key="k", Body=b"x")["VersionId"]
    marker = c.delete_object(Bucket=bucket, Key="k")["VersionId"]
    assert error_code(c.delete_bucket, Bucket=bucket) == "BucketNotEmpty"
    c.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k", "VersionId": vid},
                                                        {"Key": "k", "VersionId": marker}]})
    c.delete_bucket(Bucket=bucket)
    assert error_code(c.head_bucket, Bucket=bucket) == "404"
    c.create_bucket(Bucket=bucket)
    assert c.list_object_versions(Bucket=bucket).get("Versions") is None
    assert "Status" not in c.get_bucket_versioning(Bucket=bucket)  # a new bucket inherits nothing


def test_awscli_object_lock(s3, tmp_path):
    from tests.s3.test_clients import _aws, _aws_env, _run

    env = _aws_env(tmp_path)
    api = _aws() + ["--endpoint-url", s3.url, "s3api"]
    bucket = "awslk-" + os.urandom(4).hex()
    _run(api + ["create-bucket", "--bucket", bucket, "--object-lock-enabled-for-bucket"], env)
    _run(api + ["put-object-lock-configuration", "--bucket", bucket, "--object-lock-configuration",
                '{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"GOVERNANCE","Days":1}}}'], env)
    got = json.loads(_run(api + ["get-object-lock-configuration", "--bucket", bucket], env).stdout)
    assert got["ObjectLockConfiguration"]["Rule"]["DefaultRetention"] == {"Mode": "GOVERNANCE", "Days": 1}
    body = tmp_path / "body"
    body.write_text("locked")
    vid = json.loads(_run(api + ["put-object", "--bucket", bucket, "--key", "k", "--body", str(body)],
                          env).stdout)["VersionId"]
    retention = json.loads(_run(api + ["get-object-retention", "--bucket", bucket, "--key", "k"], env).stdout)
    assert retention["Retention"]["Mode"] == "GOVERNANCE"
    refused = subprocess.run(api + ["delete-object", "--bucket", bucket, "--key", "k", "--version-id", vid],
                             env=env, capture_output=True, text=True, timeout=300)
    assert refused.returncode != 0 and "AccessDenied" in refused.stderr
    _run(api + ["put-object-legal-hold", "--bucket", bucket, "--key", "k", "--legal-hold", "Status=ON"], env)
    held = json.loads(_run(api + ["get-object-legal-hold", "--bucket", bucket, "--key", "k"], env).stdout)
    assert held["LegalHold"]["Status"] == "ON"
    _run(api + ["put-object-legal-hold", "--bucket", bucket, "--key", "k", "--legal-hold", "Status=OFF"], env)
    _run(api + ["delete-object", "--bucket", bucket, "--key", "k", "--version-id", vid,
                "--bypass-governance-retention"], env)
    _run(api + ["delete-bucket", "--bucket", bucket], env)
