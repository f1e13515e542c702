"""The app in-process over a misbehaving backend: unexpected errors become a bare 500 with a trans id."""

from __future__ import annotations

import asyncio

import httpx

from proxy.app import create_app
from proxy.context import ProxyState
from stackstore.config import load_config


class ExplodingClient:
    async def head_account(self, *a, **k):
        raise RuntimeError("boom: secret internals")

    head_container = get_object = head_object = head_account

    async def close(self):
        pass


def _app():
    conf = load_config(environ={})
    conf["cluster"]["hash_path_suffix"] = "test-suffix"
    return create_app(conf, ProxyState(conf=conf, client=ExplodingClient()))


async def _requests():
    app = _app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                 base_url="http://proxy") as client:
        auth = await client.get("/auth/v1.0", headers={"X-Auth-User": "test:tester", "X-Auth-Key": "testing"})
        token = auth.headers["X-Auth-Token"]
        return auth, await client.head("/v1/AUTH_test", headers={"X-Auth-Token": token}), \
            await client.get("/v1/AUTH_test/c/o", headers={"X-Auth-Token": token})


def test_unexpected_error_is_a_bare_500():
    auth, head, get = asyncio.run(_requests())
    assert auth.status_code == 200 and auth.headers["X-Storage-Url"] == "http://proxy/v1/AUTH_test"
    for r in (head, get):
        assert r.status_code == 500
        assert r.headers["X-Trans-Id"].startswith("tx")
        assert "boom" not in r.text and "Traceback" not in r.text
