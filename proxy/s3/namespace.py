"""One S3 bucket namespace for the whole cloud: the bucket registry.

A bucket name maps to exactly one owning account. The registry is the hidden system account
``proxy.s3.owners.SYSTEM_ACCOUNT``: one container per registered bucket name, replicated and listed
like any container, its sysmeta naming the owner (account, canonical id, display name).

Claiming a name is exclusive: ``StorageClient.claim_container`` creates the registry container and wins
only when a majority of its replicas created it (each node decides "created" in one transaction), so two
accounts racing for one name never both win. The winner then writes its owner sysmeta and creates its
own container; on failure it releases the name. A registry entry without an owner (a claimant that died
between the two steps) or whose owner's container is gone (a bucket deletion that died halfway) is
stale after ``STALE_AFTER`` seconds and taken over by the next CreateBucket of that name.

Swift keeps per-account container names. S3 addressing resolves a registered name to its owner's
account; an unregistered name to the caller's own account (containers made over Swift, buckets from
before the registry), so a Swift container whose name another account registered as a bucket exists
only for Swift.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from typing import Any

from proxy.context import ProxyState
from proxy.s3.owners import SYSTEM_ACCOUNT, Owner, canonical_id

STALE_AFTER = 60.0  # seconds before an ownerless or orphaned registry entry may be taken over
_SYS = "X-Container-Sysmeta-S3-Owner-"
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")  # what could be registered (a superset)


@dataclass(frozen=True)
class Registration:
    """A registered bucket: its owner and when the name was claimed (epoch seconds)."""

    name: str
    owner: Owner | None  # None: claimed, owner not yet written
    claimed_at: float


def _registration(name: str, info: dict[str, Any]) -> Registration | None:
    if not 200 <= info.get("status", 404) < 300:
        return None
    sysmeta = info.get("sysmeta", {})
    headers = info.get("headers", {})
    try:
        claimed = float(headers.get("x-put-timestamp") or headers.get("x-timestamp") or 0)
    except ValueError:
        claimed = 0.0
    account = sysmeta.get("s3-owner-account")
    owner = None
    if account:
        owner = Owner(sysmeta.get("s3-owner-id") or canonical_id(account), sysmeta.get("s3-owner-name", ""),
                      account)
    return Registration(name, owner, claimed)


async def lookup(state: ProxyState, name: str) -> Registration | None:
    """The registration of bucket ``name`` (cached a few seconds), None when unregistered. A lookup reads
    every replica of the entry (as all container info does): one that missed a bucket's deletion and
    re-creation by another account still names the old owner (docs/durability.md "Reads that decide").

    An entry seen without its owner (a claim between its two steps) is read again rather than served from
    the cache: a losing claimant looks the name up at that moment, and would otherwise address its own
    account's container of that name (NoSuchBucket) for the cache's lifetime after the winner's owner landed."""
    reg = _registration(name, await state.container_info(SYSTEM_ACCOUNT, name))
    if reg is not None and reg.owner is None:
        state.invalidate_info(SYSTEM_ACCOUNT, name)
        reg = _registration(name, await state.container_info(SYSTEM_ACCOUNT, name))
        if reg is not None and reg.owner is None:
            state.invalidate_info(SYSTEM_ACCOUNT, name)  # still being claimed: not cached either
    return reg


async def owner_account(state: ProxyState, name: str) -> str | None:
    """The account owning bucket ``name``, or None when no account registered it."""
    reg = await lookup(state, name)
    return reg.owner.account if reg is not None and reg.owner is not None else None


async def registered_elsewhere(state: ProxyState, account: str, names: list[str]) -> set[str]:
    """The container names of ``account`` that another account registered as its bucket (ListBuckets
    leaves them out: over S3 they are the other account's)."""
    sem = asyncio.Semaphore(16)

    async def check(name: str) -> str | None:
        if not _BUCKET_NAME.match(name):
            return None  # never registered: a Swift-only container name
        async with sem:
            holder = await owner_account(state, name)
        return name if holder not in (None, account) else None

    return {n for n in await asyncio.gather(*(check(n) for n in names)) if n is not None}


async def claim(state: ProxyState, name: str, owner: Owner) -> bool | None:
    """Register ``name`` for ``owner``: True when this call claimed it, False when it was registered
    already (``lookup`` says by whom), None when the registry could not decide (503)."""
    state.invalidate_info(SYSTEM_ACCOUNT, name)
    won = await state.client.claim_container(SYSTEM_ACCOUNT, name, {})
    if not won:
        return won
    resp = await state.client.post_container(SYSTEM_ACCOUNT, name, {
        _SYS + "Account": owner.account, _SYS + "Id": owner.id, _SYS + "Name": owner.display_name})
    state.invalidate_info(SYSTEM_ACCOUNT, name)
    if resp.status // 100 != 2:
        await release(state, name)
        return None
    return True


async def release(state: ProxyState, name: str) -> None:
    """Forget the registration of ``name`` (after DeleteBucket, or a CreateBucket that failed)."""
    await state.client.delete_container(SYSTEM_ACCOUNT, name)
    state.invalidate_info(SYSTEM_ACCOUNT, name)


def is_stale(reg: Registration, owner_container_exists: bool) -> bool:
    """An entry a new claim may take over: ownerless or orphaned, and older than ``STALE_AFTER``."""
    abandoned = reg.owner is None or not owner_container_exists
    return abandoned and time.time() - reg.claimed_at > STALE_AFTER
