"""Conditional PUTs on a storage node (stackstore/wire.py): decided when the request head arrives,
under an exclusive reservation of the name held until the request ends."""

from __future__ import annotations

import os
import socket
import time
import uuid

import httpx

from stackstore import wire
from stackstore.footer import FOOTER_HEADER, FOOTER_LENGTH, encode_footer
from tests.store.conftest import NODE_AUTH, next_ts, signed_head, wait_for

ACCT = "AUTH_cond"


def opath(name: str) -> str:
    return f"/obj/d1/3/{ACCT}/c/{name}"


def cond_put(client, name: str, body: bytes = b"data", **headers: str):
    return client.put(opath(name), content=body, headers={"X-Timestamp": next_ts(), **headers})


def _held_open(node, name: str, **headers: str) -> socket.socket:
    """A conditional PUT whose body never finishes (it holds the reservation until closed)."""
    extra = "".join(f"\r\n{k}: {v}" for k, v in headers.items())
    s = socket.create_connection(("127.0.0.1", node.port))
    s.sendall(signed_head(f"PUT {opath(name)} HTTP/1.1\r\nHost: x\r\nX-Timestamp: {next_ts()}\r\n"
                          f"Content-Length: 100000{extra}".encode()) + b"\r\n\r\n" + b"x" * 1000)
    time.sleep(0.3)
    return s


def test_if_none_match_and_if_match_decided_by_the_node(client):
    name = uuid.uuid4().hex
    assert cond_put(client, name, b"one", **{wire.COND_IF_MATCH: "abc"}).status_code == 404
    assert cond_put(client, name, b"one", **{wire.COND_IF_NONE_MATCH: "*"}).status_code == 201
    assert cond_put(client, name, b"two", **{wire.COND_IF_NONE_MATCH: "*"}).status_code == 412
    assert cond_put(client, name, b"two", **{wire.COND_IF_MATCH: "0" * 32}).status_code == 412
    etag = client.head(opath(name)).headers["etag"]
    assert cond_put(client, name, b"two", **{wire.COND_IF_MATCH: etag}).status_code == 201
    assert client.get(opath(name)).content == b"two"
    meta = {"X-Object-Sysmeta-S3-Etag": "abc-2"}
    assert cond_put(client, name, b"three", **meta).status_code == 201
    at = {wire.COND_ETAG_IS_AT: "X-Object-Sysmeta-S3-Etag"}
    assert cond_put(client, name, b"four", **{wire.COND_IF_MATCH: "abc-2", **at}).status_code == 201


def test_reservation_conflict_then_released_by_an_aborted_writer(client, node):
    name = uuid.uuid4().hex
    holder = _held_open(node, name, **{wire.COND_IF_NONE_MATCH: "*"})
    try:
        r = cond_put(client, name, **{wire.COND_IF_NONE_MATCH: "*"})
        assert r.status_code == 409 and r.headers[wire.CONFLICT] == wire.RESERVATION_CONFLICT
        assert cond_put(client, name, b"unconditional").status_code == 201  # never blocked
    finally:
        holder.close()  # the aborted writer stores nothing and gives the name back
    assert wait_for(lambda: cond_put(client, name, b"x", **{wire.COND_IF_MATCH: "*"}).status_code == 201)
    assert client.get(opath(name)).content == b"x"


def test_node_restart_drops_reservations(make_node):
    node = make_node()
    name = uuid.uuid4().hex
    holder = _held_open(node, name, **{wire.COND_IF_NONE_MATCH: "*"})
    node.stop()
    holder.close()
    node.start()
    with httpx.Client(base_url=f"http://127.0.0.1:{node.port}", auth=NODE_AUTH) as c:
        assert cond_put(c, name, **{wire.COND_IF_NONE_MATCH: "*"}).status_code == 201


def test_commit_timestamp_from_the_footer(client):
    name = uuid.uuid4().hex
    body = os.urandom(100_000)
    start, late = next_ts(), next_ts(5)
    r = client.put(opath(name), content=body + encode_footer({wire.COMMIT_TIMESTAMP: late}), headers={
        "X-Timestamp": start, wire.COMMIT_TIMESTAMP: wire.COMMIT_TIMESTAMP_IN_FOOTER,
        FOOTER_HEADER: str(FOOTER_LENGTH), "Content-Length": str(len(body) + FOOTER_LENGTH)})
    assert r.status_code == 201
    got = client.head(opath(name))
    assert got.headers["x-timestamp"] == late and wire.COMMIT_TIMESTAMP.lower() not in got.headers
    older = encode_footer({wire.COMMIT_TIMESTAMP: "0000000001.00000"})
    r = client.put(opath(name), content=body + older, headers={
        "X-Timestamp": next_ts(), wire.COMMIT_TIMESTAMP: wire.COMMIT_TIMESTAMP_IN_FOOTER,
        FOOTER_HEADER: str(FOOTER_LENGTH), "Content-Length": str(len(body) + FOOTER_LENGTH)})
    assert r.status_code == 400  # older than the request's own X-Timestamp
