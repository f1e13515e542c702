"""Reseller prefixes, as Swift's TempAuth configures them: one or several account-name prefixes.

``[tempauth] reseller_prefix`` is one prefix (``"AUTH_"``) or a list (``"AUTH_, SERVICE_"`` or a TOML
array). The first is the primary one: tokens and storage URLs use it, and a user's own account is
``<primary><account>``. The others give the same user other accounts with the same account id:
the admin of ``AUTH_test`` also administers ``SERVICE_test``, provided it holds the group the
prefix requires (``SERVICE_require_group = "service"``; ``require_group`` for the primary prefix).
Groups come from ``X-Auth-Token`` plus, when both tokens are valid, ``X-Service-Token``: with the
setting above, ``SERVICE_`` accounts are only reachable by a user together with a service.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from proxy.context import Identity

DEFAULT_PREFIX = "AUTH_"
PREFIX_CACHE_SIZE = 4096


def _normalise(prefix: str) -> str:
    prefix = prefix.strip()
    return prefix if not prefix or prefix.endswith("_") else prefix + "_"


@dataclass(frozen=True)
class Resellers:
    """The configured prefixes (primary first) and the group each requires (empty: none)."""

    prefixes: tuple[str, ...] = (DEFAULT_PREFIX,)
    require_group: dict[str, str] = field(default_factory=dict)
    # account -> its prefix, asked several times a request (bounded: account names come from clients)
    _prefixes_of: dict[str, str | None] = field(default_factory=dict, compare=False, repr=False)

    @property
    def primary(self) -> str:
        """The prefix of tokens, storage URLs and users' own accounts."""
        return self.prefixes[0]

    def prefix_of(self, account: str) -> str | None:
        """The (longest) configured prefix ``account`` starts with, or None when it has none."""
        try:
            return self._prefixes_of[account]
        except KeyError:
            pass
        matches = [p for p in self.prefixes if account.startswith(p)]
        prefix = max(matches, key=len) if matches else None
        if len(self._prefixes_of) >= PREFIX_CACHE_SIZE:
            self._prefixes_of.clear()
        self._prefixes_of[account] = prefix
        return prefix

    def account_id(self, account: str) -> str | None:
        """``test`` for ``AUTH_test`` or ``SERVICE_test``; None outside every prefix."""
        prefix = self.prefix_of(account)
        return None if prefix is None else account[len(prefix):]

    def administers(self, identity: Identity | None, account: str) -> bool:
        """The identity is the ``.admin`` of ``account``'s id under any prefix and holds the group that
        prefix requires (from its own token or its service token)."""
        if identity is None or not identity.is_admin:
            return False
        own, target = self.account_id(identity.account), self.account_id(account)
        if own is None or not target or own != target:
            return False
        required = self.require_group.get(self.prefix_of(account) or "", "")
        return not required or required in identity.groups


def resellers_of(conf: Any) -> Resellers:
    """The reseller prefixes of ``conf``'s ``[tempauth]`` section (parsed once per distinct setting:
    every request asks)."""
    section = conf.get("tempauth", {}) if hasattr(conf, "get") else {}
    raw = section.get("reseller_prefix", DEFAULT_PREFIX)
    groups = tuple((k, str(v)) for k, v in section.items() if k.endswith("require_group"))
    return _parse(raw if isinstance(raw, str) else tuple(str(p) for p in raw), groups)


@functools.lru_cache(maxsize=64)
def _parse(raw: str | tuple[str, ...], require_groups: tuple[tuple[str, str], ...]) -> Resellers:
    section = dict(require_groups)
    items: Sequence[str] = raw.split(",") if isinstance(raw, str) else raw
    prefixes = tuple(p for p in (_normalise(i) for i in items) if p) or (DEFAULT_PREFIX,)
    groups: dict[str, str] = {}
    for prefix in prefixes:
        group = section.get(prefix + "require_group")
        if group is None and prefix == prefixes[0]:
            group = section.get("require_group")
        if group:
            groups[prefix] = str(group).strip()
    return Resellers(prefixes, groups)


def primary_prefix(conf: Any) -> str:
    """The primary reseller prefix of ``conf`` (``AUTH_`` by default)."""
    return resellers_of(conf).primary


def with_service_groups(identity: Identity, service: Identity | None) -> Identity:
    """``identity`` with a valid service token's groups appended (Swift's ``X-Service-Token``)."""
    if service is None or service.is_anonymous:
        return identity
    extra = [g for g in service.groups if g not in identity.groups]
    return replace(identity, groups=[*identity.groups, *extra])
