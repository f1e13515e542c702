"""TLS between the proxy and the storage nodes (``[cluster] internal_tls``) on 127.0.0.1: the nodes serve
HTTPS only, with a certificate signed by the cluster's CA naming their address; the proxy, the nodes'
row updates to their peers, ``stackstore status``, ``ring versions`` and the dispersion report verify
it. A cleartext request and a client trusting another CA get nowhere."""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from store.replication.dispersion import cluster_report
from tests import ondisk
from tests.durability.bg_helpers import Layout, Swift, start_cluster, wait_for


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(directory: Path, cn: str) -> tuple[Path, ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A self-signed CA certificate (written to ``<directory>/<cn>.crt``) and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn)).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    path = directory / f"{cn}.crt"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path, key, cert


def make_node_cert(directory: Path, ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate,
                   ip: str) -> tuple[Path, Path]:
    """A node certificate for ``ip`` (in its subjectAltName) signed by the CA, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(_name(f"node {ip}")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    cert_path, key_path = directory / "node.crt", directory / "node.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


@pytest.fixture(scope="module")
def cl(tmp_path_factory):
    pki = tmp_path_factory.mktemp("pki")
    ca_path, ca_key, ca = make_ca(pki, "cluster-ca")
    cert, key = make_node_cert(pki, ca_key, ca, "127.0.0.1")
    tls = {"internal_tls": True, "internal_tls_ca_file": str(ca_path), "internal_tls_cert_file": str(cert),
           "internal_tls_key_file": str(key)}
    c = start_cluster(tmp_path_factory.mktemp("cloud"), sections={"cluster": tls}, replicator_interval=2.0)
    c.pki = pki
    yield c
    c.stop()


def _cli(cl, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stackstore.cli", *args, "--config", str(cl.cloud.config_path)],
                          capture_output=True, text=True, timeout=60)


def test_proxy_and_nodes_talk_over_verified_tls(cl):
    ca = ssl.create_default_context(cafile=cl.conf["cluster"]["internal_tls_ca_file"])
    swift = Swift(cl)
    container = "tls-" + uuid.uuid4().hex[:6]
    assert swift.put(container).status_code in (201, 202)
    names = [f"o{i}" for i in range(5)]
    for name in names:
        assert swift.put(container, name, name.encode() * 100).status_code == 201
    assert [swift.get(container, n).content for n in names] == [n.encode() * 100 for n in names]
    assert sorted(swift.names(container)) == names  # the object nodes' row updates reached the container nodes
    # a large body crosses TLS on both legs: never sent from the node's file or spliced by the proxy
    # (store/file_response.py, proxy/http/relay.py fall back to streaming over TLS)
    big = os.urandom((5 << 20) // 2 + 12_345)
    assert swift.put(container, "big", big).status_code == 201
    assert swift.get(container, "big").content == big
    ranged = swift.get(container, "big", Range="bytes=1000000-2200000")
    assert ranged.status_code == 206 and ranged.content == big[1_000_000:2_200_001]
    for i in range(1, cl.cloud.node_count + 1):
        url = cl.node_url(i)
        assert url.startswith("https://127.0.0.1:")
        recon = httpx.get(f"{url}/recon", auth=cl.node_auth, verify=ca, timeout=10)
        assert recon.status_code == 200 and recon.json()["async_pending"] == 0  # no row update failed
    status = _cli(cl, "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert sum(" up " in line for line in status.stdout.splitlines()) == cl.cloud.node_count
    versions = subprocess.run([sys.executable, "-m", "stackstore.cli", "ring", "versions", "--config",
                               str(cl.cloud.config_path)], capture_output=True, text=True, timeout=60)
    assert versions.returncode == 0, versions.stdout + versions.stderr
    assert cluster_report(cl.conf, timeout=10).unreachable == []


def test_nodes_refuse_cleartext_and_untrusted_clients_refuse_nodes(cl):
    port = cl.cloud.node_port(1)
    with pytest.raises(httpx.HTTPError):  # the node speaks TLS only: a cleartext request gets no answer
        httpx.get(f"http://127.0.0.1:{port}/healthcheck", timeout=5)
    other = make_ca(cl.pki, "other-ca")
    untrusting = ssl.create_default_context(cafile=str(other[0]))
    with pytest.raises(httpx.ConnectError):  # a certificate not signed by the CA this client trusts
        httpx.get(f"https://127.0.0.1:{port}/healthcheck", verify=untrusting, timeout=5)
    ca = ssl.create_default_context(cafile=cl.conf["cluster"]["internal_tls_ca_file"])
    assert httpx.get(f"https://127.0.0.1:{port}/healthcheck", verify=ca, timeout=5).status_code == 200


def test_replication_restores_a_copy_over_tls(cl):
    swift, layout = Swift(cl), Layout(cl)
    container = "tls-repl-" + uuid.uuid4().hex[:6]
    assert swift.put(container).status_code in (201, 202)
    primary = layout.object.get_nodes(swift.account, container, "obj")[1][0]
    down = layout.node_index(primary)
    cl.stop_node(down)
    try:
        assert swift.put(container, "obj", b"replicated over TLS").status_code == 201
    finally:
        cl.start_node(down)
    hash_dir = layout.hash_dir(primary, swift.account, container, "obj")
    wait_for(lambda: ondisk.with_ext(hash_dir, ".data"), timeout=90)
