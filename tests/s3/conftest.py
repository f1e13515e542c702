"""S3 endpoint fixtures: the real cloud (session ``cluster`` fixture) over HTTP and HTTPS."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

ACCESS_KEY, SECRET = "test:tester", "testing"


@dataclass
class S3Endpoint:
    url: str
    tls_url: str | None = None
    cluster: Any = None  # tests.cluster.Cluster when running against the real cloud
    cafile: str | None = None

    @property
    def swift(self) -> bool:
        return self.cluster is not None


@pytest.fixture(scope="session")
def s3(request, tmp_path_factory) -> S3Endpoint:
    cluster = request.getfixturevalue("cluster")
    yield S3Endpoint(cluster.proxy_url, cluster.tls_url, cluster, cluster.tls_cafile)


LIFECYCLE_DAY = 2.0  # seconds in a lifecycle "day" on lifecycle_cluster


@pytest.fixture(scope="module")
def lifecycle_cluster(tmp_path_factory):
    """An object-store-only cloud of the module's own whose lifecycle "day" lasts ``LIFECYCLE_DAY`` seconds
    and whose lifecycle task runs every second."""
    from tests.harness import Cluster

    cluster = Cluster.object_store_only(tmp_path_factory.mktemp("lifecycle"),
                                        lifecycle={"day_seconds": LIFECYCLE_DAY, "interval": 1.0}).start()
    yield cluster
    cluster.stop()


def make_client(url: str, *, when_required: bool = False, verify: Any = None, addressing: str = "path",
                signature_version: str = "s3v4", key: str = ACCESS_KEY, secret: str = SECRET,
                region: str = "us-east-1"):
    import boto3
    from botocore.config import Config

    extra = {}
    if when_required:
        extra = {"request_checksum_calculation": "when_required", "response_checksum_validation": "when_required"}
    cfg = Config(signature_version=signature_version, s3={"addressing_style": addressing},
                 retries={"max_attempts": 1}, **extra)
    return boto3.client("s3", endpoint_url=url, aws_access_key_id=key, aws_secret_access_key=secret,
                        region_name=region, config=cfg, verify=verify)


@pytest.fixture(params=["default", "when_required"])
def s3c(request, s3):
    """A boto3 client (path style, us-east-1) with both checksum settings."""
    return make_client(s3.url, when_required=request.param == "when_required")


@pytest.fixture
def bucket(s3, request):
    """A fresh bucket, emptied and removed afterwards."""
    client = make_client(s3.url, when_required=True)
    name = f"t{os.urandom(5).hex()}-{request.node.name[:20].lower().replace('_', '-').strip('-')}"
    name = "".join(ch for ch in name if ch.isalnum() or ch == "-")[:60].rstrip("-")
    client.create_bucket(Bucket=name)
    yield name
    cleanup(client, name)


def cleanup(client, name: str) -> None:
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=name, Delete={"Objects": keys, "Quiet": True})
        for up in client.list_multipart_uploads(Bucket=name).get("Uploads", []):
            client.abort_multipart_upload(Bucket=name, Key=up["Key"], UploadId=up["UploadId"])
        client.delete_bucket(Bucket=name)
    except Exception:  # best effort cleanup
        pass


def error_code(call, *args, **kwargs) -> str:
    """The S3 error code ``call`` fails with ("" when it succeeds)."""
    try:
        call(*args, **kwargs)
    except ClientError as err:
        return err.response["Error"]["Code"]
    return ""


def wait_until(check: Callable[[], bool], timeout: float) -> bool:
    """Poll ``check`` every half second until it holds or ``timeout`` seconds pass; its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return check()
