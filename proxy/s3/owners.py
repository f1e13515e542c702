"""S3 owners: the stable canonical user id, display name and e-mail of the account a credential acts for.

S3 resources belong to accounts (a bucket is a container of its owner's account), so the canonical id
names the *storage account*: ``sha256("stackstore-s3-owner:" + account)`` in hex, 64 characters as
AWS's. Every proxy derives it from the account alone; TempAuth keys, ``[s3].keys`` pairs and Keystone
EC2 credentials of one account share it. The display name is the account's name (TempAuth ``test`` of
``test:tester``; the Keystone project's name), the e-mail the credential holder's where identity has one
(Keystone user ``email``, TempAuth ``[tempauth].users.<user>.email``).

ACL grants name owners by id or e-mail: ids and e-mails resolve against the configured TempAuth users
first, then against the owner records every proxy writes (once per process and account) the first time
a credential of that account signs an S3 request: objects of the hidden ``+owners`` container of the
system account (``proxy.s3.namespace.SYSTEM_ACCOUNT``), ``id/<canonical id>`` and ``email/<address>``.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import quote, unquote

from proxy.context import Identity, ProxyState

SYSTEM_ACCOUNT = ".s3_bucket_registry"  # no reseller prefix: unreachable through either public API
OWNERS_CONTAINER = "+owners"  # "+" is never part of a bucket name
_META = "X-Object-Meta-"
_REMEMBERED = "s3_owners_remembered"


@dataclass(frozen=True)
class Owner:
    """An S3 owner: canonical id, display name, storage account, e-mail ("" when unknown)."""

    id: str
    display_name: str
    account: str
    email: str = ""


@functools.lru_cache(maxsize=4096)  # a SHA-256 per call, asked twice by every signed request
def canonical_id(account: str) -> str:
    """The canonical user id of a storage account (64 hex digits, stable, the same in every proxy)."""
    return hashlib.sha256(f"stackstore-s3-owner:{account}".encode()).hexdigest()


def display_name(identity: Identity) -> str:
    """The account's name as the credential knows it: ``test`` of ``test:tester``, the project's name."""
    return identity.user.partition(":")[0] or identity.account


def owner_of(identity: Identity, email: str = "") -> Owner | None:
    """The owner a signed request acts for (None when anonymous or without an account)."""
    if identity.is_anonymous or not identity.account:
        return None
    return _owner(identity.account, display_name(identity), email)


@functools.lru_cache(maxsize=4096)  # every signed request asks twice, for the same few callers
def _owner(account: str, name: str, email: str) -> Owner:
    return Owner(canonical_id(account), name, account, email)


def _tempauth(state: ProxyState) -> tuple[str, dict]:
    conf = state.conf.get("tempauth", {}) if hasattr(state.conf, "get") else {}
    return str(conf.get("reseller_prefix", "AUTH_")), dict(conf.get("users", {}))


def _configured(state: ProxyState) -> list[Owner]:
    """One owner per TempAuth user (its account's id and name, the user's e-mail)."""
    prefix, users = _tempauth(state)
    out = []
    for user, entry in users.items():
        name = user.partition(":")[0]
        email = str(entry.get("email", "")) if isinstance(entry, dict) else ""
        out.append(Owner(canonical_id(prefix + name), name, prefix + name, email))
    return out


def _record_name(kind: str, value: str) -> str:
    return f"{kind}/{quote(value, safe='@.-_')}"


async def _empty() -> AsyncIterator[bytes]:
    if False:  # pragma: no cover
        yield b""


async def remember(state: ProxyState, owner: Owner) -> None:
    """Record ``owner`` for grant resolution, once per process (best effort: a failure retries later)."""
    seen: set[tuple[str, str, str]] = state.extras.setdefault(_REMEMBERED, set())
    key = (owner.id, owner.display_name, owner.email)
    if key in seen:
        return
    headers = {"Content-Type": "application/x-stackstore-s3-owner", _META + "Account": quote(owner.account),
               _META + "Display-Name": quote(owner.display_name), _META + "Email": quote(owner.email),
               _META + "Id": owner.id}
    client = state.client
    resp = await client.put_container(SYSTEM_ACCOUNT, OWNERS_CONTAINER, {})
    if resp.status // 100 != 2:
        return
    names = [_record_name("id", owner.id)] + ([_record_name("email", owner.email.lower())] if owner.email else [])
    for name in names:
        resp = await client.put_object(SYSTEM_ACCOUNT, OWNERS_CONTAINER, name, headers, _empty(), 0)
        if resp.status // 100 != 2:
            return
    if len(seen) > 100000:
        seen.clear()
    seen.add(key)


async def _recorded(state: ProxyState, kind: str, value: str) -> Owner | None:
    resp = await state.client.head_object(SYSTEM_ACCOUNT, OWNERS_CONTAINER, _record_name(kind, value))
    await resp.close()
    if resp.status // 100 != 2:
        return None
    h = {k.lower(): v for k, v in resp.headers.items()}
    meta = "x-object-meta-"
    if not h.get(meta + "id") or not h.get(meta + "account"):
        return None
    return Owner(h[meta + "id"], unquote(h.get(meta + "display-name", "")), unquote(h[meta + "account"]),
                 unquote(h.get(meta + "email", "")))


async def by_id(state: ProxyState, owner_id: str) -> Owner | None:
    """The owner with this canonical id, or None (→ InvalidArgument)."""
    if len(owner_id) != 64 or any(c not in "0123456789abcdef" for c in owner_id):
        return None
    for owner in _configured(state):
        if owner.id == owner_id:
            return owner
    return await _recorded(state, "id", owner_id)


async def by_email(state: ProxyState, email: str) -> Owner | None:
    """The owner whose credential holder has this e-mail address, or None (→ UnresolvableGrantByEmailAddress)."""
    wanted = email.strip().lower()
    if not wanted or "@" not in wanted or len(wanted) > 254:
        return None
    for owner in _configured(state):
        if owner.email.lower() == wanted:
            return owner
    return await _recorded(state, "email", wanted)


def account_owner(state: ProxyState, account: str, name: str = "") -> Owner:
    """The owner of a storage account, named ``name`` (else the account without its reseller prefix)."""
    prefix, _ = _tempauth(state)
    return Owner(canonical_id(account), name or account.removeprefix(prefix), account)
