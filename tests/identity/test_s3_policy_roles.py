"""A bucket policy never lifts Keystone roles: a ``reader``'s EC2 credential still only reads, whatever
the policy of its project's bucket allows."""

from __future__ import annotations

import json
import uuid

from tests.identity.test_s3_roles import admin, demo_project, ec2_user, member, reader_keys  # noqa: F401
from tests.s3.conftest import error_code, make_client


def test_policy_allow_does_not_let_a_reader_write(cluster, member, reader_keys):  # noqa: F811
    bucket = f"polrole-{uuid.uuid4().hex[:8]}"
    member.create_bucket(Bucket=bucket)
    member.put_object(Bucket=bucket, Key="k", Body=b"v")
    member.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:*",
         "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]}]}))
    reader = make_client(cluster.proxy_url, key=reader_keys[0], secret=reader_keys[1])
    assert reader.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    assert error_code(reader.put_object, Bucket=bucket, Key="new", Body=b"x") == "AccessDenied"
    assert error_code(reader.delete_object, Bucket=bucket, Key="k") == "AccessDenied"
    assert error_code(reader.delete_bucket_policy, Bucket=bucket) == "AccessDenied"
    member.delete_bucket_policy(Bucket=bucket)
    member.delete_object(Bucket=bucket, Key="k")
    member.delete_bucket(Bucket=bucket)
