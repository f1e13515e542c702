"""store.node_request: the node's Request answers header lookups as Starlette's does, by dict."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from store.node_request import NodeHeaders, NodeRequest

RAW = [(b"x-timestamp", b"1795313739.61775"), (b"x-object-meta-a", b"first"), (b"content-length", b"4096"),
       (b"x-object-meta-a", b"second"), (b"etag", b"\xe9t\xe9")]


def _scope() -> dict:
    return {"type": "http", "method": "PUT", "path": "/obj/d/1/a/c/o", "headers": list(RAW)}


def test_lookups_answer_what_starlette_answers() -> None:
    ours, theirs = NodeHeaders(_scope()), Headers(scope=_scope())
    for name in ("x-timestamp", "X-Timestamp", "x-object-meta-a", "ETAG", "content-length", "missing"):
        assert ours.get(name) == theirs.get(name)
        assert (name in ours) == (name in theirs)
        if name in theirs:
            assert ours[name] == theirs[name]
    assert ours.get("missing", "dflt") == "dflt"
    with pytest.raises(KeyError):
        ours["missing"]
    assert 5 not in ours  # not a name
    assert ours.items() == theirs.items() and ours.getlist("x-object-meta-a") == ["first", "second"]
    assert ours == theirs and len(ours) == len(theirs) and dict(ours) == dict(theirs)


def test_the_request_uses_them() -> None:
    request = NodeRequest(_scope())
    assert isinstance(request.headers, NodeHeaders)
    assert request.headers is request.headers  # built once
    assert request.headers["x-object-meta-a"] == "first"
