"""RFC 7232 quoted ETags on request, as Swift's ``etag_quoter`` middleware.

Swift answers objects' ETags as bare MD5 hex digests (``d41d8cd98f00b204e9800998ecf8427e``), which
RFC 7232 does not allow; some CDNs need them quoted. The account's owner opts in (or out) with
``X-Account-Rfc-Compliant-Etags: true|false`` on the account, or per container with
``X-Container-Rfc-Compliant-Etags``; an empty value or ``X-Remove-...`` clears the setting. The
setting is kept as sysmeta (``X-Account-Sysmeta-Rfc-Compliant-Etags``, ``X-Container-Sysmeta-...``,
``True``/``False`` as Swift stores them) and shown back under the header that set it
(proxy/swift/headers.py).

Every answer to an object request (any method, errors too) then gets its ``Etag`` quoted when the
container says so, else when the account says so, else by ``[proxy] etag_quoter_enable_by_default``
(default false, as Swift's ``enable_by_default``; shown in ``/info`` under ``etag_quoter``). An ETag
already quoted (``"..."`` or ``W/"..."``) is left alone. The stage sits right inside ``cors``, as Swift
places it right after ``cache``: it sees the client's request and final answer only, never the
sub-requests features make below it (whose ETags they compare bare).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from proxy.pipeline import Handler, handles
from proxy.swift.constraints import true_value
from proxy.swift.context import SwiftRequest
from proxy.swift.headers import RFC_ETAGS_SYSMETA
from proxy.swift.operations import ANY_DEPTH_OPERATIONS, OBJECT_OPERATIONS

SYSMETA_KEY = "rfc-compliant-etags"  # the info cache's sysmeta key (prefix stripped)


def enabled_by_default(conf: Mapping[str, Any]) -> bool:
    """``[proxy] etag_quoter_enable_by_default``."""
    value = conf.get("proxy", {}).get("etag_quoter_enable_by_default", False)
    return true_value(value) if isinstance(value, str) else bool(value)


def info(conf: Mapping[str, Any]) -> dict[str, Any]:
    """``/info``'s ``etag_quoter`` entry, Swift's shape."""
    return {"enable_by_default": enabled_by_default(conf)}


def setting(headers: Mapping[str, str], kind: str) -> dict[str, str]:
    """The sysmeta an account or container PUT/POST asks for (``kind``: "account" or "container"):
    ``True``/``False`` for a value, ``""`` (cleared) for an empty one or ``X-Remove-...``; {} for none."""
    client = f"x-{kind}-rfc-compliant-etags"
    value = headers.get(client)
    out: dict[str, str] = {}
    if value is not None:
        out[RFC_ETAGS_SYSMETA[kind]] = str(true_value(value)) if value.strip() else ""
    if headers.get(f"x-remove-{kind}-rfc-compliant-etags"):
        out[RFC_ETAGS_SYSMETA[kind]] = ""
    return out


async def wants_quotes(req: SwiftRequest) -> bool:
    """Whether the object's container, else its account, else the cluster default asks for quoted ETags."""
    container = await req.state.container_info(req.account, req.container_name)
    if not 200 <= container["status"] < 300:
        return False
    flag = container["sysmeta"].get(SYSMETA_KEY) or None
    if flag is None:
        account = await req.state.account_info(req.account)
        if not 200 <= account["status"] < 300:
            return False
        flag = account["sysmeta"].get(SYSMETA_KEY) or None
    if flag is None:
        return enabled_by_default(req.state.conf)
    return true_value(flag)


def quote_etag(response: Response) -> None:
    """Quote ``response``'s ETag unless it already is (strong or weak)."""
    value = response.headers.get("etag")
    if value is not None and not (value.startswith(('"', 'W/"')) and value.endswith('"')):
        response.headers["etag"] = f'"{value}"'


# every object answer; account and container PUT/POST (the setting)
@handles(operations=OBJECT_OPERATIONS | ANY_DEPTH_OPERATIONS
         | {"put_account", "post_account", "put_container", "post_container"})
async def feature(req: SwiftRequest, call_next: Handler) -> Response:
    """Pipeline stage: store an account's or container's setting; quote an object answer's ETag."""
    if req.obj is None:
        if req.method in ("PUT", "POST"):
            req.sysmeta.update(setting(req.headers, "container" if req.container is not None else "account"))
        return await call_next(req)
    if not await wants_quotes(req):
        return await call_next(req)
    response = await call_next(req)
    quote_etag(response)
    return response
