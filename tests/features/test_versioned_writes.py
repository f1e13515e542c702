"""Legacy object versioning (``X-Versions-Location`` stack mode, ``X-History-Location`` history mode)
end to end with python-swiftclient, as Swift's ``versioned_writes`` middleware behaves."""

from __future__ import annotations

import json
import uuid
from urllib.parse import quote

import pytest
from swiftclient import client as swift_client
from swiftclient.exceptions import ClientException

DELETE_MARKER = "application/x-deleted;swift_versions_deleted=1"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def connect(cluster):
    """python-swiftclient connections as a TempAuth user."""
    conns: list[swift_client.Connection] = []

    def make(user: str = "test:tester", key: str = "testing") -> swift_client.Connection:
        conn = swift_client.Connection(authurl=f"{cluster.proxy_url}/auth/v1.0", user=user, key=key,
                                       retries=0)
        conns.append(conn)
        return conn

    yield make
    for conn in conns:
        conn.close()


@pytest.fixture(scope="module")
def conn(connect):
    return connect()


def versions_of(conn: swift_client.Connection, archive: str, obj: str) -> list[dict]:
    """The archive's rows for ``obj``, oldest first."""
    prefix = f"{len(obj.encode()):03x}{obj}/"
    return conn.get_container(archive, prefix=prefix)[1]


def make_pair(conn: swift_client.Connection, header: str, location: str | None = None,
              archive_name: str | None = None) -> tuple[str, str]:
    """(versioned container, archive container) with ``header`` naming the archive."""
    archive = archive_name or unique("vw-archive")
    container = unique("vw-objs")
    conn.put_container(archive)
    conn.put_container(container, headers={header: location if location is not None else quote(archive)})
    return container, archive


def test_info_advertises_versioned_writes(anon):
    info = anon.get("/info").json()
    assert info["versioned_writes"] == {"allowed_flags": ["x-versions-location", "x-history-location"]}


def test_stack_mode_overwrite_archives_and_delete_restores(conn):
    container, archive = make_pair(conn, "X-Versions-Location")
    assert conn.head_container(container)["x-versions-location"] == quote(archive)
    obj = "doc.txt"
    conn.put_object(container, obj, b"one", content_type="text/one", headers={"X-Object-Meta-Rev": "1"})
    first_ts = conn.head_object(container, obj)["x-timestamp"]
    assert versions_of(conn, archive, obj) == []
    conn.put_object(container, obj, b"two", content_type="text/two")
    conn.put_object(container, obj, b"three", content_type="text/three")
    rows = versions_of(conn, archive, obj)
    assert [r["content_type"] for r in rows] == ["text/one", "text/two"]
    assert rows[0]["name"] == f"007{obj}/{first_ts}"
    headers, body = conn.get_object(archive, rows[0]["name"])
    assert body == b"one" and headers["x-object-meta-rev"] == "1"
    conn.post_object(container, obj, headers={"X-Object-Meta-Color": "red"})  # POST makes no version
    assert len(versions_of(conn, archive, obj)) == 2

    conn.delete_object(container, obj)
    headers, body = conn.get_object(container, obj)
    assert body == b"two" and headers["content-type"] == "text/two"
    assert [r["content_type"] for r in versions_of(conn, archive, obj)] == ["text/one"]
    conn.delete_object(container, obj)
    headers, body = conn.get_object(container, obj)
    assert body == b"one" and headers["x-object-meta-rev"] == "1" and headers["content-type"] == "text/one"
    assert versions_of(conn, archive, obj) == []
    conn.delete_object(container, obj)
    with pytest.raises(ClientException) as err:
        conn.get_object(container, obj)
    assert err.value.http_status == 404


def test_history_mode_delete_archives_and_marks(conn):
    container, archive = make_pair(conn, "X-History-Location")
    head = conn.head_container(container)
    assert head["x-history-location"] == quote(archive) and "x-versions-location" not in head
    obj = "hist"
    conn.put_object(container, obj, b"v1", content_type="text/v1")
    conn.put_object(container, obj, b"v2", content_type="text/v2")
    conn.delete_object(container, obj)
    with pytest.raises(ClientException) as err:
        conn.get_object(container, obj)
    assert err.value.http_status == 404
    rows = versions_of(conn, archive, obj)
    assert [r["content_type"] for r in rows] == ["text/v1", "text/v2", DELETE_MARKER]
    assert conn.get_object(archive, rows[1]["name"])[1] == b"v2"
    assert rows[2]["bytes"] == 0
    with pytest.raises(ClientException) as err:  # nothing left: 404, and one more marker
        conn.delete_object(container, obj)
    assert err.value.http_status == 404
    assert [r["content_type"] for r in versions_of(conn, archive, obj)][-2:] == [DELETE_MARKER, DELETE_MARKER]


def test_stack_mode_over_a_history_marker(conn):
    """A delete marker on top: the DELETE removes it and restores the version under it (Swift's pop)."""
    container, archive = make_pair(conn, "X-History-Location")
    obj = "flip"
    conn.put_object(container, obj, b"v1")
    conn.put_object(container, obj, b"v2")
    conn.delete_object(container, obj)  # archives v2 and writes a marker
    conn.post_container(container, headers={"X-Versions-Location": quote(archive)})
    conn.delete_object(container, obj)
    assert conn.get_object(container, obj)[1] == b"v2"
    assert [conn.get_object(archive, r["name"])[1] for r in versions_of(conn, archive, obj)] == [b"v1"]


def test_utf8_names(conn):
    archive = unique("vw-\u2603-archive")
    container, _ = make_pair(conn, "X-Versions-Location", location=quote(archive), archive_name=archive)
    obj = "d\u00e9j\u00e0 vu/\u2603.txt"
    conn.put_object(container, obj, b"old")
    conn.put_object(container, obj, b"new")
    rows = versions_of(conn, archive, obj)
    assert len(rows) == 1 and rows[0]["name"].startswith(f"{len(obj.encode()):03x}{obj}/")
    conn.delete_object(container, obj)
    assert conn.get_object(container, obj)[1] == b"old"


def test_utf8_location_sent_raw(cluster, conn):
    """A location header with raw UTF-8 (not percent-encoded) names the same container."""
    import httpx

    url, token = cluster.auth()
    archive, container = unique("vw-\u00fc-archive"), unique("vw-objs")
    conn.put_container(archive)
    raw = [(b"X-Auth-Token", token.encode()), (b"X-Versions-Location", archive.encode())]
    assert httpx.put(f"{url}/{container}", headers=raw).status_code == 201
    conn.put_object(container, "o", b"1")
    conn.put_object(container, "o", b"2")
    assert len(versions_of(conn, archive, "o")) == 1


def test_location_validation_and_removal(conn, http):
    archive, container = unique("vw-archive"), unique("vw-objs")
    conn.put_container(archive)
    both = http.put(container, headers={"X-Versions-Location": archive, "X-History-Location": archive})
    assert both.status_code == 400 and b"Only one of" in both.content
    assert http.put(container, headers={"X-Versions-Location": "a/b"}).status_code == 412
    # an empty history location defers to the versions location
    assert http.put(container, headers={"X-Versions-Location": archive, "X-History-Location": ""}).status_code == 201
    assert http.head(container).headers["X-Versions-Location"] == archive
    # X-Remove-* with a location in the same request: setting wins
    assert http.post(container, headers={"X-History-Location": archive,
                                         "X-Remove-History-Location": "x"}).status_code == 204
    head = http.head(container).headers
    assert head["X-History-Location"] == archive and "X-Versions-Location" not in head
    assert http.post(container, headers={"X-Remove-History-Location": "x"}).status_code == 204
    assert "X-History-Location" not in http.head(container).headers
    conn.put_object(container, "o", b"1")
    conn.put_object(container, "o", b"2")
    assert conn.head_container(archive)["x-container-object-count"] == "0"
    assert http.post(container, headers={"X-Versions-Location": archive}).status_code == 204
    assert http.post(container, headers={"X-Versions-Location": ""}).status_code == 204
    assert "X-Versions-Location" not in http.head(container).headers


def test_missing_archive_refuses_the_overwrite(conn):
    container = unique("vw-objs")
    conn.put_container(container, headers={"X-Versions-Location": unique("vw-missing")})
    conn.put_object(container, "o", b"first")  # nothing to archive yet: written
    with pytest.raises(ClientException) as err:
        conn.put_object(container, "o", b"second")
    assert err.value.http_status == 412
    assert conn.get_object(container, "o")[1] == b"first"


def test_callers_without_write_access_are_refused(conn, connect):
    container, archive = make_pair(conn, "X-Versions-Location")
    conn.put_object(container, "o", b"owner's")
    stranger = connect("test:tester3", "testing3")
    for attempt in (lambda: stranger.put_object(container, "o", b"intruder"),
                    lambda: stranger.delete_object(container, "o"),
                    lambda: stranger.put_object(container, "o", b"", headers={"X-Copy-From": f"{container}/o"})):
        with pytest.raises(ClientException) as err:
            attempt()
        assert err.value.http_status == 403
    assert versions_of(conn, archive, "o") == []
    assert conn.get_object(container, "o")[1] == b"owner's"
    # COPY onto the versioned object: the destination's write access is checked before archiving
    conn.put_container(open_src := unique("vw-src"), headers={"X-Container-Read": "test:tester3"})
    conn.put_object(open_src, "s", b"src")
    with pytest.raises(ClientException) as err:
        stranger.copy_object(open_src, "s", destination=f"/{container}/o")
    assert err.value.http_status == 403
    assert versions_of(conn, archive, "o") == []


def test_acl_writer_gets_versions_kept_in_an_archive_it_cannot_touch(conn, connect):
    """As Swift: write access to the versioned container is what counts; the archive (chosen by
    the container's owner) is written on the owner's behalf and stays closed to the writer."""
    container, archive = make_pair(conn, "X-Versions-Location")
    conn.post_container(container, headers={"X-Container-Write": "test:tester2"})
    writer = connect("test:tester2", "testing2")
    with pytest.raises(ClientException) as err:  # cannot move the archive
        writer.post_container(container, headers={"X-Versions-Location": "elsewhere"})
    assert err.value.http_status == 403
    writer.put_object(container, "o", b"first")
    writer.put_object(container, "o", b"second")
    (row,) = versions_of(conn, archive, "o")
    assert conn.get_object(archive, row["name"])[1] == b"first"
    with pytest.raises(ClientException) as err:
        writer.get_object(archive, row["name"])
    assert err.value.http_status == 403
    with pytest.raises(ClientException) as err:
        writer.put_object(archive, "direct", b"x")
    assert err.value.http_status == 403
    writer.delete_object(container, "o")  # restores "first"
    assert conn.get_object(container, "o")[1] == b"first"
    assert versions_of(conn, archive, "o") == []


def test_symlink_and_slo_manifest_archived_as_stored(conn):
    container, archive = make_pair(conn, "X-Versions-Location")
    conn.put_object(container, "target", b"target data")
    conn.put_object(container, "link", b"", headers={"X-Symlink-Target": f"{container}/target"})
    conn.put_object(container, "link", b"plain now")
    (row,) = versions_of(conn, archive, "link")
    archived = conn.head_object(archive, row["name"], query_string="symlink=get")
    assert archived["x-symlink-target"] == f"{container}/target"
    assert conn.get_object(archive, row["name"])[1] == b"target data"  # still a link
    conn.delete_object(container, "link")
    assert conn.head_object(container, "link", query_string="symlink=get")["x-symlink-target"] == \
        f"{container}/target"

    segments = unique("vw-segs")
    conn.put_container(segments)
    etag_a = conn.put_object(segments, "a", b"a" * 1024)
    etag_b = conn.put_object(segments, "b", b"b" * 2048)
    for seg, etag, size in (("a", etag_a, 1024), ("b", etag_b, 2048)):
        manifest = [{"path": f"/{segments}/{seg}", "etag": etag, "size_bytes": size}]
        conn.put_object(container, "big", json.dumps(manifest), query_string="multipart-manifest=put")
    (row,) = versions_of(conn, archive, "big")
    assert row["bytes"] == 1024  # the large object's size, as its listing row showed it
    assert conn.get_object(archive, row["name"])[1] == b"a" * 1024
    conn.delete_object(container, "big")
    assert conn.get_object(container, "big")[1] == b"a" * 1024
    listing = {r["name"]: r for r in conn.get_container(container)[1]}
    assert listing["big"]["bytes"] == 1024


def test_symlink_with_utf8_target_archived(conn):
    archive = unique("vw-\u2603-archive")
    container = unique("vw-\u00e9-objs")
    conn.put_container(archive)
    conn.put_container(container, headers={"X-Versions-Location": quote(archive)})
    conn.put_object(container, "target", b"target data")
    conn.put_object(container, "link", b"", headers={"X-Symlink-Target": f"{container}/target"})
    conn.put_object(container, "link", b"plain now")
    (row,) = versions_of(conn, archive, "link")
    assert conn.get_object(archive, row["name"])[1] == b"target data"


def test_cross_account_copy_archives_in_the_destination_account(cluster, conn, connect):
    """COPY with Destination-Account onto a versioned object: the destination account's archive
    keeps the object it replaces."""
    import httpx

    other = connect("test2:tester2", "testing2")
    container, archive = make_pair(other, "X-Versions-Location")
    other.put_object(container, "o", b"theirs")
    source = unique("vw-src")
    conn.put_container(source, headers={"X-Container-Read": "test2:tester2"})
    conn.put_object(source, "s", b"copied over")
    owner_url, _ = cluster.auth()
    _, token2 = cluster.auth("test2:tester2", "testing2")
    resp = httpx.request("COPY", f"{owner_url}/{source}/s", headers={
        "X-Auth-Token": token2, "Destination": f"{container}/o", "Destination-Account": "AUTH_test2"})
    assert resp.status_code == 201
    assert other.get_object(container, "o")[1] == b"copied over"
    (row,) = versions_of(other, archive, "o")
    assert other.get_object(archive, row["name"])[1] == b"theirs"


def test_copy_of_a_missing_source_archives_nothing(conn):
    container, archive = make_pair(conn, "X-Versions-Location")
    conn.put_object(container, "o", b"kept")
    with pytest.raises(ClientException) as err:
        conn.put_object(container, "o", b"", headers={"X-Copy-From": f"{container}/missing"})
    assert err.value.http_status == 404
    with pytest.raises(ClientException) as err:
        conn.copy_object(container, "missing", destination=f"/{container}/o")
    assert err.value.http_status == 404
    assert versions_of(conn, archive, "o") == []
    conn.put_object(container, "src", b"copied")
    conn.copy_object(container, "src", destination=f"/{container}/o")
    assert conn.get_object(container, "o")[1] == b"copied"
    (row,) = versions_of(conn, archive, "o")
    assert conn.get_object(archive, row["name"])[1] == b"kept"


def test_a_version_name_too_long_for_the_archive_is_412(conn):
    """The version's name adds 20 characters to the object's: past the name limit the archive PUT is
    refused and the write with it (Swift's 412), never a 500."""
    container, archive = make_pair(conn, "X-Versions-Location")
    obj = "n" * 1020
    conn.put_object(container, obj, b"first")
    with pytest.raises(ClientException) as err:
        conn.put_object(container, obj, b"second")
    assert err.value.http_status == 412
    assert conn.get_object(container, obj)[1] == b"first"


def test_concurrent_puts_and_history_deletes_lose_nothing(connect, conn):
    """PUTs and DELETEs racing on one name of an X-History-Location container: every written body ends
    archived or current (a DELETE removes only the write it archived, never a newer one)."""
    from concurrent.futures import ThreadPoolExecutor

    container, archive = make_pair(conn, "X-History-Location")
    bodies = [f"body {i}.{r}".encode() for i in range(6) for r in range(4)]

    def churn(i: int) -> None:
        c = swift_client.Connection(authurl=conn.authurl, user="test:tester", key="testing", retries=0)
        for r in range(4):
            c.put_object(container, "churn", f"body {i}.{r}".encode())
            try:
                c.delete_object(container, "churn")
            except swift_client.ClientException as err:
                assert err.http_status == 404
        c.close()

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(churn, range(6)))
    kept = [conn.get_object(archive, row["name"])[1] for row in versions_of(conn, archive, "churn")
            if row.get("content_type") != "application/x-deleted;swift_versions_deleted=1"]
    try:
        kept.append(conn.get_object(container, "churn")[1])
    except swift_client.ClientException as err:
        assert err.http_status == 404
    assert set(bodies) <= set(kept), "a body was deleted without being archived"


def test_concurrent_puts_and_copies_archive_every_body(connect, conn):
    """PUTs, COPYs and X-Copy-From PUTs racing onto one name of an X-Versions-Location container: every
    overwritten body is archived (a copy replaces only what it archived, as a PUT)."""
    from concurrent.futures import ThreadPoolExecutor

    container, archive = make_pair(conn, "X-Versions-Location")
    conn.put_object(container, "race", b"first")
    conn.put_object(container, "source", b"copied body")
    writes = list(range(12))

    def write(i: int) -> bytes:
        c = swift_client.Connection(authurl=conn.authurl, user="test:tester", key="testing", retries=0)
        if i % 3 == 0:
            c.copy_object(container, "source", destination=f"/{container}/race")
            body = b"copied body"
        elif i % 3 == 1:
            c.put_object(container, "race", b"", headers={"X-Copy-From": f"/{container}/source"})
            body = b"copied body"
        else:
            body = f"body {i}".encode()
            c.put_object(container, "race", body)
        c.close()
        return body

    with ThreadPoolExecutor(6) as pool:
        bodies = list(pool.map(write, writes))
    archived = [conn.get_object(archive, row["name"])[1] for row in versions_of(conn, archive, "race")]
    current = conn.get_object(container, "race")[1]
    assert sorted(archived + [current]) == sorted(bodies + [b"first"])


def test_concurrent_puts_and_stack_deletes_lose_nothing_else(connect, conn):
    """PUTs and DELETEs racing on one name of an X-Versions-Location container: a successful DELETE pops one
    version (the current one, restoring the one under it) and nothing else goes: a restore never overwrites
    a PUT that landed meanwhile. (A PUT archiving the version a concurrent DELETE pops may keep it: more
    can be kept, never less.)"""
    from concurrent.futures import ThreadPoolExecutor

    container, archive = make_pair(conn, "X-Versions-Location")
    conn.put_object(container, "stack", b"first")

    def churn(i: int) -> int:
        c = swift_client.Connection(authurl=conn.authurl, user="test:tester", key="testing", retries=0)
        popped = 0
        for r in range(3):
            c.put_object(container, "stack", f"body {i}.{r}".encode())
            try:
                c.delete_object(container, "stack")
                popped += 1
            except swift_client.ClientException as err:
                assert err.http_status == 404
        c.close()
        return popped

    with ThreadPoolExecutor(6) as pool:
        popped = sum(pool.map(churn, range(6)))
    kept = [row["name"] for row in versions_of(conn, archive, "stack")]
    try:
        conn.head_object(container, "stack")
        kept.append("current")
    except swift_client.ClientException as err:
        assert err.http_status == 404
    assert len(kept) >= 1 + 18 - popped, "a version went without its DELETE"


def test_concurrent_puts_keep_every_version(connect, conn):
    """Writers racing on one name of an X-Versions-Location container: every overwritten body is archived
    and the last one is current (none is lost between archiving and overwriting)."""
    from concurrent.futures import ThreadPoolExecutor

    container, archive = make_pair(conn, "X-Versions-Location")
    conn.put_object(container, "race", b"first")
    bodies = [f"body {i}".encode() for i in range(12)]

    def put_one(body: bytes) -> None:
        c = swift_client.Connection(authurl=conn.authurl, user="test:tester", key="testing", retries=0)
        c.put_object(container, "race", body)
        c.close()

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(put_one, bodies))
    archived = [conn.get_object(archive, row["name"])[1] for row in versions_of(conn, archive, "race")]
    current = conn.get_object(container, "race")[1]
    assert sorted(archived + [current]) == sorted(bodies + [b"first"])
