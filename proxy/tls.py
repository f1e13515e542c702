"""A self-signed certificate for the proxy's HTTPS listener (created once under the data dir)."""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path

CERT_NAME = "proxy-cert.pem"
KEY_NAME = "proxy-key.pem"


def ensure_self_signed_cert(data_dir: str | os.PathLike, hosts: tuple[str, ...] = ("localhost", "127.0.0.1"),
                            days: int = 3650) -> tuple[str, str]:
    """``(certfile, keyfile)`` under ``<data_dir>/tls/``; generated (EC P-256) when missing.

    The certificate names ``hosts`` (DNS names and IP addresses) plus ``*.<name>`` for every DNS
    name, so virtual-host S3 requests (``<bucket>.localhost``) validate too.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    tls_dir = Path(data_dir) / "tls"
    cert_path, key_path = tls_dir / CERT_NAME, tls_dir / KEY_NAME
    if cert_path.exists() and key_path.exists():
        return str(cert_path), str(key_path)
    tls_dir.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names += [x509.DNSName(host), x509.DNSName(f"*.{host}")]
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0] if hosts else "stackstore")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_tmp, cert_tmp = key_path.with_suffix(".tmp"), cert_path.with_suffix(".tmp")
    fd = os.open(key_tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
    cert_tmp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    os.replace(key_tmp, key_path)
    os.replace(cert_tmp, cert_path)
    return str(cert_path), str(key_path)
