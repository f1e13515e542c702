"""Container and account servers: records, metadata, row updates and Swift listing semantics."""

from __future__ import annotations

import random
import uuid
from urllib.parse import quote

import pytest

from tests.store.conftest import next_ts, wait_for


def cpath(account: str, container: str, obj: str | None = None, part: int = 3) -> str:
    path = f"/cont/d1/{part}/{quote(account, safe='')}/{quote(container, safe='')}"
    return path + (f"/{quote(obj, safe='/')}" if obj is not None else "")


def apath(account: str, container: str | None = None, part: int = 4) -> str:
    path = f"/acct/d1/{part}/{quote(account, safe='')}"
    return path + (f"/{quote(container, safe='')}" if container is not None else "")


def new_container(client, **headers) -> tuple[str, str]:
    account, container = "AUTH_" + uuid.uuid4().hex[:8], "cont-" + uuid.uuid4().hex[:8]
    r = client.put(cpath(account, container), headers={"X-Timestamp": next_ts(), **headers})
    assert r.status_code == 201
    return account, container


def add_row(client, account, container, name, size=1, etag="e", ctype="text/plain", ts=None):
    return client.put(cpath(account, container, name), headers={
        "X-Timestamp": ts or next_ts(), "X-Size": str(size), "X-Etag": etag, "X-Content-Type": ctype})


def del_row(client, account, container, name, ts=None):
    return client.delete(cpath(account, container, name), headers={"X-Timestamp": ts or next_ts()})


def listing(client, account, container, **params):
    params = {k: ("true" if v is True else v) for k, v in params.items() if v is not None and v is not False}
    r = client.get(cpath(account, container), params=params)
    assert r.status_code == 200, r.text
    return r.json()


def reference(names, prefix=None, delimiter=None, marker=None, end_marker=None, limit=10000, reverse=False):
    """Straightforward model of Swift's listing rules (UTF-8 byte order)."""
    if reverse:
        marker, end_marker = end_marker, marker
    if delimiter and prefix is None:
        prefix = ""
    orig_marker = marker
    enc = str.encode
    rows = [n for n in sorted(set(names), key=enc)
            if (not marker or enc(n) > enc(marker)) and (not end_marker or enc(n) < enc(end_marker))
            and (not prefix or n.startswith(prefix))]
    if reverse:
        rows.reverse()
    out, last_dir = [], None
    for n in rows:
        if len(out) >= limit:
            break
        if delimiter:
            i = n.find(delimiter, len(prefix))
            if i >= 0:
                d = n[:i + len(delimiter)]
                if d != last_dir:
                    last_dir = d
                    if d != orig_marker:
                        out.append({"subdir": d})
                continue
        out.append(n)
    return [r if isinstance(r, dict) else r for r in out]


def names_only(rows):
    return [r if "subdir" in r else r["name"] for r in rows]


def test_container_lifecycle(client):
    account, container = new_container(client, **{"X-Container-Meta-Color": "red",
                                                   "X-Container-Read": ".r:*"})
    r = client.head(cpath(account, container))
    assert r.status_code == 204
    assert r.headers["x-container-object-count"] == "0"
    assert r.headers["x-container-bytes-used"] == "0"
    assert r.headers["x-container-meta-color"] == "red"
    assert r.headers["x-container-read"] == ".r:*"
    created = r.headers["x-timestamp"]
    assert r.headers["x-put-timestamp"] == created
    # re-PUT merges metadata -> 202; empty value removes a key
    r = client.put(cpath(account, container), headers={"X-Timestamp": next_ts(), "X-Container-Meta-Color": "",
                                                       "X-Container-Meta-Size": "big"})
    assert r.status_code == 202
    r = client.head(cpath(account, container))
    assert "x-container-meta-color" not in r.headers
    assert r.headers["x-container-meta-size"] == "big"
    assert r.headers["x-timestamp"] == created
    # POST sets metadata; an older POST does not override newer values
    t_old = next_ts(-100)
    assert client.post(cpath(account, container), headers={"X-Timestamp": next_ts(),
                                                           "X-Container-Meta-Size": "small"}).status_code == 204
    assert client.post(cpath(account, container), headers={"X-Timestamp": t_old,
                                                           "X-Container-Meta-Size": "stale"}).status_code == 204
    assert client.head(cpath(account, container)).headers["x-container-meta-size"] == "small"
    # empty listing is 200 []
    r = client.get(cpath(account, container))
    assert r.status_code == 200 and r.json() == []
    assert r.headers["content-type"].startswith("application/json")
    # not empty -> 409; empty -> 204; then 404
    assert add_row(client, account, container, "o").status_code == 201
    assert client.delete(cpath(account, container), headers={"X-Timestamp": next_ts()}).status_code == 409
    assert del_row(client, account, container, "o").status_code == 201
    t_del = next_ts()
    assert client.delete(cpath(account, container), headers={"X-Timestamp": t_del}).status_code == 204
    assert client.head(cpath(account, container)).status_code == 404
    assert client.get(cpath(account, container)).status_code == 404
    assert client.post(cpath(account, container), headers={"X-Timestamp": next_ts()}).status_code == 404
    assert client.delete(cpath(account, container), headers={"X-Timestamp": next_ts()}).status_code == 404
    # a PUT older than the delete conflicts; a newer one recreates it
    assert client.put(cpath(account, container), headers={"X-Timestamp": t_old}).status_code == 409
    assert client.put(cpath(account, container), headers={"X-Timestamp": next_ts()}).status_code == 201
    assert client.head(cpath(account, container)).status_code == 204


def test_missing_container(client):
    assert client.head(cpath("AUTH_none", "nothing")).status_code == 404
    assert client.get(cpath("AUTH_none", "nothing")).status_code == 404
    assert add_row(client, "AUTH_none", "nothing", "o").status_code == 404
    assert client.delete(cpath("AUTH_none", "nothing"), headers={"X-Timestamp": next_ts()}).status_code == 404


def test_row_updates_and_stats(client):
    account, container = new_container(client)
    t1 = next_ts()
    assert add_row(client, account, container, "a", size=10, etag="e1", ts=t1).status_code == 201
    assert add_row(client, account, container, "b", size=5).status_code == 201
    t2 = next_ts()
    assert add_row(client, account, container, "a", size=20, etag="e2", ctype="image/png", ts=t2).status_code == 201
    # an older or equal update is ignored
    assert add_row(client, account, container, "a", size=99, ts=t1).status_code == 202
    assert add_row(client, account, container, "a", size=99, ts=t2).status_code == 202
    assert del_row(client, account, container, "a", ts=t1).status_code == 202
    r = client.head(cpath(account, container))
    assert r.headers["x-container-object-count"] == "2"
    assert r.headers["x-container-bytes-used"] == "25"
    rows = listing(client, account, container)
    from stackstore.timestamp import Timestamp

    assert rows[0] == {"name": "a", "hash": "e2", "bytes": 20, "content_type": "image/png",
                       "last_modified": Timestamp(t2).isoformat}
    assert [r["name"] for r in rows] == ["a", "b"]
    assert del_row(client, account, container, "a").status_code == 201
    assert del_row(client, account, container, "never").status_code == 201  # tombstone row
    r = client.head(cpath(account, container))
    assert r.headers["x-container-object-count"] == "1"
    assert r.headers["x-container-bytes-used"] == "5"
    assert names_only(listing(client, account, container)) == ["b"]
    # a row PUT older than its tombstone stays deleted
    assert add_row(client, account, container, "a", ts=t2).status_code == 202
    assert names_only(listing(client, account, container)) == ["b"]


def test_listing_examples(client):
    account, container = new_container(client)
    names = ["a", "a/", "a/b", "a/b/c", "a/c", "a-b", "b", "b/x", "c", "ç", "d/e/f", "/lead", "//x"]
    for n in names:
        assert add_row(client, account, container, n).status_code == 201
    L = lambda **p: names_only(listing(client, account, container, **p))  # noqa: E731
    assert L() == sorted(names, key=str.encode)
    assert L(delimiter="/") == [{"subdir": "/"}, "a", "a-b", {"subdir": "a/"}, "b", {"subdir": "b/"}, "c",
                                {"subdir": "d/"}, "ç"]
    assert L(prefix="a/", delimiter="/") == ["a/", "a/b", {"subdir": "a/b/"}, "a/c"]
    assert L(prefix="a/", delimiter="/") == reference(names, prefix="a/", delimiter="/")
    assert L(marker="a/b") == ["a/b/c", "a/c", "b", "b/x", "c", "d/e/f", "ç"]
    assert L(end_marker="a/") == ["//x", "/lead", "a", "a-b"]
    assert L(marker="a", end_marker="b") == ["a-b", "a/", "a/b", "a/b/c", "a/c"]
    assert L(prefix="a/", delimiter="/", marker="a/b/") == ["a/c"]  # Swift: subdir == marker is skipped
    assert L(limit=3) == ["//x", "/lead", "a"]
    assert L(reverse=True, limit=3) == ["ç", "d/e/f", "c"]
    assert L(reverse=True, marker="b") == ["a/c", "a/b/c", "a/b", "a/", "a-b", "a", "/lead", "//x"]
    assert L(reverse=True, end_marker="c") == ["ç", "d/e/f"]
    assert L(reverse=True, delimiter="/", limit=4) == ["ç", {"subdir": "d/"}, "c", {"subdir": "b/"}]
    assert L(prefix="zzz") == []
    # exactly `limit` entries whenever more exist, even across rolled-up subdirs and tombstones
    for n in ["a/b", "a/b/c", "a/c"]:
        assert del_row(client, account, container, n).status_code == 201
    assert L(delimiter="/", limit=4) == [{"subdir": "/"}, "a", "a-b", {"subdir": "a/"}]
    assert L(limit=2, marker="a") == ["a-b", "a/"]


def test_listing_matches_reference_model(client):
    rnd = random.Random(1234)
    account, container = new_container(client)
    alphabet = ["a", "b", "/", "-", "é"]
    names = set()
    while len(names) < 120:
        names.add("".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 5))))
    names = sorted(names)
    for n in names:
        assert add_row(client, account, container, n).status_code == 201
    deleted = set(rnd.sample(names, 20))
    for n in deleted:
        assert del_row(client, account, container, n).status_code == 201
    live = [n for n in names if n not in deleted]
    probes = names + ["", "a", "b/", "é/", "zz"]
    for _ in range(250):
        params = {
            "prefix": rnd.choice([None, None, "a", "b/", "a/", "é", "ab"]),
            "delimiter": rnd.choice([None, None, "/", "-", "b/"]),
            "marker": rnd.choice([None, None, *probes]) or None,
            "end_marker": rnd.choice([None, None, *probes]) or None,
            "limit": rnd.choice([1, 2, 3, 5, 10, 10000]),
            "reverse": rnd.choice([False, True]),
        }
        expected = reference(live, **params)
        assert names_only(listing(client, account, container, **params)) == expected, params


def path_reference(names, path, marker=None, end_marker=None, limit=10000, reverse=False):
    """Model of ``path=``: the direct children of ``path/`` (directory markers too), never ``path/``."""
    prefix = path.rstrip("/") + "/" if path else ""
    rows = reference(names, prefix=prefix or None, marker=marker, end_marker=end_marker, reverse=reverse)
    kept = [n for n in rows if n != prefix and n.find("/", len(prefix)) in (-1, len(n) - 1)]
    return kept[:limit]


def test_path_and_multi_character_delimiters(client):
    account, container = new_container(client)
    names = ["dir", "dir/", "dir/a", "dir/sub/", "dir/sub/x", "dir/é/y", "dir/z", "dirt", "t-&a", "t-&b", "t-'c"]
    for n in names:
        assert add_row(client, account, container, n).status_code == 201
    L = lambda **p: names_only(listing(client, account, container, **p))  # noqa: E731
    assert L(path="dir") == ["dir/a", "dir/sub/", "dir/z"]
    assert L(path="dir/") == L(path="dir")
    assert L(path="dir", reverse=True) == ["dir/z", "dir/sub/", "dir/a"]
    assert L(path="dir/sub") == ["dir/sub/x"]
    assert L(path="") == ["dir", "dir/", "dirt", "t-&a", "t-&b", "t-'c"]
    assert L(path="dir", limit=1, marker="dir/a") == ["dir/sub/"]
    assert L(delimiter="-&") == ["dir", "dir/", "dir/a", "dir/sub/", "dir/sub/x", "dir/z", "dir/é/y", "dirt",
                                 {"subdir": "t-&"}, "t-'c"]
    assert L(delimiter="-&", reverse=True, prefix="t") == ["t-'c", {"subdir": "t-&"}]
    # a NUL after a name makes a reverse marker inclusive (Swift's functional tests rely on it)
    assert L(reverse=True, marker="dir/z\x00", end_marker="dir/sub.") == ["dir/z", "dir/sub/x", "dir/sub/"]


def test_path_listing_matches_reference_model(client):
    rnd = random.Random(4321)
    account, container = new_container(client)
    alphabet = ["a", "b", "/", "é"]
    names = set()
    while len(names) < 100:
        names.add("".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 6))))
    for n in sorted(names):
        assert add_row(client, account, container, n).status_code == 201
    live = sorted(names)
    probes = [*live[::7], "a", "a/", "b/a", "é/"]
    for _ in range(150):
        params = {
            "path": rnd.choice(["", "a", "a/", "b", "a/b", "é", "/", "zz"]),
            "marker": rnd.choice([None, None, *probes]),
            "end_marker": rnd.choice([None, None, *probes]),
            "limit": rnd.choice([1, 2, 3, 10000]),
            "reverse": rnd.choice([False, True]),
        }
        assert names_only(listing(client, account, container, **params)) == path_reference(live, **params), params


def test_listing_limits(client):
    account, container = new_container(client)
    assert client.get(cpath(account, container), params={"limit": "10001"}).status_code == 412
    assert client.get(cpath(account, container), params={"limit": "-1"}).status_code == 400
    assert client.get(cpath(account, container), params={"limit": "0"}).json() == []


def test_long_object_names(client):
    account, container = new_container(client)
    base = "x" * 600
    long_names = [base + "a", base + "b", "y" * 1024]
    for n in long_names:
        assert add_row(client, account, container, n, size=3).status_code == 201
    rows = listing(client, account, container)
    assert sorted(r["name"] for r in rows) == sorted(long_names)
    assert del_row(client, account, container, base + "a").status_code == 201
    assert sorted(r["name"] for r in listing(client, account, container)) == [base + "b", "y" * 1024]
    assert client.head(cpath(account, container)).headers["x-container-object-count"] == "2"


def test_account_server(client):
    account = "AUTH_" + uuid.uuid4().hex[:8]
    assert client.head(apath(account)).status_code == 404
    t1 = next_ts()
    assert client.put(apath(account), headers={"X-Timestamp": t1, "X-Account-Meta-Q": "1"}).status_code == 201
    assert client.put(apath(account), headers={"X-Timestamp": next_ts()}).status_code == 202
    r = client.head(apath(account))
    assert r.status_code == 204
    assert r.headers["x-account-container-count"] == "0"
    assert r.headers["x-account-meta-q"] == "1"
    assert r.headers["x-timestamp"] == t1
    assert client.post(apath(account), headers={"X-Timestamp": next_ts(),
                                                "X-Account-Meta-Q": "2"}).status_code == 204
    assert client.head(apath(account)).headers["x-account-meta-q"] == "2"
    assert client.get(apath(account)).json() == []
    for name, count, nbytes in [("c1", 3, 30), ("c2", 1, 7), ("d-x", 0, 0)]:
        r = client.put(apath(account, name), headers={"X-Put-Timestamp": next_ts(), "X-Delete-Timestamp": "0",
                                                      "X-Object-Count": str(count), "X-Bytes-Used": str(nbytes),
                                                      "X-Timestamp": next_ts()})
        assert r.status_code == 201
    r = client.head(apath(account))
    assert r.headers["x-account-container-count"] == "3"
    assert r.headers["x-account-object-count"] == "4"
    assert r.headers["x-account-bytes-used"] == "37"
    rows = client.get(apath(account)).json()
    assert [row["name"] for row in rows] == ["c1", "c2", "d-x"]
    assert rows[0]["count"] == 3 and rows[0]["bytes"] == 30 and "last_modified" in rows[0]
    assert client.get(apath(account), params={"delimiter": "-"}).json()[-1] == {"subdir": "d-"}
    assert [r["name"] for r in client.get(apath(account), params={"reverse": "true", "limit": "1"}).json()] == ["d-x"]
    # the container is deleted (delete timestamp newer than put, no objects)
    r = client.put(apath(account, "c2"), headers={"X-Put-Timestamp": t1, "X-Delete-Timestamp": next_ts(),
                                                  "X-Object-Count": "0", "X-Bytes-Used": "0"})
    assert r.status_code == 201
    assert [row["name"] for row in client.get(apath(account)).json()] == ["c1", "d-x"]
    r = client.head(apath(account))
    assert r.headers["x-account-container-count"] == "2"
    assert r.headers["x-account-object-count"] == "3"
    # delete the account
    assert client.delete(apath(account), headers={"X-Timestamp": next_ts()}).status_code == 204
    assert client.head(apath(account)).status_code == 404
    assert client.get(apath(account)).status_code == 404
    r = client.put(apath(account, "c9"), headers={"X-Put-Timestamp": next_ts(), "X-Object-Count": "0"})
    assert r.status_code == 404


def test_account_row_autocreates(client):
    account = "AUTH_" + uuid.uuid4().hex[:8]
    r = client.put(apath(account, "c"), headers={"X-Put-Timestamp": next_ts(), "X-Delete-Timestamp": "0",
                                                 "X-Object-Count": "2", "X-Bytes-Used": "4"})
    assert r.status_code == 201
    r = client.head(apath(account))
    assert r.status_code == 204
    assert r.headers["x-account-object-count"] == "2"


def test_container_reports_to_account(client, node):
    """A container with X-Account-* headers reports its stats (debounced) to the account node."""
    account, container = "AUTH_" + uuid.uuid4().hex[:8], "rep"
    r = client.put(cpath(account, container), headers={
        "X-Timestamp": next_ts(), "X-Account-Host": node.hostport, "X-Account-Device": "d1",
        "X-Account-Partition": "4"})
    assert r.status_code == 201
    rows = client.get(apath(account)).json()  # sent synchronously on create
    assert [(x["name"], x["count"]) for x in rows] == [(container, 0)]
    for i in range(3):
        assert add_row(client, account, container, f"o{i}", size=10).status_code == 201

    def reported():
        rows = client.get(apath(account)).json()
        return rows and rows[0]["count"] == 3 and rows[0]["bytes"] == 30

    assert wait_for(reported, timeout=5)
    for i in range(3):
        assert del_row(client, account, container, f"o{i}").status_code == 201
    assert client.delete(cpath(account, container), headers={"X-Timestamp": next_ts()}).status_code == 204
    assert wait_for(lambda: client.get(apath(account)).json() == [], timeout=5)
    assert client.head(apath(account)).headers["x-account-container-count"] == "0"


@pytest.mark.parametrize("path", ["/acct/d1/4/a/c/o", "/cont/d1/3/a/c/o?x"])
def test_wrong_verbs(client, path):
    assert client.get(path).status_code in (400, 405)


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "POST", "DELETE"])
def test_container_path_without_container_is_400(client, method):
    r = client.request(method, "/cont/d1/3/AUTH_nocontainer", headers={"X-Timestamp": next_ts()})
    assert r.status_code == 400


def test_row_merges_keep_what_else_changed_in_the_container_record(tmp_path):
    """``update_rows`` reuses the record it wrote last only while it is what is stored: metadata a POST set in
    between, and stats a replica merge changed, stay (ContainerStore._decoded_record)."""
    from stackstore.timestamp import Timestamp
    from store.listings import ContainerStore, RowChange

    store = ContainerStore(str(tmp_path))
    assert store.put_container("AUTH_a", "c", 3, Timestamp(next_ts()), {}, None, None)[0] == "created"

    def row(name: str, size: int) -> list[bool | None]:
        return store.update_rows("AUTH_a", "c", [RowChange(name, Timestamp(next_ts()), size, "e", "t/t")])

    assert row("o1", 10) == [True]
    assert store.post_container("AUTH_a", "c", Timestamp(next_ts()), {"X-Container-Meta-Color": "blue"})
    assert row("o2", 5) == [True]
    rec = store.get("AUTH_a", "c")
    assert (rec["count"], rec["bytes"]) == (2, 15)
    assert rec["meta"]["x-container-meta-color"][0] == "blue"
    assert row("o2", 7) == [True] and row("o3", 1) == [True]  # the record it wrote itself, reused
    rec = store.get("AUTH_a", "c")
    assert (rec["count"], rec["bytes"], rec["meta"]["x-container-meta-color"][0]) == (3, 18, "blue")


def test_a_batch_with_one_name_several_times_keeps_the_running_digest(tmp_path):
    """The record's change state is read once per ``update_rows`` and written back once: rows of one name
    replaced within the batch still leave the digest equal to the rows' and one change entry per row."""
    from stackstore.timestamp import Timestamp
    from store.listing_changes import prefixed
    from store.listings import ContainerStore, RowChange, container_key

    store = ContainerStore(str(tmp_path))
    assert store.put_container("AUTH_a", "c", 3, Timestamp(next_ts()), {}, None, None)[0] == "created"
    store.update_rows("AUTH_a", "c", [RowChange("o", Timestamp(next_ts()), 1, "e", "t")])
    t1, t2, t3, t4 = (Timestamp(next_ts()) for _ in range(4))
    answers = store.update_rows("AUTH_a", "c", [
        RowChange("o", t1, 2, "e", "t"), RowChange("p", t2, 3, "e", "t"), RowChange("o", t3, deleted=True),
        RowChange("o", t1, 9, "e", "t"), RowChange("q", t4, 4, "e", "t")])
    assert answers == [True, True, True, False, True]
    ckey = container_key("AUTH_a", "c")
    with store.env.begin() as txn:
        state = store.changes.peek(txn, ckey)
        assert state is not None and state.digest == store.changes.recompute(txn, ckey)
        assert state.seq == 5  # one per applied change
        changed = [seq for seq, _ in store.changes.changed_since(txn, ckey, 0)]
        assert len(changed) == len(list(prefixed(txn, store.rows_db, ckey))) == 3
    rec = store.get("AUTH_a", "c")
    assert (rec["count"], rec["bytes"]) == (2, 7)
