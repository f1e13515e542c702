"""A bucket's website configuration (``<WebsiteConfiguration>``): parsing with AWS's checks, rendering, and
the decisions the website endpoint takes from it (routing rules, redirect locations).

AWS's checks (PutBucketWebsite): either ``RedirectAllRequestsTo`` (a ``HostName``, an optional
``Protocol``) alone, or an ``IndexDocument`` (a ``Suffix`` without ``/``) with an optional
``ErrorDocument`` (``Key``) and up to 50 ``RoutingRules``. Each rule has a ``Redirect`` (``Protocol``
http/https, ``HostName``, ``ReplaceKeyPrefixWith`` or ``ReplaceKeyWith`` but not both, ``HttpRedirectCode``
3XX but 300) and an optional, non-empty ``Condition`` (``KeyPrefixEquals``, ``HttpErrorCodeReturnedEquals``
4XX/5XX). Structure errors are ``MalformedXML``; bad values ``InvalidArgument`` / ``InvalidRequest`` with
AWS's messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote
from xml.etree.ElementTree import Element

from proxy.s3 import xml
from proxy.s3.errors import S3Error

MAX_CONFIG_BYTES = 64 * 1024
MAX_RULES = 50
PROTOCOLS = ("http", "https")
DEFAULT_REDIRECT_CODE = 301

_TOP = ("RedirectAllRequestsTo", "IndexDocument", "ErrorDocument", "RoutingRules")
_REDIRECT = ("Protocol", "HostName", "ReplaceKeyPrefixWith", "ReplaceKeyWith", "HttpRedirectCode")
_CONDITION = ("KeyPrefixEquals", "HttpErrorCodeReturnedEquals")


@dataclass(frozen=True)
class Redirect:
    """Where a redirect sends the browser (unset fields keep the request's own)."""

    protocol: str | None = None
    host: str | None = None
    replace_key_prefix: str | None = None
    replace_key: str | None = None
    code: int | None = None


@dataclass(frozen=True)
class RoutingRule:
    """A ``<RoutingRule>``: no condition applies to every request."""

    redirect: Redirect
    key_prefix: str | None = None
    error_code: int | None = None
    has_condition: bool = False

    def matches_key(self, key: str) -> bool:
        return self.key_prefix is None or key.startswith(self.key_prefix)


@dataclass(frozen=True)
class WebsiteConfig:
    """A parsed website configuration."""

    index_suffix: str | None = None
    error_key: str | None = None
    redirect_all: Redirect | None = None  # host and protocol only
    rules: tuple[RoutingRule, ...] = ()

    def rule_before_reading(self, key: str) -> RoutingRule | None:
        """The first rule that applies to ``key`` whatever its read answers (no error code condition)."""
        for rule in self.rules:
            if rule.error_code is None and rule.matches_key(key):
                return rule
        return None

    def rule_for_error(self, key: str, status: int) -> RoutingRule | None:
        """The first rule whose error code condition is ``status`` (and whose prefix ``key`` has)."""
        for rule in self.rules:
            if rule.error_code == status and rule.matches_key(key):
                return rule
        return None


def _children_named(el: Element, allowed: tuple[str, ...]) -> dict[str, Element]:
    """The element's children by name: MalformedXML for an unknown or repeated one."""
    out: dict[str, Element] = {}
    for child in el:
        name = child.tag.rsplit("}", 1)[-1]
        if name not in allowed or name in out:
            raise S3Error("MalformedXML")
        out[name] = child
    return out


def _text(el: Element | None) -> str | None:
    return None if el is None else (el.text or "").strip()


def _protocol(el: Element | None) -> str | None:
    value = _text(el)
    if value is not None and value not in PROTOCOLS:
        raise S3Error("InvalidRequest", "Invalid protocol, protocol can be http or https. If not defined the "
                                        "protocol will be selected automatically.")
    return value


def _number(el: Element | None) -> int | None:
    value = _text(el)
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 3:
        raise S3Error("MalformedXML")
    return int(value)


def _redirect(el: Element) -> Redirect:
    parts = _children_named(el, _REDIRECT)
    if not parts:
        raise S3Error("MalformedXML")
    host = _text(parts.get("HostName"))
    if host == "":
        raise S3Error("InvalidRequest", "The host name cannot be blank. To redirect within the same domain, the "
                                        "element should not be present.")
    code = _number(parts.get("HttpRedirectCode"))
    if code is not None and not 300 < code < 400:
        raise S3Error("InvalidRequest", f"The provided HTTP redirect code ({code}) is not valid. Valid codes are "
                                        "3XX except 300.")
    prefix, key = parts.get("ReplaceKeyPrefixWith"), parts.get("ReplaceKeyWith")
    if prefix is not None and key is not None:
        raise S3Error("InvalidRequest", "You can only define ReplaceKeyPrefix or ReplaceKey but not both.")
    return Redirect(_protocol(parts.get("Protocol")), host,
                    None if prefix is None else prefix.text or "", None if key is None else key.text or "", code)


def _rule(el: Element) -> RoutingRule:
    parts = _children_named(el, ("Condition", "Redirect"))
    if "Redirect" not in parts:
        raise S3Error("MalformedXML")
    redirect = _redirect(parts["Redirect"])
    condition = parts.get("Condition")
    if condition is None:
        return RoutingRule(redirect)
    fields = _children_named(condition, _CONDITION)
    if not fields:
        raise S3Error("InvalidRequest", "Condition cannot be empty. To redirect all requests without a "
                                        "condition, the condition element shouldn't be present.")
    code = _number(fields.get("HttpErrorCodeReturnedEquals"))
    if code is not None and not 400 <= code < 600:
        raise S3Error("InvalidRequest", f"The provided HTTP error code ({code}) is not valid. Valid codes are "
                                        "4XX or 5XX.")
    prefix = fields.get("KeyPrefixEquals")
    return RoutingRule(redirect, None if prefix is None else prefix.text or "", code, True)


def parse_website(body: bytes) -> WebsiteConfig:
    """The configuration of a PutBucketWebsite body; AWS's errors for what it refuses."""
    if len(body) > MAX_CONFIG_BYTES:
        raise S3Error("MalformedXML", "The XML you provided was too large.")
    top = _children_named(xml.parse(body, "WebsiteConfiguration"), _TOP)
    if "RedirectAllRequestsTo" in top:
        if len(top) > 1:
            raise S3Error("MalformedXML")
        fields = _children_named(top["RedirectAllRequestsTo"], ("HostName", "Protocol"))
        host = _text(fields.get("HostName"))
        if not host:
            raise S3Error("MalformedXML")
        return WebsiteConfig(redirect_all=Redirect(_protocol(fields.get("Protocol")), host))
    if "IndexDocument" not in top:
        raise S3Error("InvalidArgument", "A value for IndexDocument Suffix must be provided if "
                                         "RedirectAllRequestsTo is empty", ArgumentName="IndexDocument",
                      ArgumentValue="null")
    suffix_el = _children_named(top["IndexDocument"], ("Suffix",)).get("Suffix")
    if suffix_el is None:
        raise S3Error("MalformedXML")
    suffix = suffix_el.text or ""
    if not suffix or "/" in suffix:
        raise S3Error("InvalidArgument", "The IndexDocument Suffix is not well formed",
                      ArgumentName="IndexDocument", ArgumentValue=suffix)
    error_key = None
    if "ErrorDocument" in top:
        key_el = _children_named(top["ErrorDocument"], ("Key",)).get("Key")
        if key_el is None:
            raise S3Error("MalformedXML")
        error_key = key_el.text or ""
        if not error_key:
            raise S3Error("InvalidArgument", "The ErrorDocument Key is not well formed",
                          ArgumentName="ErrorDocument", ArgumentValue=error_key)
    rules: list[RoutingRule] = []
    if "RoutingRules" in top:
        raw = list(top["RoutingRules"])
        if any(r.tag.rsplit("}", 1)[-1] != "RoutingRule" for r in raw) or not raw:
            raise S3Error("MalformedXML")
        if len(raw) > MAX_RULES:
            raise S3Error("InvalidRequest", f"{len(raw)} routing rules provided, the number of routing rules in a "
                                            f"website configuration is limited to {MAX_RULES}.")
        rules = [_rule(r) for r in raw]
    return WebsiteConfig(suffix, error_key, None, tuple(rules))


def _add_redirect(parent: Element, redirect: Redirect) -> None:
    for tag, value in (("Protocol", redirect.protocol), ("HostName", redirect.host),
                       ("ReplaceKeyPrefixWith", redirect.replace_key_prefix),
                       ("ReplaceKeyWith", redirect.replace_key), ("HttpRedirectCode", redirect.code)):
        if value is not None:
            xml.add(parent, tag, value)


def render_website(config: WebsiteConfig) -> bytes:
    """The ``<WebsiteConfiguration>`` document GetBucketWebsite answers (and that is stored)."""
    doc = xml.root("WebsiteConfiguration")
    if config.redirect_all is not None:
        el = xml.add(doc, "RedirectAllRequestsTo")
        xml.add(el, "HostName", config.redirect_all.host)
        if config.redirect_all.protocol:
            xml.add(el, "Protocol", config.redirect_all.protocol)
    if config.index_suffix is not None:
        xml.add(xml.add(doc, "IndexDocument"), "Suffix", config.index_suffix)
    if config.error_key is not None:
        xml.add(xml.add(doc, "ErrorDocument"), "Key", config.error_key)
    if config.rules:
        rules = xml.add(doc, "RoutingRules")
        for rule in config.rules:
            el = xml.add(rules, "RoutingRule")
            if rule.has_condition:
                cond = xml.add(el, "Condition")
                if rule.key_prefix is not None:
                    xml.add(cond, "KeyPrefixEquals", rule.key_prefix)
                if rule.error_code is not None:
                    xml.add(cond, "HttpErrorCodeReturnedEquals", rule.error_code)
            _add_redirect(xml.add(el, "Redirect"), rule.redirect)
    return xml.to_bytes(doc)


@lru_cache(maxsize=256)
def stored_website(text: bytes) -> WebsiteConfig:
    """A stored configuration, parsed once per distinct text (every website request reads it)."""
    return parse_website(text)


def redirect_location(redirect: Redirect, scheme: str, host: str, key: str,
                      key_prefix: str | None = None) -> str:
    """The ``Location`` a rule's redirect sends a request for ``key`` to (``scheme`` and ``host``: the
    request's own, for what the redirect leaves unset)."""
    if redirect.replace_key is not None:
        key = redirect.replace_key
    elif redirect.replace_key_prefix is not None:
        key = redirect.replace_key_prefix + key[len(key_prefix or ""):]
    return f"{redirect.protocol or scheme}://{redirect.host or host}/{quote(key, safe='/~')}"
