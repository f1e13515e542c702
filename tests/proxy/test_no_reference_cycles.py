"""Swift and S3 requests through the proxy leave no reference cycles behind (tests/reference_cycles.py)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from proxy.app import create_app as create_proxy
from tests.reference_cycles import asgi, cycles_made_by

BODY = b"c" * 4096


def test_proxy_swift_and_s3_requests_make_no_cycles(cluster):
    conf = cluster.conf
    storage_url, token = cluster.auth()
    account = storage_url.split("/v1/", 1)[1]
    run_id = uuid.uuid4().hex[:8]

    bucket = f"/cycles-s3-{run_id}"
    creds = Credentials("test:tester", "testing")

    def s3(method: str, target: str, **extra: str) -> dict[str, str]:
        request = AWSRequest(method=method, url="http://localhost" + target,
                             headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD", **extra})
        SigV4Auth(creds, "s3", "us-east-1").add_auth(request)
        return dict(request.headers.items())

    app_box: list[Any] = []

    @contextlib.asynccontextmanager
    async def running() -> AsyncIterator[None]:
        """The proxy app started (its account's container and bucket made), stopped at the end."""
        app = create_proxy(conf)
        await app.startup()
        try:
            auth = {"X-Auth-Token": token}
            assert (await asgi(app, "PUT", f"/v1/{account}/cycles-{run_id}", auth))[0] in (201, 202)
            assert (await asgi(app, "PUT", bucket, s3("PUT", bucket)))[0] == 200
            app_box.append(app)
            yield
        finally:
            await app.shutdown()

    async def one(i: int) -> None:
        app = app_box[0]
        auth = {"X-Auth-Token": token}
        obj = f"/v1/{account}/cycles-{run_id}/o{i % 3}"
        assert (await asgi(app, "PUT", obj, auth, BODY))[0] == 201
        assert (await asgi(app, "GET", obj, auth)) == (200, BODY)
        assert (await asgi(app, "HEAD", obj, auth))[0] == 200
        assert (await asgi(app, "GET", f"/v1/{account}/cycles-{run_id}?format=json", auth))[0] == 200
        assert (await asgi(app, "GET", f"/v1/{account}/cycles-{run_id}/missing", auth))[0] == 404
        assert (await asgi(app, "GET", obj, {"X-Auth-Token": "AUTH_tkbad"}))[0] == 401
        assert (await asgi(app, "DELETE", obj, auth))[0] == 204
        key = f"{bucket}/k{i % 3}"
        assert (await asgi(app, "PUT", key, s3("PUT", key, **{"Content-Length": str(len(BODY))}), BODY))[0] == 200
        assert (await asgi(app, "GET", key, s3("GET", key))) == (200, BODY)
        assert (await asgi(app, "HEAD", key, s3("HEAD", key)))[0] == 200
        assert (await asgi(app, "GET", f"{bucket}?list-type=2", s3("GET", f"{bucket}?list-type=2")))[0] == 200
        assert (await asgi(app, "GET", f"{bucket}/absent", s3("GET", f"{bucket}/absent")))[0] == 404
        forged = {**s3("GET", key), "x-amz-date": "20200101T000000Z"}
        assert (await asgi(app, "GET", key, forged))[0] == 403
        assert (await asgi(app, "DELETE", key, s3("DELETE", key)))[0] == 204

    found = cycles_made_by(one, running)
    assert not found, f"requests left objects in reference cycles: {found.most_common(12)}"
