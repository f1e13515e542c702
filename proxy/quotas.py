"""Account and container quota decisions shared by both APIs (Swift's account_quotas and
container_quotas rules), from cached account/container info.

Container quotas are the container's metadata ``Quota-Bytes`` / ``Quota-Count`` (digits, else no
quota); account quotas the account's sysmeta ``quota-bytes`` (or the legacy ``Meta-Quota-Bytes``),
``quota-count`` and their per-policy forms, set only by reseller admins, whose own writes they do
not limit. A per-policy quota (``quota-bytes-policy-<index>``) limits writes into containers of that
storage policy by the account's usage in it (the account's ``X-Account-Storage-Policy-<name>-*``
counts), as Swift's ``account_quotas``. Usage is what the info says: account totals follow container
updates (about a second), as in Swift.
"""

from __future__ import annotations

from typing import Any

from proxy.context import Identity, ProxyState
from stackstore.numbers import parse_uint
from stackstore.storage_policies import StoragePolicies, StoragePolicy, policies_from_conf

EXCEEDED = "Upload exceeds quota."
POLICY_EXCEEDED = "Upload exceeds policy quota."


def _quota(value: Any) -> int:
    """A stored quota, -1 (none) for anything but an integer."""
    number = parse_uint(value) if isinstance(value, str) else None  # ASCII digits only
    return -1 if number is None else number


def container_has_quota(info: dict[str, Any]) -> bool:
    """Whether the container (its info) carries a quota: only then must its cached usage stay fresh."""
    meta = info.get("meta", {})
    return bool(meta.get("quota-bytes") or meta.get("quota-count"))


def account_has_quota(info: dict[str, Any]) -> bool:
    """Whether the account (its info) carries any quota."""
    sysmeta, meta = info.get("sysmeta", {}), info.get("meta", {})
    return bool(meta.get("quota-bytes")) or any(k.startswith("quota-") and v for k, v in sysmeta.items())


def container_exceeded(info: dict[str, Any], size: int) -> bool:
    """Whether one more object of ``size`` bytes takes the container (its info) past a quota."""
    if not 200 <= info["status"] < 300:
        return False
    meta = info.get("meta", {})
    quota_bytes, quota_count = meta.get("quota-bytes", ""), meta.get("quota-count", "")
    if 0 <= _quota(quota_bytes) < int(info.get("bytes", 0)) + size:
        return True
    return 0 <= _quota(quota_count) < int(info.get("object_count", 0)) + 1


def policy_usage(info: dict[str, Any], policy: StoragePolicy) -> tuple[int, int]:
    """(bytes, objects) the account (its info) holds in containers of ``policy``."""
    headers = info.get("headers", {})
    prefix = f"x-account-storage-policy-{policy.name.lower()}-"
    return parse_uint(headers.get(prefix + "bytes-used", "0")) or 0, \
        parse_uint(headers.get(prefix + "object-count", "0")) or 0


def account_exceeded(info: dict[str, Any], size: int, policy: StoragePolicy | None = None) -> str | None:
    """Swift's 413 message when one more object of ``size`` bytes (into a container of ``policy``, if
    known) takes the account (its info) past a quota, else None."""
    if not 200 <= info["status"] < 300:
        return None
    sysmeta, meta = info.get("sysmeta", {}), info.get("meta", {})
    used_bytes, used_count = int(info.get("bytes", 0)), int(info.get("total_object_count", 0))
    if 0 <= _quota(sysmeta.get("quota-bytes", meta.get("quota-bytes"))) < used_bytes + size:
        return EXCEEDED
    if 0 <= _quota(sysmeta.get("quota-count")) < used_count + 1:
        return EXCEEDED
    if policy is not None:
        bytes_quota = _quota(sysmeta.get(f"quota-bytes-policy-{policy.index}"))
        count_quota = _quota(sysmeta.get(f"quota-count-policy-{policy.index}"))
        if bytes_quota < 0 and count_quota < 0:
            return None  # no quota for this policy: its usage need not be read
        policy_bytes, policy_count = policy_usage(info, policy)
        if 0 <= bytes_quota < policy_bytes + size:
            return POLICY_EXCEEDED
        if 0 <= count_quota < policy_count + 1:
            return POLICY_EXCEEDED
    return None


def storage_policies(state: ProxyState) -> StoragePolicies:
    """The configured storage policies, parsed once per process (the cache entry the Swift API's
    ``proxy.swift.policies.storage_policies`` fills too)."""
    policies = state.extras.get("storage_policies")
    if policies is None:
        policies = state.extras["storage_policies"] = policies_from_conf(state.conf)
    return policies


async def container_policy(state: ProxyState, account: str, container: str) -> StoragePolicy | None:
    """The storage policy of an existing container (None when it does not exist)."""
    info = await state.container_info(account, container)
    if not 200 <= info["status"] < 300:
        return None
    return storage_policies(state).by_index(info.get("storage_policy"))


async def upload_refused(state: ProxyState, identity: Identity | None, account: str, container: str | None,
                         size: int) -> str | None:
    """Why writing one object of ``size`` bytes to ``account`` (``container``: None to check the
    account's quotas only, e.g. an S3 part in its segments container) is refused, or None."""
    if container is not None and container_exceeded(await state.container_info(account, container), size):
        return EXCEEDED
    if identity is not None and identity.is_reseller:
        return None
    policy = await container_policy(state, account, container) if container is not None else None
    return account_exceeded(await state.account_info(account), size, policy)
