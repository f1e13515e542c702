"""Bounded input, one plain test per limit (issue 12, attack 6): request head limits and timeouts on
every server process, the per-process connection cap, JSON body caps per API, backup restore bounds."""

from __future__ import annotations

import hashlib
import json
import socket
import time
import urllib.parse
import zlib

import httpx
import pytest

from tests.compute.cloud import cloud_token, url
from tests.security.conftest import (
    HEADER_TIMEOUT,
    IMAGES_MAX_CONNECTIONS,
    raw_exchange,
    service_ports,
    status_of,
)

SERVICES = ["proxy", "node", "identity", "volumes", "compute", "images"]


# Swift's server answers a header line or a head too long with 400 (eventlet's "Header Line Too Long",
# "Headers Too Large"), and the proxy answers as Swift does; the other services answer 431.
OVERSIZED_HEAD_STATUS = {"proxy": 400}


@pytest.mark.parametrize("service", SERVICES)
def test_huge_header_is_431(cluster, service):
    port = service_ports(cluster)[service]
    oversized = OVERSIZED_HEAD_STATUS.get(service, 431)
    head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n"
    assert status_of(raw_exchange(port, head)) == oversized
    many = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: 1\r\n" % i for i in range(1000)) + b"\r\n"
    assert status_of(raw_exchange(port, many)) == 431  # Swift's "Too many headers" is 431 too
    # counted as they arrive, not once the head is complete: a head that never ends is refused all the same
    assert status_of(raw_exchange(port, many[:-2])) == 431  # (408 after the head timeout otherwise)
    line = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n"  # one line over 8 KiB
    assert status_of(raw_exchange(port, line)) == oversized
    # a line over 8 KiB, then enough to pass the head's size: the line is what a line-by-line reader meets first
    both = line[:-2] + b"X-Pad: " + b"b" * 70000 + b"\r\n\r\n"
    answer = raw_exchange(port, both)
    assert status_of(answer) == oversized
    if service == "proxy":
        assert answer.endswith(b"Header Line Too Long")


@pytest.mark.parametrize("service", SERVICES)
def test_huge_request_line_is_414(cluster, service):
    port = service_ports(cluster)[service]
    head = b"GET /" + b"a" * (100 << 10) + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    assert status_of(raw_exchange(port, head)) == 414


def test_headers_within_limits_still_work(cluster, account):
    storage_url, token = account
    big = {"X-Auth-Token": token, "X-Object-Meta-Pad": "p" * 4000, **{f"X-Extra-{i}": "v" * 100 for i in range(50)}}
    assert httpx.head(storage_url, headers=big).status_code in (200, 204)


def trickle_head(sock: socket.socket, path: bytes, started: float) -> bytes:
    """Send a request head a byte every half second until the server stops reading (or the header timeout has
    passed by 2 s); everything the server answered meanwhile."""
    out = b""
    try:
        for byte in b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 100:
            sock.sendall(bytes([byte]))
            time.sleep(0.5)
            if time.monotonic() - started > HEADER_TIMEOUT + 2:
                break
        while chunk := sock.recv(4096):
            out += chunk
    except (BrokenPipeError, ConnectionResetError):
        pass
    return out


@pytest.mark.parametrize("service", SERVICES)
def test_slow_loris_is_closed(cluster, service):
    """A head trickling in a byte at a time is cut off at the header timeout, with 408."""
    port = service_ports(cluster)[service]
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=HEADER_TIMEOUT + 5) as sock:
        out = trickle_head(sock, b"/", started)
    assert time.monotonic() - started < HEADER_TIMEOUT + 4
    assert status_of(out) == 408, out


@pytest.mark.parametrize("service", ["proxy", "node"])
def test_slow_second_head_is_closed(cluster, service):
    """On a kept-alive connection, a head that trickles in after a whole request was answered is cut off at
    the header timeout too (the timer starts with a head that does not arrive in one read)."""
    port = service_ports(cluster)[service]
    with socket.create_connection(("127.0.0.1", port), timeout=HEADER_TIMEOUT + 5) as sock:
        sock.sendall(b"GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n")
        first = b""
        while b"\r\n\r\n" not in first:
            first += sock.recv(4096)
        assert 200 <= status_of(first) < 500, first
        started = time.monotonic()
        out = trickle_head(sock, b"/healthcheck", started)
    assert time.monotonic() - started < HEADER_TIMEOUT + 4
    assert b"HTTP/1.1 408" in out, out


def test_silent_connection_is_closed(cluster):
    with socket.create_connection(("127.0.0.1", cluster.conf["proxy"]["port"]), timeout=HEADER_TIMEOUT + 5) as sock:
        started = time.monotonic()
        assert status_of(sock.recv(4096)) == 408
        assert sock.recv(4096) == b""
        assert time.monotonic() - started < HEADER_TIMEOUT + 3


def test_connection_cap_answers_503(cluster):
    port = cluster.conf["images"]["port"]
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(IMAGES_MAX_CONNECTIONS)]
    try:
        time.sleep(0.2)
        out = raw_exchange(port, b"GET /healthcheck HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert status_of(out) == 503
    finally:
        for sock in idle:
            sock.close()
    time.sleep(0.2)
    assert httpx.get(f"{url(cluster, 'images')}/healthcheck").status_code == 200


# -- JSON body caps: 413 in each API's own error shape ----------------------------------------------

TOO_BIG = b'{"x": "' + b"a" * (2 << 20) + b'"}'


def _post(target: str, token: str | None, body: bytes, **headers: str) -> httpx.Response:
    if token:
        headers["X-Auth-Token"] = token
    return httpx.post(target, content=body, headers={"Content-Type": "application/json", **headers}, timeout=30)


def test_identity_json_cap(cluster):
    resp = _post(f"{url(cluster, 'identity')}/v3/auth/tokens", None, TOO_BIG)
    assert resp.status_code == 413
    assert resp.json()["error"]["code"] == 413 and resp.json()["error"]["title"] == "Request Entity Too Large"


def test_volumes_json_cap(cluster):
    from tests.volumes.conftest import VolumesClient

    demo = VolumesClient(cluster, "stackstore")
    resp = demo.post("/volumes", content=TOO_BIG, headers={"Content-Type": "application/json"})
    assert resp.status_code == 413
    assert resp.json()["overLimit"]["code"] == 413


def test_compute_json_cap(cluster):
    resp = _post(f"{url(cluster, 'compute')}/v2.1/servers", cloud_token(cluster, "stackstore"), TOO_BIG)
    assert resp.status_code == 413
    assert resp.json()["overLimit"]["code"] == 413


def test_images_json_cap(cluster):
    resp = _post(f"{url(cluster, 'images')}/v2/images", cloud_token(cluster, "stackstore"), TOO_BIG)
    assert resp.status_code == 413
    assert resp.json()["code"] == 413 and resp.json()["title"] == "Request Entity Too Large"


def test_streamed_oversized_json_is_413(cluster):
    """No Content-Length (chunked): the cap applies while reading."""
    def chunks():
        for _ in range(40):
            yield b"a" * (64 << 10)

    resp = httpx.post(f"{url(cluster, 'compute')}/v2.1/servers", content=chunks(),
                      headers={"X-Auth-Token": cloud_token(cluster, "stackstore"), "Content-Type": "application/json"})
    assert resp.status_code == 413


def test_short_body_does_not_hang_compute(cluster):
    """A body shorter than its Content-Length: answered (408) instead of waiting forever."""
    token = cloud_token(cluster, "stackstore").encode()
    head = (b"POST /v2.1/servers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n"
            b"X-Auth-Token: " + token + b"\r\n\r\n{\"server\":")
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", cluster.conf["compute"]["port"]), timeout=20) as sock:
        sock.sendall(head)
        out = sock.recv(65536)
    assert status_of(out) == 408 and time.monotonic() - started < 15


def test_deeply_nested_json_is_400(cluster):
    nested = b"[" * 100000 + b"]" * 100000
    resp = _post(f"{url(cluster, 'images')}/v2/images", cloud_token(cluster, "stackstore"), nested)
    assert resp.status_code == 400
    resp = _post(f"{url(cluster, 'identity')}/v3/auth/tokens", None, nested)
    assert resp.status_code == 400


# -- backup restore: metadata rewritten by a project member through Swift ----------------------------

def _backup(demo, vol_id: str) -> dict:
    resp = demo.post("/backups", json={"backup": {"volume_id": vol_id, "name": None, "incremental": False}})
    assert resp.status_code == 202, resp.text
    return demo.wait("backup", resp.json()["backup"]["id"], "available", "error", timeout=120)


def _metadata_url(cluster, demo, backup_id: str) -> str:
    storage_url = f"{cluster.proxy_url}/v1/AUTH_{demo.project_id}/volumebackups"
    names = httpx.get(storage_url, params={"format": "json"}, headers={"X-Auth-Token": demo.token}).json()
    (name,) = [o["name"] for o in names if o["name"].endswith(f"az_nova_backup_{backup_id}_metadata")]
    return f"{storage_url}/{name}"


def _restore_refused(cluster, demo, backup_id: str) -> None:
    resp = demo.post(f"/backups/{backup_id}/restore", json={"restore": {"volume_id": None, "name": "r"}})
    assert resp.status_code == 202, resp.text
    new_id = resp.json()["restore"]["volume_id"]
    vol = demo.wait("volume", new_id, "error_restoring", "available", "error", timeout=120)
    assert vol["status"] in ("error_restoring", "error")
    backup = demo.wait("backup", backup_id, "error", "available")
    assert backup["status"] == "error" and "restore refused" in backup["fail_reason"]
    path = cluster.data_dir / "volumes" / f"volume-{new_id}"
    assert path.stat().st_size == 1 << 30  # nothing written past the volume's end


def test_restore_refuses_crafted_metadata(cluster):
    from tests.volumes.conftest import VolumesClient

    demo = VolumesClient(cluster, "stackstore")
    vol = demo.create_volume(1, name="victim")
    with open(cluster.data_dir / "volumes" / f"volume-{vol['id']}", "r+b") as fh:
        fh.write(b"data" * (256 << 10))  # one non-zero chunk
    swift = {"X-Auth-Token": demo.token}

    # 1. a chunk that ends past the end of the volume
    b1 = _backup(demo, vol["id"])
    assert b1["status"] == "available", b1
    meta_url = _metadata_url(cluster, demo, b1["id"])
    meta = httpx.get(meta_url, headers=swift).json()
    entry = next(c for c in meta["chunks"] if c["object"])
    entry["offset"] = (1 << 30) - 4096
    meta["chunks"] = [entry]
    assert httpx.put(meta_url, content=json.dumps(meta), headers=swift).status_code == 201
    _restore_refused(cluster, demo, b1["id"])

    # 2. a decompression bomb: 1 GiB of zeros in ~1 MiB, declared as a 1 MiB chunk
    b2 = _backup(demo, vol["id"])
    meta_url = _metadata_url(cluster, demo, b2["id"])
    meta = httpx.get(meta_url, headers=swift).json()
    inflater = zlib.compressobj(9)
    bomb = b"".join(inflater.compress(bytes(16 << 20)) for _ in range(64)) + inflater.flush()
    bomb_url = meta_url.rsplit("/", 1)[0] + "/bomb"
    assert httpx.put(bomb_url, content=bomb, headers=swift).status_code == 201
    entry = next(c for c in meta["chunks"] if c["object"])
    entry.update(object=bomb_url.split("/volumebackups/", 1)[1], md5=hashlib.md5(bomb).hexdigest(),
                 compression="zlib", length=1 << 20)
    meta["chunks"] = [entry]
    assert httpx.put(meta_url, content=json.dumps(meta), headers=swift).status_code == 201
    _restore_refused(cluster, demo, b2["id"])

    # 3. an unknown compression and overlapping chunks
    b3 = _backup(demo, vol["id"])
    meta_url = _metadata_url(cluster, demo, b3["id"])
    meta = httpx.get(meta_url, headers=swift).json()
    entry = next(c for c in meta["chunks"] if c["object"])
    meta["chunks"] = [dict(entry, compression="lzma-bomb"), dict(entry)]
    assert httpx.put(meta_url, content=json.dumps(meta), headers=swift).status_code == 201
    _restore_refused(cluster, demo, b3["id"])


# -- Unicode digits: malformed numbers (400, a Swift listing limit ignored), never read as numbers nor a 500

ARABIC_ONE, SUPERSCRIPT_TWO = "\u0661", "\u00b2"


def test_unicode_digits_are_400(cluster, account):
    from tests.s3.conftest import make_client
    from tests.volumes.conftest import identity_token

    storage_url, token = account
    assert httpx.put(f"{storage_url}/digits", headers={"X-Auth-Token": token}).status_code in (201, 202)
    for name in ("o1", "o2"):
        assert httpx.put(f"{storage_url}/digits/{name}", content=b"x",
                         headers={"X-Auth-Token": token}).status_code == 201
    for value in (ARABIC_ONE, SUPERSCRIPT_TWO):
        # a Swift listing limit that is not ASCII digits is ignored, as Swift ignores any non-number limit
        # (main's choice, tests/security/test_review_fixes.py): never read as a number, never a 500
        resp = httpx.get(f"{storage_url}/digits", params={"limit": value, "format": "json"},
                         headers={"X-Auth-Token": token})
        assert resp.status_code == 200 and [o["name"] for o in resp.json()] == ["o1", "o2"], resp.text

    s3 = make_client(cluster.proxy_url, when_required=True)
    s3.create_bucket(Bucket="digitsbucket")
    s3.put_object(Bucket="digitsbucket", Key="k", Body=b"x")

    def s3_status(**params: str) -> int:
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        from tests.s3.conftest import ACCESS_KEY, SECRET

        query = "&".join(f"{k}={urllib.parse.quote(v)}" for k, v in params.items())
        request = AWSRequest(method="GET", url=f"{cluster.proxy_url}/digitsbucket/k?{query}" if "partNumber" in params
                             else f"{cluster.proxy_url}/digitsbucket?{query}")
        S3SigV4Auth(Credentials(ACCESS_KEY, SECRET), "s3", "us-east-1").add_auth(request)
        return httpx.get(request.url, headers=dict(request.headers)).status_code

    assert s3_status(**{"max-keys": ARABIC_ONE}) == 400
    assert s3_status(**{"list-type": "2", "max-keys": ARABIC_ONE}) == 400
    assert s3_status(partNumber=SUPERSCRIPT_TWO) in (400, 416)  # not a part number: not a 500

    ks_token, project_id = identity_token(cluster, "stackstore")
    headers = {"X-Auth-Token": ks_token}
    volumes = f"{url(cluster, 'volumes')}/v3/{project_id}/volumes"
    for value in (ARABIC_ONE, SUPERSCRIPT_TWO):
        assert httpx.get(volumes, params={"limit": value}, headers=headers).status_code == 400
        assert httpx.post(volumes, json={"volume": {"size": value}}, headers=headers).status_code == 400
        assert httpx.get(f"{url(cluster, 'compute')}/v2.1/servers", params={"limit": value},
                         headers=headers).status_code == 400
        assert httpx.get(f"{url(cluster, 'compute')}/v2.1/flavors", params={"minRam": value},
                         headers=headers).status_code == 400
        assert httpx.get(f"{url(cluster, 'images')}/v2/images", params={"limit": value},
                         headers=headers).status_code == 400
