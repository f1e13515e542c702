"""S3 authorization with TempAuth keys, as the Swift API decides it: ``.admin`` owns the account; a user
without groups (``test:tester3``) gets only what container ACLs grant."""

from __future__ import annotations

import asyncio

import httpx

from proxy.s3.credentials import ConfigCredentials
from tests.identity.helpers import eventually
from tests.s3.conftest import error_code, make_client


def test_config_credentials_carry_tempauth_rights():
    conf = {"tempauth": {"users": {"a:owner": {"key": "k1", "groups": [".admin"]}, "a:plain": {"key": "k2"}}},
            "s3": {"keys": {"AKPLAIN": {"secret": "s", "user": "a:plain"},
                            "AKOTHER": {"secret": "s", "user": "b:someone"},
                            "AKGROUPS": {"secret": "s", "user": "a:owner", "groups": []}}}}
    store = ConfigCredentials(conf)

    def rights(access: str) -> tuple[str, bool]:
        cred = asyncio.run(store.lookup(access))
        assert cred is not None
        return cred.account, cred.identity.is_admin

    assert rights("a:owner") == ("AUTH_a", True)
    assert rights("a:plain") == ("AUTH_a", False)
    assert rights("AKPLAIN") == ("AUTH_a", False)  # the groups of the TempAuth user it names
    assert rights("AKOTHER") == ("AUTH_b", True)  # no TempAuth user: the account's owner, as before
    assert rights("AKGROUPS") == ("AUTH_a", False)  # its own groups win


def test_tempauth_user_without_admin_goes_by_acls(s3, bucket):
    owner = make_client(s3.url)
    owner.put_object(Bucket=bucket, Key="obj", Body=b"secret")
    plain = make_client(s3.url, key="test:tester3", secret="testing3")
    assert error_code(plain.list_buckets) == "AccessDenied"
    assert error_code(plain.create_bucket, Bucket=bucket + "-t3") == "AccessDenied"
    assert error_code(plain.get_object, Bucket=bucket, Key="obj") == "AccessDenied"
    assert error_code(plain.list_objects_v2, Bucket=bucket) == "AccessDenied"
    assert error_code(plain.put_object, Bucket=bucket, Key="new", Body=b"x") == "AccessDenied"

    storage, token = s3.cluster.auth()
    container = f"{storage}/{bucket}"
    headers = {"X-Auth-Token": token, "X-Container-Read": "test:tester3"}
    assert httpx.post(container, headers=headers).status_code == 204
    assert eventually(lambda: error_code(plain.get_object, Bucket=bucket, Key="obj") == "", timeout=10)
    assert plain.get_object(Bucket=bucket, Key="obj")["Body"].read() == b"secret"
    assert [o["Key"] for o in plain.list_objects_v2(Bucket=bucket)["Contents"]] == ["obj"]
    assert error_code(plain.put_object, Bucket=bucket, Key="new", Body=b"x") == "AccessDenied"
    assert error_code(plain.delete_objects, Bucket=bucket, Delete={"Objects": [{"Key": "obj"}]}) == "AccessDenied"

    assert httpx.post(container, headers={**headers, "X-Container-Write": "test:tester3"}).status_code == 204
    assert eventually(lambda: error_code(plain.put_object, Bucket=bucket, Key="new", Body=b"x") == "", timeout=10)
    assert owner.get_object(Bucket=bucket, Key="new")["Body"].read() == b"x"
    plain.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "new"}]})
    assert [o["Key"] for o in owner.list_objects_v2(Bucket=bucket)["Contents"]] == ["obj"]
    # bucket-level writes stay the owner's, whatever the ACLs say
    assert error_code(plain.delete_bucket, Bucket=bucket) == "AccessDenied"
    assert error_code(plain.put_bucket_acl, Bucket=bucket, ACL="private") == "AccessDenied"
    assert error_code(plain.list_buckets) == "AccessDenied"
