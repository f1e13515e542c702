"""Domain remap: ``<container>.<account>.<storage_domain>`` hosts as Swift paths (Swift's ``domain_remap``).

A request whose ``Host`` ends with one of ``[proxy] storage_domain`` (a comma-separated list; empty turns
the feature off) has the host's leading labels moved into its path before any routing:
``Host: c.AUTH_test.example.net`` + ``/o`` becomes ``/v1/AUTH_test/c/o``, and
``Host: AUTH-test.example.net`` + ``/c/o`` becomes ``/v1/AUTH_test/c/o``. As Swift 2.38:

- ``path_root`` (``domain_remap_path_root``, ``v1``) is the version prepended;
- ``reseller_prefixes`` (``domain_remap_reseller_prefixes``, ``AUTH``): an account without ``_`` but
  with ``-`` has its first ``-`` turned into ``_`` (DNS names cannot carry ``_``); the prefix is
  matched case-insensitively and written with its configured case; an account with no known prefix
  gets ``default_reseller_prefix`` (``domain_remap_default_reseller_prefix``) or is left alone (the
  request goes on unchanged);
- ``mangle_client_paths`` (``domain_remap_mangle_client_paths``) drops a client's own leading
  ``/v1`` from the path instead of keeping it as part of the container or object name;
- more than two leading labels is ``400 Bad domain in host header``;
- a label holding a UTF-8 name (raw bytes in ``Host``) names that container or account;
- ``Location`` and ``Content-Location`` answers pointing at the rewritten path point back at the
  path the client asked for.

The S3 API's virtual hosts (``<bucket>.<s3_domain>``, proxy/router.py) are a different setting: the
two must not overlap (neither equal nor one a subdomain of the other), or the proxy refuses to start,
since a host would otherwise name both a bucket and a Swift account. A host in the storage domain is
always a Swift request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote_to_bytes

from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

BAD_DOMAIN = b"Bad domain in host header"


def _csv(value: Any) -> list[str]:
    items = value if isinstance(value, (list, tuple)) else str(value or "").split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def _true(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "t", "y")
    return bool(value)


class BadDomain(ValueError):
    """The host has more leading labels than ``<container>.<account>``."""


@dataclass(frozen=True)
class DomainRemap:
    """The configured storage domains and how their hosts' labels become a path."""

    storage_domains: tuple[str, ...]  # lower case, each with its leading "."
    path_root: str = "v1"
    reseller_prefixes: tuple[str, ...] = ("AUTH",)
    default_reseller_prefix: str | None = None
    mangle_client_paths: bool = False

    @classmethod
    def from_conf(cls, proxy_conf: Mapping[str, Any]) -> DomainRemap | None:
        """The feature configured by the ``[proxy]`` section; None when ``storage_domain`` is empty.

        Raises ``ValueError`` when a storage domain overlaps ``s3_domain``."""
        domains = tuple("." + d.lower().strip(".") for d in _csv(proxy_conf.get("storage_domain", "")))
        domains = tuple(d for d in domains if d != ".")
        if not domains:
            return None
        s3_domain = str(proxy_conf.get("s3_domain", "") or "").lower().strip(".")
        for domain in domains:
            if s3_domain and _overlap(domain[1:], s3_domain):
                raise ValueError(f"[proxy] storage_domain {domain[1:]!r} overlaps s3_domain {s3_domain!r}: "
                                 "a host would name both a Swift account and an S3 bucket")
        default = str(proxy_conf.get("domain_remap_default_reseller_prefix", "") or "") or None
        return cls(storage_domains=domains,
                   path_root=str(proxy_conf.get("domain_remap_path_root", "v1")).strip("/") or "v1",
                   reseller_prefixes=tuple(_csv(proxy_conf.get("domain_remap_reseller_prefixes", "AUTH"))),
                   default_reseller_prefix=default,
                   mangle_client_paths=_true(proxy_conf.get("domain_remap_mangle_client_paths", False)))

    def info(self) -> dict[str, Any]:
        """What ``/info`` advertises under ``domain_remap`` (Swift shows only this setting)."""
        return {"default_reseller_prefix": self.default_reseller_prefix}

    def leading_labels(self, host: str) -> list[str] | None:
        """The labels before the storage domain (``[container, account]`` or ``[account]``); None when
        ``host`` (port allowed) is not in a storage domain. Raises ``BadDomain`` for more than two."""
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        lowered = name.lower()
        domain = next((d for d in self.storage_domains if lowered.endswith(d)), None)
        if domain is None:
            return None
        labels = name[: -len(domain)].strip(".").split(".")
        if len(labels) > 2:
            raise BadDomain(host)
        return labels

    def account_of(self, label: str) -> str | None:
        """The account a host label names, with its reseller prefix; None: not one of ours."""
        if not self.reseller_prefixes:
            return label
        account = label
        if "_" not in account and "-" in account:
            account = account.replace("-", "_", 1)
        given = account.split("_", 1)[0].lower()
        for prefix in self.reseller_prefixes:
            if prefix.lower() == given:
                return prefix + account[len(prefix):]
        if self.default_reseller_prefix:
            return f"{self.default_reseller_prefix}_{account}"
        return None

    def remap(self, host: str, raw_path: bytes) -> bytes | None:
        """The rewritten raw (quoted) path for ``host`` and ``raw_path``; None: the request is not remapped.

        Raises ``BadDomain``."""
        labels = self.leading_labels(host)
        if labels is None:
            return None
        container, account_label = (labels[0], labels[1]) if len(labels) == 2 else (None, labels[0])
        account = self.account_of(account_label)
        if account is None:
            return None
        path = raw_path[1:] if raw_path.startswith(b"/") else raw_path
        root = self.path_root.encode()
        if self.mangle_client_paths and (path + b"/").startswith(root + b"/"):
            path = path[len(root) + 1:]
        parts = [b"", root, _quoted_label(account)]
        if container:
            parts.append(_quoted_label(container))
        parts.append(path)
        return b"/".join(parts)


def _quoted_label(label: str) -> bytes:
    """A host label as a quoted path segment. The host is read byte for byte (latin-1, as WSGI does),
    so a UTF-8 container or account name in it keeps its bytes: ``é`` arrives as two bytes and is
    quoted ``%C3%A9``, as Swift's ``domain_remap`` passes them on."""
    return quote(label.encode("latin-1", "replace"), safe="").encode()


def _overlap(a: str, b: str) -> bool:
    return a == b or a.endswith("." + b) or b.endswith("." + a)


class DomainRemapApp:
    """ASGI wrapper: remaps storage-domain hosts, then calls ``app``; restores Location headers."""

    def __init__(self, remap: DomainRemap, app: Any):
        self.remap, self.app = remap, app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http" or scope.get("path") == "/healthcheck":
            await self.app(scope, receive, send)
            return
        host = _host_of(scope)
        requested = bytes(scope.get("raw_path") or quote(scope.get("path", "/")).encode())
        try:
            new_path = self.remap.remap(host, requested) if host else None
        except BadDomain:
            await Response(BAD_DOMAIN, status_code=400, media_type="text/plain")(scope, receive, send)
            return
        if new_path is None:
            await self.app(scope, receive, send)
            return
        scope = dict(scope, raw_path=new_path,
                     path=unquote_to_bytes(new_path).decode("utf-8", "surrogateescape"))
        await self.app(scope, receive, _restoring_locations(send, requested, new_path))


def _host_of(scope: Scope) -> str:
    for key, value in scope.get("headers", ()):
        if key == b"host":
            return bytes(value).decode("latin-1")
    server = scope.get("server")
    return str(server[0]) if server else ""


def _restoring_locations(send: Send, requested: bytes, rewritten: bytes) -> Send:
    """``send`` with ``Location``/``Content-Location`` URLs of the rewritten path put back to ``requested``."""
    pattern = re.compile(rb"^(https?://[^/]+)" + re.escape(rewritten) + rb"(.*)$")
    replacement = requested.replace(b"\\", b"\\\\")

    async def sending(message: Message) -> None:
        if message.get("type") == "http.response.start":
            headers: Sequence[tuple[bytes, bytes]] = message.get("headers", ())
            message = dict(message, headers=[
                (k, pattern.sub(rb"\1" + replacement + rb"\2", v) if k.lower() in (b"location", b"content-location")
                 else v) for k, v in headers])
        await send(message)

    return sending
