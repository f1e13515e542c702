"""Storage node request paths (percent-encoded as the contract requires)."""

from __future__ import annotations

import re
from urllib.parse import quote

from objclient.rings import Device

# what ``quote`` leaves as it is (its always-safe characters); a name made only of these needs no quoting, which
# one C regex match tells (``quote`` itself runs ~30 lines of Python per call, and a PUT builds 3 paths of 4)
_UNQUOTED = re.compile(r"[A-Za-z0-9_.~-]*")
_UNQUOTED_WITH_SLASH = re.compile(r"[A-Za-z0-9_.~/-]*")


def _q(value: str) -> str:
    return value if _UNQUOTED.fullmatch(value) else quote(value, safe="")


def obj_path(dev: Device, part: int, account: str, container: str, obj: str) -> str:
    quoted_obj = obj if _UNQUOTED_WITH_SLASH.fullmatch(obj) else quote(obj, safe="/")
    return f"/obj/{_q(dev.device)}/{part}/{_q(account)}/{_q(container)}/{quoted_obj}"


def cont_path(dev: Device, part: int, account: str, container: str) -> str:
    return f"/cont/{_q(dev.device)}/{part}/{_q(account)}/{_q(container)}"


def acct_path(dev: Device, part: int, account: str) -> str:
    return f"/acct/{_q(dev.device)}/{part}/{_q(account)}"


def listing_query(
    *,
    prefix: str | None,
    delimiter: str | None,
    marker: str | None,
    end_marker: str | None,
    limit: int,
    reverse: bool,
    path: str | None = None,
) -> str:
    """``?format=json&...`` for container and account listings (``path``: containers only)."""
    params = {
        "format": "json",
        "prefix": prefix,
        "delimiter": delimiter,
        "marker": marker,
        "end_marker": end_marker,
        "limit": str(int(limit)),
        "reverse": "true" if reverse else None,
        "path": path,
    }
    return "?" + "&".join(f"{k}={_q(v)}" for k, v in params.items() if v is not None)
