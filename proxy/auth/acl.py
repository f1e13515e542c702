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


REFERRER_DESIGNATORS = (".r", ".ref", ".referer", ".referrer")


def check_acl(header: str, value: str) -> None:
    """Refuse (ValueError, Swift's message) an ACL Swift's ``clean_acl`` refuses.

    Referrer rules (``.r:``) and ``.rlistings`` grant anonymous access, so a write ACL
    (``X-Container-Write``) may hold neither; an unknown ``.designator:`` or a referrer rule without a
    host is refused in any ACL.
    """
    write = "write" in header.lower()
    for raw in value.split(","):
        item = raw.strip()
        if not item:
            continue
        if write and item == ".rlistings":
            raise ValueError(f"Listings are not allowed in write ACL: {item!r}")
        if ":" not in item:
            continue
        first, second = (part.strip() for part in item.split(":", 1))
        if not first.startswith("."):
            continue
        if first not in REFERRER_DESIGNATORS:
            raise ValueError(f"Unknown designator {first!r} in ACL: {item!r}")
        if write:
            raise ValueError(f"Referrers not allowed in write ACL: {item!r}")
        host = second[1:].strip() if second.startswith("-") else second
        if host != "*" and host.startswith("*"):
            host = host[1:].strip()
        if not host or host == ".":
            raise ValueError(f"No host/domain value after referrer designation in ACL: {item!r}")


def referrer_allowed(referer: str | None, referrers: list[str]) -> bool:
    """Swift's rules: ``*`` allows all; ``.example.com`` (or ``*.example.com``) matches subdomains;
    ``-host`` denies."""
    allowed = False
    host = (urlparse(referer).hostname or "") if referer else ""
    for rule in referrers:
        negate = rule.startswith("-")
        rule = rule[1:] if negate else rule
        if rule.startswith("*") and rule != "*":
            rule = rule[1:]  # ``*.example.com`` means ``.example.com`` (Swift's clean_acl)
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
               reseller_prefix: str = "AUTH_", write: bool = False) -> bool:
    """Whether a container ACL grants this request (``listing``: a container GET/HEAD).

    Referrer rules only ever grant reads: a ``write`` ACL stored with one (before writes refused them)
    still grants nothing to anonymous callers.
    """
    referrers, groups = parse_acl(acl)
    if not write and referrer_allowed(referer, referrers) and (not listing or ".rlistings" in groups):
        return True
    if identity is None or identity.is_anonymous:
        return False
    mine = identity_groups(identity, reseller_prefix)
    account = mine[1] if len(mine) > 1 else ""
    for group in groups:
        if group in mine or group == "*" or (account and group == f"{account}:*"):
            return True
    return False
