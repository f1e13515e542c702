"""Versioned buckets with real clients: awscli ``s3api`` and rclone ``--s3-versions`` and ``--s3-version-at``."""

from __future__ import annotations

import json
import math
import os
import time

from tests.conftest import require_tool
from tests.s3.conftest import ACCESS_KEY, SECRET
from tests.s3.test_clients import _aws, _aws_env, _run


def test_awscli_s3api_versions(s3, tmp_path):
    env = _aws_env(tmp_path)
    api = _aws() + ["--endpoint-url", s3.url, "s3api"]
    bucket = "awsv-" + os.urandom(4).hex()
    _run(api + ["create-bucket", "--bucket", bucket], env)
    _run(api + ["put-bucket-versioning", "--bucket", bucket, "--versioning-configuration", "Status=Enabled"], env)
    got = json.loads(_run(api + ["get-bucket-versioning", "--bucket", bucket], env).stdout)
    assert got["Status"] == "Enabled"
    body = tmp_path / "body"
    ids = []
    for text in ("one", "two"):
        body.write_text(text)
        out = json.loads(_run(api + ["put-object", "--bucket", bucket, "--key", "k", "--body", str(body)], env).stdout)
        ids.append(out["VersionId"])
    listed = json.loads(_run(api + ["list-object-versions", "--bucket", bucket], env).stdout)
    assert [v["VersionId"] for v in listed["Versions"]] == list(reversed(ids))
    target = tmp_path / "old"
    _run(api + ["get-object", "--bucket", bucket, "--key", "k", "--version-id", ids[0], str(target)], env)
    assert target.read_text() == "one"
    marker = json.loads(_run(api + ["delete-object", "--bucket", bucket, "--key", "k"], env).stdout)
    assert marker["DeleteMarker"] is True
    for version in [*ids, marker["VersionId"]]:
        _run(api + ["delete-object", "--bucket", bucket, "--key", "k", "--version-id", version], env)
    assert "Versions" not in json.loads(_run(api + ["list-object-versions", "--bucket", bucket], env).stdout)
    _run(api + ["delete-bucket", "--bucket", bucket], env)


def test_rclone_s3_versions(s3, tmp_path):
    rclone = require_tool("rclone")
    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
    env.update(RCLONE_CONFIG_S3T_TYPE="s3", RCLONE_CONFIG_S3T_PROVIDER="Other",
               RCLONE_CONFIG_S3T_ACCESS_KEY_ID=ACCESS_KEY, RCLONE_CONFIG_S3T_SECRET_ACCESS_KEY=SECRET,
               RCLONE_CONFIG_S3T_ENDPOINT=s3.url, RCLONE_CONFIG_S3T_REGION="us-east-1",
               RCLONE_CONFIG=str(tmp_path / "rclone.conf"))
    bucket = "rclv-" + os.urandom(4).hex()
    _run([rclone, "mkdir", f"s3t:{bucket}"], env)
    env_aws = _aws_env(tmp_path)
    _run(_aws() + ["--endpoint-url", s3.url, "s3api", "put-bucket-versioning", "--bucket", bucket,
                   "--versioning-configuration", "Status=Enabled"], env_aws)
    src = tmp_path / "a.txt"
    src.write_text("first")
    _run([rclone, "copyto", str(src), f"s3t:{bucket}/a.txt"], env)
    between = math.ceil(time.time())  # a whole second after the first write, before the second
    time.sleep(max(1.1, between - time.time() + 0.3))  # rclone names versions by their second
    src.write_text("second")
    _run([rclone, "copyto", str(src), f"s3t:{bucket}/a.txt"], env)
    names = _run([rclone, "lsf", "--s3-versions", f"s3t:{bucket}"], env).stdout.split()
    assert "a.txt" in names and len(names) == 2 and any(n.startswith("a-v") for n in names), names
    assert _run([rclone, "cat", f"s3t:{bucket}/a.txt"], env).stdout == "second"
    old = [n for n in names if n.startswith("a-v")][0]  # rclone reads an old version by its versioned name
    assert _run([rclone, "cat", "--s3-versions", f"s3t:{bucket}/{old}"], env).stdout == "first"
    at = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(between))  # the bucket as it was then
    assert _run([rclone, "cat", "--s3-version-at", at, f"s3t:{bucket}/a.txt"], env).stdout == "first"
