"""Account quotas as stored (``X-Account-Sysmeta-Quota-*``) and as shown (``X-Account-Quota-*``).

Swift 2.38's ``account_quotas`` keeps the quotas in sysmeta, writable only by reseller admins:
``Quota-Bytes``, ``Quota-Count`` and, per storage policy, ``Quota-Bytes-Policy-<name>`` /
``Quota-Count-Policy-<name>`` (stored by the policy's index).
"""

from __future__ import annotations

from collections.abc import Mapping

from stackstore.storage_policies import StoragePolicies

KINDS = ("Quota-Bytes", "Quota-Count")


def quota_headers(backend: Mapping[str, str], policies: StoragePolicies) -> dict[str, str]:
    """The ``X-Account-Quota-*`` headers an account HEAD/GET shows for its stored sysmeta (per-policy
    ones under the policy's name)."""
    stored = {name.lower(): value for name, value in backend.items()}
    out: dict[str, str] = {}
    for kind in KINDS:
        value = stored.get(f"x-account-sysmeta-{kind.lower()}")
        if value:
            out[f"X-Account-{kind}"] = value
        for policy in policies:
            value = stored.get(f"x-account-sysmeta-{kind.lower()}-policy-{policy.index}")
            if value:
                out[f"X-Account-{kind}-Policy-{policy.name}"] = value
    return out
