"""The S3 operation table (proxy/s3/operations.py): recognition with AWS's precedence, the IAM actions
of every operation, and the one authorization step (proxy/s3/access.py) refusing readers exactly the
writes. Unit tests on the table (the container info a decision reads comes from a fixed stand-in), then
the table's answers through the running cloud."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from botocore.exceptions import ClientError
from starlette.requests import Request

from objclient.response import BackendResponse
from proxy.auth.tempauth import group_identity
from proxy.context import Identity, ProxyState
from proxy.s3 import access, router
from proxy.s3.context import AuthInfo, S3Request
from proxy.s3.credentials import Credential
from proxy.s3.errors import S3Error
from proxy.s3.operations import BY_NAME, OPERATIONS, Target, operation_of, resolve
from tests.s3.conftest import make_client

COPY = {"x-amz-copy-source": "/src-bucket/src-key"}

# operation → a request AWS documents for it: (method, path, query, headers)
SAMPLES: dict[str, tuple[str, str, str, dict[str, str]]] = {
    "ListBuckets": ("GET", "/", "", {}),
    "CreateBucket": ("PUT", "/b", "", {}),
    "DeleteBucket": ("DELETE", "/b", "", {}),
    "HeadBucket": ("HEAD", "/b", "", {}),
    "ListObjects": ("GET", "/b", "prefix=a&delimiter=/&marker=m", {}),
    "ListObjectsV2": ("GET", "/b", "list-type=2&prefix=a&continuation-token=t", {}),
    "ListObjectVersions": ("GET", "/b", "versions&prefix=a", {}),
    "GetBucketLocation": ("GET", "/b", "location", {}),
    "ListMultipartUploads": ("GET", "/b", "uploads&prefix=a", {}),
    "DeleteObjects": ("POST", "/b", "delete", {}),
    "PostObject": ("POST", "/b", "", {"content-type": "multipart/form-data; boundary=x"}),
    "GetBucketAcl": ("GET", "/b", "acl", {}),
    "PutBucketAcl": ("PUT", "/b", "acl", {"x-amz-acl": "private"}),
    "GetBucketPolicy": ("GET", "/b", "policy", {}),
    "PutBucketPolicy": ("PUT", "/b", "policy", {}),
    "DeleteBucketPolicy": ("DELETE", "/b", "policy", {}),
    "GetBucketPolicyStatus": ("GET", "/b", "policyStatus", {}),
    "GetBucketCors": ("GET", "/b", "cors", {}),
    "PutBucketCors": ("PUT", "/b", "cors", {}),
    "DeleteBucketCors": ("DELETE", "/b", "cors", {}),
    "GetBucketTagging": ("GET", "/b", "tagging", {}),
    "PutBucketTagging": ("PUT", "/b", "tagging", {}),
    "DeleteBucketTagging": ("DELETE", "/b", "tagging", {}),
    "GetBucketEncryption": ("GET", "/b", "encryption", {}),
    "PutBucketEncryption": ("PUT", "/b", "encryption", {}),
    "DeleteBucketEncryption": ("DELETE", "/b", "encryption", {}),
    "GetBucketLifecycleConfiguration": ("GET", "/b", "lifecycle", {}),
    "PutBucketLifecycleConfiguration": ("PUT", "/b", "lifecycle", {}),
    "DeleteBucketLifecycle": ("DELETE", "/b", "lifecycle", {}),
    "GetBucketVersioning": ("GET", "/b", "versioning", {}),
    "PutBucketVersioning": ("PUT", "/b", "versioning", {}),
    "GetBucketWebsite": ("GET", "/b", "website", {}),
    "PutBucketWebsite": ("PUT", "/b", "website", {}),
    "DeleteBucketWebsite": ("DELETE", "/b", "website", {}),
    "GetBucketLogging": ("GET", "/b", "logging", {}),
    "PutBucketLogging": ("PUT", "/b", "logging", {}),
    "GetBucketNotificationConfiguration": ("GET", "/b", "notification", {}),
    "PutBucketNotificationConfiguration": ("PUT", "/b", "notification", {}),
    "GetBucketReplication": ("GET", "/b", "replication", {}),
    "PutBucketReplication": ("PUT", "/b", "replication", {}),
    "DeleteBucketReplication": ("DELETE", "/b", "replication", {}),
    "GetBucketRequestPayment": ("GET", "/b", "requestPayment", {}),
    "PutBucketRequestPayment": ("PUT", "/b", "requestPayment", {}),
    "GetBucketAccelerateConfiguration": ("GET", "/b", "accelerate", {}),
    "PutBucketAccelerateConfiguration": ("PUT", "/b", "accelerate", {}),
    "GetBucketOwnershipControls": ("GET", "/b", "ownershipControls", {}),
    "PutBucketOwnershipControls": ("PUT", "/b", "ownershipControls", {}),
    "DeleteBucketOwnershipControls": ("DELETE", "/b", "ownershipControls", {}),
    "GetPublicAccessBlock": ("GET", "/b", "publicAccessBlock", {}),
    "PutPublicAccessBlock": ("PUT", "/b", "publicAccessBlock", {}),
    "DeletePublicAccessBlock": ("DELETE", "/b", "publicAccessBlock", {}),
    "GetObjectLockConfiguration": ("GET", "/b", "object-lock", {}),
    "PutObjectLockConfiguration": ("PUT", "/b", "object-lock", {}),
    "GetBucketAnalyticsConfiguration": ("GET", "/b", "analytics&id=a1", {}),
    "ListBucketAnalyticsConfigurations": ("GET", "/b", "analytics", {}),
    "PutBucketAnalyticsConfiguration": ("PUT", "/b", "analytics&id=a1", {}),
    "DeleteBucketAnalyticsConfiguration": ("DELETE", "/b", "analytics&id=a1", {}),
    "GetBucketMetricsConfiguration": ("GET", "/b", "metrics&id=m1", {}),
    "ListBucketMetricsConfigurations": ("GET", "/b", "metrics", {}),
    "PutBucketMetricsConfiguration": ("PUT", "/b", "metrics&id=m1", {}),
    "DeleteBucketMetricsConfiguration": ("DELETE", "/b", "metrics&id=m1", {}),
    "GetBucketInventoryConfiguration": ("GET", "/b", "inventory&id=i1", {}),
    "ListBucketInventoryConfigurations": ("GET", "/b", "inventory", {}),
    "PutBucketInventoryConfiguration": ("PUT", "/b", "inventory&id=i1", {}),
    "DeleteBucketInventoryConfiguration": ("DELETE", "/b", "inventory&id=i1", {}),
    "GetBucketIntelligentTieringConfiguration": ("GET", "/b", "intelligent-tiering&id=t1", {}),
    "ListBucketIntelligentTieringConfigurations": ("GET", "/b", "intelligent-tiering", {}),
    "PutBucketIntelligentTieringConfiguration": ("PUT", "/b", "intelligent-tiering&id=t1", {}),
    "DeleteBucketIntelligentTieringConfiguration": ("DELETE", "/b", "intelligent-tiering&id=t1", {}),
    "PutObject": ("PUT", "/b/k", "", {}),
    "CopyObject": ("PUT", "/b/k", "", COPY),
    "GetObject": ("GET", "/b/k", "versionId=null&partNumber=1&response-content-type=a/b", {}),
    "HeadObject": ("HEAD", "/b/k", "versionId=null", {}),
    "DeleteObject": ("DELETE", "/b/k", "versionId=null", {}),
    "GetObjectAcl": ("GET", "/b/k", "acl&versionId=null", {}),
    "PutObjectAcl": ("PUT", "/b/k", "acl", {"x-amz-acl": "private"}),
    "GetObjectTagging": ("GET", "/b/k", "tagging&versionId=null", {}),
    "PutObjectTagging": ("PUT", "/b/k", "tagging", {}),
    "DeleteObjectTagging": ("DELETE", "/b/k", "tagging", {}),
    "GetObjectRetention": ("GET", "/b/k", "retention", {}),
    "PutObjectRetention": ("PUT", "/b/k", "retention", {}),
    "GetObjectLegalHold": ("GET", "/b/k", "legal-hold", {}),
    "PutObjectLegalHold": ("PUT", "/b/k", "legal-hold", {}),
    "GetObjectAttributes": ("GET", "/b/k", "attributes", {"x-amz-object-attributes": "ETag"}),
    "GetObjectTorrent": ("GET", "/b/k", "torrent", {}),
    "RestoreObject": ("POST", "/b/k", "restore", {}),
    "SelectObjectContent": ("POST", "/b/k", "select&select-type=2", {}),
    "CreateMultipartUpload": ("POST", "/b/k", "uploads", {}),
    "UploadPart": ("PUT", "/b/k", "partNumber=2&uploadId=u", {}),
    "UploadPartCopy": ("PUT", "/b/k", "partNumber=2&uploadId=u", COPY),
    "CompleteMultipartUpload": ("POST", "/b/k", "uploadId=u", {}),
    "AbortMultipartUpload": ("DELETE", "/b/k", "uploadId=u", {}),
    "ListParts": ("GET", "/b/k", "uploadId=u&max-parts=10", {}),
}


def query_of(qs: str) -> dict[str, str]:
    """As proxy.s3.app parses it: first value of each parameter, no value → ""."""
    query: dict[str, str] = {}
    for name, value in parse_qsl(qs, keep_blank_values=True):
        query.setdefault(name, value)
    return query


def split(path: str) -> tuple[str | None, str | None]:
    bucket, _, key = path[1:].partition("/")
    return bucket or None, key or None


def resolve_sample(method: str, path: str, qs: str = "", headers: dict[str, str] | None = None) -> str:
    bucket, key = split(path)
    return resolve(method, bucket, key, query_of(qs), headers or {}).name


def test_every_operation_has_a_sample_and_the_sample_resolves_to_it():
    assert set(SAMPLES) == set(BY_NAME)
    for name, (method, path, qs, headers) in SAMPLES.items():
        assert resolve_sample(method, path, qs, headers) == name, (method, path, qs)


def test_every_operation_has_iam_actions():
    for op in OPERATIONS:
        assert op.actions, op.name
        for action in op.actions:
            assert action.name.startswith("s3:") and action.name[3:4].isupper(), (op.name, action.name)


def test_actions_aws_documents():
    def names(op: str) -> list[tuple[str, Target]]:
        return [(a.name, a.target) for a in BY_NAME[op].actions]

    assert names("HeadObject") == [("s3:GetObject", Target.OBJECT)]
    assert names("HeadBucket") == [("s3:ListBucket", Target.BUCKET)]
    assert names("ListObjectVersions") == [("s3:ListBucketVersions", Target.BUCKET)]
    assert names("ListParts") == [("s3:ListMultipartUploadParts", Target.OBJECT)]
    assert names("ListMultipartUploads") == [("s3:ListBucketMultipartUploads", Target.BUCKET)]
    assert names("DeleteObjects") == [("s3:DeleteObject", Target.EACH_KEY)]
    for op in ("CopyObject", "UploadPartCopy"):
        assert sorted(names(op), key=str) == [("s3:GetObject", Target.COPY_SOURCE), ("s3:PutObject", Target.OBJECT)]
    assert names("ListBuckets") == [("s3:ListAllMyBuckets", Target.ACCOUNT)]
    assert names("GetBucketAcl") == [("s3:GetBucketAcl", Target.BUCKET)]
    assert names("AbortMultipartUpload") == [("s3:AbortMultipartUpload", Target.OBJECT)]
    assert names("SelectObjectContent") == [("s3:GetObject", Target.OBJECT)]
    assert names("DeleteBucketLifecycle") == [("s3:PutLifecycleConfiguration", Target.BUCKET)]
    # a request naming a version needs the version's action
    get = BY_NAME["GetObject"].actions[0]
    assert get.name_for({"versionId": "v1"}) == "s3:GetObjectVersion" and get.name_for({}) == "s3:GetObject"
    assert BY_NAME["DeleteObject"].actions[0].name_for({"versionId": "v1"}) == "s3:DeleteObjectVersion"


@pytest.mark.parametrize("method,path,qs,headers,name", [
    # POST on a bucket: ?delete is DeleteObjects, else a form upload; ?uploads POST is an object's
    ("POST", "/b", "delete", {}, "DeleteObjects"),
    ("POST", "/b/k", "uploads", {}, "CreateMultipartUpload"),
    # versionId is an argument: GET of the object (or of its ACL), never a listing of versions
    ("GET", "/b/k", "versionId=3", {}, "GetObject"),
    ("GET", "/b/k", "acl&versionId=3", {}, "GetObjectAcl"),
    ("GET", "/b", "versions&versionId=3", {}, "ListObjectVersions"),
    ("GET", "/b", "acl", {}, "GetBucketAcl"),
    ("GET", "/b", "", {}, "ListObjects"),
    ("GET", "/b", "list-type=1", {}, "ListObjects"),
    # the copy header decides between part upload and part copy, object put and object copy
    ("PUT", "/b/k", "uploadId=u&partNumber=1", COPY, "UploadPartCopy"),
    ("PUT", "/b/k", "uploadId=u&partNumber=1", {"x-amz-copy-source": ""}, "UploadPart"),
    ("PUT", "/b/k", "partNumber=1", {}, "PutObject"),
    ("PUT", "/b/k", "", {"x-amz-copy-source": ""}, "PutObject"),
    # a sub-resource wins over the upload it might name; HEAD reads a sub-resource like GET
    ("PUT", "/b/k", "tagging&uploadId=u", {}, "PutObjectTagging"),
    ("HEAD", "/b", "versioning", {}, "GetBucketVersioning"),
    ("HEAD", "/b", "list-type=2", {}, "HeadBucket"),
    ("HEAD", "/", "", {}, "ListBuckets"),
])
def test_precedence(method, path, qs, headers, name):
    assert resolve_sample(method, path, qs, headers) == name


@pytest.mark.parametrize("method,path,qs,resource_type", [
    ("POST", "/", "", "SERVICE"),
    ("DELETE", "/", "", "SERVICE"),
    ("PATCH", "/b", "", "BUCKET"),
    ("OPTIONS", "/b/k", "", "OBJECT"),
    ("POST", "/b/k", "", "OBJECT"),
    ("HEAD", "/b/k", "uploadId=u", "UPLOAD"),
    # a sub-resource without that method never falls through to the plain resource's operation
    ("DELETE", "/b", "versioning", "BUCKET"),
    ("DELETE", "/b", "object-lock", "BUCKET"),
    ("DELETE", "/b", "delete", "BUCKET"),
    ("PUT", "/b/k", "uploads", "OBJECT"),
    ("POST", "/b", "acl", "BUCKET"),
])
def test_no_operation_is_method_not_allowed(method, path, qs, resource_type):
    with pytest.raises(S3Error) as err:
        resolve_sample(method, path, qs)
    assert (err.value.code, err.value.status) == ("MethodNotAllowed", 405)
    assert err.value.extra == {"Method": method, "ResourceType": resource_type}


class FixedContainers:
    """Container info of every bucket: exists, with these ACLs (what proxy.swift.infocache answers)."""

    def __init__(self, read_acl: str = "", write_acl: str = ""):
        self.read_acl, self.write_acl = read_acl, write_acl

    async def container_info(self, account: str, container: str) -> dict[str, Any]:
        return {"status": 200, "read_acl": self.read_acl, "write_acl": self.write_acl}

    async def account_info(self, account: str) -> dict[str, Any]:
        """The account exists without an account ACL (X-Account-Access-Control grants nothing)."""
        return {"status": 200, "meta": {}, "sysmeta": {}}

    def invalidate(self, account: str, container: str | None = None) -> None:
        """Nothing cached to drop (the bucket registry re-reads an entry it finds without an owner)."""


class NoObjects:
    """A storage client without objects (what an object ACL lookup finds: nothing, so no grant)."""

    async def head_object(self, account: str, container: str, obj: str,
                          headers: dict[str, str] | None = None) -> BackendResponse:
        return BackendResponse.simple(404)


def s3_request(name: str, identity: Identity, containers: FixedContainers) -> S3Request:
    method, path, qs, headers = SAMPLES[name]
    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": qs.encode(),
             "headers": [(k.encode(), v.encode()) for k, v in headers.items()]}
    state = ProxyState(conf={}, client=NoObjects(), extras={"info_cache": containers})  # type: ignore[arg-type]
    bucket, key = split(path)
    req = S3Request(Request(scope), state, "tx-test", bucket, key, query_of(qs), path, qs)
    req.auth = AuthInfo(Credential("AK", "secret", identity), 4)
    return req


def refused(name: str, identity: Identity, containers: FixedContainers) -> bool:
    req = s3_request(name, identity, containers)
    try:
        asyncio.run(access.authorize(req, BY_NAME[name]))
    except S3Error as err:
        assert err.code == "AccessDenied"
        return True
    return False


def writes(name: str) -> bool:
    return any(action.writes for action in BY_NAME[name].actions)


def test_reader_role_is_refused_exactly_the_writes():
    reader = Identity(user="demo:reader", account="AUTH_demo", is_reader=True)
    denied = {name for name in SAMPLES if refused(name, reader, FixedContainers())}
    assert denied == {name for name in SAMPLES if writes(name)}
    assert {"PutObject", "DeleteObjects", "CopyObject", "UploadPartCopy", "AbortMultipartUpload",
            "CreateBucket", "PutBucketAcl", "DeleteBucketPolicy"} <= denied
    assert not {"GetObject", "HeadObject", "ListParts", "SelectObjectContent", "ListBuckets"} & denied


def reads_bucket_configuration(name: str) -> bool:
    """A read of the bucket itself that is not a listing (its ACL, policy, CORS, lifecycle, location...)."""
    return any(not action.writes and action.target is Target.BUCKET and
               action.name_for({}) not in access.LISTING_ACTIONS for action in BY_NAME[name].actions)


def test_read_acl_without_write_acl_is_refused_exactly_the_writes():
    """A user the bucket's read ACL names (no write ACL, no role) lists the bucket and reads its objects
    (AWS's bucket READ), writes nothing; the bucket's configuration and the account (ListBuckets) stay
    its owner's."""
    plain = group_identity("demo:guest", [])
    containers = FixedContainers(read_acl="demo:guest")
    denied = {name for name in SAMPLES if refused(name, plain, containers)}
    assert denied == {name for name in SAMPLES if writes(name) or reads_bucket_configuration(name)} | {"ListBuckets"}
    assert {"ListObjects", "ListObjectsV2", "HeadBucket", "GetObject"}.isdisjoint(denied)
    assert {"GetBucketPolicy", "GetBucketAcl", "GetBucketLifecycleConfiguration"} <= denied


def test_write_acl_grants_object_writes_not_bucket_writes():
    plain = group_identity("demo:guest", [])
    containers = FixedContainers(read_acl="demo:guest", write_acl="demo:guest")
    denied = {name for name in SAMPLES if refused(name, plain, containers)}
    assert {"PutObject", "DeleteObject", "DeleteObjects", "CopyObject", "UploadPart", "UploadPartCopy",
            "CompleteMultipartUpload", "PutObjectTagging"}.isdisjoint(denied)
    assert {"CreateBucket", "DeleteBucket", "PutBucketAcl", "PutBucketVersioning", "ListBuckets"} <= denied


def test_owner_is_refused_nothing():
    owner = group_identity("demo:owner", [".admin"])
    assert not [name for name in SAMPLES if refused(name, owner, FixedContainers())]


def test_dispatch_records_the_operation_before_authorizing():
    reader = Identity(user="demo:reader", account="AUTH_demo", is_reader=True)
    req = s3_request("PutBucketNotificationConfiguration", reader, FixedContainers())  # unimplemented
    with pytest.raises(S3Error) as err:
        asyncio.run(router.dispatch(req))
    assert err.value.code == "AccessDenied"
    op = operation_of(req)
    assert op is not None and op.name == "PutBucketNotificationConfiguration" and not op.implemented


# --- against the running cloud -------------------------------------------------------------------------

def signed(s3, method: str, path_and_query: str) -> httpx.Response:
    """``method`` on ``path_and_query`` signed with SigV4 as test:tester (any method, any sub-resource)."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    req = AWSRequest(method=method, url=f"{s3.url}{path_and_query}",
                     headers={"x-amz-content-sha256": hashlib.sha256(b"").hexdigest()})
    S3SigV4Auth(Credentials("test:tester", "testing"), "s3", "us-east-1").add_auth(req)
    return httpx.request(method, req.url, headers=dict(req.headers.items()))


def test_not_implemented_is_answered_from_the_table(s3, bucket):
    c = make_client(s3.url)
    with pytest.raises(ClientError) as err:
        # an operation without a handler (logging and versioning have theirs)
        c.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})
    assert err.value.response["Error"]["Code"] == "NotImplemented"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    r = signed(s3, "DELETE", f"/{bucket}?analytics&id=a1")
    assert r.status_code == 501 and r.headers["content-type"].startswith("application/xml")
    assert b"<Code>NotImplemented</Code>" in r.content and b"<RequestId>" in r.content
    # a bucket that does not exist is NoSuchBucket first
    r = signed(s3, "PUT", f"/{bucket}-missing?notification")
    assert r.status_code == 404 and b"<Code>NoSuchBucket</Code>" in r.content


def test_no_operation_is_method_not_allowed_and_changes_nothing(s3, bucket):
    c = make_client(s3.url)
    c.put_object(Bucket=bucket, Key="k", Body=b"kept")
    for method, target in (("DELETE", f"/{bucket}?versioning"), ("POST", f"/{bucket}/k"),
                           ("PUT", f"/{bucket}/k?uploads"), ("POST", "/")):
        r = signed(s3, method, target)
        assert r.status_code == 405 and b"<Code>MethodNotAllowed</Code>" in r.content, (method, target, r.text)
    assert c.get_object(Bucket=bucket, Key="k")["Body"].read() == b"kept"
    assert signed(s3, "HEAD", f"/{bucket}?location").status_code == 200
