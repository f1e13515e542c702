"""Container sync realms (Swift's ``container-sync-realms.conf``), from ``[container_sync] realms``.

A *realm* is a group of clusters that trust each other for container sync: its operators share the realm's
key (and, while rotating keys, a second ``key2``); each cluster of the realm is named with the URL of its
Swift API (``http://host:port/v1/``). In TOML::

    [container_sync]
    realms = {US = {key = "...", key2 = "", clusters = {EAST = "http://east:8080/v1/", WEST = "..."}}}

Realm and cluster names are case-insensitive (kept upper-case, as Swift). A realm ``key`` left empty is a
secret of this cluster alone (one cluster syncing with itself): generated once into
``<data_dir>/secrets/container_sync_realm_<realm>`` (0600) like the other secrets (``stackstore.secrets``)
and stored back into the configuration the launcher hands the children. Keys never appear in ``repr``,
``/info`` or logs.

A sync request is signed with HMAC-SHA1 of ``method\\npath\\nx-timestamp\\nnonce\\ncontainer sync key``
under the realm key (``signature``), as Swift's ``get_sig``, and sent as
``X-Container-Sync-Auth: <realm> <nonce> <signature>``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as _random
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from stackstore.secrets import write_private

if TYPE_CHECKING:
    from stackstore.config import Config

SECTION = "container_sync"


@dataclass(frozen=True)
class Realm:
    """One realm: its keys (never shown) and cluster name -> API endpoint."""

    name: str
    key: str = field(repr=False)
    key2: str = field(default="", repr=False)
    clusters: dict[str, str] = field(default_factory=dict)


class SyncRealms:
    """The realms a cluster knows (``[container_sync] realms``), looked up case-insensitively."""

    def __init__(self, realms: Mapping[str, Realm]):
        self._realms = {name.upper(): realm for name, realm in realms.items()}

    @classmethod
    def from_conf(cls, conf: Mapping[str, Any]) -> SyncRealms:
        """The realms of a configuration (keys resolved by ``ensure_realm_keys`` beforehand, else read from
        their secret files; a realm without a usable key is left out)."""
        section = conf.get(SECTION, {}) if hasattr(conf, "get") else {}
        data_dir = _data_dir(conf)
        out: dict[str, Realm] = {}
        for name, values in (section.get("realms") or {}).items():
            if not isinstance(values, Mapping):
                continue
            key = str(values.get("key") or "") or _read_key(data_dir, name)
            if not key:
                continue
            clusters = {str(c).upper(): str(url) for c, url in (values.get("clusters") or {}).items() if url}
            out[str(name).upper()] = Realm(str(name).upper(), key, str(values.get("key2") or ""), clusters)
        return cls(out)

    def names(self) -> list[str]:
        return sorted(self._realms)

    def clusters(self, realm: str) -> list[str]:
        found = self._realms.get(realm.upper())
        return sorted(found.clusters) if found else []

    def key(self, realm: str) -> str | None:
        found = self._realms.get(realm.upper())
        return found.key if found else None

    def key2(self, realm: str) -> str | None:
        found = self._realms.get(realm.upper())
        return (found.key2 or None) if found else None

    def endpoint(self, realm: str, cluster: str) -> str | None:
        found = self._realms.get(realm.upper())
        return found.clusters.get(cluster.upper()) if found else None

    def info(self, current: str = "") -> dict[str, Any]:
        """``/info``'s ``container_sync.realms``: realm -> {clusters: {name: {}}} (names only, as Swift);
        ``current`` (``//REALM/CLUSTER``) marks this cluster."""
        out: dict[str, Any] = {}
        for name in self.names():
            clusters = self.clusters(name)
            if clusters:
                out[name] = {"clusters": {c: {} for c in clusters}}
        realm, _, cluster = current.strip("/").upper().partition("/")
        if realm in out and cluster in out[realm]["clusters"]:
            out[realm]["clusters"][cluster]["current"] = True
        return out


def signature(method: str, path: str, x_timestamp: str, nonce: str, realm_key: str, user_key: str) -> str:
    """The hex HMAC-SHA1 a realm sync request carries (Swift's ``get_sig``): ``path`` as sent (URL-encoded)."""
    message = b"\n".join(part.encode("utf-8", "surrogateescape") for part in (method, path, x_timestamp, nonce,
                                                                                user_key))
    return hmac.new(realm_key.encode("utf-8"), message, hashlib.sha1).hexdigest()


def signature_valid(sig: str, method: str, path: str, x_timestamp: str, nonce: str, realm: str,
                    realms: SyncRealms, user_key: str) -> bool:
    """``sig`` was made with the realm's key (or its ``key2``) and the container's sync key."""
    for realm_key in (realms.key(realm), realms.key2(realm)):
        if realm_key and hmac.compare_digest(sig, signature(method, path, x_timestamp, nonce, realm_key, user_key)):
            return True
    return False


@dataclass(frozen=True)
class SyncTarget:
    """A validated ``X-Container-Sync-To``: the remote container's URL, and its realm (None: full URL mode)."""

    url: str
    realm: str | None = None
    realm_key: str | None = field(default=None, repr=False)


def validate_sync_to(value: str, realms: SyncRealms, *, allow_full_urls: bool = True,
                     allowed_hosts: list[str] | tuple[str, ...] = ("127.0.0.1",)) -> SyncTarget | str | None:
    """Swift's checks of ``X-Container-Sync-To``: the target (``//realm/cluster/account/container`` or, when
    ``allow_full_urls``, an ``http(s)://`` URL to a host in ``allowed_hosts``), None for an empty value (sync
    off), or the 400 message."""
    original, value = value, value.rstrip("/")
    if not value:
        return None
    if value.startswith("//"):
        parts = value[2:].split("/")
        if len(parts) != 4:
            return f"Invalid X-Container-Sync-To format {original!r}"
        realm, cluster, account, container = parts
        realm_key = realms.key(realm)
        if not realm_key:
            return f"No realm key for {realm!r}"
        endpoint = realms.endpoint(realm, cluster)
        if not endpoint:
            return f"No cluster endpoint for {realm!r} {cluster!r}"
        return SyncTarget(f"{endpoint.rstrip('/')}/{account}/{container}", realm.upper(), realm_key)
    if not allow_full_urls:
        return ("Full URLs are not allowed for X-Container-Sync-To values. Only realm values of the format "
                "//realm/cluster/account/container are allowed.")
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https"):
        return f'Invalid scheme {parsed.scheme!r} in X-Container-Sync-To, must be "//", "http", or "https".'
    if not parsed.path:
        return "Path required in X-Container-Sync-To"
    if parsed.params or parsed.query or parsed.fragment:
        return "Params, queries, and fragments not allowed in X-Container-Sync-To"
    if parsed.hostname not in allowed_hosts:
        return f"Invalid host {parsed.hostname!r} in X-Container-Sync-To"
    return SyncTarget(value)


def target_of(value: str, conf: Mapping[str, Any], realms: SyncRealms | None = None) -> SyncTarget | str | None:
    """``validate_sync_to`` with the cluster's ``[container_sync]`` settings."""
    section = conf.get(SECTION, {}) if hasattr(conf, "get") else {}
    hosts = section.get("allowed_sync_hosts", ["127.0.0.1"])
    if isinstance(hosts, str):
        hosts = [h.strip() for h in hosts.split(",") if h.strip()]
    return validate_sync_to(value, realms or SyncRealms.from_conf(conf),
                            allow_full_urls=bool(section.get("allow_full_urls", True)), allowed_hosts=list(hosts))


# -- the realm keys as secrets ---------------------------------------------------------------------

def _data_dir(conf: Mapping[str, Any]) -> Path | None:
    try:
        return Path(conf["cluster"]["data_dir"]).resolve()
    except (KeyError, TypeError):
        return None


def _key_path(data_dir: Path, realm: str) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in realm.lower())
    return data_dir / "secrets" / f"container_sync_realm_{safe}"


def _read_key(data_dir: Path | None, realm: str) -> str:
    if data_dir is None:
        return ""
    try:
        return _key_path(data_dir, str(realm)).read_text().strip()
    except OSError:
        return ""


def ensure_realm_keys(conf: Config) -> None:
    """Give every realm without a configured ``key`` its generated one (from, or into, its 0600 file) and
    store it back into ``conf`` so every process the launcher starts uses the same key."""
    for name, values in (conf.get(SECTION, {}).get("realms") or {}).items():
        if not isinstance(values, dict) or values.get("key"):
            continue
        key = _read_key(conf.data_dir, name)
        if not key:
            key = _random.token_hex(32)
            write_private(_key_path(conf.data_dir, name), key + "\n")
        values["key"] = key
