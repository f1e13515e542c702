"""Bulk delete end to end: swift CLI (uses it above 20 objects) and the raw API with errors."""

from __future__ import annotations

from urllib.parse import quote


def test_cli_delete_uses_bulk(swift, http, container):
    for i in range(30):
        assert http.put(f"{container}/obj {i:02d}", content=b"x").status_code == 201
    out = swift("delete", container).stdout
    assert "obj 00" in out
    assert http.head(container).status_code == 404


def test_bulk_delete_raw(http, container):
    other = container + "-full"
    assert http.put(other).status_code in (201, 202)
    assert http.put(f"{other}/keep", content=b"x").status_code == 201
    for i in range(30):
        assert http.put(f"{container}/o/{i}", content=b"y").status_code == 201
    lines = [quote(f"/{container}/o/{i}") for i in range(30)] + [f"/{container}/missing", f"/{other}"]
    r = http.post("", params={"bulk-delete": ""}, content="\n".join(lines) + "\n",
                  headers={"Content-Type": "text/plain", "Accept": "application/json"})
    assert r.status_code == 200
    body = r.json()
    assert body["Number Deleted"] == 30 and body["Number Not Found"] == 1
    assert body["Errors"] == [[f"/{other}", "409 Conflict"]]
    assert body["Response Status"] == "400 Bad Request"
    assert http.get(container, params={"format": "json"}).json() == []


def test_bulk_delete_with_delete_verb(http, container):
    """``DELETE /v1/AUTH_a?bulk-delete`` works like POST (plain-text result by default)."""
    r = http.request("DELETE", "", params={"bulk-delete": ""}, content=f"/{container}\n",
                     headers={"Accept": "text/plain"})
    assert r.status_code == 200 and "Number Deleted: 1" in r.text and "Response Status: 200 OK" in r.text
    assert http.head(container).status_code == 404


def test_bulk_info(anon):
    info = anon.get("/info").json()
    assert info["bulk_delete"] == {"max_deletes_per_request": 10000, "max_failed_deletes": 1000}
    assert info["slo"]["min_segment_size"] == 1
    assert set(info["tempurl"]["allowed_digests"]) == {"sha1", "sha256", "sha512"}
