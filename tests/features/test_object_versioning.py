"""New-style object versioning (``X-Versions-Enabled``) end to end with python-swiftclient, as Swift
2.38's ``object_versioning`` middleware behaves (engine: proxy/versioning/)."""

from __future__ import annotations

import uuid

import pytest
from swiftclient import client as swift_client
from swiftclient.exceptions import ClientException

DELETE_MARKER = "application/x-deleted;swift_versions_deleted=1"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def conn(swift_conn):
    return swift_conn


@pytest.fixture()
def versioned(conn) -> str:
    name = unique("ov")
    conn.put_container(name, headers={"X-Versions-Enabled": "true"})
    return name


def versions(conn, container: str, **params) -> list[dict]:
    return conn.get_container(container, query_string="versions", **params)[1]


def put(conn, container: str, obj: str, body: bytes, ctype: str = "text/plain") -> str:
    out: dict = {}
    conn.put_object(container, obj, body, content_type=ctype, response_dict=out)
    return out["headers"]["x-object-version-id"]


def test_info_advertises_object_versioning(anon):
    assert "object_versioning" in anon.get("/info").json()


def test_enable_shows_header_and_hides_versions_container(conn, versioned):
    assert conn.head_container(versioned)["x-versions-enabled"] == "True"
    conn.post_container(versioned, {"X-Versions-Enabled": "false"})
    assert conn.head_container(versioned)["x-versions-enabled"] == "False"
    names = [c["name"] for c in conn.get_account(full_listing=True)[1]]
    assert versioned in names
    assert not any(n.startswith("\x00") for n in names)


def test_overwrite_keeps_versions_and_reads_by_id(conn, versioned):
    v1 = put(conn, versioned, "o", b"one")
    v2 = put(conn, versioned, "o", b"two")
    assert v1 < v2
    headers, body = conn.get_object(versioned, "o")
    assert body == b"two" and headers["x-object-version-id"] == v2
    headers, body = conn.get_object(versioned, "o", query_string=f"version-id={v1}")
    assert body == b"one" and headers["x-object-version-id"] == v1
    rows = versions(conn, versioned)
    assert [(r["name"], r["version_id"], r["is_latest"]) for r in rows] == [("o", v2, True), ("o", v1, False)]
    assert conn.get_container(versioned)[1][0]["name"] == "o"  # the normal listing: latest only
    assert len(conn.get_container(versioned)[1]) == 1


def test_delete_writes_marker_and_version_delete_removes(conn, versioned):
    v1 = put(conn, versioned, "d", b"one")
    out: dict = {}
    conn.delete_object(versioned, "d", response_dict=out)
    marker = out["headers"]["x-object-version-id"]
    with pytest.raises(ClientException) as err:
        conn.get_object(versioned, "d")
    assert err.value.http_status == 404
    rows = versions(conn, versioned)
    assert [(r["version_id"], r["content_type"], r["is_latest"]) for r in rows] == [
        (marker, DELETE_MARKER, True), (v1, "text/plain", False)]
    with pytest.raises(ClientException) as err:
        conn.get_object(versioned, "d", query_string=f"version-id={marker}")
    assert err.value.http_status == 404
    conn.delete_object(versioned, "d", query_string=f"version-id={marker}")
    conn.delete_object(versioned, "d", query_string=f"version-id={v1}")
    assert versions(conn, versioned) == []
    conn.post_container(versioned, {"X-Versions-Enabled": "false"})
    conn.delete_container(versioned)


def test_paging_and_restore_by_copy(conn, versioned):
    ids = [put(conn, versioned, "p", f"v{i}".encode()) for i in range(5)]
    page1 = conn.get_container(versioned, limit=2, query_string="versions")[1]
    page2 = conn.get_container(versioned, limit=2, marker="p",
                               query_string=f"versions&version_marker={page1[-1]['version_id']}")[1]
    assert [r["version_id"] for r in page1 + page2] == list(reversed(ids))[:4]
    # restore the oldest by copying it over the latest: a new version with the old data
    conn.copy_object(versioned, "p", f"/{versioned}/p", response_dict=(out := {}))
    assert conn.get_object(versioned, "p")[1] == b"v4"
    conn.put_object(versioned, "p", None, headers={"X-Copy-From": f"/{versioned}/p"}, response_dict=out)
    headers, body = conn.get_object(versioned, "p", query_string=f"version-id={ids[0]}")
    assert body == b"v0"
    assert len(versions(conn, versioned)) == 7


def test_bad_version_ids(conn, versioned):
    put(conn, versioned, "b", b"x")
    for bad in ("bad", "1"):
        with pytest.raises(ClientException) as err:
            conn.get_object(versioned, "b", query_string=f"version-id={bad}")
        assert err.value.http_status == 400
    with pytest.raises(ClientException) as err:
        conn.put_object(versioned, "b", b"", query_string="version-id=null")
    assert err.value.http_status == 400


def test_concurrent_puts_and_deletes_keep_every_version(cluster, versioned):
    """PUTs and DELETEs racing on one name of an X-Versions-Enabled container: every acknowledged write is
    still a version with its own body (a DELETE removes only the version it archived, never a newer one)."""
    from concurrent.futures import ThreadPoolExecutor

    def churn(i: int) -> list[tuple[str, bytes]]:
        c = swift_client.Connection(authurl=f"{cluster.proxy_url}/auth/v1.0", user="test:tester", key="testing",
                                    retries=0)
        written = []
        for round_ in range(4):
            body = f"body {i}.{round_}".encode()
            out: dict = {}
            c.put_object(versioned, "churn", body, response_dict=out)
            written.append((out["headers"]["x-object-version-id"], body))
            try:
                c.delete_object(versioned, "churn")
            except swift_client.ClientException as err:
                assert err.http_status == 404  # another writer's delete came first: a marker all the same
        c.close()
        return written

    with ThreadPoolExecutor(6) as pool:
        written = [w for ws in pool.map(churn, range(6)) for w in ws]
    c = swift_client.Connection(authurl=f"{cluster.proxy_url}/auth/v1.0", user="test:tester", key="testing",
                                retries=0)
    listed = {row["version_id"] for row in c.get_container(versioned, query_string="versions&prefix=churn")[1]}
    assert {vid for vid, _ in written} <= listed, "a version was deleted without being kept"
    for vid, body in written:
        assert c.get_object(versioned, "churn", query_string=f"version-id={vid}")[1] == body
    # a metadata POST does not make the current version undeletable
    c.put_object(versioned, "posted", b"x")
    c.post_object(versioned, "posted", {"X-Object-Meta-Colour": "blue"})
    c.delete_object(versioned, "posted")
    try:
        c.head_object(versioned, "posted")
    except swift_client.ClientException as err:
        assert err.http_status == 404
    else:
        raise AssertionError("the POSTed object was not deleted")
    c.close()


def test_concurrent_puts_and_copies_keep_every_version(cluster, versioned):
    """PUTs and COPYs (and PUTs with X-Copy-From) racing onto one versioned name: every acknowledged write
    is a version (a copy replaces only the version it archived, as a PUT)."""
    from concurrent.futures import ThreadPoolExecutor

    setup = swift_client.Connection(authurl=f"{cluster.proxy_url}/auth/v1.0", user="test:tester", key="testing",
                                    retries=0)
    setup.put_object(versioned, "source", b"copied body")

    def write(i: int) -> tuple[str, bytes]:
        c = swift_client.Connection(authurl=f"{cluster.proxy_url}/auth/v1.0", user="test:tester", key="testing",
                                    retries=0)
        out: dict = {}
        if i % 3 == 0:
            c.copy_object(versioned, "source", destination=f"/{versioned}/mixed", response_dict=out)
            body = b"copied body"
        elif i % 3 == 1:
            c.put_object(versioned, "mixed", b"", headers={"X-Copy-From": f"/{versioned}/source"},
                         response_dict=out)
            body = b"copied body"
        else:
            body = f"body {i}".encode()
            c.put_object(versioned, "mixed", body, response_dict=out)
        c.close()
        return out["headers"]["x-object-version-id"], body

    with ThreadPoolExecutor(6) as pool:
        written = list(pool.map(write, range(18)))
    listed = {row["version_id"] for row in setup.get_container(versioned, query_string="versions&prefix=mixed")[1]}
    assert {vid for vid, _ in written} <= listed and len(listed) == 18, "a write was replaced without being kept"
    for vid, body in written:
        assert setup.get_object(versioned, "mixed", query_string=f"version-id={vid}")[1] == body
    setup.close()


def test_concurrent_puts_keep_every_version(cluster, versioned):
    """Writers racing on one name of an X-Versions-Enabled container: every acknowledged write is a version,
    each readable by its id with its own body."""
    from concurrent.futures import ThreadPoolExecutor

    def put_one(i: int) -> tuple[str, bytes]:
        body = f"body {i}".encode()
        c = swift_client.Connection(authurl=f"{cluster.proxy_url}/auth/v1.0", user="test:tester", key="testing",
                                    retries=0)
        out: dict = {}
        c.put_object(versioned, "race", body, response_dict=out)
        c.close()
        return out["headers"]["x-object-version-id"], body

    with ThreadPoolExecutor(8) as pool:
        written = list(pool.map(put_one, range(16)))
    c = swift_client.Connection(authurl=f"{cluster.proxy_url}/auth/v1.0", user="test:tester", key="testing",
                                retries=0)
    listed = {row["version_id"] for row in c.get_container(versioned, query_string="versions")[1]}
    assert {vid for vid, _ in written} <= listed and len(listed) == 16
    for vid, body in written:
        assert c.get_object(versioned, "race", query_string=f"version-id={vid}")[1] == body
    c.close()


def test_expiry_ends_the_current_version_not_its_data(conn, versioned):
    """X-Delete-At on a versioned name expires the name (HEAD/GET 404, as Swift's link expiring), never the
    version's data: it stays readable by id with its metadata (a POST's too) and is listed once among the
    versions; a later write and the expirer keep it likewise (docs/versioning.md "Expiry")."""
    import time

    # X-Delete-After: 3, not 1: the proxy stores int(now + seconds), and a node refuses an X-Delete-At that
    # has passed when the write reaches it; one second left a loaded CI machine too little time (a 503)
    out: dict = {}
    conn.put_object(versioned, "a", b"aaaaa", content_type="text/blah", response_dict=out,
                    headers={"X-Delete-After": "3", "X-Object-Meta-Color": "blue"})
    v_a = out["headers"]["x-object-version-id"]
    v_b = put(conn, versioned, "b", b"bbbbb")
    conn.post_object(versioned, "b", {"X-Object-Meta-Color": "red", "X-Delete-After": "3"})
    time.sleep(3.2)  # every X-Delete-At set above (at most the POST's answer time + 3 s) has passed
    for name in ("a", "b"):
        with pytest.raises(ClientException) as err:
            conn.head_object(versioned, name)
        assert err.value.http_status == 404
    headers, body = conn.get_object(versioned, "a", query_string=f"version-id={v_a}")
    assert body == b"aaaaa" and headers["x-object-meta-color"] == "blue" and headers["content-type"] == "text/blah"
    assert "x-delete-at" not in headers
    headers, body = conn.get_object(versioned, "b", query_string=f"version-id={v_b}")
    assert body == b"bbbbb" and headers["x-object-meta-color"] == "red"
    listed = versions(conn, versioned)
    assert sorted((r["name"], r["version_id"]) for r in listed) == [("a", v_a), ("b", v_b)]
    assert not any(r["is_latest"] for r in listed)
    assert conn.get_container(versioned)[1] == []
    conn.put_object(versioned, "c", b"ccccc", headers={"X-Delete-After": "3"}, response_dict=out)
    v_c = out["headers"]["x-object-version-id"]
    time.sleep(3.2)
    v_c2 = put(conn, versioned, "c", b"new c")  # a write over the expired current keeps it as a version
    assert conn.get_object(versioned, "c", query_string=f"version-id={v_c}")[1] == b"ccccc"
    assert conn.get_object(versioned, "c")[1] == b"new c"
    assert [r["version_id"] for r in versions(conn, versioned, prefix="c")] == [v_c2, v_c]


def test_delete_after_a_post_keeps_the_posted_version(conn, versioned):
    """A DELETE of a current version whose metadata a POST changed archives it with that metadata and
    removes it (its tombstone goes after the POST's timestamp, not only the data's)."""
    v1 = put(conn, versioned, "p", b"data")
    conn.post_object(versioned, "p", {"X-Object-Meta-Color": "green"})
    conn.delete_object(versioned, "p")
    with pytest.raises(ClientException) as err:
        conn.head_object(versioned, "p")
    assert err.value.http_status == 404
    assert conn.get_container(versioned)[1] == []  # the POST moved the listing row: the delete is newer
    headers, body = conn.get_object(versioned, "p", query_string=f"version-id={v1}")
    assert body == b"data" and headers["x-object-meta-color"] == "green"


def test_listing_shows_version_links_as_swift(conn, http):
    """Swift keeps a current version with an id as a symlink to the versions container, and its JSON
    listing row says so (``version_symlink``, ``symlink_path`` ``/v1/<acct>/<cont>/<name>?version-id=``:
    test_slo_manifest_version). A ``null`` version is a plain object there: no such keys. XML and plain
    listings and ``?versions`` rows carry none of them; bytes and hash are the version's own."""
    container = unique("ovl")
    conn.put_container(container)
    conn.put_object(container, "plain", b"null version")  # written before versioning: the null version
    conn.post_container(container, {"X-Versions-Enabled": "true"})
    name = "dir/v é"
    put(conn, container, name, b"one")
    v2 = put(conn, container, name, b"two")
    link_target = unique("target")
    conn.put_object(container, link_target, b"x")
    out: dict = {}
    conn.put_object(container, "link", b"", headers={"X-Symlink-Target": f"{container}/{link_target}"},
                    response_dict=out)
    link_id = out["headers"]["x-object-version-id"]
    rows = {row["name"]: row for row in conn.get_container(container)[1]}
    account = conn.url.rsplit("/", 1)[1]
    assert rows[name]["version_symlink"] is True
    assert rows[name]["symlink_path"] == (f"/v1/{account}/{container}/dir/v%20%C3%A9?version-id={v2}")
    assert (rows[name]["bytes"], rows[name]["hash"]) == (3, "b8a9f715dbb64fd5c56e7783c6820a61")  # md5("two")
    assert "symlink_path" not in rows["plain"] and "version_symlink" not in rows["plain"]
    # a current version that is itself a symlink lists as its version link, as Swift (no symlink_etag/bytes)
    assert rows["link"]["version_symlink"] is True
    assert rows["link"]["symlink_path"] == f"/v1/{account}/{container}/link?version-id={link_id}"
    xml = http.get(container, params={"format": "xml"}).text
    assert "symlink_path" not in xml and "version_symlink" not in xml and "<bytes>3</bytes>" in xml
    assert http.get(container).text.splitlines() == sorted(["plain", name, link_target, "link"])
    assert not any("symlink_path" in row or "version_symlink" in row for row in versions(conn, container))
    # suspended: a new write is a null version, a plain object again
    conn.post_container(container, {"X-Versions-Enabled": "false"})
    conn.put_object(container, name, b"three")
    row = next(r for r in conn.get_container(container)[1] if r["name"] == name)
    assert "symlink_path" not in row and "version_symlink" not in row


def test_version_marker_null_lists_the_marker_names_current_version_as_swift(conn, versioned):
    """``?versions&marker=X&version_marker=null`` starts just before X's versions with ids. Swift 2.38 lists
    X's current version there with ``is_latest: false`` (its current-objects listing starts after X; its own
    test_list_marker_and_version_marker_is_null pins it, launchpad bug 2147042), and so does StackStore's Swift
    API; S3's ListObjectVersions keeps IsLatest true (tests/s3/test_versioning.py)."""
    put(conn, versioned, "a", b"a1")
    b1 = put(conn, versioned, "b", b"b1")
    b2 = put(conn, versioned, "b", b"b2")
    c1 = put(conn, versioned, "c", b"c1")
    rows = versions(conn, versioned, marker="b", version_marker="null")
    assert [(r["name"], r["version_id"], r["is_latest"]) for r in rows] == [
        ("b", b2, False), ("b", b1, False), ("c", c1, True)]
    rows = versions(conn, versioned, marker="b", version_marker=b2)  # after a version id: as before
    assert [(r["name"], r["version_id"], r["is_latest"]) for r in rows] == [("b", b1, False), ("c", c1, True)]
    rows = versions(conn, versioned, marker="a")
    assert [(r["name"], r["version_id"], r["is_latest"]) for r in rows][:2] == [("b", b2, True), ("b", b1, False)]
