"""How a symlink is stored: its sysmeta, its container-listing params and the object controller's
``LinkResponse``.

A symlink is a zero-byte object whose ``X-Object-Sysmeta-Symlink-*`` headers name its target
(the stored form, shared with large-object segments, is proxy/symlinks.py). Its container listing row carries the
same facts as params of the row's hash (``d41d8...; symlink_target=c/o; ...``, as Swift stores
them), which the symlink feature turns into ``symlink_path``/``symlink_etag``/``symlink_bytes``.
The pipeline feature is proxy/swift/features/symlink.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from starlette.responses import Response

from proxy.http.headers import lookup
from proxy.symlinks import SYSMETA_ACCOUNT as SYSMETA_ACCOUNT
from proxy.symlinks import SYSMETA_BYTES as SYSMETA_BYTES
from proxy.symlinks import SYSMETA_ETAG as SYSMETA_ETAG
from proxy.symlinks import SYSMETA_TARGET as SYSMETA_TARGET
from proxy.symlinks import StoredLink as StoredLink
from proxy.symlinks import stored_link as stored_link
from stackstore.versioning_names import NULL_VERSION

OVERRIDE_ETAG = "X-Object-Sysmeta-Container-Update-Override-Etag"  # the listing row's hash

# client-facing header ← stored sysmeta
CLIENT_HEADERS = (("X-Symlink-Target", SYSMETA_TARGET), ("X-Symlink-Target-Account", SYSMETA_ACCOUNT),
                  ("X-Symlink-Target-Etag", SYSMETA_ETAG), ("X-Symlink-Target-Bytes", SYSMETA_BYTES))

# listing-row params and the JSON listing keys they become
PARAM_TARGET, PARAM_ACCOUNT = "symlink_target", "symlink_target_account"
PARAM_ETAG, PARAM_BYTES = "symlink_target_etag", "symlink_target_bytes"


def client_headers(backend_headers: Mapping[str, str]) -> dict[str, str]:
    """``X-Symlink-Target[-Account|-Etag|-Bytes]`` of a link read with ``?symlink=get``."""
    out = {}
    for client, sysmeta in CLIENT_HEADERS:
        value = lookup(backend_headers, sysmeta)
        if value:
            out[client] = value
    return out


class LinkResponse(Response):
    """What the object controller answers for a stored symlink (GET/HEAD without ``symlink=get``):
    the symlink feature follows ``link``. Sent as it is (the empty link object) when no feature does."""

    def __init__(self, link: StoredLink, headers: Mapping[str, str], backend_headers: Mapping[str, str]):
        super().__init__(b"", status_code=200, headers=dict(headers))
        self.link = link
        self.backend_headers = dict(backend_headers)


def split_hash_params(value: str) -> tuple[str, list[tuple[str, str]]]:
    """``"etag; k=v; k2=v2"`` → ``("etag", [("k", "v"), ("k2", "v2")])`` (a listing row's hash)."""
    first, *rest = value.split(";")
    params = []
    for item in rest:
        key, _, val = item.strip().partition("=")
        if key:
            params.append((key.strip().lower(), val.strip().strip('"')))
    return first.strip(), params


def listing_row(row: dict, version: str, account: str) -> dict:
    """A JSON container-listing row with the symlink params of its hash turned into
    ``symlink_path`` (and ``symlink_etag``/``symlink_bytes`` for a static link); ``slo_etag`` of a
    static link to an SLO as Swift lists it; other params stay on the hash. ``account`` is quoted."""
    if "hash" not in row or ";" not in str(row["hash"]):
        return row
    etag, params = split_hash_params(str(row["hash"]))
    target = None
    kept = [etag]
    for key, value in params:
        if key == PARAM_TARGET:
            target = value
        elif key == PARAM_ACCOUNT:
            account = value
        elif key == PARAM_ETAG:
            row["symlink_etag"] = value
        elif key == PARAM_BYTES and value.isdigit():
            row["symlink_bytes"] = int(value)
        elif key == "slo_etag":
            row["slo_etag"] = f'"{value}"'
        else:
            kept.append(f"{key}={value}")
    row["hash"] = "; ".join(kept)
    if row.get("version_symlink"):  # a current version: Swift lists its version link, not the user's link
        row.pop("symlink_etag", None)
        row.pop("symlink_bytes", None)
    elif target:
        row["symlink_path"] = f"/{version}/{account}/{target.lstrip('/')}"
    return row


def version_link_row(row: dict, version: str, account: str, container: str, version_id: str) -> dict:
    """A JSON container-listing row of a current version that has a version id (object versioning),
    as Swift lists it: Swift keeps such a version in the versions container and the name as a symlink
    to it, listed with ``version_symlink: true`` and ``symlink_path``
    ``/v1/<account>/<container>/<name>?version-id=<id>`` (quoted). StackStore stores the current version
    as a plain object whose id rides in its listing row (stackstore/wire.py); ``bytes`` and ``hash`` are
    already the version's own, as Swift shows them. Plain objects and ``null`` versions are left alone."""
    if "name" not in row or not version_id or version_id == NULL_VERSION:
        return row
    row["symlink_path"] = quote(f"/{version}/{account}/{container}/{row['name']}") + f"?version-id={version_id}"
    row["version_symlink"] = True
    return row
