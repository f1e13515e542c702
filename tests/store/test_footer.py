"""PUT with a metadata footer (stackstore/footer.py): sysmeta sent after the body, stored with it."""

from __future__ import annotations

import hashlib
import uuid

from stackstore.footer import FOOTER_HEADER, FOOTER_LENGTH, encode_footer
from tests.store.conftest import next_ts


def _put(client, path: str, body: bytes, footer: bytes, declared: int | None = None):
    return client.put(path, content=body + footer, headers={
        "X-Timestamp": next_ts(), "Content-Type": "text/plain", FOOTER_HEADER: str(FOOTER_LENGTH),
        "Content-Length": str(declared if declared is not None else len(body) + len(footer))})


def test_footer_sysmeta_is_stored_with_the_body(client):
    path = f"/obj/d1/1/AUTH_{uuid.uuid4().hex[:8]}/c/footed"
    body = b"x" * 100_000
    r = _put(client, path, body, encode_footer({"X-Object-Sysmeta-S3-Checksum-Crc32": "abc="}))
    assert r.status_code == 201 and r.headers["etag"] == hashlib.md5(body).hexdigest()
    got = client.get(path)
    assert got.content == body and got.headers["x-object-sysmeta-s3-checksum-crc32"] == "abc="
    assert got.headers["content-length"] == str(len(body))


def test_bad_footers_are_refused_and_nothing_is_stored(client):
    path = f"/obj/d1/1/AUTH_{uuid.uuid4().hex[:8]}/c/bad"
    user_meta = b'{"X-Object-Meta-Color":"red"}'.ljust(FOOTER_LENGTH, b" ")
    assert _put(client, path, b"body", user_meta).status_code == 400  # only sysmeta may come late
    assert _put(client, path, b"body", b"not json".ljust(FOOTER_LENGTH, b" ")).status_code == 400
    wrong_size = client.put(path, content=b"body", headers={"X-Timestamp": next_ts(), FOOTER_HEADER: "16"})
    assert wrong_size.status_code == 400
    assert client.get(path).status_code == 404
