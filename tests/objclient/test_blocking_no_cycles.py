"""The blocking client (objclient/blocking.py: CLI tools, the ring watcher's thread) leaves no reference cycles
when a node cannot be reached: a watcher calling an unreachable peer every few seconds would pile them up
between the collector's runs (the nodes run with a young generation of 20,000: stackstore/collector.py)."""

from __future__ import annotations

import socket

from objclient.blocking import NodeCall, call_nodes
from objclient.http import ConnectFailed
from tests.reference_cycles import cycles_found


def test_refused_calls_leave_no_cycles():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    calls = [NodeCall("127.0.0.1", port, "GET", "/recon/ring")] * 4
    call_nodes(calls, signing_key=b"k", timeout=2)  # imports done, caches filled
    with cycles_found() as found:
        replies = call_nodes(calls, signing_key=b"k", timeout=2)
        assert all(isinstance(reply, ConnectFailed) for reply in replies)
        del replies
    assert not found, f"refused calls left objects in reference cycles: {found.most_common(8)}"
