"""Swift container ACLs: ``X-Container-Read``/``X-Container-Write`` parsing and matching."""

from __future__ import annotations

from urllib.parse import urlparse

from proxy.context import Identity


def parse_acl(value: str | None) -> tuple[list[str], list[str]]:
    """``".r:*,.rlistings,test:tester2"`` → (referrers ``["*"]``, groups ``[".rlistings", "test:tester2"]``)."""
    referrers: list[str] = []
    groups: list[str] = []
    for item in (value or "").split(","):
        item = item.strip()
        if not item:
            continue
        if item.startswith(".r:") or item.startswith(".ref:") or item.startswith(".referer:") \
                or item.startswith(".referrer:"):
            referrers.append(item.split(":", 1)[1].strip())
        else:
            groups.append(item)
    return referrers, groups


def referrer_allowed(referer: str | None, referrers: list[str]) -> bool:
    """Swift's rules: ``*`` allows all; ``.example.com`` matches subdomains; ``-host`` denies."""
    allowed = False
    host = (urlparse(referer).hostname or "") if referer else ""
    for rule in referrers:
        negate = rule.startswith("-")
        rule = rule[1:] if negate else rule
        if rule == "*" or (host and (host == rule or (rule.startswith(".") and host.endswith(rule)))):
            allowed = not negate
    return allowed


def identity_groups(identity: Identity, reseller_prefix: str = "AUTH_") -> list[str]:
    """Names an ACL may grant to: ``account:user``, ``account``, plus configured groups."""
    user = identity.user
    account = user.split(":", 1)[0] if ":" in user else ""
    groups = [user, account] + [g for g in identity.groups if not g.startswith(".")]
    return [g for g in groups if g]


def acl_allows(identity: Identity | None, acl: str | None, *, listing: bool, referer: str | None,
               reseller_prefix: str = "AUTH_") -> bool:
    """Whether a container ACL grants this request (``listing``: a container GET/HEAD)."""
    referrers, groups = parse_acl(acl)
    if referrer_allowed(referer, referrers) and (not listing or ".rlistings" in groups):
        return True
    if identity is None or identity.is_anonymous:
        return False
    mine = identity_groups(identity, reseller_prefix)
    account = mine[1] if len(mine) > 1 else ""
    for group in groups:
        if group in mine or group == "*" or (account and group == f"{account}:*"):
            return True
    return False
