"""S3 endpoint fixtures.

By default the S3 tests run against the real cloud (the session ``cluster`` fixture). With
``STACKSTORE_S3_MEMORY=1`` they run against an in-process proxy serving only the S3 API over an
in-memory storage stand-in (``memstore.py``): handy while the storage nodes are not available;
Swift cross-protocol tests are skipped then.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import pytest

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(app, port: int, ssl: tuple[str, str] | None = None):
    import uvicorn

    kwargs = {"ssl_certfile": ssl[0], "ssl_keyfile": ssl[1]} if ssl else {}
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="auto", **kwargs)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("in-memory S3 server did not start")
        time.sleep(0.02)
    return server, thread


def memory_app(conf: dict | None = None):
    """A Starlette app answering every request with ``handle_s3`` over MemoryStorage."""
    from starlette.applications import Starlette
    from starlette.routing import Route

    from proxy.s3.app import handle_s3
    from proxy.swift.context import ProxyState
    from stackstore.config import load_config
    from tests.s3.memstore import MemoryStorage

    config = conf or load_config(environ={})
    state = ProxyState(config, MemoryStorage())  # type: ignore[arg-type]

    async def endpoint(request):
        return await handle_s3(request, state)

    methods = ["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"]
    return Starlette(routes=[Route("/{path:path}", endpoint, methods=methods)])


@pytest.fixture(scope="session")
def s3(request, tmp_path_factory) -> S3Endpoint:
    if os.environ.get("STACKSTORE_S3_MEMORY") == "1":
        from proxy.tls import ensure_self_signed_cert

        app = memory_app()
        port, tls_port = _free_port(), _free_port()
        cert = ensure_self_signed_cert(tmp_path_factory.mktemp("tls"))
        servers = [_serve(app, port), _serve(app, tls_port, cert)]
        yield S3Endpoint(f"http://127.0.0.1:{port}", f"https://127.0.0.1:{tls_port}", cafile=cert[0])
        for server, thread in servers:
            server.should_exit = True
            thread.join(5)
        return
    cluster = request.getfixturevalue("cluster")
    tls_url = getattr(cluster, "tls_url", None)
    cafile = getattr(cluster, "tls_cafile", None)
    server = None
    if not tls_url:  # until the launcher serves [proxy] tls_port: the real proxy app over TLS, in-process
        from proxy.app import create_app
        from proxy.tls import ensure_self_signed_cert

        cert = ensure_self_signed_cert(tmp_path_factory.mktemp("tls"))
        port = _free_port()
        server = _serve(create_app(cluster.conf), port, cert)
        tls_url, cafile = f"https://127.0.0.1:{port}", cert[0]
    yield S3Endpoint(cluster.proxy_url, tls_url, cluster, cafile)
    if server is not None:
        server[0].should_exit = True
        server[1].join(5)


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
    except Exception:  # noqa: BLE001 - best effort cleanup
        pass


