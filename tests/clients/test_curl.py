"""curl against the raw Swift API: 100-continue uploads, chunked stdin uploads, ranges, raw paths."""

from __future__ import annotations

import hashlib
import os

import pytest

from tests.conftest import require_tool


@pytest.fixture(scope="module")
def curl(cluster):
    exe = require_tool("curl")
    storage_url, token = cluster.auth()

    def call(*args: str, data: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
        """Run curl; returns (status, lower-cased headers of the final response, body)."""
        import subprocess

        proc = subprocess.run([exe, "-sS", "-D", "-", "-H", f"X-Auth-Token: {token}", *args],
                              input=data, capture_output=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        raw = proc.stdout
        # skip interim 100 Continue blocks
        while raw.startswith(b"HTTP/1.1 100"):
            raw = raw.split(b"\r\n\r\n", 1)[1]
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
        return int(lines[0].split()[1]), headers, body

    call.url = storage_url  # type: ignore[attr-defined]
    return call


def test_upload_with_expect_continue_and_download(curl, tmp_path):
    url = curl.url
    assert curl("-X", "PUT", f"{url}/curl-c")[0] in (201, 202)
    data = os.urandom(3 * 1024 * 1024 + 5)
    src = tmp_path / "f.bin"
    src.write_bytes(data)
    # curl sends Expect: 100-continue for bodies over 1 MiB
    status, headers, _ = curl("-T", str(src), "-H", "Expect: 100-continue", f"{url}/curl-c/f.bin")
    assert status == 201
    assert headers["etag"] == hashlib.md5(data).hexdigest()
    status, headers, body = curl(f"{url}/curl-c/f.bin")
    assert status == 200 and body == data and headers["x-trans-id"].startswith("tx")
    status, headers, body = curl("-H", "Range: bytes=10-19", f"{url}/curl-c/f.bin")
    assert status == 206 and body == data[10:20]
    assert headers["content-range"] == f"bytes 10-19/{len(data)}"


def test_chunked_upload_from_stdin(curl):
    url = curl.url
    curl("-X", "PUT", f"{url}/curl-c")
    data = b"streamed from stdin " * 5000
    status, headers, _ = curl("-T", "-", "-H", "Transfer-Encoding: chunked", f"{url}/curl-c/stdin.txt",
                              data=data)
    assert status == 201 and headers["etag"] == hashlib.md5(data).hexdigest()
    assert curl(f"{url}/curl-c/stdin.txt")[2] == data


def test_raw_path_with_double_slash(curl):
    url = curl.url
    curl("-X", "PUT", f"{url}/curl-c")
    status, _, _ = curl("--path-as-is", "-X", "PUT", "--data-binary", "x", f"{url}/curl-c//tmp/f")
    assert status == 201
    status, _, body = curl(f"{url}/curl-c?format=json&prefix=/")
    assert b'"name": "/tmp/f"' in body or b'"name":"/tmp/f"' in body
    assert curl("--path-as-is", f"{url}/curl-c//tmp/f")[2] == b"x"
    assert curl("--path-as-is", f"{url}/curl-c/tmp/f")[0] == 404


def test_put_without_length_or_chunking_is_411(curl):
    curl("-X", "PUT", f"{curl.url}/curl-c")
    status, _, _ = curl("-X", "PUT", f"{curl.url}/curl-c/nolen")  # curl sends neither header
    assert status == 411
