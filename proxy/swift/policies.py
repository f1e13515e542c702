"""Storage policies as the Swift API shows them: ``X-Storage-Policy`` on container PUT/HEAD/GET.

A container PUT naming a policy sends its index to the container servers
(``X-Backend-Storage-Policy-Index``; they answer 409 when the container exists under another policy);
without one the default policy's index goes as ``X-Backend-Storage-Policy-Default`` (used only when the
container is created). Object requests find their container's policy through the info cache
(``objclient.StorageClient.policy_resolver``).
"""

from __future__ import annotations

from collections.abc import Mapping

from proxy.context import ProxyState
from proxy.http.errors import HTTPError
from stackstore.storage_policies import (
    POLICY_DEFAULT_HEADER,
    POLICY_INDEX_HEADER,
    StoragePolicies,
    policies_from_conf,
)


def storage_policies(state: ProxyState) -> StoragePolicies:
    """The configured policies (parsed once per process)."""
    policies = state.extras.get("storage_policies")
    if policies is None:
        policies = state.extras["storage_policies"] = policies_from_conf(state.conf)
    return policies


def chosen_policy_headers(state: ProxyState, client_headers: Mapping[str, str]) -> dict[str, str]:
    """The backend headers of a container PUT: the policy the client names, or the default's index.

    400 for an unknown or deprecated policy name (as Swift)."""
    policies = storage_policies(state)
    name = (client_headers.get("x-storage-policy") or "").strip()
    if not name:
        return {POLICY_DEFAULT_HEADER: str(policies.default.index)}
    policy = policies.by_name(name)
    if policy is None:
        raise HTTPError(400, f"Invalid X-Storage-Policy {name!r}")
    if policy.deprecated:
        raise HTTPError(400, f"Storage Policy {policy.name!r} is deprecated")
    return {POLICY_INDEX_HEADER: str(policy.index)}


def policy_name(state: ProxyState, backend_headers: Mapping[str, str]) -> str:
    """The name of the container's policy from a container server's reply (the default's when absent)."""
    policies = storage_policies(state)
    policy = policies.by_index(backend_headers.get(POLICY_INDEX_HEADER.lower(),
                                                   backend_headers.get(POLICY_INDEX_HEADER)))
    return (policy or policies.default).name
