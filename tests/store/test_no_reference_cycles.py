"""Object requests to a storage node leave no reference cycles behind (tests/reference_cycles.py)."""

from __future__ import annotations

import hashlib
import hmac

from stackstore import node_signing
from store.server import create_app
from tests import harness
from tests.reference_cycles import asgi, cycles_made_by
from tests.store.conftest import NODE_KEY, SUFFIX, next_ts

BODY = b"c" * 4096


def test_node_requests_make_no_cycles(tmp_path):
    (tmp_path / "devices" / "d1").mkdir(parents=True)
    conf = harness.make_config(tmp_path / "data", cluster={"hash_path_suffix": SUFFIX, "node_key": NODE_KEY})
    key = NODE_KEY.encode()
    app = create_app(conf, tmp_path / "devices")
    part_path = "/obj/d1/7/AUTH_cycles/c"

    def signed(method: str, target: str, **headers: str) -> dict[str, str]:
        headers = {"Host": "localhost", **headers}
        path, _, query = target.partition("?")
        headers[node_signing.SIGNATURE_HEADER] = node_signing.sign(
            key, method, node_signing.request_target(path.encode(), query.encode()), headers)
        return headers

    async def one(i: int) -> None:
        stamp = next_ts()
        obj = f"{part_path}/o{i % 3}"
        put = signed("PUT", obj, **{"X-Timestamp": stamp, "Content-Type": "text/plain",
                                    "Content-Length": str(len(BODY))})
        assert (await asgi(app, "PUT", obj, put, BODY))[0] == 201
        assert (await asgi(app, "GET", obj, signed("GET", obj))) == (200, BODY)
        assert (await asgi(app, "HEAD", obj, signed("HEAD", obj)))[0] == 200
        missing = f"{part_path}/absent"
        assert (await asgi(app, "GET", missing, signed("GET", missing)))[0] == 404
        unsigned = {"Host": "localhost", node_signing.SIGNATURE_HEADER: "1 " + hmac.new(
            b"wrong", b"", hashlib.sha256).hexdigest()}
        assert (await asgi(app, "GET", obj, unsigned))[0] == 401
        assert (await asgi(app, "DELETE", obj, signed("DELETE", obj, **{"X-Timestamp": next_ts()})))[0] == 204

    found = cycles_made_by(one, lambda: app.router.lifespan_context(app))
    assert not found, f"node requests left objects in reference cycles: {found.most_common(12)}"
