"""S3 with identity EC2 credentials honours the holder's roles on the credential's project (boto3):
``member`` writes, ``reader`` only reads (every write is AccessDenied and changes nothing), and a
role change or removal takes effect within the proxy's credential cache ttl."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.identity.helpers import admin_token, eventually, make_user
from tests.identity.server import get_token
from tests.s3.conftest import error_code, make_client


@pytest.fixture(scope="module")
def admin(cluster, identity_url):
    return admin_token(cluster, identity_url)


@pytest.fixture(scope="module")
def demo_project(identity_url, admin) -> str:
    projects = httpx.get(f"{identity_url}/v3/projects?name=demo", headers={"X-Auth-Token": admin}).json()
    return projects["projects"][0]["id"]


@pytest.fixture(scope="module")
def role_ids(identity_url, admin) -> dict[str, str]:
    roles = httpx.get(f"{identity_url}/v3/roles", headers={"X-Auth-Token": admin}).json()["roles"]
    return {r["name"]: r["id"] for r in roles}


def ec2_user(identity_url: str, admin: str, project_id: str, role: str) -> tuple[str, str, str]:
    """A new user with ``role`` on the project and an EC2 credential it made itself: (user id, access, secret)."""
    name, password = f"s3-{role}-{uuid.uuid4().hex[:6]}", "pw-" + uuid.uuid4().hex[:8]
    uid = make_user(identity_url, admin, name, password, project_id, role)
    token, _ = get_token(identity_url, name, password, "demo")
    resp = httpx.post(f"{identity_url}/v3/users/{uid}/credentials/OS-EC2", headers={"X-Auth-Token": token},
                      json={"tenant_id": project_id})
    assert resp.status_code == 201, resp.text
    cred = resp.json()["credential"]
    return uid, cred["access"], cred["secret"]


def keys_of(client, bucket: str) -> list[str]:
    return [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]


@pytest.fixture(scope="module")
def member(cluster, identity_url, admin, demo_project):
    _, access, secret = ec2_user(identity_url, admin, demo_project, "member")
    return make_client(cluster.proxy_url, key=access, secret=secret)


@pytest.fixture(scope="module")
def reader_keys(identity_url, admin, demo_project) -> tuple[str, str]:
    _, access, secret = ec2_user(identity_url, admin, demo_project, "reader")
    return access, secret


@pytest.fixture(scope="module")
def reader(cluster, reader_keys):
    return make_client(cluster.proxy_url, key=reader_keys[0], secret=reader_keys[1])


@pytest.fixture(scope="module")
def demo_bucket(member):
    """A bucket of the demo project with objects ``a`` and ``b`` and one open multipart upload of ``big``."""
    name = f"demo-roles-{uuid.uuid4().hex[:8]}"
    member.create_bucket(Bucket=name)
    member.put_object(Bucket=name, Key="a", Body=b"alpha")
    member.put_object(Bucket=name, Key="b", Body=b"bravo")
    upload = member.create_multipart_upload(Bucket=name, Key="big")["UploadId"]
    member.upload_part(Bucket=name, Key="big", UploadId=upload, PartNumber=1, Body=b"p" * 1024)
    return {"name": name, "upload": upload}


def test_member_credential_writes(member, demo_bucket):
    name = demo_bucket["name"]
    member.put_object(Bucket=name, Key="tmp", Body=b"x")
    member.copy_object(Bucket=name, Key="tmp2", CopySource={"Bucket": name, "Key": "tmp"})
    member.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "tmp"}, {"Key": "tmp2"}]})
    upload = member.create_multipart_upload(Bucket=name, Key="m")["UploadId"]
    etag = member.upload_part(Bucket=name, Key="m", UploadId=upload, PartNumber=1, Body=b"m" * 10)["ETag"]
    member.complete_multipart_upload(Bucket=name, Key="m", UploadId=upload,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert member.get_object(Bucket=name, Key="m")["Body"].read() == b"m" * 10
    member.delete_object(Bucket=name, Key="m")
    assert keys_of(member, name) == ["a", "b"]


def test_reader_credential_reads(reader, demo_bucket):
    name, upload = demo_bucket["name"], demo_bucket["upload"]
    assert name in {b["Name"] for b in reader.list_buckets()["Buckets"]}
    reader.head_bucket(Bucket=name)
    assert keys_of(reader, name) == ["a", "b"]
    assert [o["Key"] for o in reader.list_objects(Bucket=name)["Contents"]] == ["a", "b"]
    assert reader.get_object(Bucket=name, Key="a")["Body"].read() == b"alpha"
    assert reader.head_object(Bucket=name, Key="b")["ContentLength"] == 5
    reader.get_bucket_acl(Bucket=name)
    reader.get_bucket_location(Bucket=name)
    reader.get_bucket_versioning(Bucket=name)
    reader.get_object_acl(Bucket=name, Key="a")
    assert [u["UploadId"] for u in reader.list_multipart_uploads(Bucket=name)["Uploads"]] == [upload]
    assert [p["PartNumber"] for p in reader.list_parts(Bucket=name, Key="big", UploadId=upload)["Parts"]] == [1]
    url = reader.generate_presigned_url("get_object", Params={"Bucket": name, "Key": "a"})
    assert httpx.get(url).content == b"alpha"


def test_reader_credential_cannot_write(cluster, reader, reader_keys, member, demo_bucket):
    name, upload = demo_bucket["name"], demo_bucket["upload"]
    new_bucket = f"demo-denied-{uuid.uuid4().hex[:8]}"
    part = {"Bucket": name, "Key": "big", "UploadId": upload}
    writes = [
        (reader.create_bucket, {"Bucket": new_bucket}),
        (reader.put_object, {"Bucket": name, "Key": "new", "Body": b"x"}),
        (reader.put_object, {"Bucket": name, "Key": "a", "Body": b"overwritten"}),
        (reader.delete_object, {"Bucket": name, "Key": "a"}),
        (reader.delete_objects, {"Bucket": name, "Delete": {"Objects": [{"Key": "a"}, {"Key": "b"}]}}),
        (reader.copy_object, {"Bucket": name, "Key": "copy", "CopySource": {"Bucket": name, "Key": "a"}}),
        (reader.create_multipart_upload, {"Bucket": name, "Key": "m"}),
        (reader.upload_part, {**part, "PartNumber": 2, "Body": b"q" * 10}),
        (reader.upload_part_copy, {**part, "PartNumber": 3, "CopySource": {"Bucket": name, "Key": "a"}}),
        (reader.complete_multipart_upload, {**part, "MultipartUpload": {"Parts": [{"PartNumber": 1,
                                                                                   "ETag": '"x"'}]}}),
        (reader.abort_multipart_upload, part),
        (reader.put_object_acl, {"Bucket": name, "Key": "a", "ACL": "private"}),
        (reader.put_object_tagging, {"Bucket": name, "Key": "a",
                                     "Tagging": {"TagSet": [{"Key": "k", "Value": "v"}]}}),
        (reader.put_bucket_acl, {"Bucket": name, "ACL": "private"}),
        (reader.delete_bucket, {"Bucket": name}),
    ]
    for call, kwargs in writes:
        assert error_code(call, **kwargs) == "AccessDenied", call.__name__
    # the error is S3's XML document (a presigned PUT shows the body)
    url = reader.generate_presigned_url("put_object", Params={"Bucket": name, "Key": "new"})
    resp = httpx.put(url, content=b"x")
    assert resp.status_code == 403 and b"<Code>AccessDenied</Code>" in resp.content
    assert resp.headers["content-type"].startswith("application/xml")
    # SigV2 is refused the same way
    v2 = make_client(cluster.proxy_url, key=reader_keys[0], secret=reader_keys[1], signature_version="s3")
    assert error_code(v2.put_object, Bucket=name, Key="new", Body=b"x") == "AccessDenied"
    # nothing changed, as the member sees it
    assert keys_of(member, name) == ["a", "b"]
    assert member.get_object(Bucket=name, Key="a")["Body"].read() == b"alpha"
    assert new_bucket not in {b["Name"] for b in member.list_buckets()["Buckets"]}
    assert [u["UploadId"] for u in member.list_multipart_uploads(Bucket=name)["Uploads"]] == [upload]
    assert [p["PartNumber"] for p in member.list_parts(**part)["Parts"]] == [1]
    assert member.get_object_tagging(Bucket=name, Key="a")["TagSet"] == []


def test_role_change_takes_effect(cluster, identity_url, admin, demo_project, role_ids, member, demo_bucket):
    """member → reader: writes refused; no role left: the key is refused (AccessDenied, as Keystone's
    "User not valid for project" through s3token), within the proxy's cache ttl (5 s)."""
    name = demo_bucket["name"]
    uid, access, secret = ec2_user(identity_url, admin, demo_project, "member")
    client = make_client(cluster.proxy_url, key=access, secret=secret)
    client.put_object(Bucket=name, Key="by-changing-user", Body=b"1")
    grants = f"{identity_url}/v3/projects/{demo_project}/users/{uid}/roles"
    h = {"X-Auth-Token": admin}
    assert httpx.put(f"{grants}/{role_ids['reader']}", headers=h).status_code == 204
    assert httpx.delete(f"{grants}/{role_ids['member']}", headers=h).status_code == 204
    # ("later" is written until the cached member rights expire)
    assert eventually(lambda: error_code(client.put_object, Bucket=name, Key="later", Body=b"2") == "AccessDenied",
                      timeout=15)
    assert error_code(client.delete_object, Bucket=name, Key="by-changing-user") == "AccessDenied"
    assert client.get_object(Bucket=name, Key="by-changing-user")["Body"].read() == b"1"
    assert httpx.delete(f"{grants}/{role_ids['reader']}", headers=h).status_code == 204
    assert eventually(lambda: error_code(client.list_objects_v2, Bucket=name) == "AccessDenied", timeout=15)
    assert error_code(client.get_object, Bucket=name, Key="by-changing-user") == "AccessDenied"
    assert error_code(client.list_buckets) == "AccessDenied"
    member.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "by-changing-user"}, {"Key": "later"}]})
    assert keys_of(member, name) == ["a", "b"]
