"""S3 access control between three parties: the owner account ``test`` (test:tester), another account
``test2`` (test2:tester2) and anonymous callers (boto3 ``UNSIGNED`` and raw ``httpx``): one bucket namespace,
canonical ids, canned ACLs, every grant type, public access block, ownership controls."""

from __future__ import annotations

import os
import uuid

import httpx
import pytest
from botocore import UNSIGNED
from botocore.config import Config

from proxy.s3.owners import canonical_id
from tests.s3.conftest import cleanup, error_code, make_client

OWNER_ID, OTHER_ID = canonical_id("AUTH_test"), canonical_id("AUTH_test2")
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTH_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"


@pytest.fixture(scope="module")
def owner(s3):
    return make_client(s3.url)


@pytest.fixture(scope="module")
def other(s3):
    return make_client(s3.url, key="test2:tester2", secret="testing2")


@pytest.fixture(scope="module")
def anon(s3):
    import boto3

    return boto3.client("s3", endpoint_url=s3.url, region_name="us-east-1",
                        config=Config(signature_version=UNSIGNED, s3={"addressing_style": "path"},
                                      retries={"max_attempts": 1}))


@pytest.fixture
def bkt(owner, request):
    name = f"acl-{uuid.uuid4().hex[:10]}"
    owner.create_bucket(Bucket=name)
    owner.put_object(Bucket=name, Key="obj", Body=b"data")
    yield name
    cleanup(owner, name)


def grants_of(doc: dict) -> set[tuple[str, str]]:
    out = set()
    for g in doc["Grants"]:
        who = g["Grantee"].get("ID") or g["Grantee"].get("URI")
        out.add((who, g["Permission"]))
    return out


# -- one namespace ---------------------------------------------------------------------------------------
def test_bucket_names_are_one_namespace(s3, owner, other, bkt):
    assert error_code(other.create_bucket, Bucket=bkt) == "BucketAlreadyExists"
    # the owner again: 200 in us-east-1
    assert owner.create_bucket(Bucket=bkt)["ResponseMetadata"]["HTTPStatusCode"] == 200
    # another account's bucket is AccessDenied, never NoSuchBucket
    assert error_code(other.list_objects_v2, Bucket=bkt) == "AccessDenied"
    assert error_code(other.get_object, Bucket=bkt, Key="obj") == "AccessDenied"
    assert error_code(other.head_bucket, Bucket=bkt) == "403"
    assert error_code(other.delete_bucket, Bucket=bkt) == "AccessDenied"
    assert bkt not in [b["Name"] for b in other.list_buckets()["Buckets"]]
    # Owner in listings is the canonical id of the owning account
    listed = owner.list_buckets()
    assert listed["Owner"] == {"ID": OWNER_ID, "DisplayName": "test"}
    assert other.list_buckets()["Owner"]["ID"] == OTHER_ID
    contents = owner.list_objects(Bucket=bkt)["Contents"]
    assert contents[0]["Owner"]["ID"] == OWNER_ID


def test_deleted_bucket_name_is_free_again(owner, other):
    name = f"free-{uuid.uuid4().hex[:10]}"
    owner.create_bucket(Bucket=name)
    owner.delete_bucket(Bucket=name)
    other.create_bucket(Bucket=name)
    try:
        assert error_code(owner.create_bucket, Bucket=name) == "BucketAlreadyExists"
        other.put_object(Bucket=name, Key="k", Body=b"v")
        assert error_code(owner.get_object, Bucket=name, Key="k") == "AccessDenied"
    finally:
        cleanup(other, name)


def test_swift_container_named_like_another_accounts_bucket(s3, owner, other):
    """The Swift container stays test2's; S3 addressing of the name reaches the registered bucket."""
    name = f"both-{uuid.uuid4().hex[:10]}"
    owner.create_bucket(Bucket=name)
    try:
        url, token = s3.cluster.auth("test2:tester2", "testing2")
        assert httpx.put(f"{url}/{name}", headers={"X-Auth-Token": token}).status_code in (201, 202)
        assert httpx.put(f"{url}/{name}/swift-only", headers={"X-Auth-Token": token}, content=b"s").status_code == 201
        owner.put_object(Bucket=name, Key="s3-obj", Body=b"x")
        assert [o["Key"] for o in owner.list_objects_v2(Bucket=name)["Contents"]] == ["s3-obj"]
        assert error_code(other.list_objects_v2, Bucket=name) == "AccessDenied"
        assert name not in [b["Name"] for b in other.list_buckets()["Buckets"]]
        httpx.delete(f"{url}/{name}/swift-only", headers={"X-Auth-Token": token})
        httpx.delete(f"{url}/{name}", headers={"X-Auth-Token": token})
    finally:
        cleanup(owner, name)


def test_swift_container_is_adopted_by_its_owner_over_s3(s3, owner, other):
    """A container made over Swift becomes its account's registered bucket once addressed over S3."""
    name = f"adopt-{uuid.uuid4().hex[:10]}"
    url, token = s3.cluster.auth("test:tester", "testing")
    assert httpx.put(f"{url}/{name}", headers={"X-Auth-Token": token}).status_code == 201
    try:
        assert owner.list_objects_v2(Bucket=name)["KeyCount"] == 0
        assert error_code(other.create_bucket, Bucket=name) == "BucketAlreadyExists"
    finally:
        cleanup(owner, name)


def test_invalid_bucket_names(owner):
    for bad in ("ab", "Upper", "a_b", "-ab", "a..b", "192.168.1.1", "x" * 64):
        assert error_code(owner.create_bucket, Bucket=bad) == "InvalidBucketName", bad


# -- canned ACLs ---------------------------------------------------------------------------------------
def test_default_acl_is_owner_full_control(owner, bkt):
    acl = owner.get_bucket_acl(Bucket=bkt)
    assert acl["Owner"] == {"ID": OWNER_ID, "DisplayName": "test"}
    assert grants_of(acl) == {(OWNER_ID, "FULL_CONTROL")}
    assert grants_of(owner.get_object_acl(Bucket=bkt, Key="obj")) == {(OWNER_ID, "FULL_CONTROL")}


def test_public_read_bucket(s3, owner, other, anon, bkt):
    owner.put_bucket_acl(Bucket=bkt, ACL="public-read")
    assert grants_of(owner.get_bucket_acl(Bucket=bkt)) == {(OWNER_ID, "FULL_CONTROL"), (ALL_USERS, "READ")}
    assert [o["Key"] for o in anon.list_objects_v2(Bucket=bkt)["Contents"]] == ["obj"]
    assert [o["Key"] for o in other.list_objects_v2(Bucket=bkt)["Contents"]] == ["obj"]
    r = httpx.get(f"{s3.url}/{bkt}?list-type=2")
    assert r.status_code == 200 and b"<Key>obj</Key>" in r.content
    # listing is not reading: the object itself is private
    assert error_code(anon.get_object, Bucket=bkt, Key="obj") == "AccessDenied"
    assert httpx.get(f"{s3.url}/{bkt}/obj").status_code == 403
    # a missing key is NoSuchKey to whoever may list
    assert error_code(anon.get_object, Bucket=bkt, Key="missing") == "NoSuchKey"
    assert error_code(anon.put_object, Bucket=bkt, Key="x", Body=b"x") == "AccessDenied"
    assert error_code(other.put_object, Bucket=bkt, Key="x", Body=b"x") == "AccessDenied"
    assert error_code(anon.get_bucket_acl, Bucket=bkt) == "AccessDenied"


def test_public_read_object(s3, owner, anon, bkt):
    owner.put_object(Bucket=bkt, Key="pub", Body=b"hello", ACL="public-read")
    assert anon.get_object(Bucket=bkt, Key="pub")["Body"].read() == b"hello"
    r = httpx.get(f"{s3.url}/{bkt}/pub")
    assert r.status_code == 200 and r.content == b"hello"
    assert error_code(anon.list_objects_v2, Bucket=bkt) == "AccessDenied"
    assert error_code(anon.get_object, Bucket=bkt, Key="obj") == "AccessDenied"
    owner.put_object_acl(Bucket=bkt, Key="pub", ACL="private")
    assert httpx.get(f"{s3.url}/{bkt}/pub").status_code == 403


def test_public_read_write_bucket(owner, other, anon, bkt):
    owner.put_bucket_acl(Bucket=bkt, ACL="public-read-write")
    anon.put_object(Bucket=bkt, Key="from-anon", Body=b"a")
    other.put_object(Bucket=bkt, Key="from-other", Body=b"o")
    keys = [o["Key"] for o in owner.list_objects_v2(Bucket=bkt)["Contents"]]
    assert keys == ["from-anon", "from-other", "obj"]
    # the writer owns what it wrote (ObjectWriter): test2 reads its object, the bucket owner too
    assert other.get_object(Bucket=bkt, Key="from-other")["Body"].read() == b"o"
    assert grants_of(other.get_object_acl(Bucket=bkt, Key="from-other")) == {(OTHER_ID, "FULL_CONTROL")}
    assert owner.get_object(Bucket=bkt, Key="from-other")["Body"].read() == b"o"
    other.delete_object(Bucket=bkt, Key="from-anon")
    # bucket-level writes stay the owner's
    assert error_code(other.put_bucket_acl, Bucket=bkt, ACL="private") == "AccessDenied"
    assert error_code(anon.delete_bucket, Bucket=bkt) == "AccessDenied"


def test_canned_acls_list_group_grants_before_the_owner(owner, bkt):
    """A canned ACL's group grants come first, the owner's FULL_CONTROL last, as S3 servers list them
    (clients that read ``Grants[n]`` by position rely on it)."""
    owner.put_bucket_acl(Bucket=bkt, ACL="public-read-write")
    grants = owner.get_bucket_acl(Bucket=bkt)["Grants"]
    assert [(g["Grantee"].get("URI") or g["Grantee"]["ID"], g["Permission"]) for g in grants] == [
        (ALL_USERS, "READ"), (ALL_USERS, "WRITE"), (OWNER_ID, "FULL_CONTROL")]


def test_authenticated_read(owner, other, anon, bkt):
    owner.put_bucket_acl(Bucket=bkt, ACL="authenticated-read")
    assert grants_of(owner.get_bucket_acl(Bucket=bkt)) == {(OWNER_ID, "FULL_CONTROL"), (AUTH_USERS, "READ")}
    assert [o["Key"] for o in other.list_objects_v2(Bucket=bkt)["Contents"]] == ["obj"]
    assert error_code(anon.list_objects_v2, Bucket=bkt) == "AccessDenied"


def test_bucket_owner_canned_acls(owner, other, bkt):
    owner.put_bucket_acl(Bucket=bkt, ACL="public-read-write")
    other.put_object(Bucket=bkt, Key="read", Body=b"r", ACL="bucket-owner-read")
    other.put_object(Bucket=bkt, Key="full", Body=b"f", ACL="bucket-owner-full-control")
    assert grants_of(other.get_object_acl(Bucket=bkt, Key="read")) == {(OTHER_ID, "FULL_CONTROL"), (OWNER_ID, "READ")}
    assert grants_of(other.get_object_acl(Bucket=bkt, Key="full")) == {
        (OTHER_ID, "FULL_CONTROL"), (OWNER_ID, "FULL_CONTROL")}


def test_canned_acl_on_create_bucket_and_multipart(owner, anon):
    name = f"canned-{uuid.uuid4().hex[:10]}"
    owner.create_bucket(Bucket=name, ACL="public-read")
    try:
        assert (ALL_USERS, "READ") in grants_of(owner.get_bucket_acl(Bucket=name))
        up = owner.create_multipart_upload(Bucket=name, Key="mp", ACL="public-read")["UploadId"]
        etag = owner.upload_part(Bucket=name, Key="mp", UploadId=up, PartNumber=1, Body=b"z" * 100)["ETag"]
        owner.complete_multipart_upload(Bucket=name, Key="mp", UploadId=up,
                                        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
        assert anon.get_object(Bucket=name, Key="mp")["Body"].read() == b"z" * 100
        owner.copy_object(Bucket=name, Key="copy", CopySource={"Bucket": name, "Key": "mp"}, ACL="public-read")
        assert anon.get_object(Bucket=name, Key="copy")["Body"].read() == b"z" * 100
        owner.copy_object(Bucket=name, Key="copy2", CopySource={"Bucket": name, "Key": "mp"})
        assert error_code(anon.get_object, Bucket=name, Key="copy2") == "AccessDenied"
    finally:
        cleanup(owner, name)


def test_bad_canned_acl(owner, bkt):
    assert error_code(owner.put_bucket_acl, Bucket=bkt, ACL="bucket-owner-read") == "InvalidArgument"
    assert error_code(owner.put_object, Bucket=bkt, Key="k", Body=b"", ACL="log-delivery-write") == "InvalidArgument"


# -- grants --------------------------------------------------------------------------------------------
def test_grant_headers_by_id(owner, other, bkt):
    owner.put_bucket_acl(Bucket=bkt, GrantRead=f'id="{OTHER_ID}"', GrantFullControl=f"id={OWNER_ID}")
    assert grants_of(owner.get_bucket_acl(Bucket=bkt)) == {(OWNER_ID, "FULL_CONTROL"), (OTHER_ID, "READ")}
    assert [o["Key"] for o in other.list_objects_v2(Bucket=bkt)["Contents"]] == ["obj"]
    assert error_code(other.get_object, Bucket=bkt, Key="obj") == "AccessDenied"  # the object stays private
    assert error_code(other.get_bucket_acl, Bucket=bkt) == "AccessDenied"
    assert error_code(other.put_object, Bucket=bkt, Key="x", Body=b"x") == "AccessDenied"


def test_each_bucket_permission(owner, other, bkt):
    owner.put_bucket_acl(Bucket=bkt, GrantReadACP=f'id="{OTHER_ID}"')
    assert other.get_bucket_acl(Bucket=bkt)["Owner"]["ID"] == OWNER_ID
    assert error_code(other.list_objects_v2, Bucket=bkt) == "AccessDenied"
    owner.put_bucket_acl(Bucket=bkt, GrantWrite=f'id="{OTHER_ID}"')
    other.put_object(Bucket=bkt, Key="w", Body=b"w")
    assert error_code(other.get_bucket_acl, Bucket=bkt) == "AccessDenied"
    owner.put_bucket_acl(Bucket=bkt, GrantWriteACP=f'id="{OTHER_ID}"')
    other.put_bucket_acl(Bucket=bkt, GrantFullControl=f'id="{OTHER_ID}"', GrantRead=f'id="{OWNER_ID}"')
    assert other.get_bucket_acl(Bucket=bkt)["Owner"]["ID"] == OWNER_ID  # the owner never changes
    assert [o["Key"] for o in other.list_objects_v2(Bucket=bkt)["Contents"]] == ["obj", "w"]


def test_object_grants(owner, other, bkt):
    owner.put_object_acl(Bucket=bkt, Key="obj", GrantRead=f'id="{OTHER_ID}"')
    assert other.get_object(Bucket=bkt, Key="obj")["Body"].read() == b"data"
    assert error_code(other.get_object_acl, Bucket=bkt, Key="obj") == "AccessDenied"
    owner.put_object_acl(Bucket=bkt, Key="obj", GrantReadACP=f'id="{OTHER_ID}"', GrantWriteACP=f'id="{OTHER_ID}"')
    assert error_code(other.get_object, Bucket=bkt, Key="obj") == "AccessDenied"
    doc = other.get_object_acl(Bucket=bkt, Key="obj")
    assert grants_of(doc) == {(OTHER_ID, "READ_ACP"), (OTHER_ID, "WRITE_ACP")}
    other.put_object_acl(Bucket=bkt, Key="obj", ACL="public-read")
    assert other.get_object(Bucket=bkt, Key="obj")["Body"].read() == b"data"


def test_grant_to_group_uri(owner, anon, bkt):
    owner.put_object_acl(Bucket=bkt, Key="obj", GrantRead=f'uri="{ALL_USERS}"')
    assert anon.get_object(Bucket=bkt, Key="obj")["Body"].read() == b"data"


def test_access_control_policy_document(owner, other, bkt):
    policy = {"Owner": {"ID": OWNER_ID},
              "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": OWNER_ID}, "Permission": "FULL_CONTROL"},
                         {"Grantee": {"Type": "CanonicalUser", "ID": OTHER_ID}, "Permission": "WRITE"},
                         {"Grantee": {"Type": "Group", "URI": AUTH_USERS}, "Permission": "READ"}]}
    owner.put_bucket_acl(Bucket=bkt, AccessControlPolicy=policy)
    acl = owner.get_bucket_acl(Bucket=bkt)
    assert grants_of(acl) == {(OWNER_ID, "FULL_CONTROL"), (OTHER_ID, "WRITE"), (AUTH_USERS, "READ")}
    assert {g["Grantee"]["DisplayName"] for g in acl["Grants"] if "ID" in g["Grantee"]} == {"test", "test2"}
    other.put_object(Bucket=bkt, Key="by-other", Body=b"b")
    # clearing every grant: the owner keeps its rights
    owner.put_bucket_acl(Bucket=bkt, AccessControlPolicy={"Owner": {"ID": OWNER_ID}, "Grants": []})
    assert owner.get_bucket_acl(Bucket=bkt)["Grants"] == []
    assert error_code(other.put_object, Bucket=bkt, Key="again", Body=b"b") == "AccessDenied"


def test_grant_errors(owner, bkt):
    unknown = "0" * 64
    assert error_code(owner.put_bucket_acl, Bucket=bkt, GrantRead=f'id="{unknown}"') == "InvalidArgument"
    assert error_code(owner.put_bucket_acl, Bucket=bkt, GrantRead='id="_foo"') == "InvalidArgument"
    assert error_code(owner.put_bucket_acl, Bucket=bkt,
                      GrantRead='emailAddress="nobody@example.invalid"') == "UnresolvableGrantByEmailAddress"
    assert error_code(owner.put_bucket_acl, Bucket=bkt, GrantRead='uri="http://example.com/group"') == \
        "InvalidArgument"
    policy = {"Owner": {"ID": OWNER_ID},
              "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": unknown}, "Permission": "READ"}]}
    assert error_code(owner.put_bucket_acl, Bucket=bkt, AccessControlPolicy=policy) == "InvalidArgument"


def test_malformed_acl_documents(s3, owner, bkt):
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials

    def put_acl(body: bytes, headers: dict | None = None) -> httpx.Response:
        url = f"{s3.url}/{bkt}?acl"
        request = botocore.awsrequest.AWSRequest("PUT", url, data=body, headers=headers or {})
        botocore.auth.S3SigV4Auth(botocore.credentials.Credentials("test:tester", "testing"), "s3",
                                  "us-east-1").add_auth(request)
        return httpx.put(url, content=body, headers=dict(request.headers.items()))

    bad_permission = (f'<AccessControlPolicy><Owner><ID>{OWNER_ID}</ID></Owner><AccessControlList><Grant>'
                      f'<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">'
                      f'<ID>{OWNER_ID}</ID></Grantee><Permission>EVERYTHING</Permission></Grant>'
                      f'</AccessControlList></AccessControlPolicy>').encode()
    r = put_acl(bad_permission)
    assert r.status_code == 400 and b"<Code>MalformedACLError</Code>" in r.content
    r = put_acl(b"<AccessControlPolicy><AccessControlList/></AccessControlPolicy>")
    assert r.status_code == 400 and b"<Code>MalformedACLError</Code>" in r.content
    r = put_acl(b"", {"x-amz-acl": "private", "x-amz-grant-read": f'id="{OTHER_ID}"'})
    assert r.status_code == 400 and b"<Code>InvalidRequest</Code>" in r.content


def test_email_grant_to_a_keystone_user(s3, owner, bkt):
    """A Keystone user with an e-mail address: granted by e-mail once its credential signed a request."""
    from tests.identity.helpers import admin_token, make_project, make_user
    from tests.identity.server import get_token

    identity = f"http://127.0.0.1:{s3.cluster.conf['identity']['port']}"
    admin = admin_token(s3.cluster, identity)
    project_name = f"acl-{uuid.uuid4().hex[:8]}"
    project = make_project(identity, admin, project_name)
    name, password = f"acl-{uuid.uuid4().hex[:6]}", "pw-" + os.urandom(4).hex()
    email = f"{uuid.uuid4().hex}@example.com"
    uid = make_user(identity, admin, name, password, project, "member")
    assert httpx.patch(f"{identity}/v3/users/{uid}", headers={"X-Auth-Token": admin},
                       json={"user": {"email": email}}).status_code == 200
    token, _ = get_token(identity, name, password, project_name)
    cred = httpx.post(f"{identity}/v3/users/{uid}/credentials/OS-EC2", headers={"X-Auth-Token": token},
                      json={"tenant_id": project})
    assert cred.status_code == 201, cred.text
    keystone = make_client(s3.url, key=cred.json()["credential"]["access"],
                           secret=cred.json()["credential"]["secret"])
    theirs = keystone.list_buckets()["Owner"]
    assert theirs["ID"] == canonical_id(f"AUTH_{project}")
    owner.put_object_acl(Bucket=bkt, Key="obj", GrantRead=f'emailAddress="{email.upper()}"')
    acl = owner.get_object_acl(Bucket=bkt, Key="obj")
    assert grants_of(acl) == {(theirs["ID"], "READ")}
    assert keystone.get_object(Bucket=bkt, Key="obj")["Body"].read() == b"data"


# -- public access block -------------------------------------------------------------------------------
def test_public_access_block(owner, anon, bkt):
    assert error_code(owner.get_public_access_block, Bucket=bkt) == "NoSuchPublicAccessBlockConfiguration"
    owner.put_object(Bucket=bkt, Key="pub", Body=b"p", ACL="public-read")
    owner.put_public_access_block(Bucket=bkt, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": True,
        "RestrictPublicBuckets": False})
    conf = owner.get_public_access_block(Bucket=bkt)["PublicAccessBlockConfiguration"]
    assert conf == {"BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": False}
    assert error_code(owner.put_bucket_acl, Bucket=bkt, ACL="public-read") == "AccessDenied"
    assert error_code(owner.put_object, Bucket=bkt, Key="p2", Body=b"", ACL="public-read") == "AccessDenied"
    assert error_code(owner.put_object_acl, Bucket=bkt, Key="obj", GrantRead=f'uri="{ALL_USERS}"') == \
        "AccessDenied"
    owner.put_object(Bucket=bkt, Key="p3", Body=b"", ACL="private")
    assert anon.get_object(Bucket=bkt, Key="pub")["Body"].read() == b"p"  # existing grants still count
    owner.put_public_access_block(Bucket=bkt, PublicAccessBlockConfiguration={"IgnorePublicAcls": True})
    assert error_code(anon.get_object, Bucket=bkt, Key="pub") == "AccessDenied"
    owner.put_bucket_acl(Bucket=bkt, ACL="public-read")  # allowed again, and ignored
    assert error_code(anon.list_objects_v2, Bucket=bkt) == "AccessDenied"
    owner.delete_public_access_block(Bucket=bkt)
    assert error_code(owner.get_public_access_block, Bucket=bkt) == "NoSuchPublicAccessBlockConfiguration"
    assert anon.get_object(Bucket=bkt, Key="pub")["Body"].read() == b"p"


def test_public_access_block_is_the_owners(other, anon, owner, bkt):
    owner.put_bucket_acl(Bucket=bkt, ACL="public-read-write")
    assert error_code(other.put_public_access_block, Bucket=bkt,
                      PublicAccessBlockConfiguration={"BlockPublicAcls": True}) == "AccessDenied"
    assert error_code(anon.get_public_access_block, Bucket=bkt) == "AccessDenied"


# -- ownership controls ---------------------------------------------------------------------------------
def _ownership(rule: str) -> dict:
    return {"Rules": [{"ObjectOwnership": rule}]}


def test_bucket_owner_enforced(owner, other, bkt):
    assert error_code(owner.get_bucket_ownership_controls, Bucket=bkt) == "OwnershipControlsNotFoundError"
    owner.put_bucket_acl(Bucket=bkt, ACL="public-read")
    assert error_code(owner.put_bucket_ownership_controls, Bucket=bkt,
                      OwnershipControls=_ownership("BucketOwnerEnforced")) == "InvalidBucketAclWithObjectOwnership"
    owner.put_bucket_acl(Bucket=bkt, GrantWrite=f'id="{OTHER_ID}"', GrantFullControl=f'id="{OWNER_ID}"')
    other.put_object(Bucket=bkt, Key="before", Body=b"b")
    owner.put_bucket_acl(Bucket=bkt, ACL="private")
    owner.put_bucket_ownership_controls(Bucket=bkt, OwnershipControls=_ownership("BucketOwnerEnforced"))
    rules = owner.get_bucket_ownership_controls(Bucket=bkt)["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert error_code(owner.put_bucket_acl, Bucket=bkt, ACL="public-read") == "AccessControlListNotSupported"
    assert error_code(owner.put_object, Bucket=bkt, Key="x", Body=b"", ACL="public-read") == \
        "AccessControlListNotSupported"
    owner.put_object(Bucket=bkt, Key="x", Body=b"", ACL="bucket-owner-full-control")
    owner.put_bucket_acl(Bucket=bkt, ACL="private")
    assert grants_of(owner.get_bucket_acl(Bucket=bkt)) == {(OWNER_ID, "FULL_CONTROL")}  # reads still work
    # ACLs grant nothing now: test2's own object is out of its reach
    assert error_code(other.get_object, Bucket=bkt, Key="before") == "AccessDenied"
    owner.delete_bucket_ownership_controls(Bucket=bkt)
    assert error_code(owner.get_bucket_ownership_controls, Bucket=bkt) == "OwnershipControlsNotFoundError"
    assert other.get_object(Bucket=bkt, Key="before")["Body"].read() == b"b"


def test_bucket_owner_preferred(owner, other, bkt):
    owner.put_bucket_ownership_controls(Bucket=bkt, OwnershipControls=_ownership("BucketOwnerPreferred"))
    owner.put_bucket_acl(Bucket=bkt, GrantWrite=f'id="{OTHER_ID}"', GrantFullControl=f'id="{OWNER_ID}"')
    other.put_object(Bucket=bkt, Key="handed", Body=b"h", ACL="bucket-owner-full-control")
    other.put_object(Bucket=bkt, Key="kept", Body=b"k")
    assert owner.get_object_acl(Bucket=bkt, Key="handed")["Owner"]["ID"] == OWNER_ID
    assert other.get_object_acl(Bucket=bkt, Key="kept")["Owner"]["ID"] == OTHER_ID


def test_create_bucket_with_object_ownership(owner):
    name = f"own-{uuid.uuid4().hex[:10]}"
    assert error_code(owner.create_bucket, Bucket=name, ObjectOwnership="BucketOwnerEnforced",
                      ACL="public-read") == "InvalidBucketAclWithObjectOwnership"
    assert error_code(owner.create_bucket, Bucket=name, ObjectOwnership="Nobody") == "InvalidArgument"
    owner.create_bucket(Bucket=name, ObjectOwnership="BucketOwnerEnforced")
    try:
        rules = owner.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"]
        assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    finally:
        cleanup(owner, name)


# -- anonymous requests ----------------------------------------------------------------------------------
def test_anonymous_is_denied_without_grants(s3, anon, bkt):
    # an unsigned request is S3's when its path names a registered bucket or it carries S3 headers
    assert error_code(anon.list_buckets) == "AccessDenied"
    assert httpx.get(f"{s3.url}/").status_code == 404
    assert error_code(anon.list_objects_v2, Bucket=bkt) == "AccessDenied"
    assert error_code(anon.get_object, Bucket=bkt, Key="obj") == "AccessDenied"
    assert error_code(anon.put_object, Bucket=bkt, Key="x", Body=b"") == "AccessDenied"
    assert httpx.get(f"{s3.url}/{bkt}/obj").status_code == 403
    assert httpx.get(f"{s3.url}/never-{uuid.uuid4().hex[:10]}?list-type=2").status_code == 404
    assert error_code(anon.list_objects_v2, Bucket=f"never-{uuid.uuid4().hex[:10]}") == "NoSuchBucket"


def test_anonymous_read_of_a_deleted_bucket(owner, anon):
    name = f"gone-{uuid.uuid4().hex[:10]}"
    owner.create_bucket(Bucket=name, ACL="public-read")
    owner.put_object(Bucket=name, Key="k", Body=b"v", ACL="public-read")
    assert anon.get_object(Bucket=name, Key="k")["Body"].read() == b"v"
    owner.delete_object(Bucket=name, Key="k")
    assert error_code(anon.get_object, Bucket=name, Key="k") == "NoSuchKey"
    owner.delete_bucket(Bucket=name)
    assert error_code(anon.get_object, Bucket=name, Key="k") == "NoSuchBucket"


def test_swift_read_acl_reaches_anonymous_s3(s3, owner, anon, bkt):
    url, token = s3.cluster.auth("test:tester", "testing")
    assert httpx.post(f"{url}/{bkt}", headers={"X-Auth-Token": token,
                                               "X-Container-Read": ".r:*,.rlistings"}).status_code == 204
    from tests.identity.helpers import eventually
    assert eventually(lambda: error_code(anon.get_object, Bucket=bkt, Key="obj") == "", timeout=10)
    assert [o["Key"] for o in anon.list_objects_v2(Bucket=bkt)["Contents"]] == ["obj"]


def test_listing_another_accounts_bucket_via_grant(owner, other, bkt):
    owner.put_bucket_acl(Bucket=bkt, GrantRead=f'id="{OTHER_ID}"', GrantFullControl=f'id="{OWNER_ID}"')
    page = other.list_objects(Bucket=bkt)
    assert [o["Key"] for o in page["Contents"]] == ["obj"]
    assert page["Contents"][0]["Owner"]["ID"] == OWNER_ID
    assert [v["Key"] for v in other.list_object_versions(Bucket=bkt)["Versions"]] == ["obj"]
    other.head_bucket(Bucket=bkt)


def test_copy_from_another_accounts_public_object(owner, other, bkt):
    owner.put_object(Bucket=bkt, Key="shared", Body=b"shared bytes", ACL="public-read")
    name = f"dst-{uuid.uuid4().hex[:10]}"
    other.create_bucket(Bucket=name)
    try:
        other.copy_object(Bucket=name, Key="copied", CopySource={"Bucket": bkt, "Key": "shared"})
        assert other.get_object(Bucket=name, Key="copied")["Body"].read() == b"shared bytes"
        assert error_code(other.copy_object, Bucket=name, Key="denied",
                          CopySource={"Bucket": bkt, "Key": "obj"}) == "AccessDenied"
    finally:
        cleanup(other, name)


# -- awscli and s3cmd ------------------------------------------------------------------------------------
def _aws(tmp_path, key: str, secret: str) -> tuple[list[str], dict[str, str]]:
    from tests.s3.test_clients import _aws as aws_command
    from tests.s3.test_clients import _aws_env

    env = _aws_env(tmp_path)
    env.update(AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret)
    return aws_command(), env


def test_awscli_acls_between_accounts(s3, tmp_path, owner):
    import json
    import subprocess

    (tmp_path / "other").mkdir()
    aws, env = _aws(tmp_path, "test:tester", "testing")
    aws2, env2 = _aws(tmp_path / "other", "test2:tester2", "testing2")
    name = f"cli-{uuid.uuid4().hex[:10]}"

    def run(cmd: list[str], environ: dict[str, str]) -> subprocess.CompletedProcess:
        return subprocess.run(cmd + ["--endpoint-url", s3.url], env=environ, capture_output=True, text=True,
                              timeout=120)

    assert run(aws + ["s3api", "create-bucket", "--bucket", name, "--acl", "public-read"], env).returncode == 0
    try:
        taken = run(aws2 + ["s3", "mb", f"s3://{name}"], env2)
        assert taken.returncode != 0 and "BucketAlreadyExists" in taken.stderr
        acl = json.loads(run(aws + ["s3api", "get-bucket-acl", "--bucket", name], env).stdout)
        assert {"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ"} in acl["Grants"]
        assert acl["Owner"]["ID"] == OWNER_ID
        assert run(aws2 + ["s3", "ls", f"s3://{name}"], env2).returncode == 0  # listable by test2
        assert run(aws + ["s3api", "put-bucket-acl", "--bucket", name, "--grant-write", f"id={OTHER_ID}",
                          "--grant-full-control", f"id={OWNER_ID}"], env).returncode == 0
        body = tmp_path / "f.txt"
        body.write_text("from test2")
        put = run(aws2 + ["s3api", "put-object", "--bucket", name, "--key", "k", "--body", str(body),
                          "--acl", "public-read"], env2)
        assert put.returncode == 0, put.stderr
        assert httpx.get(f"{s3.url}/{name}/k").text == "from test2"
        denied = run(aws2 + ["s3", "ls", f"s3://{name}"], env2)
        assert denied.returncode != 0 and "AccessDenied" in denied.stderr
    finally:
        cleanup(owner, name)


def test_s3cmd_setacl_public_and_private(s3, tmp_path, owner):
    from tests.conftest import require_tool

    s3cmd = require_tool("s3cmd")
    import subprocess

    hostport = s3.url.split("://", 1)[1]
    cfg = tmp_path / "s3cfg"
    cfg.write_text(f"[default]\naccess_key = test:tester\nsecret_key = testing\nhost_base = {hostport}\n"
                   f"host_bucket = {hostport}\nuse_https = False\nbucket_location = us-east-1\n"
                   "signature_v2 = False\n")
    base = [s3cmd, "-c", str(cfg)]
    name = f"s3cmd-acl-{uuid.uuid4().hex[:8]}"
    src = tmp_path / "file.txt"
    src.write_text("s3cmd data")

    def run(*args: str) -> subprocess.CompletedProcess:
        proc = subprocess.run(base + list(args), capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return proc

    run("mb", f"s3://{name}")
    try:
        run("put", "--acl-public", str(src), f"s3://{name}/file.txt")
        assert httpx.get(f"{s3.url}/{name}/file.txt").text == "s3cmd data"
        run("setacl", "--acl-private", f"s3://{name}/file.txt")
        assert httpx.get(f"{s3.url}/{name}/file.txt").status_code == 403
        run("setacl", "--acl-grant=read:" + OTHER_ID, f"s3://{name}/file.txt")
        info = run("info", f"s3://{name}/file.txt").stdout
        assert "test2: READ" in info or f"{OTHER_ID}: READ" in info, info
        other = make_client(s3.url, key="test2:tester2", secret="testing2")
        assert other.get_object(Bucket=name, Key="file.txt")["Body"].read() == b"s3cmd data"
        run("setacl", "--acl-public", f"s3://{name}")
        assert httpx.get(f"{s3.url}/{name}").status_code == 200
    finally:
        cleanup(owner, name)


def test_racing_create_bucket_has_one_winner(s3, owner, other):
    """Two accounts creating the same names at once: every name ends with exactly one owner."""
    from concurrent.futures import ThreadPoolExecutor

    clients = {"test": make_client(s3.url), "test2": make_client(s3.url, key="test2:tester2", secret="testing2")}
    names = [f"race-{uuid.uuid4().hex[:10]}" for _ in range(6)]
    jobs = [(n, who) for n in names for who in ("test", "test2")]
    with ThreadPoolExecutor(len(jobs)) as pool:
        codes = list(pool.map(lambda job: (job[0], job[1], error_code(clients[job[1]].create_bucket, Bucket=job[0])),
                              jobs))
    try:
        for name in names:
            outcome = {who: code for n, who, code in codes if n == name}
            winners = [who for who, code in outcome.items() if code == ""]
            assert len(winners) <= 1, outcome
            assert all(code in ("", "BucketAlreadyExists", "ServiceUnavailable") for code in outcome.values())
            for who, client in clients.items():
                expected = "" if who in winners else "AccessDenied"
                if winners:
                    got = error_code(client.list_objects_v2, Bucket=name)
                    assert got == expected, (name, who, outcome, got)
            assert len(winners) == 1, outcome  # three live replicas: one claimant holds a majority
    finally:
        for name in names:
            cleanup(owner, name)
            cleanup(other, name)


def test_put_object_acl_keeps_data_and_last_modified(owner, bkt):
    import time

    owner.put_object(Bucket=bkt, Key="meta", Body=b"m", ContentType="text/x-m", Metadata={"color": "red"})
    before = owner.head_object(Bucket=bkt, Key="meta")
    time.sleep(1.1)
    owner.put_object_acl(Bucket=bkt, Key="meta", ACL="public-read")
    after = owner.head_object(Bucket=bkt, Key="meta")
    assert after["LastModified"] == before["LastModified"]
    assert after["ContentType"] == "text/x-m" and after["Metadata"] == {"color": "red"}
    assert after["ETag"] == before["ETag"]


def test_anonymous_virtual_host_requests(s3, owner, bkt):
    owner.put_object(Bucket=bkt, Key="pub", Body=b"vhost", ACL="public-read")
    port = s3.url.rsplit(":", 1)[1]
    host = {"Host": f"{bkt}.localhost:{port}"}
    r = httpx.get(f"{s3.url}/pub", headers=host)
    assert r.status_code == 200 and r.content == b"vhost"
    assert httpx.head(f"{s3.url}/pub", headers=host).status_code == 200
    r = httpx.get(f"{s3.url}/obj", headers=host)
    assert r.status_code == 403 and b"<Code>AccessDenied</Code>" in r.content


# -- bucket policies across accounts ------------------------------------------------------------------------
def _policy(bucket: str, principal: object, actions: list[str], resource: str) -> str:
    import json

    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": principal, "Action": actions, "Resource": resource}]})


def test_bucket_policy_grants_another_account_by_canonical_id(owner, other, bkt):
    assert error_code(other.get_object, Bucket=bkt, Key="obj") == "AccessDenied"
    owner.put_bucket_policy(Bucket=bkt, Policy=_policy(bkt, {"CanonicalUser": OTHER_ID}, ["s3:GetObject"],
                                                       f"arn:aws:s3:::{bkt}/*"))
    assert other.get_object(Bucket=bkt, Key="obj")["Body"].read() == b"data"
    assert error_code(other.put_object, Bucket=bkt, Key="new", Body=b"x") == "AccessDenied"
    assert error_code(other.list_objects_v2, Bucket=bkt) == "AccessDenied"  # the bucket itself not granted


def test_bucket_policy_opens_objects_to_anonymous_callers(s3, owner, anon, bkt):
    assert error_code(anon.get_object, Bucket=bkt, Key="obj") == "AccessDenied"
    owner.put_bucket_policy(Bucket=bkt, Policy=_policy(bkt, "*", ["s3:GetObject"], f"arn:aws:s3:::{bkt}/*"))
    assert anon.get_object(Bucket=bkt, Key="obj")["Body"].read() == b"data"
    assert httpx.get(f"{s3.url}/{bkt}/obj").content == b"data"
    assert error_code(anon.put_object, Bucket=bkt, Key="anon", Body=b"x") == "AccessDenied"


def test_recreated_bucket_inherits_nothing(s3, owner, anon):
    """A deleted container's metadata is cleared (as Swift's delete_db): the bucket created again under the
    name has no policy, ACL grants, default encryption or user metadata of the old one."""
    name = f"again-{uuid.uuid4().hex[:10]}"
    owner.create_bucket(Bucket=name, ACL="public-read")
    owner.put_bucket_policy(Bucket=name, Policy=_policy(name, "*", ["s3:GetObject"], f"arn:aws:s3:::{name}/*"))
    owner.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    url, token = s3.cluster.auth("test:tester", "testing")
    assert httpx.post(f"{url}/{name}", headers={"X-Auth-Token": token, "X-Container-Meta-Color": "red"}
                      ).status_code == 204
    owner.delete_bucket(Bucket=name)
    owner.create_bucket(Bucket=name)
    try:
        assert error_code(owner.get_bucket_policy, Bucket=name) == "NoSuchBucketPolicy"
        assert error_code(owner.get_bucket_encryption, Bucket=name) == \
            "ServerSideEncryptionConfigurationNotFoundError"
        assert grants_of(owner.get_bucket_acl(Bucket=name)) == {(OWNER_ID, "FULL_CONTROL")}
        owner.put_object(Bucket=name, Key="o", Body=b"x")
        assert error_code(anon.get_object, Bucket=name, Key="o") == "AccessDenied"
        assert "ServerSideEncryption" not in owner.head_object(Bucket=name, Key="o")
        head = httpx.head(f"{url}/{name}", headers={"X-Auth-Token": token})
        assert "x-container-meta-color" not in head.headers
    finally:
        cleanup(owner, name)


def test_expected_bucket_owner(owner, other, bkt):
    """``x-amz-expected-bucket-owner``: a request naming another owner than the bucket's is refused."""
    assert owner.head_object(Bucket=bkt, Key="obj", ExpectedBucketOwner="test")["ContentLength"] == 4
    assert owner.get_object(Bucket=bkt, Key="obj", ExpectedBucketOwner=OWNER_ID)["Body"].read() == b"data"
    assert error_code(owner.put_object, Bucket=bkt, Key="x", Body=b"x", ExpectedBucketOwner="test2") == \
        "AccessDenied"
    owner.put_object_acl(Bucket=bkt, Key="obj", ACL="public-read")
    assert other.get_object(Bucket=bkt, Key="obj", ExpectedBucketOwner="test")["Body"].read() == b"data"
    assert error_code(other.get_object, Bucket=bkt, Key="obj", ExpectedBucketOwner="test2") == "AccessDenied"


def test_swift_read_acl_grants_listing_not_configuration(s3, owner, other, bkt):
    """A Swift container read ACL is AWS's bucket READ over S3: the holder lists and reads objects, but the
    bucket's configuration (policy, lifecycle, ACL, encryption) stays its owner's."""
    url, token = s3.cluster.auth("test:tester", "testing")
    assert httpx.post(f"{url}/{bkt}", headers={"X-Auth-Token": token, "X-Container-Read": "test2:tester2"}
                      ).status_code == 204
    owner.put_bucket_policy(Bucket=bkt, Policy=_policy(bkt, {"CanonicalUser": OWNER_ID}, ["s3:GetObject"],
                                                       f"arn:aws:s3:::{bkt}/*"))
    owner.put_bucket_lifecycle_configuration(Bucket=bkt, LifecycleConfiguration={"Rules": [
        {"ID": "r", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 1}}]})
    assert [o["Key"] for o in other.list_objects_v2(Bucket=bkt)["Contents"]] == ["obj"]
    assert other.get_object(Bucket=bkt, Key="obj")["Body"].read() == b"data"
    for call in (other.get_bucket_policy, other.get_bucket_lifecycle_configuration, other.get_bucket_acl,
                 other.get_bucket_encryption, other.get_bucket_cors):
        assert error_code(call, Bucket=bkt) == "AccessDenied", call
    assert owner.get_bucket_lifecycle_configuration(Bucket=bkt)["Rules"][0]["ID"] == "r"


def test_public_access_block_governs_public_policies(owner, other, anon, bkt):
    """BlockPublicPolicy refuses a public bucket policy; RestrictPublicBuckets keeps a public policy's grants to
    the bucket owner's account (anonymous and other accounts lose them); a policy naming an account is not
    public and stays allowed."""
    public = _policy(bkt, "*", ["s3:GetObject"], f"arn:aws:s3:::{bkt}/*")
    owner.put_public_access_block(Bucket=bkt, PublicAccessBlockConfiguration={
        "BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": True,
        "RestrictPublicBuckets": False})
    assert error_code(owner.put_bucket_policy, Bucket=bkt, Policy=public) == "AccessDenied"
    owner.put_bucket_policy(Bucket=bkt, Policy=_policy(bkt, {"CanonicalUser": OTHER_ID}, ["s3:GetObject"],
                                                       f"arn:aws:s3:::{bkt}/*"))
    assert other.get_object(Bucket=bkt, Key="obj")["Body"].read() == b"data"
    owner.put_public_access_block(Bucket=bkt, PublicAccessBlockConfiguration={
        "BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": False,
        "RestrictPublicBuckets": False})
    owner.put_bucket_policy(Bucket=bkt, Policy=public)
    assert anon.get_object(Bucket=bkt, Key="obj")["Body"].read() == b"data"
    owner.put_public_access_block(Bucket=bkt, PublicAccessBlockConfiguration={
        "BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": False,
        "RestrictPublicBuckets": True})
    assert error_code(anon.get_object, Bucket=bkt, Key="obj") == "AccessDenied"
    assert error_code(other.get_object, Bucket=bkt, Key="obj") == "AccessDenied"
    assert owner.get_object(Bucket=bkt, Key="obj")["Body"].read() == b"data"
    owner.delete_bucket_policy(Bucket=bkt)


def test_acl_and_tagging_changes_keep_last_modified(s3, bucket):
    """As AWS: changing an object's ACL or tags does not make it newer (Last-Modified is its data's)."""
    import time as _time

    c = make_client(s3.url)
    c.put_object(Bucket=bucket, Key="mtime", Body=b"x")
    before = c.head_object(Bucket=bucket, Key="mtime")["LastModified"]
    _time.sleep(1.1)  # Last-Modified has one-second resolution
    c.put_object_acl(Bucket=bucket, Key="mtime", ACL="public-read")
    c.put_object_tagging(Bucket=bucket, Key="mtime", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    assert c.head_object(Bucket=bucket, Key="mtime")["LastModified"] == before
    assert c.get_object(Bucket=bucket, Key="mtime")["LastModified"] == before
    listed = c.list_objects_v2(Bucket=bucket, Prefix="mtime")["Contents"][0]["LastModified"]
    assert listed.replace(microsecond=0) == before


def test_tag_and_acl_changes_keep_an_objects_expiry(s3, bucket):
    c = make_client(s3.url)

    def expire_later(request, **_):
        request.headers["X-Delete-After"] = "3600"

    c.meta.events.register("before-sign.s3.PutObject", expire_later)
    try:
        c.put_object(Bucket=bucket, Key="expiring", Body=b"x")
    finally:
        c.meta.events.unregister("before-sign.s3.PutObject", expire_later)

    def expiration() -> str | None:
        return c.head_object(Bucket=bucket, Key="expiring")["ResponseMetadata"]["HTTPHeaders"].get("x-amz-expiration")

    assert expiration()
    c.put_object_tagging(Bucket=bucket, Key="expiring", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    assert expiration()
    c.put_object_acl(Bucket=bucket, Key="expiring", ACL="public-read")
    assert expiration()
