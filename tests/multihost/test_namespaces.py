"""StackStore on separate hosts: one network namespace per host, created and removed by this test.

Four storage-node hosts (one ``stackstore node`` each, listening on 0.0.0.0 with ``[store] my_ip``
naming its ring address), a proxy host and a client host on one bridge. Each host has its own data
directory and config file, as separate machines would; only the secrets and the rings are the same.

The test writes through the proxy, pulls one node host's cable (switch port down): reads and writes go on;
plugs it back and waits until replication gave it the writes it missed. Then a fifth node host joins: the
operator adds it to the rings and runs ``stackstore ring push`` once; every node and the proxy converge on
the new version (the proxy and any node missed by the push fetch it from peers), data moves to the new
host, and every object stays readable throughout.

Needs root and ``ip`` (CI runs as root): skipped locally without them, a failure in CI.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from objclient import ring_distribution as dist
from ring import Ring
from ring.builder import RingBuilder
from stackstore import node_signing
from stackstore.tomlwrite import dumps
from tests.conftest import missing_prerequisite, require_tool
from tests.multihost.netns import Client, Network, remove_stale
from tests.pg import _bin_dir as pg_bin_dir

NODE_PORT = 6200
PROXY_PORT = 8080
RING_NAMES = ("account", "container", "object")
NODE_HOSTS = {"n1": 1, "n2": 2, "n3": 3, "n4": 4}  # host -> last octet of its address (and its zone)
API_PORTS = {"identity": 5000, "volumes": 8776, "compute": 8774, "images": 9292}
ADMIN_PASSWORD = secrets.token_hex(12)


def _env() -> dict[str, str]:
    """The children's environment: ours without STACKSTORE_* overrides (each host has its file)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("STACKSTORE_")}


@dataclass
class Cloud:
    """The hosts of the test cloud, the operator's ring builders and the client namespace."""

    net: Network
    root: Path
    common: dict[str, dict[str, Any]]
    builders: dict[str, RingBuilder]
    client: Client
    user_key: str
    pg: PostgresHost | None = None

    @property
    def admin_rings(self) -> Path:
        return self.root / "admin" / "rings"

    @property
    def proxy_url(self) -> str:
        return f"http://{self.net.hosts['px']}:{PROXY_PORT}"

    def host_dir(self, host: str) -> Path:
        return self.root / host

    def write_config(self, host: str, **sections: dict[str, Any]) -> Path:
        """This host's config file: the shared settings plus its own data dir and ``sections``."""
        conf: dict[str, dict[str, Any]] = {name: dict(values) for name, values in self.common.items()}
        conf["cluster"]["data_dir"] = str(self.host_dir(host) / "data")
        for name, values in sections.items():
            conf.setdefault(name, {}).update(values)
        path = self.host_dir(host) / "stackstore.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dumps(conf))
        os.chmod(path, 0o600)
        return path

    def install_rings(self, host: str) -> None:
        """First installation of a host: the operator copies the current rings once."""
        for name in RING_NAMES:
            dist.install(self.host_dir(host) / "data" / "rings", name,
                         dist.ring_path(self.admin_rings, name).read_bytes())

    def start_node(self, host: str, octet: int) -> None:
        addr = self.net.add_host(host, octet)
        devices = self.host_dir(host) / "devices"
        (devices / "d1").mkdir(parents=True, exist_ok=True)
        config = self.write_config(host, store={"host": "0.0.0.0", "port": NODE_PORT, "devices": str(devices),
                                                "my_ip": addr})
        self.net.spawn(host, [sys.executable, "-m", "stackstore.cli", "node", "--config", str(config)],
                       self.host_dir(host) / "node.log", _env())
        self.wait_up(f"http://{addr}:{NODE_PORT}/healthcheck", host)

    def wait_up(self, url: str, host: str, timeout: float = 30.0) -> None:
        def probe() -> bool:
            try:
                return httpx.get(url, timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        if not wait(lambda: self.client.run(probe), timeout):
            log = next(self.host_dir(host).glob("*.log"), None)
            raise AssertionError(f"{host} not up: {log.read_text()[-3000:] if log else 'no log'}")

    def node_versions(self, host: str) -> dict[str, int]:
        key = self.common["cluster"]["node_key"].encode()
        return self.client.run(dist.peer_versions, self.net.hosts[host], NODE_PORT, key)

    def node_has(self, host: str, ring: Ring, account: str, container: str, obj: str) -> bool:
        """Whether ``host`` holds the object on its device (a signed HEAD straight to the node)."""
        part = ring.partition(account, container, obj)
        path = f"/obj/d1/{part}/{account}/{container}/{obj}"
        headers = {node_signing.SIGNATURE_HEADER: node_signing.sign(
            self.common["cluster"]["node_key"].encode(), "HEAD", path, {})}
        url = f"http://{self.net.hosts[host]}:{NODE_PORT}{path}"
        return self.client.run(lambda: httpx.head(url, headers=headers, timeout=5).status_code) == 200


class PostgresHost:
    """A real PostgreSQL server on its own host (namespace), reachable only over the host network.

    Its files and Unix socket live in a temp dir of this machine; the test creates databases over the
    socket, the services reach the server over TCP at the db host's address."""

    def __init__(self, net: Network, addr: str):
        bin_dir = pg_bin_dir()
        if bin_dir is None:
            missing_prerequisite("initdb not found (apt-get install postgresql)")
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            missing_prerequisite("no postgres system user to run the server as")
        self.bin_dir, self.addr = bin_dir, addr
        self.root = Path(tempfile.mkdtemp(prefix="stackstore-mh-pg-"))
        os.chmod(self.root, 0o755)
        shutil.chown(self.root, "postgres")
        self._run("initdb", "-D", str(self.root / "data"), "-U", "postgres", "-A", "trust", "-E", "UTF8")
        with open(self.root / "data" / "pg_hba.conf", "a") as hba:
            hba.write(f"host all all {net.subnet}.0/24 trust\n")
        net.spawn("db", ["runuser", "-u", "postgres", "--", f"{bin_dir}/postgres", "-D", str(self.root / "data"),
                         "-p", "5432", "-k", str(self.root), "-c", f"listen_addresses={addr}",
                         "-c", "fsync=off"], self.root / "server.log", _env())

    def _run(self, tool: str, *args: str) -> None:
        proc = subprocess.run(["runuser", "-u", "postgres", "--", f"{self.bin_dir}/{tool}", *args],
                              capture_output=True, text=True, timeout=120, cwd=str(self.root))
        if proc.returncode != 0:
            raise RuntimeError(f"{tool} failed: {proc.stdout[-2000:]} {proc.stderr[-2000:]}")

    def create_database(self, name: str) -> str:
        """Create ``name`` (over the Unix socket, once the server is up); the URL the services use."""
        def created() -> bool:
            try:
                self._run("createdb", "-h", str(self.root), "-p", "5432", "-U", "postgres", name)
                return True
            except RuntimeError:
                return False

        assert wait(created, 30), (self.root / "server.log").read_text()[-3000:]
        return f"postgresql://postgres@{self.addr}:5432/{name}"

    def query(self, database: str, sql: str) -> str:
        """One value, read over the Unix socket (not through any StackStore service)."""
        proc = subprocess.run(["runuser", "-u", "postgres", "--", f"{self.bin_dir}/psql", "-h", str(self.root),
                               "-p", "5432", "-U", "postgres", "-d", database, "-tAc", sql],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def wait(predicate: Callable[[], Any], timeout: float, interval: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    if os.geteuid() != 0:
        missing_prerequisite("network namespaces need root")
    require_tool("ip")
    remove_stale("ss")
    net = Network(f"ss{os.getpid()}x")
    client: Client | None = None
    pg: PostgresHost | None = None
    try:
        root = tmp_path_factory.mktemp("multihost")
        user_key = secrets.token_hex(8)
        common: dict[str, dict[str, Any]] = {
            # the same on every host: path hash secret, node key, token secret, users, policies
            "cluster": {"hash_path_suffix": secrets.token_hex(16), "node_key": secrets.token_hex(32),
                        "replicas": 3, "ring_check_interval": 1.0},
            "store": {"fsync": False, "replicator_interval": 1.0, "updater_interval": 1.0,
                      "auditor_interval": 0.0, "expirer_interval": 0.0, "reconciler_interval": 0.0},
            "proxy": {"host": "0.0.0.0", "port": PROXY_PORT, "tls_port": 0, "conn_timeout": 0.5,
                      "node_timeout": 3.0, "concurrency_timeout": 0.5},
            "tempauth": {"token_secret": secrets.token_hex(32),
                         "users": {"test:tester": {"key": user_key, "groups": [".admin"]}}},
            "policies": {"gold": {"index": 0, "default": True, "aliases": []}},
            "lifecycle": {"interval": 0.0},
        }
        builders = {}
        for name in RING_NAMES:  # the operator's builders, on an admin machine
            builder = RingBuilder(8, 3, 0)
            for octet in NODE_HOSTS.values():
                builder.add_device(1, octet, f"{net.subnet}.{octet}", NODE_PORT, "d1", 100.0)
            builder.rebalance(seed=1)
            builder.write_ring(dist.ring_path(root / "admin" / "rings", name))
            builders[name] = builder
        net.add_host("cl", 20)
        client = Client(net.ns("cl"))
        cloud = Cloud(net, root, common, builders, client, user_key)
        for host in NODE_HOSTS:
            cloud.install_rings(host)
        cloud.install_rings("px")
        for host, octet in NODE_HOSTS.items():
            cloud.start_node(host, octet)
        # the API host: proxy, identity, volumes, compute, images, their state on the PostgreSQL host
        pg = PostgresHost(net, net.add_host("db", 30))
        px = net.add_host("px", 10)
        api: dict[str, dict[str, Any]] = {
            name: {"enabled": True, "host": "0.0.0.0", "port": port, "public_url": f"http://{px}:{port}",
                   "database_url": pg.create_database(name)} for name, port in API_PORTS.items()}
        api["identity"].update(internal_url=f"http://{px}:5000", admin_password=ADMIN_PASSWORD,
                               service_password=secrets.token_hex(16))
        api["volumes"].update(start_tgtd=False, iscsi_ip=px)
        config = cloud.write_config("px", **api)
        for service in ("identity", "volumes", "compute", "images", "proxy"):
            net.spawn("px", [sys.executable, "-m", "stackstore.cli", service, "--config", str(config)],
                      root / "px" / f"{service}.log", _env())
        for port in API_PORTS.values():
            cloud.wait_up(f"http://{px}:{port}/healthcheck", "px", timeout=60)
        cloud.wait_up(f"{cloud.proxy_url}/healthcheck", "px")
        cloud.pg = pg
        yield cloud
        for host in [*NODE_HOSTS, "n5", "px"]:
            for log in cloud.host_dir(host).glob("*.log"):
                assert "Traceback" not in log.read_text(errors="replace"), f"{log}: {log.read_text()[-4000:]}"
    finally:
        if client is not None:
            client.close()
        net.destroy()
        if pg is not None:
            pg.remove()


class Swift:
    """A Swift client living in the client namespace (every call runs in its threads)."""

    def __init__(self, cloud: Cloud):
        self.cloud = cloud
        self.http = httpx.Client(timeout=20)
        resp = cloud.client.run(lambda: self.http.get(
            f"{cloud.proxy_url}/auth/v1.0", headers={"X-Auth-User": "test:tester", "X-Auth-Key": cloud.user_key}))
        assert resp.status_code == 200, resp.text
        self.url, self.token = resp.headers["X-Storage-Url"], resp.headers["X-Auth-Token"]

    def call(self, method: str, path: str, body: bytes | None = None) -> httpx.Response:
        return self.cloud.client.run(lambda: self.http.request(method, f"{self.url}/{path}", content=body,
                                                               headers={"X-Auth-Token": self.token}))

    @property
    def account(self) -> str:
        return self.url.rsplit("/", 1)[1]


def body_of(name: str) -> bytes:
    return hashlib.sha256(name.encode()).digest() * 64


class Reader(threading.Thread):
    """Reads every written object again and again (from the client namespace) until stopped; records
    every failed or wrong read."""

    def __init__(self, swift: Swift, names: list[str]):
        super().__init__(daemon=True)
        self.swift, self.names, self.failures, self.reads = swift, names, [], 0
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            for name in list(self.names):
                resp = self.swift.call("GET", f"c/{name}")
                self.reads += 1
                if resp.status_code != 200 or resp.content != body_of(name):
                    self.failures.append((name, resp.status_code))

    def stop(self) -> None:
        self.halt.set()
        self.join(60)


def test_nodes_on_separate_hosts_survive_a_pulled_cable_and_grow_by_a_host(cloud: Cloud) -> None:
    swift = Swift(cloud)
    assert swift.call("PUT", "c").status_code in (201, 202)
    names: list[str] = []

    def write(count: int, tag: str) -> list[str]:
        written = []
        for i in range(count):
            name = f"{tag}-{i}-{uuid.uuid4().hex[:6]}"
            resp = swift.call("PUT", f"c/{name}", body_of(name))
            assert resp.status_code == 201, (name, resp.status_code, resp.text)
            written.append(name)
        names.extend(written)
        return written

    write(20, "before")
    reader = Reader(swift, names)
    reader.start()
    try:
        # -- one host's cable pulled: reads and writes go on ------------------------------------------
        cloud.net.unplug("n2")
        during = write(20, "during")
        time.sleep(1.0)
        assert reader.reads > 0 and reader.failures == [], reader.failures[:5]
        listing = swift.call("GET", "c")
        assert listing.status_code == 200 and set(during) <= set(listing.text.split())

        # -- plugged back: replication gives n2 what it missed ----------------------------------------
        cloud.net.plug("n2")
        object_ring = Ring(dist.ring_path(cloud.admin_rings, "object"), cloud.common["cluster"]["hash_path_suffix"])
        missed = [n for n in during
                  if any(d.ip == cloud.net.hosts["n2"] for d in object_ring.get_nodes(swift.account, "c", n)[1])]
        assert missed
        assert wait(lambda: all(cloud.node_has("n2", object_ring, swift.account, "c", n) for n in missed), 60), \
            "n2 did not get the objects written while it was unplugged"

        # -- a fifth host joins: new ring, pushed once; everybody converges; data moves ---------------
        cloud.start_node("n5", 5)  # no rings yet: the push brings them
        for name, builder in cloud.builders.items():
            builder.add_device(1, 5, cloud.net.hosts["n5"], NODE_PORT, "d1", 100.0)
            builder.pretend_min_part_hours_passed()
            builder.rebalance(seed=2)
            builder.write_ring(dist.ring_path(cloud.admin_rings, name))
        versions = {name: b.version for name, b in cloud.builders.items()}
        admin = cloud.write_config("admin", cluster={"data_dir": str(cloud.admin_rings.parent)})  # rings: admin/rings

        def operator(*args: str) -> subprocess.CompletedProcess:
            """A stackstore command run by the operator on the client host."""
            return subprocess.run(["ip", "netns", "exec", cloud.net.ns("cl"), sys.executable, "-m", "stackstore.cli",
                                   *args, "--config", str(admin)], capture_output=True, text=True, timeout=60,
                                  env=_env())

        push = operator("ring", "push")
        assert push.returncode == 0, push.stdout + push.stderr
        for host in [*NODE_HOSTS, "n5"]:
            assert wait(lambda h=host: cloud.node_versions(h) == versions, 10), (host, cloud.node_versions(host))
        proxy_rings = cloud.host_dir("px") / "data" / "rings"  # the proxy was not pushed to: it fetched
        assert wait(lambda: dist.local_versions(proxy_rings) == versions, 15), dist.local_versions(proxy_rings)

        new_ring = Ring(dist.ring_path(cloud.admin_rings, "object"), cloud.common["cluster"]["hash_path_suffix"])
        moving = [n for n in names
                  if any(d.ip == cloud.net.hosts["n5"] for d in new_ring.get_nodes(swift.account, "c", n)[1])]
        assert moving
        assert wait(lambda: all(cloud.node_has("n5", new_ring, swift.account, "c", n) for n in moving), 60), \
            "objects did not move to the new host"
        versions_report = operator("ring", "versions")
        assert versions_report.returncode == 0, versions_report.stdout
        # every partition on exactly its new primaries: handoffs and former primaries gave theirs up
        assert wait(lambda: operator("dispersion").returncode == 0, 90), operator("dispersion").stdout
        after = write(10, "after")
        for name in after:
            assert swift.call("GET", f"c/{name}").content == body_of(name)
    finally:
        reader.stop()
    assert reader.failures == [], reader.failures[:10]
    assert reader.reads >= len(names)


def test_api_services_on_their_host_keep_state_in_postgresql_on_another(cloud: Cloud) -> None:
    """Identity tokens issued on the API host work at the proxy and the other API services; every
    service's rows are in the PostgreSQL server of the db host."""
    px = cloud.net.hosts["px"]
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": ADMIN_PASSWORD}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
    resp = cloud.client.run(lambda: httpx.post(f"http://{px}:5000/v3/auth/tokens", json=body, timeout=30))
    assert resp.status_code == 201, resp.text
    token, project = resp.headers["X-Subject-Token"], resp.json()["token"]["project"]["id"]
    headers = {"X-Auth-Token": token}

    def call(method: str, url: str, content: bytes | None = None) -> httpx.Response:
        return cloud.client.run(lambda: httpx.request(method, url, headers=headers, content=content, timeout=30))

    account = f"{cloud.proxy_url}/v1/AUTH_{project}"
    assert call("PUT", f"{account}/keystone").status_code in (201, 202)
    assert call("PUT", f"{account}/keystone/obj", b"stored via an identity token").status_code == 201
    assert call("GET", f"{account}/keystone/obj").content == b"stored via an identity token"
    assert call("GET", f"http://{px}:9292/v2/images").status_code == 200
    assert call("GET", f"http://{px}:8774/v2.1/servers").status_code == 200
    assert call("GET", f"http://{px}:8776/v3/{project}/volumes").status_code == 200
    assert cloud.pg is not None
    assert int(cloud.pg.query("identity", "select count(*) from users where name = 'admin'")) == 1
    for database in API_PORTS:
        tables = cloud.pg.query(database, "select count(*) from information_schema.tables "
                                          "where table_schema = 'public'")
        assert int(tables) > 0, database
