"""Account quotas, as Swift 2.38's ``account_quotas`` middleware.

Only a reseller admin sets or removes them, on account PUT/POST: ``X-Account-Quota-Bytes``,
``X-Account-Quota-Count``, the per-policy ``X-Account-Quota-{Bytes,Count}-Policy-<name>`` and the
legacy ``X-Account-Meta-Quota-Bytes`` (each with its ``X-Remove-`` form, or an empty value, to
remove). They are stored as sysmeta (proxy/swift/quota_headers.py); anyone else sending one gets
403, a value that is not a non-negative integer 400. An object write (PUT, ``X-Copy-From``, COPY)
that would take the account past a quota gets 413 ``Upload exceeds quota.`` (``... policy quota.``
when the account's usage in the destination container's storage policy would pass that policy's
quota) before anything is stored; reseller admins' writes are not limited. Sits after ``authorize``.
"""

from __future__ import annotations

from starlette.responses import Response

from proxy.http.errors import error_response
from proxy.pipeline import Handler, handles
from proxy.quotas import account_exceeded, account_has_quota, container_policy
from proxy.swift.context import SwiftRequest
from proxy.swift.features.uploads import planned_upload
from proxy.swift.policies import storage_policies
from proxy.swift.quota_headers import KINDS
from stackstore.numbers import is_ascii_digits

INFO: dict[str, object] = {}
LEGACY = "x-account-meta-quota-bytes"


def _header(req: SwiftRequest, name: str) -> str | None:
    """A request header, the legacy ``...-Meta-Quota-Bytes`` form standing in for the new one when
    that is absent or empty (as Swift translates it)."""
    value = req.headers.get(name)
    if not value and name.endswith("account-quota-bytes"):
        legacy = req.headers.get(name.replace("account-quota-bytes", "account-meta-quota-bytes"))
        value = legacy if legacy is not None else value
    return value


def quota_updates(req: SwiftRequest) -> dict[str, str | None]:
    """Sysmeta header → new value ("" removes; None: not asked) for an account PUT/POST; an
    ``X-Remove-`` form wins over a value."""
    updates: dict[str, str | None] = {}
    suffixes = [(kind, f"X-Account-Sysmeta-{kind}") for kind in KINDS]
    suffixes += [(f"{kind}-Policy-{policy.name}", f"X-Account-Sysmeta-{kind}-Policy-{policy.index}")
                 for kind in KINDS for policy in storage_policies(req.state)]
    for suffix, sysmeta in suffixes:
        low = suffix.lower()
        updates[sysmeta] = "" if _header(req, f"x-remove-account-{low}") else _header(req, f"x-account-{low}")
    return updates


def _reseller(req: SwiftRequest) -> bool:
    return bool(req.identity is not None and req.identity.is_reseller)


@handles(methods={"PUT", "POST", "COPY"})
async def feature(req: SwiftRequest, call_next: Handler) -> Response:
    """Pipeline stage: quota changes on account PUT/POST (reseller admins only); refuse object writes
    past the account's quotas."""
    if req.container is None:
        if req.method in ("PUT", "POST"):
            updates = {name: value for name, value in quota_updates(req).items() if value is not None}
            if updates and not _reseller(req):
                return error_response(403)
            if any(value and not is_ascii_digits(value) for value in updates.values()):
                return error_response(400)
            req.sysmeta.update({name: value for name, value in updates.items() if value is not None})
        return await call_next(req)
    if _reseller(req):
        return await call_next(req)
    upload = await planned_upload(req, call_next)
    quota = False
    if upload is not None:
        info = await req.state.account_info(upload.account)
        quota = account_has_quota(info)  # without one, nothing can be exceeded (no policy to look up)
        if quota:
            policy = await container_policy(req.state, upload.account, upload.container)
            body = account_exceeded(info, upload.size, policy)
            if body is not None:
                return error_response(413, body)
    answer = await call_next(req)
    if quota and upload is not None and 200 <= answer.status_code < 300:
        # the next write's check sees this one's bytes (this process's cached usage is stale now)
        req.state.invalidate_info(upload.account, upload.container)
    return answer
