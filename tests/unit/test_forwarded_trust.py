"""Whose X-Forwarded-For a service believes (``forwarded_allow_ips``, stackstore/http_limits.py): nobody's by
default, the ``[http]`` value for every service, a service's own section over it; and uvicorn, given the
options, adds or leaves out the middleware that rewrites the client address."""

from __future__ import annotations

import uvicorn
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from stackstore.config import DEFAULTS
from stackstore.http_limits import uvicorn_options


async def _app(scope, receive, send) -> None:  # pragma: no cover - never called
    pass


def _wraps_proxy_headers(options: dict) -> bool:
    config = uvicorn.Config(_app, lifespan="off", **options)
    config.load()
    app = config.loaded_app
    while app is not None:
        if isinstance(app, ProxyHeadersMiddleware):
            return True
        app = getattr(app, "app", None)
    return False


def test_nobody_is_trusted_by_default():
    assert DEFAULTS["http"]["forwarded_allow_ips"] == ""
    options = uvicorn_options({"http": dict(DEFAULTS["http"])}, "proxy")
    assert options["proxy_headers"] is False
    assert not _wraps_proxy_headers(options)


def test_http_value_applies_to_every_service_and_a_section_overrides_it():
    conf = {"http": {"forwarded_allow_ips": "10.0.0.5, 10.0.0.6"}, "identity": {"forwarded_allow_ips": ""}}
    proxy = uvicorn_options(conf, "proxy")
    assert proxy["proxy_headers"] is True and proxy["forwarded_allow_ips"] == "10.0.0.5, 10.0.0.6"
    assert _wraps_proxy_headers(proxy)
    assert uvicorn_options(conf, "identity")["proxy_headers"] is False
    assert uvicorn_options({"proxy": {"forwarded_allow_ips": "*"}}, "proxy")["forwarded_allow_ips"] == "*"
