"""proxy.http.request.IndexedHeaders answers lookups exactly as Starlette's Headers does."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from proxy.http.request import IndexedHeaders, ProxyRequest

RAW = [(b"host", b"h"), (b"x-object-meta-color", b"red"), (b"x-object-meta-color", b"blue"),
       (b"content-length", b"4"), (b"x-empty", b""), (b"x-latin", "caf\xe9".encode("latin-1"))]


@pytest.mark.parametrize("name", ["host", "HOST", "X-Object-Meta-Color", "content-length", "x-empty", "x-latin",
                                  "missing", "X-Missing", ""])
def test_lookups_match_starlette(name):
    plain, indexed = Headers(scope={"headers": list(RAW)}), IndexedHeaders(scope={"headers": list(RAW)})
    assert (name in indexed) == (name in plain)
    assert indexed.get(name) == plain.get(name)
    assert indexed.get(name, "dflt") == plain.get(name, "dflt")
    if name in plain:
        assert indexed[name] == plain[name]
    else:
        with pytest.raises(KeyError):
            indexed[name]


def test_everything_else_is_starlettes():
    plain, indexed = Headers(scope={"headers": list(RAW)}), IndexedHeaders(scope={"headers": list(RAW)})
    assert indexed.items() == plain.items() and indexed.raw == plain.raw
    assert indexed.keys() == plain.keys() and indexed.values() == plain.values() and list(indexed) == list(plain)
    assert indexed.getlist("x-object-meta-color") == ["red", "blue"] and len(indexed) == len(plain)
    assert dict(indexed) == dict(plain) and indexed == plain


def test_proxy_request_has_indexed_headers_once():
    request = ProxyRequest({"type": "http", "method": "GET", "path": "/", "headers": list(RAW)})
    assert isinstance(request.headers, IndexedHeaders) and request.headers is request.headers
    assert request.headers["X-Object-Meta-Color"] == "red"
