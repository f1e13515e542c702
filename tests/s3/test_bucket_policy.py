"""Bucket policies with boto3 and awscli as the owner (``test:tester``) and a plain user of the same
account (``test:tester3``, no rights of its own): Put/Get/DeleteBucketPolicy, GetBucketPolicyStatus,
explicit Deny over the owner, Allow for a non-owner, Principal forms, NotAction/NotResource, conditions
on ``aws:SourceIp`` and ``s3:prefix``, malformed policies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from proxy.s3.policy.actions import known_actions
from proxy.s3.policy.conditions import condition_holds
from proxy.s3.policy.document import Condition, parse_policy
from proxy.s3.policy.evaluate import decide
from tests.s3.conftest import error_code, make_client


def _doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _stmt(bucket: str, effect: str = "Allow", principal: object = "*", action: object = "s3:GetObject",
          resource: object = None, **extra: object) -> dict:
    stmt = {"Effect": effect, "Principal": principal, "Action": action,
            "Resource": resource if resource is not None else f"arn:aws:s3:::{bucket}/*"}
    stmt.update(extra)
    return stmt


@pytest.fixture
def owner(s3):
    return make_client(s3.url)


@pytest.fixture
def plain(s3):
    return make_client(s3.url, key="test:tester3", secret="testing3")


@pytest.fixture
def policy_bucket(owner, bucket):
    """The ``bucket`` fixture, with its policy removed before the cleanup runs."""
    yield bucket
    owner.delete_bucket_policy(Bucket=bucket)


def test_put_get_delete_policy_and_status(owner, policy_bucket):
    bucket = policy_bucket
    assert error_code(owner.get_bucket_policy, Bucket=bucket) == "NoSuchBucketPolicy"
    assert error_code(owner.get_bucket_policy_status, Bucket=bucket) == "NoSuchBucketPolicy"
    doc = _doc(_stmt(bucket, Sid="public-read"))
    owner.put_bucket_policy(Bucket=bucket, Policy=doc)
    assert json.loads(owner.get_bucket_policy(Bucket=bucket)["Policy"]) == json.loads(doc)
    assert owner.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True
    restricted = _doc(_stmt(bucket, Condition={"IpAddress": {"aws:SourceIp": "10.1.0.0/16"}}))
    owner.put_bucket_policy(Bucket=bucket, Policy=restricted)
    assert owner.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is False
    owner.delete_bucket_policy(Bucket=bucket)
    assert error_code(owner.get_bucket_policy, Bucket=bucket) == "NoSuchBucketPolicy"
    owner.delete_bucket_policy(Bucket=bucket)  # deleting no policy is fine too
    assert error_code(owner.get_bucket_policy, Bucket="no-such-bucket-policy-x") == "NoSuchBucket"


def test_large_policy_round_trips(owner, policy_bucket):
    bucket = policy_bucket
    statements = [_stmt(bucket, Sid=f"s{i}", resource=f"arn:aws:s3:::{bucket}/prefix-{i}/*") for i in range(130)]
    doc = _doc(*statements)
    assert 15_000 < len(doc) < 20 * 1024
    owner.put_bucket_policy(Bucket=bucket, Policy=doc)
    assert owner.get_bucket_policy(Bucket=bucket)["Policy"] == doc
    too_big = _doc(*statements, *[_stmt(bucket, Sid=f"t{i}") for i in range(40)])
    assert error_code(owner.put_bucket_policy, Bucket=bucket, Policy=too_big) == "MalformedPolicy"


@pytest.mark.parametrize("policy", [
    "not json",
    json.dumps({"Version": "2012-10-17"}),
    json.dumps({"Version": "1999-01-01", "Statement": []}),
    "{bucket-stmt-no-effect}",
    "{bucket-stmt-bad-action}",
    "{bucket-stmt-other-bucket}",
    "{bucket-stmt-bad-principal}",
    "{bucket-stmt-bad-condition}",
    "{bucket-stmt-action-does-not-apply}",
    "{bucket-stmt-unknown-field}",
    "{bucket-stmt-allow-not-principal}",
])
def test_malformed_policies(owner, policy_bucket, policy):
    bucket = policy_bucket
    good = _stmt(bucket)
    variants = {
        "{bucket-stmt-no-effect}": {k: v for k, v in good.items() if k != "Effect"},
        "{bucket-stmt-bad-action}": {**good, "Action": "s3:GetObjekt"},
        "{bucket-stmt-other-bucket}": {**good, "Resource": "arn:aws:s3:::someone-elses-bucket/*"},
        "{bucket-stmt-bad-principal}": {**good, "Principal": {"Nobody": "x"}},
        "{bucket-stmt-bad-condition}": {**good, "Condition": {"StringSorta": {"s3:prefix": "a"}}},
        "{bucket-stmt-action-does-not-apply}": {**good, "Action": "s3:ListBucket"},
        "{bucket-stmt-unknown-field}": {**good, "Colour": "blue"},
        "{bucket-stmt-allow-not-principal}": {**{k: v for k, v in good.items() if k != "Principal"},
                                              "NotPrincipal": {"AWS": "arn:aws:iam::test2:root"}},
    }
    body = _doc(variants[policy]) if policy in variants else policy
    try:
        owner.put_bucket_policy(Bucket=bucket, Policy=body)
    except owner.exceptions.ClientError as err:
        assert err.response["Error"]["Code"] == "MalformedPolicy"
        assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert err.response["Error"]["Message"]
    else:
        pytest.fail(f"accepted {body}")


def test_deny_overrides_owner_but_not_policy_management(owner, policy_bucket):
    bucket = policy_bucket
    owner.put_object(Bucket=bucket, Key="secret/a", Body=b"1")
    owner.put_object(Bucket=bucket, Key="open/b", Body=b"2")
    owner.put_bucket_policy(Bucket=bucket, Policy=_doc(
        _stmt(bucket, "Deny", action=["s3:GetObject", "s3:PutObject"], resource=f"arn:aws:s3:::{bucket}/secret/*"),
        _stmt(bucket, "Deny", action="s3:*", resource=f"arn:aws:s3:::{bucket}")))
    assert error_code(owner.get_object, Bucket=bucket, Key="secret/a") == "AccessDenied"
    assert error_code(owner.put_object, Bucket=bucket, Key="secret/c", Body=b"x") == "AccessDenied"
    assert owner.get_object(Bucket=bucket, Key="open/b")["Body"].read() == b"2"
    assert error_code(owner.list_objects_v2, Bucket=bucket) == "AccessDenied"
    # a Deny of s3:* on the bucket still lets the owner read, replace and delete the policy
    assert json.loads(owner.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
    owner.delete_bucket_policy(Bucket=bucket)
    assert owner.get_object(Bucket=bucket, Key="secret/a")["Body"].read() == b"1"


def test_allow_for_another_user_and_principal_forms(owner, plain, policy_bucket):
    bucket = policy_bucket
    owner.put_object(Bucket=bucket, Key="k", Body=b"v")
    assert error_code(plain.get_object, Bucket=bucket, Key="k") == "AccessDenied"
    for principal in ("*", {"AWS": "*"}, {"AWS": "arn:aws:iam::test:user/tester3"}, {"AWS": ["test"]},
                      {"AWS": "arn:aws:iam::test:root"}):
        owner.put_bucket_policy(Bucket=bucket, Policy=_doc(_stmt(bucket, principal=principal)))
        assert plain.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v", principal
        assert error_code(plain.put_object, Bucket=bucket, Key="k2", Body=b"x") == "AccessDenied"
    owner.put_bucket_policy(Bucket=bucket, Policy=_doc(
        _stmt(bucket, principal={"AWS": "arn:aws:iam::test2:root"})))
    assert error_code(plain.get_object, Bucket=bucket, Key="k") == "AccessDenied"
    # the plain user cannot manage the policy
    assert error_code(plain.get_bucket_policy, Bucket=bucket) == "AccessDenied"
    assert error_code(plain.delete_bucket_policy, Bucket=bucket) == "AccessDenied"


def test_deny_with_not_principal_spares_the_named_principal(owner, plain, policy_bucket):
    """NotPrincipal (Deny only, as AWS): everyone but the named principal is refused."""
    bucket = policy_bucket
    owner.put_object(Bucket=bucket, Key="k", Body=b"v")
    owner.put_bucket_policy(Bucket=bucket, Policy=_doc(
        _stmt(bucket),
        {"Effect": "Deny", "NotPrincipal": {"AWS": ["arn:aws:iam::test:root"]}, "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{bucket}/*"}))
    assert owner.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"  # account test: not denied
    assert plain.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"  # test:tester3 is account test too
    other = make_client(owner.meta.endpoint_url, key="test2:tester2", secret="testing2")
    assert error_code(other.get_object, Bucket=bucket, Key="k") == "AccessDenied"  # allowed, then denied


def test_not_action_and_not_resource(owner, plain, policy_bucket):
    bucket = policy_bucket
    owner.put_object(Bucket=bucket, Key="public/x", Body=b"x")
    owner.put_object(Bucket=bucket, Key="private/y", Body=b"y")
    owner.put_bucket_policy(Bucket=bucket, Policy=_doc(
        {"Effect": "Allow", "Principal": "*", "NotAction": ["s3:DeleteObject", "s3:Put*"],
         "NotResource": f"arn:aws:s3:::{bucket}/private/*"}))
    assert plain.get_object(Bucket=bucket, Key="public/x")["Body"].read() == b"x"
    assert error_code(plain.get_object, Bucket=bucket, Key="private/y") == "AccessDenied"
    assert error_code(plain.put_object, Bucket=bucket, Key="public/z", Body=b"z") == "AccessDenied"
    assert error_code(plain.delete_object, Bucket=bucket, Key="public/x") == "AccessDenied"
    assert [o["Key"] for o in plain.list_objects_v2(Bucket=bucket)["Contents"]] == ["private/y", "public/x"]


def test_conditions_on_prefix_and_source_ip(owner, plain, policy_bucket):
    bucket = policy_bucket
    owner.put_object(Bucket=bucket, Key="home/a", Body=b"a")
    owner.put_bucket_policy(Bucket=bucket, Policy=_doc(
        _stmt(bucket, action="s3:ListBucket", resource=f"arn:aws:s3:::{bucket}",
              Condition={"StringLike": {"s3:prefix": "home/*"}})))
    assert [o["Key"] for o in plain.list_objects_v2(Bucket=bucket, Prefix="home/")["Contents"]] == ["home/a"]
    assert error_code(plain.list_objects_v2, Bucket=bucket) == "AccessDenied"
    assert error_code(plain.list_objects_v2, Bucket=bucket, Prefix="etc/") == "AccessDenied"

    # the tests reach the proxy from 127.0.0.1: a Deny outside 10.0.0.0/8 applies, one inside does not
    owner.put_bucket_policy(Bucket=bucket, Policy=_doc(
        _stmt(bucket, "Deny", action="s3:GetObject", Condition={"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}})))
    assert error_code(owner.get_object, Bucket=bucket, Key="home/a") == "AccessDenied"
    owner.put_bucket_policy(Bucket=bucket, Policy=_doc(
        _stmt(bucket, "Deny", action="s3:GetObject", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
        _stmt(bucket, principal={"AWS": "test"}, Condition={"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}})))
    assert owner.get_object(Bucket=bucket, Key="home/a")["Body"].read() == b"a"
    assert plain.get_object(Bucket=bucket, Key="home/a")["Body"].read() == b"a"


def test_x_forwarded_for_does_not_change_the_source_ip(owner, s3, policy_bucket):
    """A client of 127.0.0.1 naming another address in X-Forwarded-For is still 127.0.0.1 to a policy: no load
    balancer is trusted by default (``[http] forwarded_allow_ips``)."""
    bucket = policy_bucket
    owner.put_object(Bucket=bucket, Key="k", Body=b"k")
    owner.put_bucket_policy(Bucket=bucket, Policy=_doc(
        _stmt(bucket, "Deny", action="s3:GetObject", Condition={"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}})))
    forged = make_client(s3.url)
    forged.meta.events.register("before-sign.s3.GetObject",
                                lambda request, **_: request.headers.__setitem__("X-Forwarded-For", "10.1.2.3"))
    assert error_code(forged.get_object, Bucket=bucket, Key="k") == "AccessDenied"
    owner.put_bucket_policy(Bucket=bucket, Policy=_doc(
        _stmt(bucket, "Deny", action="s3:GetObject", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})))
    assert forged.get_object(Bucket=bucket, Key="k")["Body"].read() == b"k"


def test_awscli_put_and_get_policy(s3, policy_bucket, tmp_path: Path):
    bucket = policy_bucket
    doc = _doc(_stmt(bucket, Sid="cli"))
    (tmp_path / "policy.json").write_text(doc)
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test:tester", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null",
           "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
    aws = [str(Path(sys.executable).parent / "aws"), "--endpoint-url", s3.url, "s3api"]
    subprocess.run([*aws, "put-bucket-policy", "--bucket", bucket, "--policy", f"file://{tmp_path}/policy.json"],
                   check=True, env=env, capture_output=True, timeout=60)
    out = subprocess.run([*aws, "get-bucket-policy", "--bucket", bucket], check=True, env=env,
                         capture_output=True, timeout=60).stdout
    assert json.loads(json.loads(out)["Policy"]) == json.loads(doc)


# the evaluation and condition logic, without a cluster

def test_decision_order_deny_beats_allow():
    policy = parse_policy(_doc(_stmt("b", action="s3:*"), _stmt("b", "Deny", resource="arn:aws:s3:::b/x*")).encode(),
                          "b", known_actions())
    everyone = {"*"}
    assert decide(policy.statements, everyone, "s3:GetObject", "arn:aws:s3:::b/y", {}) == "allow"
    assert decide(policy.statements, everyone, "s3:GetObject", "arn:aws:s3:::b/x1", {}) == "deny"
    assert decide(policy.statements, everyone, "s3:ListBucket", "arn:aws:s3:::b", {}) == "none"


@pytest.mark.parametrize("operator,values,context,expected", [
    ("StringEquals", ("a",), {"k:k": ["a"]}, True),
    ("StringEquals", ("a",), {}, False),
    ("StringNotEquals", ("a",), {}, True),
    ("StringEqualsIfExists", ("a",), {}, True),
    ("StringLike", ("ho?e/*",), {"k:k": ["home/x"]}, True),
    ("StringNotLike", ("home/*",), {"k:k": ["home/x"]}, False),
    ("StringEqualsIgnoreCase", ("ABC",), {"k:k": ["abc"]}, True),
    ("NumericLessThan", ("10",), {"k:k": ["9"]}, True),
    ("NumericGreaterThanEquals", ("10",), {"k:k": ["9"]}, False),
    ("DateLessThan", ("2100-01-01T00:00:00Z",), {"k:k": ["2026-12-04T00:00:00Z"]}, True),
    ("DateGreaterThan", ("2100-01-01T00:00:00Z",), {"k:k": ["2026-12-04T00:00:00Z"]}, False),
    ("Bool", ("true",), {"k:k": ["true"]}, True),
    ("Bool", ("false",), {"k:k": ["true"]}, False),
    ("IpAddress", ("192.168.0.0/16",), {"k:k": ["192.168.4.5"]}, True),
    ("NotIpAddress", ("192.168.0.0/16",), {"k:k": ["192.168.4.5"]}, False),
    ("IpAddress", ("::1/128",), {"k:k": ["::1"]}, True),
    ("Null", ("true",), {}, True),
    ("Null", ("false",), {}, False),
])
def test_condition_operators(operator, values, context, expected):
    base, if_exists = (operator[:-8], True) if operator.endswith("IfExists") else (operator, False)
    assert condition_holds(Condition(base, "k:k", values, if_exists), context) is expected


def test_delete_objects_decides_each_key(owner, policy_bucket):
    """DeleteObjects is decided per key, as AWS does: a policy denying s3:DeleteObject under a prefix refuses
    those keys in the result (AccessDenied) and deletes the others."""
    bucket = policy_bucket
    for key in ("keep/a", "keep/b", "free/c"):
        owner.put_object(Bucket=bucket, Key=key, Body=b"x")
    owner.put_bucket_policy(Bucket=bucket, Policy=_doc(
        _stmt(bucket, "Deny", action="s3:DeleteObject", resource=f"arn:aws:s3:::{bucket}/keep/*")))
    out = owner.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in ("keep/a", "free/c")]})
    assert [d["Key"] for d in out.get("Deleted", [])] == ["free/c"]
    assert [(e["Key"], e["Code"]) for e in out["Errors"]] == [("keep/a", "AccessDenied")]
    keys = [o["Key"] for o in owner.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["keep/a", "keep/b"]
    owner.delete_bucket_policy(Bucket=bucket)
    owner.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys]})


def test_sse_c_algorithm_is_a_condition_key(owner, policy_bucket):
    """``s3:x-amz-server-side-encryption-customer-algorithm`` carries the SSE-C header, so a policy can demand
    customer-provided keys (Deny when the key is Null) — as AWS documents for SSE-C."""
    owner.put_bucket_policy(Bucket=policy_bucket, Policy=_doc(_stmt(
        policy_bucket, effect="Deny", action="s3:PutObject",
        Condition={"Null": {"s3:x-amz-server-side-encryption-customer-algorithm": "true"}})))
    assert error_code(owner.put_object, Bucket=policy_bucket, Key="plain", Body=b"x") == "AccessDenied"
    key = b"k" * 32
    owner.put_object(Bucket=policy_bucket, Key="sse-c", Body=b"x", SSECustomerAlgorithm="AES256",
                     SSECustomerKey=key)
    assert owner.get_object(Bucket=policy_bucket, Key="sse-c", SSECustomerAlgorithm="AES256",
                            SSECustomerKey=key)["Body"].read() == b"x"
