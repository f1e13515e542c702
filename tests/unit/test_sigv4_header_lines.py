"""SigV4's canonical header lines: the one-call formatting of untrimmed-free values gives exactly what the
per-header trimming (``canonical_headers``, the specification's algorithm) gives, for any value."""

from __future__ import annotations

import random

import pytest

from proxy.s3 import auth_v4
from proxy.s3.errors import S3Error

# characters a header value may carry as ASGI hands it over (latin-1 text), weighted to the ones trimming treats
ALPHABET = "ab Z0:;%,=\t\r\x0b\x0c\x85\xa0é/" + "  "


def _reference(headers: dict[str, str], signed: tuple[str, ...]) -> bytes:
    raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
    return auth_v4.canonical_headers(raw, signed)


@pytest.mark.parametrize("seed", range(20))
def test_same_lines_as_the_specifications_trimming(seed):
    rng = random.Random(seed)
    for _ in range(500):
        names = rng.sample(["host", "x-amz-date", "x-amz-content-sha256", "x-a%b", "content-md5", "range"],
                           rng.randint(1, 6))
        headers = {name: "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 8))) for name in names}
        signed = tuple(sorted(names))
        assert auth_v4._single_header_lines(headers, signed, auth_v4._as_sent) == _reference(headers, signed)


def test_a_missing_signed_header_is_refused():
    with pytest.raises(S3Error) as err:
        auth_v4._single_header_lines({"host": "h"}, ("host", "x-amz-date"), auth_v4._as_sent)
    assert err.value.code == "AccessDenied"
