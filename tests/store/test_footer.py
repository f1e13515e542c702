"""PUT with a metadata footer (stackstore/footer.py): sysmeta sent after the body, stored with it."""

from __future__ import annotations

import hashlib
import os
import uuid

import pytest
import xxhash

from stackstore import wire
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


def _put_digested(client, path: str, body: bytes, footer: dict[str, str], with_footer: bool = True):
    headers = {"X-Timestamp": next_ts(), "Content-Type": "text/plain", wire.BODY_DIGESTS: wire.BODY_DIGESTS_IN_FOOTER}
    if not with_footer:
        return client.put(path, content=body, headers=headers)
    return client.put(path, content=body + encode_footer(footer),
                      headers={**headers, FOOTER_HEADER: str(FOOTER_LENGTH)})


@pytest.mark.parametrize("size", [1000, 3_000_000])  # written at commit / in batches as it arrives
def test_body_digests_in_the_footer_check_the_body_end_to_end(client, size):
    """The sender's MD5 becomes the ETag once the node's own xxh3 of what arrived matches the sender's;
    a body that differs is refused (500: the proxy's side failed) and nothing is stored."""
    path = f"/obj/d1/1/AUTH_{uuid.uuid4().hex[:8]}/c/digested"
    body = os.urandom(size)
    good = {wire.BODY_MD5: hashlib.md5(body).hexdigest(), wire.BODY_XXH3: xxhash.xxh3_64(body).hexdigest(),
            "X-Object-Sysmeta-Kept": "yes"}
    damaged = b"!" + body[1:]
    assert _put_digested(client, path, damaged, good).status_code == 500
    assert client.get(path).status_code == 404
    r = _put_digested(client, path, body, good)
    assert r.status_code == 201 and r.headers["etag"] == hashlib.md5(body).hexdigest()
    got = client.get(path)
    assert got.content == body and got.headers["etag"] == hashlib.md5(body).hexdigest()
    assert got.headers["x-object-sysmeta-kept"] == "yes"
    assert "x-backend-body-md5" not in got.headers and "x-backend-body-xxh3" not in got.headers


def test_body_digests_need_a_well_formed_footer(client):
    path = f"/obj/d1/1/AUTH_{uuid.uuid4().hex[:8]}/c/digested-bad"
    body = b"body"
    assert _put_digested(client, path, body, {}, with_footer=False).status_code == 400
    assert _put_digested(client, path, body, {}).status_code == 400  # digests missing
    assert _put_digested(client, path, body, {wire.BODY_MD5: "x" * 32,
                                              wire.BODY_XXH3: xxhash.xxh3_64(body).hexdigest()}).status_code == 400
    assert client.get(path).status_code == 404
