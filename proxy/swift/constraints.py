"""Swift's request limits and their checks; ``/info`` advertises exactly these values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from proxy import expiry
from proxy.http.errors import HTML, HTTPError
from stackstore.numbers import parse_uint

MAX_FILE_SIZE = 5 * 1024**3 + 2  # Swift's default: 5 GiB (+2 for historical reasons)
# Swift's default metadata limits (swift/common/constraints.py): each fits well inside one header line
# (MAX_HEADER_SIZE, whose longer lines the proxy's HTTP layer refuses), so an oversized name or value gets Swift's 400.
MAX_META_NAME_LENGTH = 128
MAX_META_VALUE_LENGTH = 256
MAX_META_COUNT = 90
MAX_META_OVERALL_SIZE = 4096
MAX_HEADER_SIZE = 8192  # one header line; the proxy's HTTP protocol refuses longer ones (proxy/http/protocol.py)
MAX_OBJECT_NAME_LENGTH = 1024
CONTAINER_LISTING_LIMIT = 10000
ACCOUNT_LISTING_LIMIT = 10000
MAX_ACCOUNT_NAME_LENGTH = 256
MAX_CONTAINER_NAME_LENGTH = 256
EXTRA_HEADER_COUNT = 0
VALID_API_VERSIONS = ["v1", "v1.0"]

SWIFT_CONSTRAINTS = {
    "max_file_size": MAX_FILE_SIZE,
    "max_meta_name_length": MAX_META_NAME_LENGTH,
    "max_meta_value_length": MAX_META_VALUE_LENGTH,
    "max_meta_count": MAX_META_COUNT,
    "max_meta_overall_size": MAX_META_OVERALL_SIZE,
    "max_header_size": MAX_HEADER_SIZE,
    "max_object_name_length": MAX_OBJECT_NAME_LENGTH,
    "container_listing_limit": CONTAINER_LISTING_LIMIT,
    "account_listing_limit": ACCOUNT_LISTING_LIMIT,
    "max_account_name_length": MAX_ACCOUNT_NAME_LENGTH,
    "max_container_name_length": MAX_CONTAINER_NAME_LENGTH,
    "extra_header_count": EXTRA_HEADER_COUNT,
    "valid_api_versions": VALID_API_VERSIONS,
}

TRUE_VALUES = {"true", "1", "yes", "on", "t", "y"}


def true_value(value: str | None) -> bool:
    return value is not None and value.strip().lower() in TRUE_VALUES


def check_names(account: str, container: str | None, obj: str | None) -> None:
    """400 for names over Swift's length limits (lengths in UTF-8 bytes); Swift's controllers send
    these as ``text/html``."""
    if len(account.encode()) > MAX_ACCOUNT_NAME_LENGTH:
        raise HTTPError(400, f"Account name length of {len(account.encode())} longer than {MAX_ACCOUNT_NAME_LENGTH}",
                        content_type=HTML)
    if container is not None and len(container.encode()) > MAX_CONTAINER_NAME_LENGTH:
        raise HTTPError(400, f"Container name length of {len(container.encode())} longer than "
                             f"{MAX_CONTAINER_NAME_LENGTH}", content_type=HTML)
    if obj is not None and len(obj.encode()) > MAX_OBJECT_NAME_LENGTH:
        raise HTTPError(400, f"Object name length of {len(obj.encode())} longer than {MAX_OBJECT_NAME_LENGTH}",
                        content_type=HTML)


@dataclass(frozen=True)
class MetadataUpdate:
    """What a request's ``X-<target>-Meta-*`` / ``X-Remove-<target>-Meta-*`` headers set, read in one pass
    over the headers (``metadata_update``): (name after the prefix, value) in request order, ``""`` for a
    removal. Every metadata check (``check``, ``check_merged``, whether there is any) reads these items."""

    target: str  # account | container | object
    items: tuple[tuple[str, str], ...]

    def __bool__(self) -> bool:
        return bool(self.items)

    def check(self) -> None:
        """Swift's per-request limits: 400 for an empty name, invalid UTF-8 (account and container
        metadata), a name or value too long, too many items or too many bytes in all."""
        count = size = 0
        for key, value in self.items:
            if not key:
                raise HTTPError(400, "Metadata name cannot be empty")
            if self.target in ("account", "container"):  # as Swift: object metadata may hold any bytes
                try:
                    key.encode("latin-1").decode("utf-8")
                    value.encode("latin-1").decode("utf-8")
                except UnicodeError:
                    raise HTTPError(400, "Metadata must be valid UTF-8") from None
            count += 1
            size += len(key) + len(value)
            if len(key) > MAX_META_NAME_LENGTH:
                raise HTTPError(400, f"Metadata name too long: {key}; max {MAX_META_NAME_LENGTH}")
            if len(value) > MAX_META_VALUE_LENGTH:
                raise HTTPError(400, f"Metadata value longer than {MAX_META_VALUE_LENGTH}: {key}")
            if count > MAX_META_COUNT:
                raise HTTPError(400, f"Too many metadata items; max {MAX_META_COUNT}")
            if size > MAX_META_OVERALL_SIZE:
                raise HTTPError(400, f"Total metadata too large; max {MAX_META_OVERALL_SIZE}")

    def check_merged(self, stored: Mapping[str, str]) -> None:
        """400 when the metadata already ``stored`` (an account's or container's HEAD headers) changed by
        this update would exceed the count or overall size limits: Swift checks the aggregate, not only
        what one request sends."""
        prefix = f"x-{self.target}-meta-"
        merged = {k.lower()[len(prefix):]: v for k, v in stored.items() if k.lower().startswith(prefix)}
        for key, value in self.items:
            if value:
                merged[key] = value
            else:
                merged.pop(key, None)
        if len(merged) > MAX_META_COUNT:
            raise HTTPError(400, f"Too many metadata items; max {MAX_META_COUNT}")
        if sum(len(k) + len(v) for k, v in merged.items()) > MAX_META_OVERALL_SIZE:
            raise HTTPError(400, f"Total metadata too large; max {MAX_META_OVERALL_SIZE}")


def metadata_update(headers: Mapping[str, str], target: str) -> MetadataUpdate:
    """The ``X-<target>-Meta-*`` and ``X-Remove-<target>-Meta-*`` items of a request (one pass)."""
    prefix, remove = f"x-{target}-meta-", f"x-remove-{target}-meta-"
    items = []
    for name, value in headers.items():
        name = name.lower()
        if name.startswith(remove):
            items.append((name[len(remove):], ""))
        elif name.startswith(prefix):
            items.append((name[len(prefix):], value))
    return MetadataUpdate(target, tuple(items))


def check_metadata(headers: Mapping[str, str], target: str) -> MetadataUpdate:
    """Validate the ``X-<target>-Meta-*`` headers of a request (target: account|container|object); the
    update, for the checks that need stored metadata (``MetadataUpdate.check_merged``)."""
    update = metadata_update(headers, target)
    update.check()
    return update


def body_length(headers: Mapping[str, str]) -> int | None:
    """Declared request body length; None for chunked. 411/400/413/501 as Swift answers."""
    te = headers.get("transfer-encoding")
    if te is not None:
        if te.strip().lower() != "chunked":
            raise HTTPError(501, "Transfer-Encoding not supported")
        return None
    raw = headers.get("content-length")
    if raw is None:
        raise HTTPError(411, "Missing Content-Length header.")
    length = parse_uint(raw)
    if length is None:
        raise HTTPError(400, "Invalid Content-Length")
    if length > MAX_FILE_SIZE:
        raise HTTPError(413, "Your request is too large.")
    return length


def delete_at(headers: Mapping[str, str], now: float | None = None) -> str | None:
    """The ``X-Delete-At`` to store from ``X-Delete-At``/``X-Delete-After``; 400 when invalid or past
    (the rules are proxy/expiry.py, shared with the S3 API)."""
    try:
        return expiry.delete_at(headers, now)
    except expiry.DeleteAtError as err:
        raise HTTPError(400, str(err)) from None


def check_manifest_header(value: str) -> None:
    """``X-Object-Manifest`` must be ``<container>/<prefix>``."""
    container, sep, _ = unquote(value).lstrip("/").partition("/")
    if not sep or not container or "?" in value or "&" in value:
        raise HTTPError(400, "X-Object-Manifest must be in the format container/prefix")
