"""Parsing, validation and matching of a bucket's CORS configuration (``<CORSConfiguration>``)."""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from proxy.s3 import xml
from proxy.s3.errors import S3Error

MAX_CONFIG_BYTES = 64 * 1024  # AWS: a CORS configuration is limited to 64 KB
MAX_RULES = 100
METHODS = ("GET", "PUT", "HEAD", "POST", "DELETE")


@dataclass(frozen=True)
class CorsRule:
    """One ``<CORSRule>``."""

    methods: tuple[str, ...]
    origins: tuple[str, ...]
    headers: tuple[str, ...] = ()
    expose: tuple[str, ...] = ()
    max_age: int | None = None
    rule_id: str = ""

    def allows_origin(self, origin: str) -> bool:
        """Origins match case-sensitively, with at most one ``*`` wildcard each."""
        return any(fnmatchcase(origin, o.replace("[", "[[]").replace("?", "[?]")) for o in self.origins)

    def allows_headers(self, requested: list[str]) -> bool:
        """Every requested header matches an AllowedHeader (case-insensitively, ``*`` wildcards)."""
        patterns = [h.lower().replace("[", "[[]").replace("?", "[?]") for h in self.headers]
        return all(any(fnmatchcase(h.lower(), p) for p in patterns) for h in requested)


def _texts(parent: object, name: str) -> tuple[str, ...]:
    return tuple((el.text or "").strip() for el in xml.children(parent, name))  # type: ignore[arg-type]


def parse_cors(body: bytes) -> tuple[CorsRule, ...]:
    """The rules of a PutBucketCors body; MalformedXML / InvalidRequest as AWS answers."""
    if len(body) > MAX_CONFIG_BYTES:
        raise S3Error("MalformedXML", "The CORS configuration must be no more than 64 KB")
    doc = xml.parse(body, "CORSConfiguration")
    raw_rules = xml.children(doc, "CORSRule")
    if not raw_rules or len(raw_rules) > MAX_RULES:
        raise S3Error("MalformedXML")
    rules = []
    for raw in raw_rules:
        methods, origins = _texts(raw, "AllowedMethod"), _texts(raw, "AllowedOrigin")
        if not methods or not origins:
            raise S3Error("MalformedXML")
        for method in methods:
            if method not in METHODS:
                raise S3Error("InvalidRequest", "Found unsupported HTTP method in CORS config. Unsupported "
                              f"method is {method}")
        for origin in origins:
            if origin.count("*") > 1:
                raise S3Error("InvalidRequest", f'AllowedOrigin "{origin}" can not have more than one '
                              "wildcard.")
        headers = _texts(raw, "AllowedHeader")
        for header in headers:
            if header.count("*") > 1:
                raise S3Error("InvalidRequest", f'AllowedHeader "{header}" can not have more than one '
                              "wildcard.")
        max_age_text = xml.child_text(raw, "MaxAgeSeconds")
        max_age = None
        if max_age_text is not None:
            if not max_age_text.strip().lstrip("-").isdigit():
                raise S3Error("MalformedXML")
            max_age = int(max_age_text)
        rule_id = xml.child_text(raw, "ID") or ""
        if len(rule_id) > 255:
            raise S3Error("InvalidRequest", "ID must be no more than 255 characters")
        rules.append(CorsRule(methods, origins, headers, _texts(raw, "ExposeHeader"), max_age, rule_id))
    return tuple(rules)


def matching_rule(rules: tuple[CorsRule, ...], origin: str, method: str,
                  requested_headers: list[str] | None = None) -> CorsRule | None:
    """The first rule allowing the origin, the method and every requested header (None: refused)."""
    for rule in rules:
        if rule.allows_origin(origin) and method in rule.methods and rule.allows_headers(requested_headers or []):
            return rule
    return None
