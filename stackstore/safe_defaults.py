"""The well-known development users may serve loopback only.

The default configuration carries Swift's classic test users (``admin:admin``/``admin``,
``test:tester``/``testing``, ...) so that a fresh ``stackstore up`` works with every client's
documentation. Anyone can guess those keys: a proxy or identity service that would listen on a
non-loopback address while one of them is configured with its well-known key refuses to start.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from stackstore.config import DEFAULTS

DEVELOPMENT_KEYS: dict[str, str] = {user: spec["key"] for user, spec in DEFAULTS["tempauth"]["users"].items()}


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (``127.0.0.0/8``, ``::1``, ``localhost``)."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def development_users(conf: Mapping[str, Any]) -> list[str]:
    """TempAuth users configured with their well-known development key."""
    users = conf.get("tempauth", {}).get("users", {}) or {}
    return sorted(user for user, spec in users.items()
                  if isinstance(spec, Mapping) and DEVELOPMENT_KEYS.get(user) == spec.get("key"))


def refusal(conf: Mapping[str, Any], host: str, service: str) -> str | None:
    """Why ``service`` must not listen on ``host`` with this configuration, or None when it may."""
    if is_loopback(host):
        return None
    known = development_users(conf)
    if not known:
        return None
    return (f"{service}: refusing to listen on {host}: the well-known development users "
            f"{', '.join(known)} are configured with their default keys, which anyone can guess. "
            "Give each user in [tempauth] users a key of your own (or remove them), e.g. "
            "[tempauth.users.\"test:tester\"] key = \"<random>\", or listen on 127.0.0.1.")
