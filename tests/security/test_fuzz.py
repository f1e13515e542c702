"""A request fuzzer against one real cloud (issue 12, attack 6): hypothesis-generated requests to every API.

Swift (valid token; NUL, overlong, non-UTF-8 and ``..`` names, bad ranges and query parameters, odd
methods, huge headers), S3 (valid SigV4 signatures over mutated paths, queries, headers and malformed
XML bodies), identity, volumes, compute and images (valid tokens; every route of each API's own route
table, with mutated ids, queries and JSON bodies). Every request goes over its own connection as raw
bytes, exactly as generated. Asserted: never a 5xx (503 only from the per-process connection cap),
never a hang, never a connection dropped without an answer. All failures of a run are listed together.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.compute.cloud import cloud_token, url
from tests.security.conftest import status_of

CLIENT_TIMEOUT = 15.0
EXAMPLES = int(os.environ.get("STACKSTORE_FUZZ_EXAMPLES", "0")) or None  # per API; defaults below


@dataclass
class RawRequest:
    method: str
    target: str  # path + query, already percent-encoded where it must be
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    body: bytes = b""

    def encode(self, host: str) -> bytes:
        lines = [f"{self.method} {self.target} HTTP/1.1".encode("latin-1"), f"Host: {host}".encode()]
        for name, value in self.headers:
            lines.append(name.encode("latin-1") + b": " + value)
        lines.append(b"Content-Length: %d" % len(self.body))
        lines.append(b"Connection: close")
        return b"\r\n".join(lines) + b"\r\n\r\n" + self.body

    def __repr__(self) -> str:
        heads = {n: (v[:80] + b"..." if len(v) > 80 else v) for n, v in self.headers}
        return f"{self.method} {self.target[:300]!r} headers={heads} body={self.body[:200]!r}"


def exchange(port: int, request: RawRequest, not_implemented_ok: bool = False) -> tuple[int, bytes, str | None]:
    """(status, raw answer, problem): problem names a hang, a drop or a server error. With
    ``not_implemented_ok``, 501 is the API's own answer to a call it does not implement (S3's
    NotImplemented), not a failure."""
    data = request.encode(f"127.0.0.1:{port}")
    out = b""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT) as sock:
            try:
                sock.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass
            deadline = time.monotonic() + CLIENT_TIMEOUT
            while chunk := sock.recv(65536):
                out += chunk
                if time.monotonic() > deadline:
                    return 0, out, "hang: answer not complete in time"
    except TimeoutError:
        return status_of(out), out, f"hang: no complete answer in {CLIENT_TIMEOUT}s"
    except ConnectionResetError:
        pass
    status = status_of(out)
    if not status:
        return 0, out, "connection dropped without an answer"
    if status >= 500 and not (status == 503 and out.endswith(b"\r\n\r\nService Unavailable")) \
            and not (status == 501 and not_implemented_ok and (b"<Code>NotImplemented</Code>" in out
                                                               or request.method == "HEAD")):
        return status, out, f"server error {status}"
    return status, out, None


class Findings:
    """Problems found by one fuzz run, reported together at the end."""

    def __init__(self, not_implemented_ok: bool = False) -> None:
        self.not_implemented_ok = not_implemented_ok
        self.problems: list[str] = []
        self.sent = 0
        self.statuses: dict[int, int] = {}

    def send(self, port: int, request: RawRequest) -> None:
        status, out, problem = exchange(port, request, self.not_implemented_ok)
        self.sent += 1
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if problem:
            self.problems.append(f"{problem}: {request!r} -> {out[:300]!r}")

    def check(self, what: str) -> None:
        print(f"{what}: {self.sent} requests, statuses {sorted(self.statuses.items())}")
        assert not self.problems, f"{len(self.problems)} bad answers:\n" + "\n".join(self.problems[:40])


def run(examples: int, strategy: st.SearchStrategy, send: Callable[[object], None]) -> None:
    """Draw ``examples`` values of ``strategy`` and send each (no shrinking: all findings are kept)."""

    @settings(max_examples=EXAMPLES or examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def each(value: object) -> None:
        send(value)

    each()


# -- shared building blocks ----------------------------------------------------------------------------

NASTY_TEXT = st.sampled_from(["", ".", "..", "../..", "a/../../b", "\x00", "a\x00b", "%00", "%", "%zz", "\u0661\u0662",
                              "\ufeff", "\u202e", "\ud7ff", "a" * 256, "a" * 1025, "b" * 5000, "\\", "?", "#", "\r\n",
                              "\xff", "💥", " ", "//", "~", "*", "$", "'", '"', "<x>", "AUTH_test", "null"])
NAME_TEXT = st.one_of(NASTY_TEXT, st.text(min_size=1, max_size=40),
                      st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=12),
                      st.integers(min_value=200, max_value=3000).map(lambda n: "n" * n))
RAW_NAME = st.one_of(NAME_TEXT.map(lambda s: s.encode("utf-8", "surrogatepass")),
                     st.binary(min_size=1, max_size=24))  # non-UTF-8 too


def quote(raw: bytes, keep_dots: bool) -> str:
    """Percent-encode ``raw`` for a request target (``..`` segments may stay literal)."""
    text = urllib.parse.quote_from_bytes(raw, safe="/" + ("." if keep_dots else ""))
    return text


DIGITS = st.sampled_from(["0", "1", "-1", "10", "99999999999999999999", "abc", "\u0661\u0660", "1e3", " 5", "0x10",
                          "", "1.5", "NaN", "٣", "²", "1²", "\u2460", "\uff11\uff12", "\U0001d7ce"])
RANGES = st.sampled_from(["bytes=²-³", "bytes=0-\u2460", "bytes=-²", "bytes=\uff10-\uff11", "bytes=0-0", "bytes=0-",
                          "bytes=-1", "bytes=5-1", "bytes=-", "bytes=", "bytes=0-1,2-3,4-5",
                          "bytes=" + ",".join(f"{i}-{i}" for i in range(200)), "bytes=\u0661-\u0662", "items=0-1",
                          "bytes=99999999999999999999-", "bytes=-99999999999999999999", "bytes=a-b", "bytes=1-0,,",
                          "bytes=0-1;x"])
HEADER_VALUE = st.one_of(st.sampled_from([b"", b"\xff\xfe", b"x" * 9000, b"1", b"-1", b"\xd9\xa1\xd9\xa2", b"\xc2\xb2",
                                          b"Thu, 01 Jan 1970 00:00:00 GMT", b"garbage date", b"*", b"\"etag\"",
                                          b"/c/o", b"../../x", b"%00"]),
                         st.binary(max_size=40).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
                         DIGITS.map(lambda s: s.encode()))


def query_string(params: list[tuple[str, str]]) -> str:
    return "&".join(f"{urllib.parse.quote(k, safe='')}" + (f"={urllib.parse.quote(v, safe='')}" if v is not None
                                                           else "") for k, v in params)


# -- Swift ---------------------------------------------------------------------------------------------

SWIFT_QUERY_KEYS = ["format", "limit", "marker", "end_marker", "prefix", "delimiter", "path", "reverse",
                    "multipart-manifest", "symlink", "version-id", "versions", "temp_url_sig", "temp_url_expires",
                    "bulk-delete", "extract-archive", "heartbeat", "filename", "inline", "partNumber", "x"]
SWIFT_HEADERS = ["Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "X-Copy-From",
                 "Destination", "X-Object-Manifest", "X-Symlink-Target", "X-Symlink-Target-Account", "X-Delete-At",
                 "X-Delete-After", "X-Object-Meta-Fuzz", "X-Container-Meta-Fuzz", "X-Account-Meta-Fuzz",
                 "Content-Type", "ETag", "X-Timestamp", "X-Versions-Location", "X-History-Location",
                 "X-Container-Read", "X-Container-Write", "X-Account-Meta-Quota-Bytes", "X-Container-Meta-Quota-Count",
                 "X-Static-Large-Object", "X-Fresh-Metadata", "Origin", "Access-Control-Request-Method",
                 "X-Newest", "X-Backend-Storage-Policy-Index", "X-Copy-From-Account", "Destination-Account",
                 "Transfer-Encoding-Fuzz", "X-Container-Sync-Key", "Accept", "X-Remove-Container-Meta-Fuzz"]


@st.composite
def swift_requests(draw: st.DrawFn, token: str, account: str) -> RawRequest:
    method = draw(st.sampled_from(["GET", "HEAD", "PUT", "POST", "DELETE", "COPY", "OPTIONS", "GET", "HEAD", "PUT",
                                   "PATCH", "FOO", "get"]))
    segments = draw(st.lists(st.one_of(st.sampled_from([b"fuzz", b"obj", b"slo", b"dir/sub", b"..", b"."]),
                                       RAW_NAME), max_size=3))
    keep_dots = draw(st.booleans())
    path = f"/v1/{account}" + "".join("/" + quote(s, keep_dots) for s in segments)
    if draw(st.integers(0, 15)) == 0:
        path = draw(st.sampled_from(["/v1", "/v1/", "/v1/AUTH_other/fuzz", "/v1//fuzz", "/info", "/auth/v1.0",
                                     "/crossdomain.xml", "/healthcheck", "/v1/" + account + "%00"]))
    params = draw(st.lists(st.tuples(st.sampled_from(SWIFT_QUERY_KEYS),
                                     st.one_of(DIGITS, NAME_TEXT, st.sampled_from(["json", "xml", "plain", "get",
                                                                                   "put", "delete", "tar",
                                                                                   "tar.gz", "true"]))),
                           max_size=3))
    target = path + ("?" + query_string(params) if params else "")
    headers = [("X-Auth-Token", token.encode())] if draw(st.integers(0, 9)) else []
    for name in draw(st.lists(st.sampled_from(SWIFT_HEADERS), max_size=4, unique=True)):
        value = draw(RANGES).encode() if name == "Range" else draw(HEADER_VALUE)
        headers.append((name, value))
    body = draw(st.one_of(st.just(b""), st.binary(max_size=64), st.sampled_from([
        b'[{"path": "/fuzz/obj", "etag": null, "size_bytes": null}]', b"[", b'[{"path": "../../x"}]', b"{}",
        b'[{"path": "/fuzz/' + b"a" * 2000 + b'"}]', b"/fuzz/obj\n/fuzz/none\n" + b"x" * 2000 + b"\n",
        json.dumps([{"path": "/fuzz/obj", "range": "0--1"}]).encode()])))
    return RawRequest(method, target, headers, body if method in ("PUT", "POST", "DELETE") else b"")


def test_fuzz_swift(cluster, account):
    storage_url, token = account
    account_name = storage_url.rsplit("/", 1)[1]
    with httpx.Client(headers={"X-Auth-Token": token}) as http:
        assert http.put(f"{storage_url}/fuzz").status_code in (201, 202)
        assert http.put(f"{storage_url}/fuzz/obj", content=b"0123456789" * 100).status_code == 201
        assert http.put(f"{storage_url}/fuzz/dir/sub", content=b"x").status_code == 201
    findings = Findings()
    run(1500, swift_requests(token, account_name), lambda r: findings.send(cluster.conf["proxy"]["port"], r))
    findings.check("swift")


# -- S3 ------------------------------------------------------------------------------------------------

S3_SUBRESOURCES = ["acl", "uploads", "uploadId", "partNumber", "versionId", "versions", "list-type", "max-keys",
                   "delete", "tagging", "versioning", "lifecycle", "policy", "cors", "location", "encryption",
                   "prefix", "delimiter", "marker", "continuation-token", "start-after", "encoding-type",
                   "max-uploads", "upload-id-marker", "key-marker", "version-id-marker", "max-parts",
                   "part-number-marker", "fetch-owner", "response-content-type", "response-content-disposition",
                   "object-lock", "website", "logging", "notification", "requestPayment", "attributes",
                   "x-id", "restore", "select", "uploadId"]
S3_HEADERS = ["Range", "x-amz-copy-source", "x-amz-copy-source-range", "x-amz-meta-fuzz", "Content-MD5",
              "x-amz-acl", "x-amz-grant-read", "x-amz-grant-full-control", "x-amz-server-side-encryption",
              "x-amz-server-side-encryption-customer-algorithm", "x-amz-server-side-encryption-customer-key",
              "x-amz-server-side-encryption-customer-key-MD5", "x-amz-checksum-crc32", "x-amz-checksum-sha256",
              "x-amz-sdk-checksum-algorithm", "x-amz-tagging", "x-amz-metadata-directive",
              "x-amz-tagging-directive", "x-amz-storage-class", "x-amz-website-redirect-location",
              "If-Match", "If-None-Match", "If-Modified-Since", "x-amz-copy-source-if-match",
              "x-amz-object-attributes", "x-amz-expected-bucket-owner", "x-amz-bypass-governance-retention",
              "x-amz-mfa", "Content-Type", "Cache-Control", "Expires", "x-amz-decoded-content-length",
              "Content-Encoding", "x-amz-object-lock-mode", "x-amz-object-lock-retain-until-date",
              "x-amz-max-parts", "x-amz-part-number-marker"]
XML_BODIES = [b"<", b"<Delete>", b"<Delete><Object><Key>obj</Key></Object></Delete>",
              b"<Delete>" + b"<Object><Key>k</Key></Object>" * 1200 + b"</Delete>",
              b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaa'><!ENTITY b '&a;&a;&a;&a;'>]><x>&b;</x>",
              b"<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><x>&e;</x>",
              b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part>"
              b"</CompleteMultipartUpload>",
              b"<CompleteMultipartUpload><Part><PartNumber>\xd9\xa1</PartNumber></Part></CompleteMultipartUpload>",
              b"<CompleteMultipartUpload><Part><PartNumber>-1</PartNumber><ETag></ETag></Part>"
              b"</CompleteMultipartUpload>",
              b"<VersioningConfiguration><Status>Bogus</Status></VersioningConfiguration>",
              b"<Tagging><TagSet><Tag><Key></Key><Value>" + b"v" * 1000 + b"</Value></Tag></TagSet></Tagging>",
              b"<AccessControlPolicy><Owner><ID>x</ID></Owner><AccessControlList><Grant><Grantee "
              b"xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance' xsi:type='Bogus'/><Permission>READ"
              b"</Permission></Grant></AccessControlList></AccessControlPolicy>",
              b"<LifecycleConfiguration><Rule><Expiration><Days>-1</Days></Expiration></Rule>"
              b"</LifecycleConfiguration>",
              b"<CORSConfiguration><CORSRule></CORSRule></CORSConfiguration>",
              b"<a>" * 5000 + b"</a>" * 5000, b"\xff\xfe<\x00x\x00>\x00", b"{}", b"<x>\x00</x>"]


@st.composite
def s3_requests(draw: st.DrawFn) -> tuple[str, str, dict[str, str], bytes, bool]:
    """(method, target, headers, body, sign) of one S3 request (signed when ``sign``)."""
    method = draw(st.sampled_from(["GET", "HEAD", "PUT", "POST", "DELETE", "GET", "HEAD", "PUT", "OPTIONS", "PATCH"]))
    bucket = b"fuzzbucket" if draw(st.integers(0, 9)) < 6 else draw(st.one_of(st.sampled_from([
        b"no-such-bucket", b"ab", b"A_B", b"a" * 64, b"fuzz..bucket", b"192.168.0.1"]), RAW_NAME))
    key = draw(st.one_of(st.just(None), st.sampled_from([b"obj", b"obj", b"dir/sub", b"..", b"../x", b"a\x00b",
                                                         b"k" * 1025, b"k" * 5000]), RAW_NAME))
    keep_dots = draw(st.booleans())
    path = "/" + quote(bucket, keep_dots) + ("/" + quote(key, keep_dots) if key is not None else "")
    if draw(st.integers(0, 20)) == 0:
        path = draw(st.sampled_from(["/", "//", "/%00", "/fuzzbucket/%00", "/fuzzbucket//x", "/fuzzbucket/obj%00"]))
    params = draw(st.lists(st.tuples(st.sampled_from(S3_SUBRESOURCES),
                                     st.one_of(st.none(), DIGITS, NAME_TEXT, st.sampled_from(["2", "url", "true",
                                                                                            "junk-upload-id"]))),
                           max_size=3))
    headers: dict[str, str] = {}
    for name in draw(st.lists(st.sampled_from(S3_HEADERS), max_size=4, unique=True)):
        value = draw(st.one_of(RANGES, NAME_TEXT, DIGITS, st.sampled_from(["fuzzbucket/obj", "/fuzzbucket/obj",
                                                                           "fuzzbucket/obj?versionId=x",
                                                                           "%00", "bytes=0-1", "AES256"])))
        value = "".join(ch for ch in value if ch not in "\r\n\x00")
        headers[name] = value.encode("utf-8", "surrogatepass").decode("latin-1")
    body = draw(st.one_of(st.just(b""), st.sampled_from(XML_BODIES), st.binary(max_size=64)))
    if method not in ("PUT", "POST", "DELETE"):
        body = b""
    return method, path + ("?" + query_string(params) if params else ""), headers, body, draw(st.integers(0, 9)) > 0


def sign_s3(base: str, method: str, target: str, headers: dict[str, str], body: bytes) -> list[tuple[str, bytes]]:
    """SigV4 headers over exactly this request (botocore's signer, the test user's keys)."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from tests.s3.conftest import ACCESS_KEY, SECRET

    request = AWSRequest(method=method, url=base + target, headers=dict(headers), data=body)
    S3SigV4Auth(Credentials(ACCESS_KEY, SECRET), "s3", "us-east-1").add_auth(request)
    return [(k, v.encode("latin-1") if isinstance(v, str) else v) for k, v in request.headers.items()]


def test_fuzz_s3(cluster):
    from tests.s3.conftest import make_client

    client = make_client(cluster.proxy_url, when_required=True)
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket="fuzzbucket")
    client.put_object(Bucket="fuzzbucket", Key="obj", Body=b"0123456789" * 100)
    client.put_object(Bucket="fuzzbucket", Key="dir/sub", Body=b"x")
    port = cluster.conf["proxy"]["port"]
    base = f"http://127.0.0.1:{port}"
    findings = Findings(not_implemented_ok=True)

    def send(drawn: tuple[str, str, dict[str, str], bytes, bool]) -> None:
        method, target, headers, body, sign = drawn
        signed = sign_s3(base, method, target, headers, body) if sign else \
            [(k, v.encode("latin-1")) for k, v in headers.items()]
        signed = [(k, v) for k, v in signed if k.lower() not in ("content-length", "host")]
        findings.send(port, RawRequest(method, target, signed, body))

    run(1500, s3_requests(), send)
    findings.check("s3")


# -- JSON APIs: identity, volumes, compute, images -------------------------------------------------------

def api_routes(service: str) -> list[tuple[str, str]]:
    """(method, path template) of every route of the service's own route table."""
    from starlette.routing import Mount, Route

    def walk(routes: list, prefix: str = "") -> list[tuple[str, str]]:
        out = []
        for r in routes:
            if isinstance(r, Mount):
                out += walk(r.routes, prefix + r.path)
            elif isinstance(r, Route):
                out += [(m, prefix + r.path) for m in sorted(r.methods or ["GET"])]
        return out

    if service == "identity":
        from identity.app import MODULES

        return [(m, path) for module in MODULES for path, methods, *_ in module.ROUTES for m in methods.split(",")]
    if service == "volumes":
        from volumes.api.app import _routes

        return walk(_routes())
    if service == "compute":
        from compute_shim.api.app import _routes

        return walk(_routes())
    from images.api.app import ROUTES

    return walk(ROUTES)


FUZZ_IDS = st.one_of(st.sampled_from(["00000000-0000-0000-0000-000000000000", "0" * 32, "x", "..", "%00", "%D9%A1",
                                      "a" * 300, "-1", "default", "null", "None", "%ff%fe", "1e309"]),
                     RAW_NAME.map(lambda b: urllib.parse.quote_from_bytes(b, safe="")))
JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                      st.floats(allow_nan=True, allow_infinity=True), NAME_TEXT, DIGITS)
JSON_VALUES = st.recursive(JSON_LEAF, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                              st.dictionaries(st.one_of(NAME_TEXT, st.sampled_from(
                                                                  ["name", "size", "id", "volume", "server",
                                                                   "image", "auth", "user", "project", "backup",
                                                                   "imageRef", "flavorRef", "metadata", "status",
                                                                   "volume_id", "limit", "marker", "min_disk",
                                                                   "visibility", "tags", "os-extend", "new_size",
                                                                   "identity", "methods", "password", "token",
                                                                   "scope", "domain", "role", "blob", "type",
                                                                   "reboot", "volumeAttachment", "device",
                                                                   "restore", "snapshot", "force"])), inner,
                                                                              max_size=4)), max_leaves=12)
QUERY_KEYS = ["limit", "marker", "sort", "sort_key", "sort_dir", "all_tenants", "name", "status", "changes-since",
              "detail", "offset", "with_count", "visibility", "member_status", "os_hidden", "tag", "size_min",
              "project_id", "user_id", "scope.project.id", "include_subtree", "enabled", "id", "x"]


@st.composite
def api_requests(draw: st.DrawFn, routes: list[tuple[str, str]], known_ids: dict[str, str]) -> RawRequest:
    method, template = draw(st.sampled_from(routes))
    if draw(st.integers(0, 12)) == 0:
        method = draw(st.sampled_from(["PATCH", "PUT", "DELETE", "TRACE", "FOO"]))
    path = template
    while "{" in path:
        start, end = path.index("{"), path.index("}")
        name = path[start + 1:end].split(":")[0]
        known = known_ids.get(name)
        value = known if known and draw(st.integers(0, 3)) else draw(FUZZ_IDS)
        path = path[:start] + value + path[end + 1:]
    params = draw(st.lists(st.tuples(st.sampled_from(QUERY_KEYS), st.one_of(DIGITS, NAME_TEXT)), max_size=3))
    target = path + ("?" + query_string(params) if params else "")
    kind = draw(st.integers(0, 5))
    if kind == 0:
        body = draw(st.sampled_from([b"{", b"\xff\xfe", b"[" * 5000 + b"]" * 5000, b'{"a": 1e99999}', b"null",
                                     b'{"a": "\\ud800"}', b"\x00", b"true"]))
    elif kind == 1:
        body = b""
    else:
        body = json.dumps(draw(JSON_VALUES)).encode()
    content_type = draw(st.sampled_from([b"application/json", b"application/json",
                                         b"application/openstack-images-v2.1-json-patch", b"text/plain",
                                         b"application/octet-stream"]))
    headers = [("Content-Type", content_type)]
    if draw(st.integers(0, 15)):
        headers.append(("X-Auth-Token", known_ids["__token__"].encode()))
    if draw(st.integers(0, 5)) == 0:
        headers.append(("OpenStack-API-Version", draw(st.sampled_from([b"compute 2.999", b"volume 3.0",
                                                                      b"compute latest", b"volume 9.x", b"junk",
                                                                      b"compute \xd9\xa2.\xd9\xa1"]))))
    if draw(st.integers(0, 8)) == 0:
        headers.append(("X-Subject-Token", draw(HEADER_VALUE)))
    if method in ("GET", "HEAD", "DELETE") and draw(st.booleans()):
        body = b""
    return RawRequest(method, target, headers, body)


def _safe(routes: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Routes the fuzzer may call: not the one revoking its own token."""
    return [(m, p) for m, p in routes if not (m == "DELETE" and p.endswith("/auth/tokens"))]


@pytest.mark.parametrize("service", ["identity", "volumes", "compute", "images"])
def test_fuzz_json_api(cluster, service):
    from tests.volumes.conftest import identity_token

    token, project_id = identity_token(cluster, "stackstore")
    known = {"__token__": token, "project_id": project_id, "tenant_id": project_id}
    if service == "volumes":
        resp = httpx.post(f"{url(cluster, 'volumes')}/v3/{project_id}/volumes", headers={"X-Auth-Token": token},
                          json={"volume": {"size": 1, "name": "fuzz"}})
        assert resp.status_code == 202, resp.text
        known["volume_id"] = resp.json()["volume"]["id"]
    elif service == "images":
        resp = httpx.post(f"{url(cluster, 'images')}/v2/images", headers={"X-Auth-Token": cloud_token(
            cluster, "stackstore")}, json={"name": "fuzz", "disk_format": "raw", "container_format": "bare"})
        assert resp.status_code == 201, resp.text
        known["image_id"] = resp.json()["id"]
    port = cluster.conf[service]["port"]
    findings = Findings()
    run(500, api_requests(_safe(api_routes(service)), known), lambda r: findings.send(port, r))
    findings.check(service)
