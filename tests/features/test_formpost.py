"""FormPost end to end: browser-like multipart forms (built by httpx) signed with temp URL keys."""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import parse_qs, urlsplit

import pytest

ACCOUNT_KEY = "form-account-key"
CONTAINER_KEY = "form-container-key"


@pytest.fixture(scope="module")
def form_path(http, account):
    """Container ``forms`` with a container key; the account key set too. Returns ``/v1/AUTH_test/forms``."""
    assert http.post("", headers={"X-Account-Meta-Temp-URL-Key": ACCOUNT_KEY}).status_code == 204
    assert http.put("forms", headers={"X-Container-Meta-Temp-URL-Key": CONTAINER_KEY}).status_code in (201, 202)
    return urlsplit(account[0]).path + "/forms"


def sign(path: str, redirect: str, max_size: int, max_count: int, expires: int, key: str,
         digest=hashlib.sha256) -> str:
    body = f"{path}\n{redirect}\n{max_size}\n{max_count}\n{expires}"
    return hmac.new(key.encode(), body.encode(), digest).hexdigest()


def form(path: str, key: str = CONTAINER_KEY, redirect: str = "", max_size: int = 1024, max_count: int = 3,
         expires: int | None = None, digest=hashlib.sha256, **extra: str) -> dict[str, str]:
    expires = int(time.time() + 300) if expires is None else expires
    fields = {"max_file_size": str(max_size), "max_file_count": str(max_count), "expires": str(expires),
              "signature": sign(path, redirect, max_size, max_count, expires, key, digest), **extra}
    if redirect:
        fields["redirect"] = redirect
    return fields


def test_upload_files_with_prefix_and_container_key(anon, http, form_path):
    path = form_path + "/up/"
    files = [("file1", ("a.txt", b"first file", "text/plain")), ("file2", ("b.bin", b"\x00\x01" * 300, None))]
    r = anon.post(path, data=form(path), files=files)
    assert r.status_code == 201 and r.text == "201 Created"
    got = http.get("forms/up/a.txt")
    assert got.content == b"first file" and got.headers["content-type"] == "text/plain"
    assert http.get("forms/up/b.bin").content == b"\x00\x01" * 300


def test_large_file_streams_through(anon, http, form_path):
    path = form_path + "/big/"
    data = bytes(range(256)) * (3 * 4096 + 17)  # ~3 MiB, crosses many network chunks
    r = anon.post(path, data=form(path, max_size=len(data)), files={"f": ("blob", data, "application/x-test")})
    assert r.status_code == 201
    got = http.get("forms/big/blob")
    assert got.headers["etag"].strip('"') == hashlib.md5(data).hexdigest() and got.content == data


def test_redirect_with_status_and_account_key(anon, http, form_path):
    path = form_path + "/r-"
    fields = form(path, key=ACCOUNT_KEY, redirect="https://example.com/done?x=1", digest=hashlib.sha512,
                  x_delete_after="3600", **{"content-type": "text/csv"})
    r = anon.post(path, data=fields, files={"f": ("data.csv", b"a,b\n1,2\n")})
    assert r.status_code == 303
    location = urlsplit(r.headers["location"])
    assert location.netloc == "example.com"
    assert parse_qs(location.query, keep_blank_values=True) == {"x": ["1"], "status": ["201"], "message": [""]}
    obj = http.get("forms/r-data.csv")
    assert obj.content == b"a,b\n1,2\n" and obj.headers["content-type"] == "text/csv"
    assert "x-delete-at" in obj.headers


def test_limits(anon, http, form_path):
    path = form_path + "/lim/"
    r = anon.post(path, data=form(path, max_size=10), files={"f": ("big", b"x" * 11)})
    assert r.status_code == 400 and r.text == "FormPost: max_file_size exceeded"
    assert http.get("forms/lim/big").status_code == 404
    files = [("a", ("1", b"1")), ("b", ("2", b"2"))]
    r = anon.post(path, data=form(path, max_count=1, redirect="http://x/"), files=files)
    assert r.status_code == 303 and r.headers["location"] == "http://x/?status=400&message=max%20file%20count%20exceeded"
    assert http.get("forms/lim/1").content == b"1"
    r = anon.post(path, data=form(path), files={"f": ("", b"")})  # a browser's form with no file chosen
    assert r.status_code == 400 and r.text == "400 Bad Request\r\nFormPost: No Files To Process"


def test_rejected_signatures(anon, http, form_path):
    path = form_path + "/sig/"
    files = {"f": ("nope.txt", b"data")}
    r = anon.post(path, data=form(path, key="wrong"), files=files)
    assert r.status_code == 401 and r.text == "FormPost: Invalid Signature"
    r = anon.post(path, data=form(path, expires=int(time.time()) - 5), files=files)
    assert r.status_code == 401 and r.text == "FormPost: Form Expired"
    # a signature covers its path only: not another container's
    other = form_path.rsplit("/", 1)[0] + "/other/"
    assert anon.post(other, data=form(path), files=files).status_code == 401
    r = anon.post(path, data=form(path, max_size="ten"), files=files)  # type: ignore[arg-type]
    assert r.status_code == 400 and r.text == "FormPost: max_file_size not an integer"
    assert http.get("forms/sig/nope.txt").status_code == 404


def test_bad_boundary_and_plain_posts_pass_through(anon, http, form_path):
    r = anon.post(form_path + "/", content=b"garbage", headers={"Content-Type": "multipart/form-data; boundary=zz"})
    assert r.status_code == 400 and r.text == "FormPost: invalid starting boundary"
    # a POST that is no form is the object API's (anonymous: 401)
    assert anon.post(form_path + "/x", headers={"X-Object-Meta-A": "b"}).status_code == 401
