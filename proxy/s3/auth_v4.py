"""AWS Signature Version 4: canonical requests, header and presigned-query verification.

Canonicalisation follows the S3 rules (object-api.md B2): the URI is decoded once and re-encoded
without removing dot segments or merging slashes; query names/values are decoded, re-encoded and
sorted; signed headers are trimmed, whitespace-collapsed and joined. The region is whatever the
client put in its credential scope.
"""

from __future__ import annotations

import calendar
import datetime
import functools
import hashlib
import hmac
import operator
import re
import time
from collections.abc import Callable, Sequence
from urllib.parse import unquote_to_bytes

from proxy.s3.context import AuthInfo
from proxy.s3.credentials import Credential, CredentialStore
from proxy.s3.errors import S3Error
from stackstore.numbers import parse_int

ALGORITHM = "AWS4-HMAC-SHA256"
UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
MAX_SKEW = 15 * 60
MAX_EXPIRES = 604800
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
STREAMING_MODES = frozenset({STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER})
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_PLAIN_PATH = re.compile(r"/[A-Za-z0-9/._~-]*")  # a raw path that percent-decoding and encoding leave alone


def is_sha256_hex(value: str) -> bool:
    """True for a 64-digit hexadecimal sha256 (ASCII digits only)."""
    return _HEX64.fullmatch(value) is not None


def check_payload_mode(value: str) -> str:
    """The ``x-amz-content-sha256`` value when S3 knows it; InvalidArgument otherwise (as AWS answers).

    The value decides how the body is read: a hex sha256 is verified against the received body,
    ``UNSIGNED-PAYLOAD`` is taken as sent, and only the ``STREAMING-*`` markers mean aws-chunked framing.
    """
    if value == UNSIGNED_PAYLOAD or value in STREAMING_MODES or is_sha256_hex(value):
        return value
    if value.startswith("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"):
        raise S3Error("NotImplemented", "SigV4a streaming payloads are not supported")
    raise S3Error("InvalidArgument", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "
                  "STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, "
                  "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.",
                  ArgumentName="x-amz-content-sha256", ArgumentValue=value)


def uri_encode(data: bytes, keep_slash: bool) -> str:
    """Percent-encode every byte except ``A-Za-z0-9-_.~`` (and ``/`` when ``keep_slash``)."""
    out = []
    for b in data:
        if b in UNRESERVED or (keep_slash and b == 0x2F):
            out.append(chr(b))
        else:
            out.append(f"%{b:02X}")
    return "".join(out)


def canonical_uri(raw_path: str) -> str:
    if _PLAIN_PATH.fullmatch(raw_path):  # nothing to decode or encode: the path is its own canonical form
        return raw_path
    return uri_encode(unquote_to_bytes(raw_path or "/"), keep_slash=True) or "/"


def query_pairs(raw_query: str) -> list[tuple[bytes, bytes]]:
    """Decoded ``(name, value)`` pairs of a raw query string (no value → empty value)."""
    pairs = []
    for part in raw_query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((unquote_to_bytes(name), unquote_to_bytes(value)))
    return pairs


def canonical_query(raw_query: str, exclude: Sequence[str] = ()) -> str:
    if not raw_query:
        return ""
    items = [(uri_encode(n, False), uri_encode(v, False)) for n, v in query_pairs(raw_query)
             if n.decode("utf-8", "replace") not in exclude]
    items.sort()
    return "&".join(f"{n}={v}" for n, v in items)


@functools.lru_cache(maxsize=256)
def _signed_names(signed_raw: str) -> tuple[str, ...]:
    """The SignedHeaders list, lower case (the same few lists come with every request of a client)."""
    return tuple(h.strip().lower() for h in signed_raw.split(";") if h.strip())


def _trim(value: bytes) -> bytes:
    return b" ".join(value.split())


def canonical_headers(raw_headers: Sequence[tuple[bytes, bytes]], signed: Sequence[str],
                      transform: Callable[[bytes], bytes] = lambda v: v) -> bytes:
    """``name:value\\n`` lines for the signed headers (repeated headers joined with ``,``)."""
    wanted = frozenset(signed)
    values: dict[str, list[bytes]] = {}
    for raw_name, value in raw_headers:
        name = raw_name.decode("latin-1").lower()
        if name in wanted:  # only the signed ones are trimmed and transformed
            values.setdefault(name, []).append(transform(_trim(value)))
    lines = []
    for name in signed:
        if name not in values:
            raise S3Error("AccessDenied", f"Header {name} is signed but missing from the request")
        lines.append(name.encode() + b":" + b",".join(values[name]) + b"\n")
    return b"".join(lines)


def canonical_request(method: str, raw_path: str, raw_query: str, raw_headers: Sequence[tuple[bytes, bytes]],
                      signed: Sequence[str], payload_hash: str, exclude_query: Sequence[str] = (),
                      transform: Callable[[bytes], bytes] = lambda v: v) -> bytes:
    return _canonical_request(method, raw_path, raw_query, canonical_headers(raw_headers, signed, transform),
                              signed, payload_hash, exclude_query)


def _canonical_request(method: str, raw_path: str, raw_query: str, header_lines: bytes, signed: Sequence[str],
                       payload_hash: str, exclude_query: Sequence[str]) -> bytes:
    return b"\n".join([
        method.encode(),
        canonical_uri(raw_path).encode(),
        canonical_query(raw_query, exclude_query).encode(),
        header_lines,
        ";".join(signed).encode(),
        payload_hash.encode("latin-1", "replace"),
    ])


@functools.lru_cache(maxsize=256)
def _lines_format(signed: tuple[str, ...]) -> tuple[operator.itemgetter, str]:
    """For one SignedHeaders list: a getter of its values (in order) and the ``name:%s\n`` lines to format
    them into."""
    return operator.itemgetter(*signed), "".join(f"{name.replace('%', '%%')}:%s\n" for name in signed)


# a value that trimming would change: leading or trailing white space (after ``:``, before the line's end), a
# run of it, or white space other than a space (``bytes.split``'s: \t \n \r \x0b \x0c)
_UNTRIMMED = re.compile(r"[\t\r\x0b\x0c]|  |: | \n")


def _single_header_lines(headers: dict[str, str], signed: Sequence[str],
                         transform: Callable[[bytes], bytes]) -> bytes:
    """``canonical_headers`` when no header is repeated (``headers``: ``request_headers``' map): only the
    signed headers are visited. Values that need no trimming (the usual case) are formatted in one C call."""
    if transform is _as_sent and isinstance(signed, tuple) and signed:
        get, lines_format = _lines_format(signed)
        try:
            values = get(headers)
        except KeyError:
            values = None  # a signed header is missing: refused below
        if values is not None:
            text = lines_format % (values if len(signed) > 1 else (values,))
            if text.count("\n") == len(signed) and _UNTRIMMED.search(text) is None:
                return text.encode("latin-1")
    lines = []
    for name in signed:
        value = headers.get(name)
        if value is None:
            raise S3Error("AccessDenied", f"Header {name} is signed but missing from the request")
        lines.append(name.encode() + b":" + transform(_trim(value.encode("latin-1"))) + b"\n")
    return b"".join(lines)


def string_to_sign(amz_date: str, scope: str, creq: bytes) -> str:
    return "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(creq).hexdigest()])


@functools.lru_cache(maxsize=4096)
def signing_key(secret: str, date: str, region: str, service: str = "s3") -> bytes:
    """The SigV4 signing key of a secret for one day, region and service (four HMACs: kept, as a
    credential signs every request of a day with the same key)."""
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


@functools.lru_cache(maxsize=4096)
def _keyed(key: bytes) -> hmac.HMAC:
    """HMAC-SHA256 keyed with a signing key, copied per message (the key's set-up is done once a day)."""
    return hmac.new(key, digestmod=hashlib.sha256)


def sign(key: bytes, text: str) -> str:
    mac = _keyed(key).copy()
    mac.update(text.encode())
    return mac.hexdigest()


@functools.lru_cache(maxsize=64)  # requests of the same second share it; errors are not cached
def parse_amz_date(value: str) -> float:
    """Epoch seconds of ``yyyymmddTHHMMSSZ``; AccessDenied when malformed."""
    try:
        # by hand: time.strptime costs more than the rest of the date checks together
        if len(value) != 16 or value[8] != "T" or value[15] != "Z" or not (value[:8] + value[9:15]).isdigit() \
                or not value.isascii():
            raise ValueError(value)
        when = (int(value[0:4]), int(value[4:6]), int(value[6:8]), int(value[9:11]), int(value[11:13]),
                int(value[13:15]))
        datetime.datetime(*when[:5], min(when[5], 59))  # refuses a month 13, a February 30th...
        if when[5] > 61:  # leap seconds pass, as with strptime's %S
            raise ValueError(value)
        return float(calendar.timegm((*when, 0, 0, 0)))
    except (ValueError, TypeError):
        raise S3Error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header") \
            from None


_USUAL_AUTHORIZATION = re.compile(  # the SDKs' form: the three fields in order, each once
    r"\s*Credential=([^,]*?)\s*,\s*SignedHeaders=([^,]*?)\s*,\s*Signature=([^,]*?)\s*")


def parse_authorization(value: str) -> dict[str, str]:
    """``Credential``, ``SignedHeaders``, ``Signature`` of a v4 Authorization header (commas ± spaces)."""
    usual = _USUAL_AUTHORIZATION.fullmatch(value, len(ALGORITHM))
    if usual is not None:
        return {"Credential": usual[1], "SignedHeaders": usual[2], "Signature": usual[3]}
    rest = value[len(ALGORITHM):].strip()
    fields: dict[str, str] = {}
    for item in rest.split(","):
        name, sep, val = item.strip().partition("=")
        if sep:
            fields[name.strip()] = val.strip()
    if not all(k in fields for k in ("Credential", "SignedHeaders", "Signature")):
        raise S3Error("AuthorizationHeaderMalformed",
                      "The authorization header is malformed; the authorization header requires three "
                      "components: Credential, SignedHeaders, and Signature.")
    return fields


def parse_scope(credential: str, error: str) -> tuple[str, str, str, str, str]:
    """``AK/date/region/service/aws4_request`` → (access_key, date, region, service, scope)."""
    parts = credential.split("/")
    if len(parts) < 5 or parts[-1] != "aws4_request":
        raise S3Error(error, f"Credential should be scoped to a valid region and service: {credential}")
    access_key = "/".join(parts[:-4])
    date, region, service = parts[-4], parts[-3], parts[-2]
    return access_key, date, region, service, "/".join(parts[-4:])


def _as_sent(value: bytes) -> bytes:
    return value


def _latin1_to_utf8(value: bytes) -> bytes:
    return value.decode("latin-1").encode("utf-8")


def request_headers(raw_headers: Sequence[tuple[bytes, bytes]],
                    decoded: Sequence[tuple[str, str]] | None = None) -> tuple[dict[str, str], bool]:
    """Lower-cased names to values, a repeated header's values joined with ``,`` as HTTP reads them (and as
    the canonical request joins them: a doubled ``x-amz-date`` is one invalid date, not whichever came last);
    and whether some header was repeated. ``decoded``: the same head already decoded, names in lower case (as
    ASGI gives them)."""
    pairs = decoded if decoded is not None else \
        [(raw_name.lower().decode("latin-1"), raw_value.decode("latin-1")) for raw_name, raw_value in raw_headers]
    out = dict(pairs)
    if len(out) == len(pairs):
        return out, False
    out = {}
    for name, value in pairs:
        out[name] = f"{out[name]},{value}" if name in out else value
    return out, True


async def verify(method: str, raw_path: str, raw_query: str, raw_headers: Sequence[tuple[bytes, bytes]],
                 query: dict[str, str], store: CredentialStore, now: float | None = None,
                 decoded: Sequence[tuple[str, str]] | None = None) -> AuthInfo:
    """Check a v4 request (Authorization header or presigned query); raise S3Error when it fails.
    ``decoded``: ``raw_headers`` already decoded by the caller (names in lower case), not decoded again."""
    now = time.time() if now is None else now
    headers, repeated = request_headers(raw_headers, decoded)
    presigned = "X-Amz-Algorithm" in query
    if presigned:
        if query.get("X-Amz-Algorithm") != ALGORITHM:
            raise S3Error("AuthorizationQueryParametersError", "X-Amz-Algorithm only supports "
                          f'"{ALGORITHM}"')
        for name in ("X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature",
                     "X-Amz-Expires"):
            if not query.get(name):
                raise S3Error("AuthorizationQueryParametersError",
                              f"Query-string authentication version 4 requires the {name} parameter")
        credential, signed_raw = query["X-Amz-Credential"], query["X-Amz-SignedHeaders"]
        signature, amz_date = query["X-Amz-Signature"], query["X-Amz-Date"]
        payload_hash = headers.get("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
        scope_error = "AuthorizationQueryParametersError"
    else:
        fields = parse_authorization(headers.get("authorization", ""))
        credential, signed_raw, signature = fields["Credential"], fields["SignedHeaders"], fields["Signature"]
        amz_date = headers.get("x-amz-date", "")
        payload_hash = headers.get("x-amz-content-sha256", "")
        if not payload_hash:
            raise S3Error("InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
        scope_error = "AuthorizationHeaderMalformed"
    access_key, date, region, service, scope = parse_scope(credential, scope_error)
    if presigned:
        when = parse_amz_date(amz_date)
        expires = parse_int(query["X-Amz-Expires"])
        if expires is None:
            raise S3Error("AuthorizationQueryParametersError", "X-Amz-Expires should be a number")
        if expires < 0:
            raise S3Error("AuthorizationQueryParametersError", "X-Amz-Expires must be non-negative")
        if expires > MAX_EXPIRES:
            raise S3Error("AuthorizationQueryParametersError",
                          "X-Amz-Expires must be less than a week (in seconds) that is; 604800")
        if now > when + expires:
            raise S3Error("AccessDenied", "Request has expired", Expires=str(int(when + expires)))
        if when - now > MAX_SKEW:
            raise S3Error("RequestTimeTooSkewed", RequestTime=amz_date, ServerTime=_iso(now))
    else:
        if amz_date:
            when = parse_amz_date(amz_date)
        else:
            from proxy.http.conditional import parse_http_date

            parsed = parse_http_date(headers.get("date"))
            if parsed is None:
                raise S3Error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")
            when = parsed
            amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(when))
        if abs(now - when) > MAX_SKEW:
            raise S3Error("RequestTimeTooSkewed", RequestTime=amz_date, ServerTime=_iso(now),
                          MaxAllowedSkewMilliseconds="900000")
    if amz_date[:8] != date:
        raise S3Error(scope_error, f"Invalid credential date. Date is not the same as X-Amz-Date: {date}.")
    cred = await store.lookup(access_key)
    if cred is None:
        raise S3Error("InvalidAccessKeyId", AWSAccessKeyId=access_key)
    signed = _signed_names(signed_raw)
    if "host" not in signed:
        raise S3Error("AccessDenied", "Host header must be signed")
    if not presigned and "x-amz-content-sha256" not in signed:
        # the payload hash decides how the body is read and checked: it must be bound to the signature
        raise S3Error("AccessDenied", "x-amz-content-sha256 must be a signed header")
    key = signing_key(cred.secret, date, region, service)
    exclude = ("X-Amz-Signature",) if presigned else ()
    transform: Callable[[bytes], bytes] = _as_sent
    while True:
        lines = canonical_headers(raw_headers, signed, transform) if repeated else \
            _single_header_lines(headers, signed, transform)
        creq = _canonical_request(method, raw_path, raw_query, lines, signed, payload_hash, exclude)
        sts = string_to_sign(amz_date, scope, creq)
        if hmac.compare_digest(sign(key, sts), signature.lower()):
            check_payload_mode(payload_hash)
            return AuthInfo(cred, 4, payload_hash, key, amz_date, scope, signature.lower(), presigned)
        # signed values beyond ASCII (the names are ASCII) may have been signed as UTF-8: one more try
        if transform is not _as_sent or lines.isascii():
            break
        transform = _latin1_to_utf8
    raise S3Error("SignatureDoesNotMatch", AWSAccessKeyId=access_key, StringToSign=sts,
                  SignatureProvided=signature, CanonicalRequest=creq.decode("utf-8", "replace"))


def _iso(now: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))


def chunk_string_to_sign(amz_date: str, scope: str, previous: str, chunk_sha256: str) -> str:
    """String to sign of one ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` chunk."""
    return "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, previous, EMPTY_SHA256, chunk_sha256])


def trailer_string_to_sign(amz_date: str, scope: str, previous: str, trailer: bytes) -> str:
    return "\n".join(["AWS4-HMAC-SHA256-TRAILER", amz_date, scope, previous,
                      hashlib.sha256(trailer).hexdigest()])


__all__ = ["Credential", "verify", "canonical_request", "chunk_string_to_sign", "signing_key", "sign"]
