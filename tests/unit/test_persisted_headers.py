"""What a node stores of a PUT's headers: exactly the persisted names and prefixes (any case as sent, the last value
of a repeated name), title-cased as Swift stores them."""

from __future__ import annotations

import random

from starlette.requests import Request

from store.node_request import NodeRequest
from store.object_routes import PERSISTED, PERSISTED_PREFIXES, persisted_headers
from store.reqparse import title_case

NAMES = [*PERSISTED, *(p + "color" for p in PERSISTED_PREFIXES), *(p[:-1] for p in PERSISTED_PREFIXES),
         "x-timestamp", "content-length", "etag", "x-object-metadata", "content-type-x", "x-delete-after",
         "x-object-meta-", "X-Object-Meta-Ünïcode", "x-object-sysmeta-s3-etag", "expiresx"]


def _reference(pairs: list[tuple[str, str]]) -> dict[str, str]:
    out = {}
    for key, value in pairs:
        if key in PERSISTED or key.startswith(PERSISTED_PREFIXES):
            out[title_case(key)] = value
    out.setdefault("Content-Type", "application/octet-stream")
    return out


def test_same_headers_as_a_test_per_name():
    rng = random.Random(7)
    for _ in range(300):
        pairs = [(rng.choice(NAMES).lower().encode("latin-1", "replace"), str(rng.random()).encode())
                 for _ in range(rng.randint(0, 12))]
        scope = {"type": "http", "method": "PUT", "path": "/", "headers": pairs, "query_string": b""}
        request = NodeRequest(scope)
        decoded = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in pairs]
        assert request.headers.items() == decoded == Request(scope).headers.items()
        assert persisted_headers(request) == _reference(decoded)
