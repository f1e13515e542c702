"""The ACL model without a cluster: canned ACLs, the stored form, grant headers, the XML document."""

from __future__ import annotations

import asyncio

import pytest

from objclient.response import BackendResponse
from proxy.context import Identity, ProxyState
from proxy.s3 import xml
from proxy.s3.acl.evaluate import grantee_matches
from proxy.s3.acl.model import ALL_USERS, AUTHENTICATED_USERS, GROUP, USER, canned, document, from_json, to_json
from proxy.s3.acl.request import from_document, from_headers
from proxy.s3.errors import S3Error
from proxy.s3.owners import Owner, canonical_id

CONF = {"tempauth": {"reseller_prefix": "AUTH_", "users": {
    "a:admin": {"key": "k", "groups": [".admin"], "email": "Admin@Example.com"},
    "b:admin": {"key": "k", "groups": [".admin"]}}}}
class NoRecords:
    """A storage client holding no owner records (only the configured TempAuth users resolve)."""

    async def head_object(self, account: str, container: str, obj: str) -> BackendResponse:
        return BackendResponse.simple(404)


STATE = ProxyState(conf=CONF, client=NoRecords())  # type: ignore[arg-type]
A = Owner(canonical_id("AUTH_a"), "a", "AUTH_a")
B = Owner(canonical_id("AUTH_b"), "b", "AUTH_b")


def test_canonical_ids_are_stable_and_aws_shaped():
    assert canonical_id("AUTH_a") == canonical_id("AUTH_a") != canonical_id("AUTH_b")
    assert len(A.id) == 64 and all(c in "0123456789abcdef" for c in A.id)


@pytest.mark.parametrize("name,extra", [
    ("private", set()),
    ("public-read", {(ALL_USERS, "READ")}),
    ("public-read-write", {(ALL_USERS, "READ"), (ALL_USERS, "WRITE")}),
    ("authenticated-read", {(AUTHENTICATED_USERS, "READ")}),
])
def test_canned_acls(name, extra):
    acl = canned(name, A)
    assert {(g.grantee, g.permission) for g in acl.grants} == {(A.id, "FULL_CONTROL")} | extra
    assert from_json(to_json(acl)) == acl


def test_bucket_owner_canned_acls_name_the_bucket_owner():
    acl = canned("bucket-owner-full-control", B, A, for_bucket=False)
    assert {(g.grantee, g.permission) for g in acl.grants} == {(B.id, "FULL_CONTROL"), (A.id, "FULL_CONTROL")}
    assert canned("bucket-owner-read", A, A, for_bucket=False).grants == canned("private", A).grants
    with pytest.raises(S3Error) as err:
        canned("bucket-owner-read", A, A, for_bucket=True)
    assert err.value.code == "InvalidArgument"


def test_grant_headers_resolve_ids_emails_and_groups():
    headers = {"x-amz-grant-read": f'id="{B.id}", uri="{ALL_USERS}"',
               "x-amz-grant-full-control": 'emailAddress="admin@example.com"'}
    acl = asyncio.run(from_headers(STATE, headers, A, None, for_bucket=True))
    assert acl is not None
    assert {(g.kind, g.grantee, g.permission) for g in acl.grants} == {
        (USER, B.id, "READ"), (GROUP, ALL_USERS, "READ"), (USER, A.id, "FULL_CONTROL")}
    assert {g.display_name for g in acl.grants if g.kind == USER} == {"a", "b"}


@pytest.mark.parametrize("headers,code", [
    ({"x-amz-acl": "private", "x-amz-grant-read": f'id="{canonical_id("AUTH_b")}"'}, "InvalidRequest"),
    ({"x-amz-grant-read": 'id="nobody"'}, "InvalidArgument"),
    ({"x-amz-grant-read": 'emailAddress="nobody@example.com"'}, "UnresolvableGrantByEmailAddress"),
    ({"x-amz-grant-read": 'uri="http://acs.amazonaws.com/groups/global/Nobody"'}, "InvalidArgument"),
    ({"x-amz-grant-read": "garbage"}, "InvalidArgument"),
    ({"x-amz-acl": "everyone"}, "InvalidArgument"),
])
def test_grant_header_errors(headers, code):
    with pytest.raises(S3Error) as err:
        asyncio.run(from_headers(STATE, headers, A, None, for_bucket=True))
    assert err.value.code == code


def test_document_round_trip():
    acl = canned("public-read", A)
    body = xml.to_bytes(document(acl))
    assert b'xsi:type="Group"' in body and b"<URI>" + ALL_USERS.encode() + b"</URI>" in body
    assert asyncio.run(from_document(STATE, body, A)) == acl


@pytest.mark.parametrize("body,code", [
    (b"<AccessControlPolicy/>", "MalformedACLError"),
    (b"not xml", "MalformedACLError"),
    (f"<AccessControlPolicy><Owner><ID>{canonical_id('AUTH_b')}</ID></Owner></AccessControlPolicy>".encode(),
     "AccessDenied"),
])
def test_document_errors(body, code):
    with pytest.raises(S3Error) as err:
        asyncio.run(from_document(STATE, body, A))
    assert err.value.code == code


def test_who_a_grant_reaches():
    owner = Identity("a:admin", "AUTH_a", [".admin"], is_admin=True)
    reader = Identity("a:r", "AUTH_a", is_reader=True)
    member_without_rights = Identity("a:nobody", "AUTH_a")
    anonymous = Identity("", "")
    assert grantee_matches(owner, USER, A.id, "WRITE")
    assert grantee_matches(reader, USER, A.id, "READ") and not grantee_matches(reader, USER, A.id, "WRITE")
    assert not grantee_matches(reader, GROUP, ALL_USERS, "WRITE")  # a reader never writes
    assert not grantee_matches(member_without_rights, USER, A.id, "READ")
    assert grantee_matches(anonymous, GROUP, ALL_USERS, "READ")
    assert not grantee_matches(anonymous, GROUP, AUTHENTICATED_USERS, "READ")
    assert grantee_matches(member_without_rights, GROUP, AUTHENTICATED_USERS, "READ")


def test_the_owner_creating_its_bucket_again_outside_us_east_1():
    from types import SimpleNamespace

    from proxy.s3.bucket import _already_yours

    assert _already_yours(SimpleNamespace(region="us-east-1"), "b").status_code == 200  # type: ignore[arg-type]
    with pytest.raises(S3Error) as err:
        _already_yours(SimpleNamespace(region="eu-west-1"), "b")  # type: ignore[arg-type]
    assert err.value.code == "BucketAlreadyOwnedByYou" and err.value.status == 409


def test_repeated_grants_count_once_and_acls_are_bounded():
    one = f'id="{B.id}"'
    acl = asyncio.run(from_headers(STATE, {"x-amz-grant-read": ", ".join([one] * 5)}, A, None, for_bucket=True))
    assert acl is not None and len(acl.grants) == 1
    many = ", ".join(f'uri="{uri}"' for uri in (ALL_USERS, AUTHENTICATED_USERS))
    headers = {h: many for h in ("x-amz-grant-read", "x-amz-grant-write", "x-amz-grant-read-acp",
                                 "x-amz-grant-write-acp", "x-amz-grant-full-control")}
    assert len(asyncio.run(from_headers(STATE, headers, A, None, for_bucket=True)).grants) == 10
