"""Storage policies: named sets of object rings a container chooses at creation (Swift's policy layer).

Configured under ``[policies.<name>]`` (see ``stackstore.config.DEFAULTS``)::

    [policies.gold]
    index = 0          # unique, >= 0; policy 0 uses object.ring and objects/, policy N object-N.ring and objects-N/
    default = true     # exactly one policy (never a deprecated one) is the default
    replicas = 3
    aliases = ["yellow"]
    deprecated = false # existing containers keep working; no new container may choose it
    type = "replication"

Only ``replication`` is implemented; ``type`` exists so an erasure-coded policy can join later with its own
fields. This module only describes policies; it does no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

REPLICATION = "replication"
POLICY_TYPES = (REPLICATION,)
# between the proxy and the nodes: which policy an object request or a container belongs to
POLICY_INDEX_HEADER = "X-Backend-Storage-Policy-Index"
# from the proxy to container nodes: the policy of a container created without an explicit one
POLICY_DEFAULT_HEADER = "X-Backend-Storage-Policy-Default"
# from clients: the policy a container is created in; in HEAD/GET replies: the container's policy
POLICY_HEADER = "X-Storage-Policy"


class PolicyError(ValueError):
    """The policy configuration is inconsistent."""


@dataclass(frozen=True)
class StoragePolicy:
    """One storage policy: its index, names and how its objects are stored."""

    index: int
    name: str
    aliases: tuple[str, ...] = ()
    default: bool = False
    deprecated: bool = False
    policy_type: str = REPLICATION
    replicas: int = 3
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ring_name(self) -> str:
        """``object`` for policy 0, ``object-<index>`` for the others."""
        return object_ring_name(self.index)

    @property
    def names(self) -> tuple[str, ...]:
        """The name followed by its aliases."""
        return (self.name, *(a for a in self.aliases if a != self.name))

    def info(self) -> dict[str, Any]:
        """The entry of ``/info``'s ``swift.policies`` (Swift's shape)."""
        entry: dict[str, Any] = {"name": self.name, "aliases": ", ".join(self.names)}
        if self.default:
            entry["default"] = True
        if self.deprecated:
            entry["deprecated"] = True
        return entry


def object_ring_name(index: int) -> str:
    """The object ring name of policy ``index``: ``object`` or ``object-<index>``."""
    return "object" if index == 0 else f"object-{index}"


class StoragePolicies:
    """Every configured policy, looked up by index or (case-insensitively) by name or alias."""

    def __init__(self, policies: list[StoragePolicy]):
        if not policies:
            raise PolicyError("at least one storage policy is needed")
        self._by_index: dict[int, StoragePolicy] = {}
        self._by_name: dict[str, StoragePolicy] = {}
        for policy in sorted(policies, key=lambda p: p.index):
            if policy.index < 0 or policy.index in self._by_index:
                raise PolicyError(f"policy {policy.name!r}: index {policy.index} is negative or taken")
            if policy.policy_type not in POLICY_TYPES:
                raise PolicyError(f"policy {policy.name!r}: unsupported type {policy.policy_type!r}")
            if policy.replicas < 1:
                raise PolicyError(f"policy {policy.name!r}: replicas must be >= 1")
            self._by_index[policy.index] = policy
            for name in policy.names:
                if not name or name.lower() in self._by_name:
                    raise PolicyError(f"policy name {name!r} is empty or used twice")
                self._by_name[name.lower()] = policy
        defaults = [p for p in policies if p.default]
        if len(defaults) > 1:
            raise PolicyError("more than one default storage policy")
        if not defaults:  # like Swift: a lone policy (or policy 0) is the default
            defaults = [self._by_index[min(self._by_index)]]
            self._by_index[defaults[0].index] = _replace_default(defaults[0])
            for name in defaults[0].names:
                self._by_name[name.lower()] = self._by_index[defaults[0].index]
        if self.default.deprecated:
            raise PolicyError("the default storage policy cannot be deprecated")

    def __iter__(self) -> Iterator[StoragePolicy]:
        return iter(self._by_index.values())

    def __len__(self) -> int:
        return len(self._by_index)

    @property
    def default(self) -> StoragePolicy:
        """The policy of containers created without ``X-Storage-Policy``."""
        return next(p for p in self._by_index.values() if p.default)

    @property
    def indexes(self) -> list[int]:
        """Every policy index, ascending."""
        return list(self._by_index)

    def by_index(self, index: int | str | None) -> StoragePolicy | None:
        """The policy of ``index`` (an int or its decimal string); None when unknown or malformed."""
        try:
            return self._by_index.get(int(index)) if index is not None else None
        except ValueError:
            return None

    def by_name(self, name: str) -> StoragePolicy | None:
        """The policy named (or aliased) ``name``, ignoring case; None when unknown."""
        return self._by_name.get(name.strip().lower())

    def info(self) -> list[dict[str, Any]]:
        """``/info``'s ``swift.policies``: every policy that is not deprecated."""
        return [p.info() for p in self if not p.deprecated]


def _replace_default(policy: StoragePolicy) -> StoragePolicy:
    from dataclasses import replace

    return replace(policy, default=True)


def _aliases(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, str):
        return tuple(a.strip() for a in raw.split(",") if a.strip())
    return tuple(str(a).strip() for a in raw or () if str(a).strip())


def policies_from_conf(conf: Mapping[str, Any]) -> StoragePolicies:
    """The policies of a configuration's ``[policies]`` table (``{name: {index, default, replicas, ...}}``).

    Raises ``PolicyError`` when they are inconsistent."""
    table: Mapping[str, Any] = conf.get("policies") or {}
    known = {"index", "default", "deprecated", "replicas", "aliases", "type"}
    policies = []
    for name, spec in table.items():
        if not isinstance(spec, Mapping) or "index" not in spec:
            raise PolicyError(f"policy {name!r}: a table with an index is needed")
        try:
            policies.append(StoragePolicy(
                index=int(spec["index"]), name=str(name), aliases=_aliases(spec.get("aliases")),
                default=bool(spec.get("default", False)), deprecated=bool(spec.get("deprecated", False)),
                policy_type=str(spec.get("type", REPLICATION)),
                replicas=int(spec.get("replicas", conf.get("cluster", {}).get("replicas", 3))),
                extra={k: v for k, v in spec.items() if k not in known}))
        except (TypeError, ValueError) as exc:
            raise PolicyError(f"policy {name!r}: {exc}") from exc
    if not policies:  # no table: one policy 0 with the cluster's replica count, as before policies existed
        replicas = int(conf.get("cluster", {}).get("replicas", 3))
        policies = [StoragePolicy(0, "Policy-0", default=True, replicas=replicas)]
    return StoragePolicies(policies)
