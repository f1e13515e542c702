"""Per-request state of an S3 call: addressing (bucket/key), query, credential and auth details."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request

from proxy.context import Identity, ObjectRequest, ProxyState, RequestAccessors
from proxy.s3.credentials import Credential


@dataclass
class AuthInfo:
    """What the signature check established; streaming uploads need the signing material."""

    credential: Credential
    version: int  # 2 or 4
    payload_hash: str = "UNSIGNED-PAYLOAD"  # literal x-amz-content-sha256 (v4 header auth)
    signing_key: bytes = b""
    amz_date: str = ""
    scope: str = ""
    seed_signature: str = ""
    presigned: bool = False


@dataclass
class S3Request(RequestAccessors):
    """A parsed S3 request. ``bucket``/``key`` are decoded; ``key`` is None for bucket/service calls."""

    request: Request
    state: ProxyState
    trans_id: str
    bucket: str | None
    key: str | None
    query: dict[str, str]  # first value of each parameter, decoded; no value → ""
    raw_path: str  # path as sent, still percent-encoded
    raw_query: str
    vhost: bool = False
    auth: AuthInfo | None = None
    extras: dict[str, Any] = field(default_factory=dict)


    @property
    def credential(self) -> Credential:
        assert self.auth is not None
        return self.auth.credential

    @property
    def identity(self) -> Identity:
        """Who the credential acts as; ``proxy.s3.access`` decides what it may do."""
        return self.credential.identity

    @property
    def account(self) -> str:
        """The account the addressed bucket lives in (its registered owner's, ``proxy.s3.namespace``;
        set by the router), else the caller's own (ListBuckets, CreateBucket)."""
        return self.extras.get("bucket_account") or self.credential.account

    @property
    def resource(self) -> str:
        if self.bucket is None:
            return "/"
        return f"/{self.bucket}" + (f"/{self.key}" if self.key is not None else "")

    @property
    def s3_conf(self) -> dict[str, Any]:
        return self.state.conf.get("proxy", {}) if hasattr(self.state.conf, "get") else {}

    @property
    def region(self) -> str:
        return str(self.s3_conf.get("region", "us-east-1"))

    def object_request(self, container: str | None = None, obj: str | None = None) -> ObjectRequest:
        """The API-neutral view of this request the large-object package reads (SLO manifests, DLO listings)."""
        return ObjectRequest(self.request, self.state, self.account, container or self.bucket,
                             obj if obj is not None else self.key, {}, self.trans_id, identity=self.identity)


def anonymous_auth() -> AuthInfo:
    """What an unsigned request authenticates as: no user, no account (only grants reach it)."""
    return AuthInfo(Credential("", "", Identity(user="", account="")), version=0)


def split_path(raw_path: str, host: str, s3_domain: str) -> tuple[str | None, str | None, bool]:
    """``(bucket, key, virtual_host)`` from the raw path and the Host header.

    Virtual-host style when the host (port removed) is ``<bucket>.<s3_domain>``. The key keeps every
    slash as sent (``//a`` stays); ``/b/`` is a bucket request.
    """
    path = unquote(raw_path)
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    hostname = hostname.lower().rstrip(".")
    domain = s3_domain.lower().strip(".")
    if domain and hostname.endswith("." + domain):
        bucket = hostname[: -len(domain) - 1]
        key = path[1:] if path.startswith("/") else path
        return bucket, (key or None), True
    rest = path[1:] if path.startswith("/") else path
    if not rest:
        return None, None, False
    bucket, sep, key = rest.partition("/")
    return bucket, (key if sep and key else None), False
