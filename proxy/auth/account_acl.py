"""Account ACLs (``X-Account-Access-Control``), as Swift's TempAuth defines them (version-2 JSON).

``{"admin": [...], "read-write": [...], "read-only": [...]}`` lists grantees: TempAuth names
(``account:user`` or ``account``) and Keystone ``project:user`` names (ids or names, ``*`` for
either side, as container ACLs match them) or a bare project id. They are stored as
``X-Account-Sysmeta-Core-Access-Control``, shown back only to the account's owners (its admins,
reseller admins and ``admin`` grantees):

* ``read-only``  — GET/HEAD of the account, its containers and objects;
* ``read-write`` — plus every write to containers and objects (not to the account);
* ``admin``      — plus account metadata and the ACL itself (an owner, short of creating or deleting
  the account).
"""

from __future__ import annotations

import json
from typing import Any

from proxy.auth.acl import identity_groups
from proxy.context import Identity, ProxyState
from proxy.http.errors import HTTPError

HEADER = "x-account-access-control"
SYSMETA = "x-account-sysmeta-core-access-control"
SYSMETA_KEY = "core-access-control"  # its name in account info's ``sysmeta``
LEVELS = ("admin", "read-write", "read-only")  # strongest first
READ_METHODS = ("GET", "HEAD")
MAX_ACL_SIZE = 8192  # Swift's max_header_size: a longer header never reaches Swift's auth


def format_acl(acl: dict[str, Any]) -> str:
    """Swift's version-2 serialisation: ASCII JSON, sorted keys, no spaces."""
    return json.dumps(acl, ensure_ascii=True, separators=(",", ":"), sort_keys=True)


def parse_acl(data: str | None) -> dict[str, Any] | None:
    """The stored JSON object; ``{}`` for an empty value; None when it is not a JSON object."""
    if data is None:
        return None
    if data == "":
        return {}
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def validate(value: str) -> str:
    """The value to store for a client's ``X-Account-Access-Control`` (400 when TempAuth refuses it):
    JSON object, only the three known keys, each a list of strings, no longer than a header may be."""
    if len(value.encode("utf-8", "surrogateescape")) > MAX_ACL_SIZE:
        raise _invalid("Header value too long", value)
    acl = parse_acl(value)
    if acl is None:
        raise _invalid(f"Syntax error in input ({value!r})", value)
    for key, grantees in acl.items():
        if key not in LEVELS:
            raise _invalid(f"Key {json.dumps(key)} not recognized", value)
        if not isinstance(grantees, list):
            raise _invalid(f"Value for key {json.dumps(key)} must be a list", value)
        if not all(isinstance(grantee, str) for grantee in grantees):
            raise _invalid(f"Elements of {json.dumps(key)} list must be strings", value)
    return value


def _invalid(error: str, value: str) -> HTTPError:
    body = f"X-Account-Access-Control invalid: {error}\n\nInput: {value[:MAX_ACL_SIZE]}\n"
    return HTTPError(400, body, headers={"Content-Type": "text/plain; charset=UTF-8"})


def shown(sysmeta_value: str | None) -> str | None:
    """The ``X-Account-Access-Control`` header an owner sees for the stored value (None when empty)."""
    acl = parse_acl(sysmeta_value)
    return format_acl(acl) if acl else None


def level_for(identity: Identity | None, acl: dict[str, Any] | None, reseller_prefix: str = "AUTH_") -> str | None:
    """The strongest level ``acl`` grants ``identity`` (``admin``, ``read-write``, ``read-only``), or None."""
    if not acl or identity is None or identity.is_anonymous:
        return None
    names = set(identity_groups(identity, reseller_prefix))
    if identity.account.startswith(reseller_prefix):  # a Keystone project id, a TempAuth account name
        names.add(identity.account[len(reseller_prefix):])
    for level in LEVELS:
        grantees = acl.get(level)
        if isinstance(grantees, list) and names.intersection(g for g in grantees if isinstance(g, str)):
            return level
    return None


async def account_level(state: ProxyState, identity: Identity | None, account: str,
                        reseller_prefix: str = "AUTH_") -> str | None:
    """The level ``account``'s stored ACL grants ``identity`` (cached account info), or None."""
    if identity is None or identity.is_anonymous:
        return None
    info = await state.account_info(account)
    if not 200 <= info["status"] < 300:
        return None
    return level_for(identity, parse_acl(info["sysmeta"].get(SYSMETA_KEY)), reseller_prefix)


def level_allows(level: str | None, container: str | None, method: str) -> bool:
    """Whether ``level`` allows ``method`` on the account (``container`` None) or below it."""
    if level == "admin":
        return method not in ("PUT", "DELETE") or container is not None
    if level == "read-write":
        return container is not None or method in READ_METHODS or method == "OPTIONS"
    if level == "read-only":
        return method in READ_METHODS
    return False
