"""Authorization decisions shared by both APIs: owners, readers, reseller admins and container ACLs.

Which access an operation needs is the router tables' business (proxy/swift/operations.py, proxy/s3/access.py)."""

from __future__ import annotations

from urllib.parse import quote

from starlette.responses import Response

from proxy.auth import account_acl
from proxy.auth.acl import acl_allows
from proxy.auth.resellers import Resellers
from proxy.context import Identity, ProxyState
from proxy.http.errors import error_response

READ_METHODS = ("GET", "HEAD")


def denied_response(status: int, account: str = "unknown") -> Response:
    """401 (with Swift's ``Www-Authenticate`` challenge) or 403."""
    if status == 401:
        return error_response(401, headers={"Www-Authenticate": f'Swift realm="{quote(account)}"'})
    return error_response(status)


async def check_access(state: ProxyState, identity: Identity | None, account: str, container: str | None,
                       obj: str | None, method: str, referer: str | None = None,
                       resellers: Resellers | None = None) -> int | None:
    """None when allowed, else 401/403. ``method`` is the effective verb (COPY counts as a write).
    ``resellers``: the configured reseller prefixes (``AUTH_`` alone by default).

    Owners, reseller admins and Keystone readers first, then container ACLs, then the account's
    ``X-Account-Access-Control`` grants (proxy/auth/account_acl.py)."""
    resellers = resellers or Resellers()
    fail = 403 if identity and not identity.is_anonymous else 401
    account_id = resellers.account_id(account)
    if not account_id:
        return fail
    if identity is not None and identity.is_reseller and not account_id.startswith("."):
        return None
    if resellers.administers(identity, account) and (method not in ("PUT", "DELETE") or container is not None):
        return None
    if method == "OPTIONS":
        return None
    if identity is not None and identity.is_reader and identity.account == account and method in READ_METHODS:
        return None
    if container is not None and (obj is not None or method in READ_METHODS):
        info = await state.container_info(account, container)
        if 200 <= info["status"] < 300:
            acl = info["read_acl"] if method in READ_METHODS else info["write_acl"]
            if acl_allows(identity, acl, listing=obj is None, referer=referer, reseller_prefix=resellers.primary,
                          write=method not in READ_METHODS):
                return None
    # X-Account-Access-Control grants, after container ACLs as in TempAuth
    level = await account_acl.account_level(state, identity, account, resellers.primary)
    if account_acl.level_allows(level, container, method):
        return None
    return fail
