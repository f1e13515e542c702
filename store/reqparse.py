"""Request parsing shared by the route modules: paths, timestamps, query strings, errors."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol, overload
from urllib.parse import parse_qsl, unquote_to_bytes

from starlette.requests import Request
from starlette.responses import Response

from stackstore.timestamp import Timestamp

DEVICE_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
MAX_ACCOUNT = MAX_CONTAINER = 1024  # bytes; the proxy enforces the public (smaller) limits
MAX_OBJECT = 4096
LISTING_LIMIT = 10000


class HTTPError(Exception):
    """Raised by handlers to answer with ``status``; becomes a plain-text response."""

    def __init__(self, status: int, body: str = "", headers: dict[str, str] | None = None):
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.headers = headers or {}

    def response(self) -> Response:
        return Response(self.body, status_code=self.status, headers=self.headers, media_type="text/plain")


@dataclass(slots=True)
class StoragePath:
    """A parsed ``/<kind>/<device>/<partition>/<account>[/<container>[/<object>]]`` path."""

    kind: str  # "obj" | "cont" | "acct"
    device: str
    partition: int
    account: str
    container: str | None = None
    obj: str | None = None

    @property
    def container_name(self) -> str:
        """The container, for requests that need one; 400 when the path names none."""
        if self.container is None:
            raise HTTPError(400, "path needs a container")
        return self.container

    @property
    def object_name(self) -> str:
        """The object, for requests that need one; 400 when the path names none."""
        if self.obj is None:
            raise HTTPError(400, "path needs an object")
        return self.obj


def _decode(raw: bytes, what: str, limit: int, allow_slash: bool = False, allow_reserved: bool = False) -> str:
    """A percent-decoded path part. NUL only where ``allow_reserved`` (container and object names) and
    only in a name of the reserved namespace, which starts with NUL: object versioning's hidden
    containers and versions (stackstore/versioning_names.py). No client can name one: the proxy's routers
    refuse NUL in a path."""
    try:
        value = unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPError(400, f"{what} is not valid UTF-8") from None
    return checked_name(value, what, limit, allow_slash, allow_reserved)


def checked_name(value: str, what: str, limit: int, allow_slash: bool = False, allow_reserved: bool = False) -> str:
    """``value`` when it is a valid ``what`` name (not empty, at most ``limit`` UTF-8 bytes, NUL and slashes as
    ``_decode`` allows them); else 400."""
    if not value:
        raise HTTPError(400, f"empty {what}")
    if len(value.encode("utf-8")) > limit:
        raise HTTPError(400, f"{what} too long")
    if ("\x00" in value and not (allow_reserved and value.startswith("\x00"))) \
            or (not allow_slash and "/" in value):
        raise HTTPError(400, f"invalid {what}")
    return value


def parse_path(raw_path: bytes) -> StoragePath:
    """Split the raw (still percent-encoded) path; object names keep every slash verbatim."""
    parts = raw_path.split(b"/", 6)
    if len(parts) < 5 or parts[0] != b"":
        raise HTTPError(400, "bad path")
    kind = parts[1].decode("latin-1")
    if kind not in ("obj", "cont", "acct"):
        raise HTTPError(400, "bad path")
    device = unquote_to_bytes(parts[2]).decode("latin-1")
    if not DEVICE_RE.match(device) or device in (".", ".."):
        raise HTTPError(400, "bad device")
    if not parts[3].isdigit() or len(parts[3]) > 10 or int(parts[3]) >= 2**32:
        raise HTTPError(400, "bad partition")
    sp = StoragePath(kind, device, int(parts[3]), _decode(parts[4], "account", MAX_ACCOUNT))
    if len(parts) > 5:
        if parts[5] == b"" and len(parts) == 6:
            if kind != "acct":  # tolerate a trailing slash after the account only
                raise HTTPError(400, "empty container")
            return sp
        sp.container = _decode(parts[5], "container", MAX_CONTAINER, allow_reserved=True)
    if len(parts) > 6:
        sp.obj = _decode(parts[6], "object", MAX_OBJECT, allow_slash=True, allow_reserved=True)
    if kind == "obj" and sp.obj is None:
        raise HTTPError(400, "object path needs account, container and object")
    if kind == "acct" and sp.obj is not None:
        raise HTTPError(400, "bad path")
    return sp


class HasHeaders(Protocol):
    """A request, or anything else that carries request headers (a row of a batched row update)."""

    @property
    def headers(self) -> Mapping[str, str]: ...


def raw_path(request: Request) -> bytes:
    raw = request.scope.get("raw_path")
    if raw is None:
        from urllib.parse import quote

        raw = quote(request.scope["path"], safe="/").encode("ascii")
    return raw


# A write stamped further ahead of this node's clock is refused: a far-future tombstone or row would
# shadow every later write of the name (clocks of a cluster's hosts are expected within seconds).
MAX_FUTURE_TIMESTAMP = 3600.0


@overload
def timestamp_header(request: HasHeaders, name: str = ..., required: Literal[True] = ...) -> Timestamp: ...
@overload
def timestamp_header(request: HasHeaders, name: str = ..., required: bool = ...) -> Timestamp | None: ...
def timestamp_header(request: HasHeaders, name: str = "x-timestamp", required: bool = True) -> Timestamp | None:
    """Parse a timestamp header; 400 when missing (if required), malformed, or more than
    ``MAX_FUTURE_TIMESTAMP`` seconds ahead of this node's clock."""
    value = request.headers.get(name)
    if value is None:
        if required:
            raise HTTPError(400, f"missing {name}")
        return None
    if not value.isascii():
        raise HTTPError(400, f"bad {name}")
    try:
        ts = Timestamp(value)
    except ValueError:
        raise HTTPError(400, f"bad {name}") from None
    return not_future(ts, name)


def not_future(ts: Timestamp, name: str = "x-timestamp") -> Timestamp:
    """``ts``, unless it is more than ``MAX_FUTURE_TIMESTAMP`` seconds ahead of this node's clock: 400 naming
    ``name``."""
    if ts.seconds > time.time() + MAX_FUTURE_TIMESTAMP:
        raise HTTPError(400, f"{name} too far in the future")
    return ts


@overload
def int_header(request: HasHeaders, name: str, default: int, minimum: int = ...) -> int: ...
@overload
def int_header(request: HasHeaders, name: str, default: None = ..., minimum: int = ...) -> int | None: ...
def int_header(request: HasHeaders, name: str, default: int | None = None, minimum: int = 0) -> int | None:
    value = request.headers.get(name)
    if value is None:
        return default
    return header_int(value, name, minimum)


def header_int(value: str, name: str, minimum: int = 0) -> int:
    """The integer a header's value ``value`` states (surrounding blanks allowed); 400 naming ``name`` when it
    is not one or is below ``minimum``."""
    value = value.strip()
    if not value.isdigit() and not (value.startswith("-") and value[1:].isdigit()):
        raise HTTPError(400, f"bad {name}")
    number = int(value)
    if number < minimum:
        raise HTTPError(400, f"bad {name}")
    return number


def query_params(request: Request) -> dict[str, str]:
    """Query parameters, strictly UTF-8 (400 otherwise); the last value of a repeated key wins."""
    qs = request.scope.get("query_string", b"")
    if not qs:
        return {}
    try:
        return dict(parse_qsl(qs.decode("utf-8"), keep_blank_values=True, encoding="utf-8", errors="strict"))
    except (UnicodeDecodeError, ValueError):
        raise HTTPError(400, "bad query string") from None


def listing_params(request: Request, with_path: bool = False) -> dict:
    """prefix/delimiter/marker/end_marker/limit/reverse for container and account GETs (and
    ``path`` for container GETs when ``with_path``). Like Swift, any UTF-8 text is a valid marker,
    prefix or delimiter (a marker may end in NUL to make it inclusive)."""
    q = query_params(request)
    limit = LISTING_LIMIT
    if "limit" in q:
        if not q["limit"].isdigit():
            raise HTTPError(400, "bad limit")
        limit = int(q["limit"])
        if limit > LISTING_LIMIT:
            raise HTTPError(412, f"maximum limit is {LISTING_LIMIT}")
    return {
        "prefix": q.get("prefix") or None,
        "delimiter": q.get("delimiter") or None,
        "marker": q.get("marker") or None,
        "end_marker": q.get("end_marker") or None,
        "limit": limit,
        "reverse": q.get("reverse", "").lower() in ("1", "true", "yes", "on", "t", "y"),
    } | ({"path": q.get("path")} if with_path else {})


def text_header(request: HasHeaders, name: str, default: str = "") -> str:
    """A header's text: raw UTF-8 (which arrives as Latin-1 characters) decoded, as Swift's container
    server stores a row's content type; a value that is not UTF-8 is kept as it came."""
    return header_text(request.headers.get(name, default))


def header_text(value: str) -> str:
    """``text_header`` of a value at hand."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


@functools.lru_cache(maxsize=4096)  # the same few names come with every PUT
def title_case(name: str) -> str:
    """``x-object-meta-foo`` -> ``X-Object-Meta-Foo`` (how headers are stored and returned)."""
    return "-".join(p[:1].upper() + p[1:].lower() for p in name.split("-"))


def host_list(value: str | None) -> list[tuple[str, int]]:
    """Parse ``ip:port[,ip:port...]`` (IPv6 as ``[::1]:port``); 400 when malformed."""
    out: list[tuple[str, int]] = []
    if not value:
        return out
    for item in value.split(","):
        item = item.strip()
        host, sep, port = item.rpartition(":")
        if not sep or not port.isdigit() or not host:
            raise HTTPError(400, "bad host header")
        out.append((host.strip("[]"), int(port)))
    return out
