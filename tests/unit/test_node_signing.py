"""Signed storage-node requests: what the signature covers and what a node refuses."""

from __future__ import annotations

import pytest

from stackstore.node_signing import SIGNATURE_HEADER, request_target, sign, verify

KEY = b"k" * 32
NOW = 1_800_000_000.0


def _raw(headers: dict[str, str]) -> list[tuple[str, str]]:
    return [(k.lower(), v) for k, v in headers.items()]


def _signed_request(headers: dict[str, str], method: str = "PUT", target: str = "/obj/d1/5/a/c/o") -> dict[str, str]:
    return {**headers, SIGNATURE_HEADER: sign(KEY, method, target, headers, now=NOW)}


def test_a_signed_request_verifies():
    headers = _signed_request({"X-Timestamp": "1800000000.00000", "Content-Length": "4"})
    assert verify(KEY, "PUT", "/obj/d1/5/a/c/o", _raw(headers), now=NOW + 1) is None


def test_unsigned_other_key_and_altered_requests_are_refused():
    base = {"X-Timestamp": "1800000000.00000", "Content-Length": "4", "X-Object-Meta-A": "1"}
    headers = _signed_request(base)
    assert verify(KEY, "PUT", "/obj/d1/5/a/c/o", _raw(base), now=NOW) == "unsigned request"
    assert verify(b"x" * 32, "PUT", "/obj/d1/5/a/c/o", _raw(headers), now=NOW) == "bad signature"
    for change in ({"X-Timestamp": "9999999999.00000"}, {"Content-Length": "5"}, {"X-Object-Meta-A": "2"},
                   {"X-Backend-Extra": "1"}):
        assert verify(KEY, "PUT", "/obj/d1/5/a/c/o", _raw({**headers, **change}), now=NOW) == "bad signature"
    assert verify(KEY, "DELETE", "/obj/d1/5/a/c/o", _raw(headers), now=NOW) == "bad signature"
    assert verify(KEY, "PUT", "/obj/d1/5/a/c/other", _raw(headers), now=NOW) == "bad signature"


def test_headers_outside_the_signature_may_differ():
    headers = _signed_request({"X-Timestamp": "1"})
    assert verify(KEY, "PUT", "/obj/d1/5/a/c/o", _raw({**headers, "User-Agent": "x"}), now=NOW) is None


def test_stale_and_future_signatures_are_refused():
    headers = _signed_request({"X-Timestamp": "1"})
    assert verify(KEY, "PUT", "/obj/d1/5/a/c/o", _raw(headers), now=NOW + 301) == "stale or future signature"
    assert verify(KEY, "PUT", "/obj/d1/5/a/c/o", _raw(headers), now=NOW - 301) == "stale or future signature"


def test_duplicated_covered_headers_and_malformed_signatures_are_refused():
    headers = _signed_request({"X-Timestamp": "1"})
    raw = _raw(headers) + [("x-timestamp", "2")]
    assert verify(KEY, "PUT", "/obj/d1/5/a/c/o", raw, now=NOW) == "header x-timestamp sent twice"
    for bad in ("", "abc def", "\u0661\u0662 ff", "1800000000.000"):
        raw = [("x-timestamp", "1"), (SIGNATURE_HEADER, bad)]
        assert verify(KEY, "PUT", "/obj/d1/5/a/c/o", raw, now=NOW) is not None


def test_request_target_includes_the_query():
    assert request_target(b"/cont/d1/5/a/c", b"") == "/cont/d1/5/a/c"
    assert request_target(b"/cont/d1/5/a/c", b"prefix=x%20y") == "/cont/d1/5/a/c?prefix=x%20y"
    headers = _signed_request({}, method="GET", target="/cont/d1/5/a/c?prefix=x")
    assert verify(KEY, "GET", "/cont/d1/5/a/c?prefix=y", _raw(headers), now=NOW) == "bad signature"


def _parse_head(raw: bytes) -> tuple[str, str, list[tuple[str, str]]]:
    """A head as the node reads it: names lower-case, names and values decoded as latin-1."""
    lines = raw.split(b"\r\n")
    method, target, _ = lines[0].split(b" ")
    headers = []
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(b":")
            headers.append((name.strip().lower().decode("latin-1"), value.strip().decode("latin-1")))
    return method.decode(), target.decode("latin-1"), headers


def test_the_object_clients_request_heads_verify_as_the_node_reads_them():
    import time

    from objclient.http import _encode_head

    for headers in ({"X-Timestamp": "1", "Content-Length": "3"},
                    {"X-Object-Meta-Name": "caf\u00e9", "X-Object-Meta-Snow": "\u2603"}):  # latin-1, then UTF-8
        raw = _encode_head("PUT", "/obj/d1/5/AUTH_a/c/o%E2%98%83?x=1", "127.0.0.1:1", headers, KEY)
        method, target, parsed = _parse_head(raw)
        assert verify(KEY, method, target, parsed, now=time.time()) is None
        tampered = [(n, "2" if n == "x-timestamp" else v) for n, v in parsed]
        if headers.get("X-Timestamp"):
            assert verify(KEY, method, target, tampered, now=time.time()) == "bad signature"
    unsigned = _encode_head("GET", "/obj/d1/5/a/c/o", "127.0.0.1:1", {})
    assert verify(KEY, *_parse_head(unsigned), now=time.time()) == "unsigned request"


def test_a_header_that_would_split_the_request_head_is_refused():
    """A line break in a name or value, or a colon in a name, would let a caller smuggle headers to the node."""
    from objclient.http import _encode_head

    for bad in ({"X-Object-Meta-A": "x\r\nX-Timestamp: 1"}, {"X-Meta\nB": "v"}, {"X-Meta:C": "v"},
                {"X-Ok": "1", "X-Object-Meta-D": "line\nbreak"}):
        with pytest.raises(ValueError, match="invalid header"):
            _encode_head("PUT", "/obj/d1/5/a/c/o", "127.0.0.1:1", bad, KEY)
    assert _encode_head("PUT", "/p", "h:1", {"X-A": "1", "Content-Length": 2}).endswith(
        b"X-A: 1\r\nContent-Length: 2\r\n\r\n")


def test_covered_headers_are_found_in_any_case():
    twice = [("X-Timestamp", "1"), ("x-timestamp", "2")]
    assert verify(KEY, "PUT", "/p", twice, now=0) == "header x-timestamp sent twice"
