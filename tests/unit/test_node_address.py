"""Which ring devices a storage node treats as its own, whatever address it listens on."""

from __future__ import annotations

from pathlib import Path

from ring import Device
from ring.bootstrap import build_default_rings
from stackstore.config import load_config
from store.node_address import NodeAddress, is_host_address
from store.replication.local import LocalView


def _dev(ip: str, port: int) -> Device:
    return Device(id=0, region=1, zone=1, ip=ip, port=port, device="d1", weight=1.0)


def test_host_addresses_are_those_a_socket_binds_to() -> None:
    assert is_host_address("127.0.0.1")
    assert is_host_address("127.0.0.7")  # all of 127/8 is this host's
    assert not is_host_address("192.0.2.123")  # TEST-NET-1: never configured here
    assert not is_host_address("not-an-address")


def test_specific_listen_address_owns_only_its_own_devices() -> None:
    addr = NodeAddress("127.0.0.2", 6201)
    assert addr.owns(_dev("127.0.0.2", 6201))
    assert not addr.owns(_dev("127.0.0.3", 6201))
    assert not addr.owns(_dev("127.0.0.2", 6202))


def test_wildcard_listener_owns_devices_on_any_host_address() -> None:
    addr = NodeAddress("0.0.0.0", 6201)
    assert addr.owns(_dev("127.0.0.2", 6201))
    assert not addr.owns(_dev("192.0.2.10", 6201))  # another host's device
    assert not addr.owns(_dev("127.0.0.2", 6202))  # another node's port on this host


def test_my_ip_names_the_ring_address_of_a_wildcard_listener() -> None:
    addr = NodeAddress("0.0.0.0", 6201, my_ip="192.0.2.10")  # e.g. behind NAT: not an address of this host
    assert addr.owns(_dev("192.0.2.10", 6201))
    assert not addr.owns(_dev("127.0.0.1", 6201))  # a local address, but the ring names another for us


def test_local_view_of_a_node_bound_to_every_address(tmp_path: Path) -> None:
    """The regression: a node on 0.0.0.0 recognised none of its ring devices, so it replicated nothing."""
    conf = load_config(environ={})
    conf["cluster"]["data_dir"] = str(tmp_path)
    devices = [(1, 1, "127.0.0.2", 6201, "d1", 100.0), (1, 2, "127.0.0.3", 6201, "d2", 100.0),
               (1, 3, "127.0.0.4", 6201, "d3", 100.0)]
    build_default_rings(conf.ring_dir, devices, 4, 3, 0)
    root = tmp_path / "node"
    for name in ("d1", "d2", "d3"):
        (root / name).mkdir(parents=True)
    conf["store"]["node_ip"], conf["store"]["node_port"] = "0.0.0.0", 6201
    conf["store"]["my_ip"] = "127.0.0.3"
    view = LocalView(conf, str(root), "suffix")
    assert [d.device for d in view.local_devices("object")] == ["d2"]
    conf["store"]["my_ip"] = ""  # no my_ip: every ring address of this host is ours
    view = LocalView(conf, str(root), "suffix")
    assert sorted(d.device for d in view.local_devices("object")) == ["d1", "d2", "d3"]
