"""Container row updates from object nodes to a second node process, and async pendings."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from urllib.parse import quote

import httpx

from store.updater import run_updater_pass
from tests.store.conftest import NODE_AUTH, free_port, next_ts, wait_for


def _headers(cont_node, part="3", **extra):
    h = {"X-Timestamp": next_ts(), "Content-Type": "text/x-test", "X-Container-Host": cont_node,
         "X-Container-Device": "d1", "X-Container-Partition": part}
    h.update(extra)
    return h


def _pending(devices_root):
    return sorted((devices_root / "d1" / "async_pending").glob("*/*"))


def test_object_put_delete_update_second_node(node, make_node):
    cont = make_node()
    account, container = "AUTH_" + uuid.uuid4().hex[:8], "c"
    with httpx.Client(timeout=10, auth=NODE_AUTH) as c:
        assert c.put(f"{cont.url}/cont/d1/3/{account}/{container}",
                     headers={"X-Timestamp": next_ts()}).status_code == 201
        obj = "dir/ob j ☃"
        opath = f"{node.url}/obj/d1/1/{account}/{container}/{quote(obj)}"
        r = c.put(opath, content=b"12345", headers=_headers(cont.hostport))
        assert r.status_code == 201
        rows = c.get(f"{cont.url}/cont/d1/3/{account}/{container}").json()
        assert len(rows) == 1
        assert rows[0]["name"] == obj and rows[0]["bytes"] == 5
        assert rows[0]["hash"] == r.headers["etag"] and rows[0]["content_type"] == "text/x-test"
        assert _pending(node.devices_root) == []
        r = c.delete(opath, headers=_headers(cont.hostport))
        assert r.status_code == 204
        assert c.get(f"{cont.url}/cont/d1/3/{account}/{container}").json() == []
        head = c.head(f"{cont.url}/cont/d1/3/{account}/{container}")
        assert head.headers["x-container-object-count"] == "0"


def _node_here(tmp_path, port):
    """A storage node's ``Node`` in this process, whose address is 127.0.0.1:``port`` (nothing listens there)."""
    from store.node import Node
    from tests import harness
    from tests.store.conftest import NODE_KEY, SUFFIX

    (tmp_path / "devices" / "d1").mkdir(parents=True)
    conf = harness.make_config(tmp_path / "data", cluster={"hash_path_suffix": SUFFIX, "node_key": NODE_KEY},
                               store={"node_ip": "127.0.0.1", "node_port": port, "container_update_timeout": 1.0})
    return Node(conf, str(tmp_path / "devices"))


def _row_update(node, port, account, obj, size="5"):
    from stackstore.timestamp import Timestamp
    from store.updates import ObjectRow

    row = ObjectRow.put(Timestamp(next_ts()), size, "etag-1", "text/x-test")
    asyncio.run(node.updater.object_changed(node.device_path("d1"), uuid.uuid4().hex, account, "c", obj,
                                            [("127.0.0.1", port, "d1")], "3", row))


def test_a_row_for_this_very_node_goes_into_its_own_db(tmp_path):
    """The container replica paired with an object slot on its own server (objclient.fanout.paired_with_slots):
    the row is merged in place; no request (nothing listens at the node's address here, so a request would
    have left an async pending)."""
    from stackstore.timestamp import Timestamp

    port = free_port()
    node = _node_here(tmp_path, port)
    account = "AUTH_" + uuid.uuid4().hex[:8]
    assert node.containers("d1").put_container(account, "c", 3, Timestamp(next_ts()), {}, None, None)[0] == "created"
    _row_update(node, port, account, "dir/ob j ☃")
    rows = node.containers("d1").list_objects(account, "c")
    assert [(r["name"], r["bytes"], r["hash"], r["content_type"]) for r in rows] == \
        [("dir/ob j ☃", 5, "etag-1", "text/x-test")]
    assert _pending(tmp_path / "devices") == []


def test_rows_for_this_node_arriving_together_share_one_transaction(tmp_path):
    """Writers released together (a group commit's round) merge their rows in one write transaction."""
    from stackstore.timestamp import Timestamp
    from store.updates import ObjectRow

    port = free_port()
    node = _node_here(tmp_path, port)
    account = "AUTH_" + uuid.uuid4().hex[:8]
    store = node.containers("d1")
    assert store.put_container(account, "c", 3, Timestamp(next_ts()), {}, None, None)[0] == "created"
    transactions = []
    merge = store.update_rows
    store.update_rows = lambda *args: transactions.append(len(args[2])) or merge(*args)  # counts, then merges

    async def together():
        await asyncio.gather(*(node.updater.object_changed(
            node.device_path("d1"), uuid.uuid4().hex, account, "c", f"o{i}", [("127.0.0.1", port, "d1")],
            "3", ObjectRow.put(Timestamp(next_ts()), i, "e", "t/t"))
            for i in range(20)))

    asyncio.run(together())
    assert transactions == [20]
    assert sorted(r["bytes"] for r in store.list_objects(account, "c")) == list(range(20))
    assert _pending(tmp_path / "devices") == []


def test_a_row_for_this_node_without_its_container_is_kept_as_an_async_pending(tmp_path):
    port = free_port()
    node = _node_here(tmp_path, port)
    account = "AUTH_" + uuid.uuid4().hex[:8]
    _row_update(node, port, account, "o")  # the container does not exist here (yet): the peer's 404
    [record] = _pending(tmp_path / "devices")
    saved = json.loads(record.read_text())
    assert saved["host"] == f"127.0.0.1:{port}" and saved["path"] == f"/cont/d1/3/{account}/c/o"
    assert node.containers("d1").list_objects(account, "c") == []


def test_async_pending_when_container_node_down(node, make_node):
    port = free_port()  # nothing listens here yet
    account, container = "AUTH_" + uuid.uuid4().hex[:8], "c"
    obj = "pending-" + uuid.uuid4().hex
    before = set(_pending(node.devices_root))
    with httpx.Client(timeout=10, auth=NODE_AUTH) as c:
        r = c.put(f"{node.url}/obj/d1/1/{account}/{container}/{obj}", content=b"abc",
                  headers=_headers(f"127.0.0.1:{port}"))
        assert r.status_code == 201
        new = [p for p in _pending(node.devices_root) if p not in before]
        assert len(new) == 1
        record = json.loads(new[0].read_text())
        assert record["method"] == "PUT"
        assert record["path"] == f"/cont/d1/3/{account}/{container}/{obj}"
        assert record["headers"]["X-Size"] == "3"
        assert record["host"] == f"127.0.0.1:{port}"
        # the container node comes up; the updater pass delivers the row and removes the record
        cont = make_node(port=port)
        assert c.put(f"{cont.url}/cont/d1/3/{account}/{container}",
                     headers={"X-Timestamp": next_ts()}).status_code == 201
        stats = asyncio.run(run_updater_pass(node.devices_root))
        assert stats["success"] >= 1
        assert not new[0].exists()
        rows = c.get(f"{cont.url}/cont/d1/3/{account}/{container}").json()
        assert [r["name"] for r in rows] == [obj]


def test_slow_container_node_gets_its_row_without_the_updater(node, make_node):
    """A container node slower than container_update_timeout: the PUT is acknowledged with an async
    pending saved, the update keeps going, and once it lands the record is gone (no updater pass)."""
    cont = make_node()
    account, container, obj = "AUTH_" + uuid.uuid4().hex[:8], "c", "slow-" + uuid.uuid4().hex
    with httpx.Client(timeout=10, auth=NODE_AUTH) as c:
        assert c.put(f"{cont.url}/cont/d1/3/{account}/{container}",
                     headers={"X-Timestamp": next_ts()}).status_code == 201
        before = set(_pending(node.devices_root))
        os.kill(cont.proc.pid, signal.SIGSTOP)  # the container node stops answering (the node's wait is 1 s)
        try:
            r = c.put(f"{node.url}/obj/d1/1/{account}/{container}/{obj}", content=b"abc",
                      headers=_headers(cont.hostport))
            assert r.status_code == 201
            new = [p for p in _pending(node.devices_root) if p not in before]
            assert len(new) == 1 and json.loads(new[0].read_text())["obj"] == obj
        finally:
            os.kill(cont.proc.pid, signal.SIGCONT)
        assert wait_for(lambda: not new[0].exists(), timeout=10), "record kept after the update landed"
        rows = c.get(f"{cont.url}/cont/d1/3/{account}/{container}").json()
        assert [row["name"] for row in rows] == [obj]


def test_updater_keeps_failing_records(tmp_path):
    dev = tmp_path / "d1" / "async_pending" / "abc"
    dev.mkdir(parents=True)
    rec = dev / "x-1"
    rec.write_text(json.dumps({"method": "PUT", "host": f"127.0.0.1:{free_port()}", "path": "/cont/d1/1/a/c/o",
                               "headers": {"X-Timestamp": next_ts()}}))
    (dev / "garbage").write_text("{not json")
    stats = asyncio.run(run_updater_pass(tmp_path, timeout=0.5))
    assert stats == {"success": 0, "failure": 1, "bad": 1}
    assert rec.exists()


def test_object_update_to_two_container_nodes(node, make_node):
    c1, c2 = make_node(), make_node()
    account, container = "AUTH_" + uuid.uuid4().hex[:8], "c"
    with httpx.Client(timeout=10, auth=NODE_AUTH) as c:
        for cn in (c1, c2):
            assert c.put(f"{cn.url}/cont/d1/3/{account}/{container}",
                         headers={"X-Timestamp": next_ts()}).status_code == 201
        h = _headers(f"{c1.hostport},{c2.hostport}", **{"X-Container-Device": "d1,d1"})
        assert c.put(f"{node.url}/obj/d1/1/{account}/{container}/two", content=b"x", headers=h).status_code == 201
        for cn in (c1, c2):
            assert [r["name"] for r in c.get(f"{cn.url}/cont/d1/3/{account}/{container}").json()] == ["two"]


def test_node_restart_keeps_data_and_listings(make_node):
    n = make_node()
    account = "AUTH_" + uuid.uuid4().hex[:8]
    with httpx.Client(timeout=10, auth=NODE_AUTH) as c:
        assert c.put(f"{n.url}/cont/d1/3/{account}/c", headers={"X-Timestamp": next_ts()}).status_code == 201
        r = c.put(f"{n.url}/cont/d1/3/{account}/c/o", headers={"X-Timestamp": next_ts(), "X-Size": "1",
                                                               "X-Etag": "e", "X-Content-Type": "t"})
        assert r.status_code == 201
        assert c.put(f"{n.url}/obj/d1/1/{account}/c/o", content=b"persist",
                     headers={"X-Timestamp": next_ts()}).status_code == 201
    n.stop()
    n.start()
    with httpx.Client(timeout=10, auth=NODE_AUTH) as c:
        assert c.get(f"{n.url}/obj/d1/1/{account}/c/o").content == b"persist"
        assert [r["name"] for r in c.get(f"{n.url}/cont/d1/3/{account}/c").json()] == ["o"]


def test_account_report_retried_after_account_node_comes_back(make_node):
    port = free_port()
    cont = make_node()
    account = "AUTH_" + uuid.uuid4().hex[:8]
    with httpx.Client(timeout=10, auth=NODE_AUTH) as c:
        r = c.put(f"{cont.url}/cont/d1/3/{account}/c", headers={
            "X-Timestamp": next_ts(), "X-Account-Host": f"127.0.0.1:{port}", "X-Account-Device": "d1",
            "X-Account-Partition": "2"})
        assert r.status_code == 201
        acct = make_node(port=port)
        assert wait_for(lambda: c.get(f"{acct.url}/acct/d1/2/{account}").status_code == 200, timeout=10)
        assert [r["name"] for r in c.get(f"{acct.url}/acct/d1/2/{account}").json()] == ["c"]


def test_container_update_overrides(node, make_node):
    cont = make_node()
    account, container = "AUTH_" + uuid.uuid4().hex[:8], "c"
    with httpx.Client(timeout=10, auth=NODE_AUTH) as c:
        assert c.put(f"{cont.url}/cont/d1/3/{account}/{container}",
                     headers={"X-Timestamp": next_ts()}).status_code == 201
        h = _headers(cont.hostport, **{"X-Object-Sysmeta-Container-Update-Override-Etag": "abc; s3_etag=def-2",
                                       "X-Object-Sysmeta-Container-Update-Override-Size": "12345",
                                       "X-Backend-Container-Update-Override-Content-Type": "application/x-m"})
        assert c.put(f"{node.url}/obj/d1/1/{account}/{container}/m", content=b"[]", headers=h).status_code == 201
        (row,) = c.get(f"{cont.url}/cont/d1/3/{account}/{container}").json()
        assert (row["hash"], row["bytes"], row["content_type"]) == ("abc; s3_etag=def-2", 12345, "application/x-m")


def test_container_update_overrides_from_the_footer(node, make_node):
    """An override known only after the body (an encrypted object's plaintext ETag) comes in the footer."""
    from stackstore.footer import FOOTER_HEADER, FOOTER_LENGTH, encode_footer

    cont = make_node()
    account, container = "AUTH_" + uuid.uuid4().hex[:8], "c"
    body = b"ciphertext" * 10
    with httpx.Client(timeout=10, auth=NODE_AUTH) as c:
        assert c.put(f"{cont.url}/cont/d1/3/{account}/{container}",
                     headers={"X-Timestamp": next_ts()}).status_code == 201
        h = _headers(cont.hostport, **{"X-Object-Sysmeta-Container-Update-Override-Etag": "from-header",
                                       FOOTER_HEADER: str(FOOTER_LENGTH)})
        h["Content-Length"] = str(len(body) + FOOTER_LENGTH)
        footer = encode_footer({"X-Object-Sysmeta-Container-Update-Override-Etag": "plaintext-md5",
                                "X-Object-Sysmeta-Crypto-Etag": "sealed"})
        assert c.put(f"{node.url}/obj/d1/1/{account}/{container}/o", content=body + footer,
                     headers=h).status_code == 201
        (row,) = c.get(f"{cont.url}/cont/d1/3/{account}/{container}").json()
        assert (row["hash"], row["bytes"]) == ("plaintext-md5", len(body))
        got = c.get(f"{node.url}/obj/d1/1/{account}/{container}/o")
        assert got.content == body and got.headers["x-object-sysmeta-crypto-etag"] == "sealed"


def test_chunked_put_ends_with_its_footer(node, make_node):
    """A body of unknown length (chunked) with ``X-Backend-Footer-Length``: its last bytes are the footer."""
    from stackstore.footer import FOOTER_HEADER, FOOTER_LENGTH, encode_footer

    cont = make_node()
    account, container = "AUTH_" + uuid.uuid4().hex[:8], "c"
    body = os.urandom(100_000)
    footer = encode_footer({"X-Object-Sysmeta-Container-Update-Override-Etag": "late-etag"})
    data = body + footer

    def chunks():
        for i in range(0, len(data), 7_000):
            yield data[i:i + 7_000]

    with httpx.Client(timeout=10, auth=NODE_AUTH) as c:
        assert c.put(f"{cont.url}/cont/d1/3/{account}/{container}",
                     headers={"X-Timestamp": next_ts()}).status_code == 201
        h = _headers(cont.hostport, **{FOOTER_HEADER: str(FOOTER_LENGTH)})
        h.pop("Content-Length", None)
        assert c.put(f"{node.url}/obj/d1/1/{account}/{container}/o", content=chunks(), headers=h).status_code == 201
        got = c.get(f"{node.url}/obj/d1/1/{account}/{container}/o")
        assert got.content == body
        assert got.headers["x-object-sysmeta-container-update-override-etag"] == "late-etag"
        (row,) = c.get(f"{cont.url}/cont/d1/3/{account}/{container}").json()
        assert (row["hash"], row["bytes"]) == ("late-etag", len(body))
        short = c.put(f"{node.url}/obj/d1/1/{account}/{container}/short", content=iter([b"x" * 10]), headers=h)
        assert short.status_code == 499


def test_row_batch_endpoint_answers_each_row(make_node):
    cont = make_node()
    account, container = "AUTH_" + uuid.uuid4().hex[:8], "c"
    cpath = f"{cont.url}/cont/d1/3/{account}/{container}"
    with httpx.Client(timeout=10, auth=NODE_AUTH) as c:
        assert c.put(cpath, headers={"X-Timestamp": next_ts()}).status_code == 201
        old, new = next_ts(), next_ts()
        rows = [["PUT", "a ☃", {"X-Timestamp": new, "X-Size": "3", "X-Etag": "e1", "X-Content-Type": "text/a"}],
                ["PUT", "b", {"X-Timestamp": new, "X-Size": "5", "X-Etag": "e2", "X-Content-Type": "text/b"}],
                ["PUT", "a ☃", {"X-Timestamp": old, "X-Size": "9", "X-Etag": "old", "X-Content-Type": "x"}],
                ["DELETE", "b", {"X-Timestamp": next_ts()}],
                ["PUT", "bad-ts", {"X-Timestamp": "yesterday"}],
                ["GET", "c", {"X-Timestamp": new}],
                ["PUT", "", {"X-Timestamp": new}],
                "not a row"]
        r = c.post(f"{cpath}?row-batch", content=json.dumps(rows))
        assert r.status_code == 200 and r.json() == [201, 201, 202, 201, 400, 400, 400, 400]
        listed = c.get(cpath).json()
        assert [(row["name"], row["bytes"], row["hash"]) for row in listed] == [("a ☃", 3, "e1")]
        stats = c.head(cpath).headers  # the batch's count and bytes, summed over its rows in one transaction
        assert (stats["x-container-object-count"], stats["x-container-bytes-used"]) == ("1", "3")
        missing = f"{cont.url}/cont/d1/3/{account}/nowhere?row-batch"
        assert c.post(missing, content=json.dumps(rows[:1])).json() == [404]
        for body in (b"{}", b"[]", b"nope", json.dumps([rows[0]] * 65).encode()):
            assert c.post(f"{cpath}?row-batch", content=body).status_code == 400, body
        unsigned = httpx.post(f"{cpath}?row-batch", content=json.dumps(rows[:1]), timeout=10)
        assert unsigned.status_code == 401


def test_concurrent_puts_to_one_container_all_listed(node, make_node):
    """Many rows for one container replica at once (batched while one is in flight): every one is listed,
    none is left as an async pending."""
    cont = make_node()
    account, container = "AUTH_" + uuid.uuid4().hex[:8], "c"
    before = set(_pending(node.devices_root))

    async def put_all() -> list[int]:
        async with httpx.AsyncClient(timeout=30, auth=NODE_AUTH) as c:
            async def one(i: int) -> int:
                r = await c.put(f"{node.url}/obj/d1/1/{account}/{container}/o{i:03d}", content=b"x" * i,
                                headers=_headers(cont.hostport))
                return r.status_code
            return await asyncio.gather(*(one(i) for i in range(120)))

    with httpx.Client(timeout=10, auth=NODE_AUTH) as c:
        assert c.put(f"{cont.url}/cont/d1/3/{account}/{container}",
                     headers={"X-Timestamp": next_ts()}).status_code == 201
        assert set(asyncio.run(put_all())) == {201}
        rows = c.get(f"{cont.url}/cont/d1/3/{account}/{container}").json()
        assert [(row["name"], row["bytes"]) for row in rows] == [(f"o{i:03d}", i) for i in range(120)]
        head = c.head(f"{cont.url}/cont/d1/3/{account}/{container}")
        assert head.headers["x-container-object-count"] == "120"
    assert set(_pending(node.devices_root)) == before


def test_a_row_merged_in_place_is_what_its_request_would_have_merged():
    """``ObjectRow.change`` (a row for the writing node's own DB, no headers built) makes the same change as
    the row's request headers make on a container node (``row_change``), refusals included."""
    from stackstore.timestamp import Timestamp
    from store.reqparse import HTTPError
    from store.updates import ObjectRow, RowHeaders, row_change

    ts = Timestamp(next_ts())
    rows = [ObjectRow.put(ts, 5, "etag", "text/plain"), ObjectRow.put(ts, " 7 ", None, None),
            ObjectRow.put(ts, "0", "e", "caf\xc3\xa9/x"), ObjectRow.put(ts, "1", "e", "caf\xe9"),  # UTF-8 or not
            ObjectRow.put(ts, 3, "e", "snow\u2603"), ObjectRow.put(ts, "-1", "e", "t"),
            ObjectRow.put(ts, "abc", "e", "t"), ObjectRow.put(ts, "", "e", "t"), ObjectRow.delete(ts),
            ObjectRow.put(Timestamp(time.time() + 3 * 86400), 1, "e", "t"),
            ObjectRow.delete(Timestamp(time.time() + 1e6))]

    def outcome(make, *args):
        try:
            return make(*args)
        except HTTPError as err:
            return err.status

    def by_request(row):
        return row_change("o", row.method, RowHeaders({name.lower(): value for name, value in row.headers().items()}))

    for row in rows:
        assert outcome(row.change, "o") == outcome(by_request, row), row
    assert [outcome(r.change, "o") for r in rows[5:8] + rows[9:]] == [400] * 5  # size; too far ahead
    assert rows[2].change("o").content_type == "café/x" and rows[3].change("o").content_type == "caf\xe9"


def test_a_local_row_with_a_bad_size_is_kept_as_an_async_pending(tmp_path):
    """A size override that is no number: refused in place as a container node refuses it (400), and kept."""
    from stackstore.timestamp import Timestamp

    port = free_port()
    node = _node_here(tmp_path, port)
    account = "AUTH_" + uuid.uuid4().hex[:8]
    assert node.containers("d1").put_container(account, "c", 3, Timestamp(next_ts()), {}, None, None)[0] == "created"
    _row_update(node, port, account, "o", size="lots")
    [record] = _pending(tmp_path / "devices")
    assert json.loads(record.read_text())["headers"]["X-Size"] == "lots"
    assert node.containers("d1").list_objects(account, "c") == []
