"""S3 signatures bind the body (issue 12, attack 4), played as an attacker would against a real cloud.

A request is signed with botocore's own SigV4 signer for one body, then replayed within the skew
window with unsigned additions (aws-chunked framing headers, another body, trailers, extra bytes).
Every replay must fail with S3's error code and leave the stored object as it was.
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
import zlib
from urllib.parse import urlsplit

import httpx
import pytest
from botocore.auth import HmacV1QueryAuth, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from proxy.s3 import auth_v4
from tests.s3.conftest import ACCESS_KEY, SECRET, cleanup, make_client

CREDS = Credentials(ACCESS_KEY, SECRET)
REGION = "us-east-1"


@pytest.fixture(scope="module")
def s3_url(cluster) -> str:
    return cluster.proxy_url


@pytest.fixture(scope="module")
def bucket(s3_url):
    client = make_client(s3_url, when_required=True)
    name = f"sec-sign-{os.urandom(4).hex()}"
    client.create_bucket(Bucket=name)
    yield name
    cleanup(client, name)


def _code(resp: httpx.Response) -> str:
    body = resp.content
    start, end = body.find(b"<Code>"), body.find(b"</Code>")
    return body[start + 6:end].decode() if start >= 0 and end > start else ""


def _stored(s3_url: str, bucket: str, key: str) -> bytes | None:
    client = make_client(s3_url)
    try:
        return client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except client.exceptions.NoSuchKey:
        return None


def _sign(method: str, url: str, body: bytes = b"", headers: dict | None = None,
          payload: str | None = None) -> dict[str, str]:
    """Headers botocore's SigV4 signer sends for this request (``payload``: the x-amz-content-sha256 to
    sign instead of the body's sha256, e.g. a STREAMING-* marker)."""
    req = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    signer = S3SigV4Auth(CREDS, "s3", REGION)
    if payload is not None:
        signer.payload = lambda request: payload
    signer.add_auth(req)
    return dict(req.headers.items())


def _put_orig(s3_url: str, bucket: str, key: str) -> dict[str, str]:
    """The victim's PUT of 'orig' (hex payload hash over plain HTTP, as botocore signs it); its headers."""
    url = f"{s3_url}/{bucket}/{key}"
    headers = _sign("PUT", url, b"orig")
    assert headers["X-Amz-Content-SHA256"] == hashlib.sha256(b"orig").hexdigest()
    assert "x-amz-content-sha256" in headers["Authorization"]  # botocore signs it
    resp = httpx.put(url, content=b"orig", headers=headers)
    assert resp.status_code == 200, resp.text
    assert _stored(s3_url, bucket, key) == b"orig"
    return headers


AWS_CHUNKED_EVIL = b"4\r\nEVIL\r\n0\r\n\r\n"


@pytest.mark.parametrize("added", [
    {"x-amz-decoded-content-length": "4"},  # the report's attack: one unsigned header
    {"x-amz-decoded-content-length": "4", "Content-Encoding": "aws-chunked"},
    {"Content-Encoding": "aws-chunked"},
], ids=["decoded-length", "decoded-length+encoding", "encoding"])
def test_attack4_replay_with_unsigned_aws_chunked_headers(s3_url, bucket, added):
    key = "attack4-" + "-".join(sorted(k.lower() for k in added))
    headers = _put_orig(s3_url, bucket, key)
    replay = {**headers, **added}
    resp = httpx.put(f"{s3_url}/{bucket}/{key}", content=AWS_CHUNKED_EVIL, headers=replay)
    assert resp.status_code == 400, resp.text
    assert _code(resp) in ("InvalidRequest", "XAmzContentSHA256Mismatch")
    assert _stored(s3_url, bucket, key) == b"orig"


def test_attack4_over_a_raw_socket(s3_url, bucket):
    """The same replay byte for byte on a socket: nothing a client library normalises."""
    import socket

    key = "attack4-raw"
    headers = _put_orig(s3_url, bucket, key)
    parts = urlsplit(s3_url)
    headers.pop("Content-Length", None)
    lines = [f"PUT /{bucket}/{key} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {len(AWS_CHUNKED_EVIL)}",
             "x-amz-decoded-content-length: 4", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() != "host"]
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + AWS_CHUNKED_EVIL)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    # read as sent (the signed hex sha256 decides), so the hash no longer matches
    assert status == 400 and b"<Code>XAmzContentSHA256Mismatch</Code>" in answer, answer[:500]
    assert _stored(s3_url, bucket, key) == b"orig"


def test_hex_payload_hash_checked_against_the_replayed_body(s3_url, bucket):
    key = "attack4-plain"
    headers = _put_orig(s3_url, bucket, key)
    resp = httpx.put(f"{s3_url}/{bucket}/{key}", content=b"EVIL", headers=headers)
    assert resp.status_code == 400 and _code(resp) == "XAmzContentSHA256Mismatch"
    assert hashlib.sha256(b"EVIL").hexdigest().encode() in resp.content  # S3ComputedContentSHA256
    assert _stored(s3_url, bucket, key) == b"orig"


def _manual_headers(method: str, url: str, payload_hash: str, signed: list[str],
                    extra: dict[str, str] | None = None) -> dict[str, str]:
    """A v4 Authorization signing exactly ``signed`` (botocore always signs x-amz-content-sha256)."""
    parts = urlsplit(url)
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    headers = {"host": parts.netloc, "x-amz-date": amz_date, "x-amz-content-sha256": payload_hash,
               **(extra or {})}
    raw = [(k.encode(), v.encode("latin-1")) for k, v in headers.items()]
    creq = auth_v4.canonical_request(method, parts.path, parts.query, raw, signed, payload_hash)
    scope = f"{amz_date[:8]}/{REGION}/s3/aws4_request"
    key = auth_v4.signing_key(SECRET, amz_date[:8], REGION)
    sig = auth_v4.sign(key, auth_v4.string_to_sign(amz_date, scope, creq))
    headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/{scope}, "
                                f"SignedHeaders={';'.join(signed)}, Signature={sig}")
    del headers["host"]
    return headers


def test_payload_hash_header_must_be_signed(s3_url, bucket):
    key = "unsigned-sha-header"
    _put_orig(s3_url, bucket, key)
    url = f"{s3_url}/{bucket}/{key}"
    headers = _manual_headers("PUT", url, "UNSIGNED-PAYLOAD", ["host", "x-amz-date"])
    resp = httpx.put(url, content=b"EVIL", headers=headers)
    assert resp.status_code == 403 and _code(resp) == "AccessDenied"
    assert b"x-amz-content-sha256" in resp.content
    assert _stored(s3_url, bucket, key) == b"orig"
    # the same request with the header signed goes through (the check is not a blanket refusal)
    headers = _manual_headers("PUT", url, "UNSIGNED-PAYLOAD", ["host", "x-amz-content-sha256", "x-amz-date"])
    assert httpx.put(url, content=b"new", headers=headers).status_code == 200
    assert _stored(s3_url, bucket, key) == b"new"


def test_unknown_payload_mode_is_invalid_argument(s3_url, bucket):
    key = "unknown-mode"
    _put_orig(s3_url, bucket, key)
    url = f"{s3_url}/{bucket}/{key}"
    for mode in ("GARBAGE", "STREAMING-SOMETHING", "²" * 64):
        headers = _manual_headers("PUT", url, mode, ["host", "x-amz-content-sha256", "x-amz-date"])
        resp = httpx.put(url, content=b"EVIL", headers={k: v.encode("latin-1") for k, v in headers.items()})
        assert resp.status_code == 400 and _code(resp) == "InvalidArgument", resp.text
    assert _stored(s3_url, bucket, key) == b"orig"


def _crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def _signed_stream(url: str, data: bytes, mode: str, *, trailer: bytes = b"", trailer_sig: str | None = "good",
                   tamper_trailer: bool = False, after: bytes = b"", decoded: int | None = None,
                   chunk: int = 65536) -> tuple[dict[str, str], bytes]:
    """Headers and aws-chunked body of a signed streaming upload (chunk signatures chained from the seed).

    ``trailer``: trailing header lines (``name:value\\n``); ``trailer_sig``: "good", None (left out) or a
    literal signature; ``tamper_trailer``: change the trailer after signing it; ``after``: bytes after the
    final chunk.
    """
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] + [b""]
    extra = {"Content-Encoding": "aws-chunked",
             "x-amz-decoded-content-length": str(len(data) if decoded is None else decoded)}
    if trailer:
        extra["x-amz-trailer"] = ",".join(line.split(b":")[0].decode() for line in trailer.splitlines())
    headers = _sign("PUT", url, headers=extra, payload=mode)
    seed = headers["Authorization"].rsplit("Signature=", 1)[1]
    amz_date = headers["X-Amz-Date"]
    scope = f"{amz_date[:8]}/{REGION}/s3/aws4_request"
    key = auth_v4.signing_key(SECRET, amz_date[:8], REGION)
    prev, body = seed, bytearray()
    for piece in pieces:
        sig = auth_v4.sign(key, auth_v4.chunk_string_to_sign(amz_date, scope, prev, hashlib.sha256(piece).hexdigest()))
        prev = sig
        body += f"{len(piece):x};chunk-signature={sig}\r\n".encode() + piece + (b"\r\n" if piece else b"")
    if trailer:
        good = auth_v4.sign(key, auth_v4.trailer_string_to_sign(amz_date, scope, prev, trailer))
        sent = trailer.replace(b"\n", b"\r\n")
        if tamper_trailer:
            sent = sent.replace(b"crc32:", b"crc32:A", 1)
        body += sent
        if trailer_sig is not None:
            body += f"x-amz-trailer-signature:{good if trailer_sig == 'good' else trailer_sig}\r\n".encode()
    body += b"\r\n" + after
    return headers, bytes(body)


def test_signed_trailer_signature_is_required(s3_url, bucket):
    key = "signed-trailer"
    _put_orig(s3_url, bucket, key)
    url = f"{s3_url}/{bucket}/{key}"
    data = os.urandom(100_000)
    trailer = f"x-amz-checksum-crc32:{_crc32(data)}\n".encode()
    mode = auth_v4.STREAMING_SIGNED_TRAILER
    for kwargs in ({"trailer_sig": None}, {"trailer_sig": "0" * 64}, {"tamper_trailer": True}):
        headers, body = _signed_stream(url, data, mode, trailer=trailer, **kwargs)
        resp = httpx.put(url, content=body, headers=headers)
        assert resp.status_code == 403 and _code(resp) == "SignatureDoesNotMatch", (kwargs, resp.text)
        assert _stored(s3_url, bucket, key) == b"orig"
    headers, body = _signed_stream(url, data, mode, trailer=trailer)
    resp = httpx.put(url, content=body, headers=headers)
    assert resp.status_code == 200, resp.text
    assert _stored(s3_url, bucket, key) == data


def test_signed_payload_without_trailer_refuses_trailers_and_trailing_bytes(s3_url, bucket):
    key = "signed-no-trailer"
    _put_orig(s3_url, bucket, key)
    url = f"{s3_url}/{bucket}/{key}"
    data = b"signed data"
    mode = auth_v4.STREAMING_SIGNED
    trailer = f"x-amz-checksum-crc32:{_crc32(b'x')}\n".encode()
    for kwargs in ({"trailer": trailer, "trailer_sig": None}, {"after": b"4\r\nEVIL\r\n0\r\n\r\n"}):
        headers, body = _signed_stream(url, data, mode, **kwargs)
        resp = httpx.put(url, content=body, headers=headers)
        assert resp.status_code == 400 and _code(resp) == "InvalidRequest", (kwargs, resp.text)
        assert _stored(s3_url, bucket, key) == b"orig"


@pytest.mark.parametrize("decoded", [5, 11, 12])
def test_decoded_content_length_must_match(s3_url, bucket, decoded):
    key = f"decoded-{decoded}"
    _put_orig(s3_url, bucket, key)
    url = f"{s3_url}/{bucket}/{key}"
    headers, body = _signed_stream(url, b"hello world", auth_v4.STREAMING_SIGNED, decoded=decoded, chunk=4)
    resp = httpx.put(url, content=body, headers=headers)
    if decoded == 11:
        assert resp.status_code == 200, resp.text
        assert _stored(s3_url, bucket, key) == b"hello world"
        return
    assert resp.status_code == 400 and _code(resp) == "IncompleteBody", resp.text
    assert _stored(s3_url, bucket, key) == b"orig"


def test_streaming_signed_chunks_cannot_be_presigned(s3_url, bucket):
    """A presigned URL cannot carry chunk signatures (no seed signature of a header)."""
    key = "presigned-stream"
    _put_orig(s3_url, bucket, key)
    url = make_client(s3_url).generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key})
    body = b"4;chunk-signature=" + b"0" * 64 + b"\r\nEVIL\r\n0;chunk-signature=" + b"0" * 64 + b"\r\n\r\n"
    resp = httpx.put(url, content=body, headers={"x-amz-content-sha256": auth_v4.STREAMING_SIGNED,
                                                 "x-amz-decoded-content-length": "4"})
    assert resp.status_code in (400, 403) and _code(resp) in ("InvalidRequest", "SignatureDoesNotMatch")
    assert _stored(s3_url, bucket, key) == b"orig"


def test_xml_body_replay_is_refused(s3_url, bucket):
    """A signed DeleteObjects replayed with another document: the hex payload hash is checked there too."""
    client = make_client(s3_url)
    client.put_object(Bucket=bucket, Key="xml-keep", Body=b"keep")
    client.put_object(Bucket=bucket, Key="xml-gone", Body=b"gone")
    url = f"{s3_url}/{bucket}?delete"
    doc = b"<Delete><Object><Key>xml-gone</Key></Object></Delete>"
    headers = _sign("POST", url, doc)
    evil = b"<Delete><Object><Key>xml-keep</Key></Object></Delete>"
    resp = httpx.post(url, content=evil, headers=headers)
    assert resp.status_code == 400 and _code(resp) == "XAmzContentSHA256Mismatch", resp.text
    assert _stored(s3_url, bucket, "xml-keep") == b"keep"
    resp = httpx.post(url, content=doc, headers=headers)  # the genuine request still works
    assert resp.status_code == 200 and b"<Deleted><Key>xml-gone</Key>" in resp.content, resp.text
    assert _stored(s3_url, bucket, "xml-gone") is None


def _v2_presigned(s3_url: str, bucket: str, key: str, expires_in: int) -> str:
    req = AWSRequest(method="GET", url=f"{s3_url}/{bucket}/{key}")
    HmacV1QueryAuth(CREDS, expires=expires_in).add_auth(req)
    return req.url


def test_sigv2_presigned_expiry_is_bounded(s3_url, bucket):
    key = "v2-presigned"
    _put_orig(s3_url, bucket, key)
    ok = httpx.get(_v2_presigned(s3_url, bucket, key, 3600))
    assert ok.status_code == 200 and ok.content == b"orig"
    for expires_in, message in ((8 * 86400, b"week"), (-10, b"Request has expired")):
        resp = httpx.get(_v2_presigned(s3_url, bucket, key, expires_in))
        assert resp.status_code == 403 and _code(resp) == "AccessDenied", resp.text
        assert message in resp.content
    for bad in ("²", "١٠"):  # Unicode digits in Expires: AccessDenied, not a 500
        url = _v2_presigned(s3_url, bucket, key, 3600)
        base, _, query = url.partition("?")
        params = dict(p.split("=", 1) for p in query.split("&"))
        params["Expires"] = bad
        resp = httpx.get(base, params=params)
        assert resp.status_code == 403 and _code(resp) == "AccessDenied"


def test_botocore_defaults_still_work(cluster, bucket):
    """boto3's own uploads (hex sha256 over HTTP, CRC32 trailers with STREAMING-UNSIGNED-PAYLOAD-TRAILER
    over HTTPS) are untouched by the stricter rules."""
    data = os.urandom(70_000)
    make_client(cluster.proxy_url).put_object(Bucket=bucket, Key="boto-http", Body=data)
    tls = make_client(cluster.tls_url, verify=cluster.tls_cafile or False)
    seen = []
    tls.meta.events.register("before-send.s3.PutObject", lambda request, **kw: seen.append(request.headers))
    tls.put_object(Bucket=bucket, Key="boto-tls", Body=data)
    mode = seen[0]["X-Amz-Content-SHA256"]
    assert (mode.decode() if isinstance(mode, bytes) else mode) == auth_v4.STREAMING_UNSIGNED_TRAILER
    for key in ("boto-http", "boto-tls"):
        assert _stored(cluster.proxy_url, bucket, key) == data


def test_unsigned_payload_with_aws_chunked_framing_is_decoded(s3_url, bucket):
    """Some SDKs frame an ``UNSIGNED-PAYLOAD`` body as aws-chunked (object-api.md B4): still decoded, since
    nothing there is signed for an unsigned header to switch off; the framing is never stored."""
    key = "unsigned-framed"
    url = f"{s3_url}/{bucket}/{key}"
    body = b"b\r\nhello world\r\n0\r\n\r\n"
    headers = _sign("PUT", url, headers={"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": "11"},
                    payload="UNSIGNED-PAYLOAD")
    resp = httpx.put(url, content=body, headers=headers)
    assert resp.status_code == 200, resp.text
    assert _stored(s3_url, bucket, key) == b"hello world"
