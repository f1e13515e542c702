"""Parsing and validation of a bucket policy document (JSON, the IAM policy grammar).

Every error is ``MalformedPolicy`` (400) with a message naming what is wrong, as AWS answers.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from proxy.s3.errors import S3Error

MAX_POLICY_BYTES = 20 * 1024  # AWS: bucket policies are limited to 20 KB
VERSIONS = ("2012-10-17", "2008-10-17")
ARN_PREFIX = "arn:aws:s3:::"
_TOP_FIELDS = {"Version", "Id", "Statement"}
_STATEMENT_FIELDS = {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource",
                     "NotResource", "Condition"}
_PRINCIPAL_TYPES = {"AWS", "CanonicalUser", "Service", "Federated"}


def malformed(message: str) -> S3Error:
    """The ``MalformedPolicy`` error AWS answers for an invalid policy document."""
    return S3Error("MalformedPolicy", message, status=400)


@dataclass(frozen=True)
class Condition:
    """One ``operator: {key: [values]}`` entry of a statement's Condition block."""

    operator: str  # the base operator, e.g. "StringLike" (IfExists and set qualifiers split off)
    key: str  # lower-cased condition key, e.g. "aws:sourceip"
    values: tuple[str, ...]
    if_exists: bool = False
    qualifier: str = ""  # "", "forallvalues" or "foranyvalue"


@dataclass(frozen=True)
class Statement:
    """One statement: effect, who (Principal/NotPrincipal), what (Action/NotAction), on what, when."""

    effect: str  # "Allow" or "Deny"
    principals: tuple[str, ...] | None  # None: NotPrincipal used; "*" matches everyone
    not_principals: tuple[str, ...] | None
    actions: tuple[str, ...] | None
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None
    not_resources: tuple[str, ...] | None
    conditions: tuple[Condition, ...] = ()
    sid: str = ""


@dataclass(frozen=True)
class Policy:
    """A validated bucket policy."""

    statements: tuple[Statement, ...]
    version: str = "2008-10-17"
    extra: dict[str, Any] = field(default_factory=dict)


def _strings(value: Any, what: str) -> tuple[str, ...]:
    """A string or a non-empty list of strings (numbers and booleans read as strings, as IAM does)."""
    items = value if isinstance(value, list) else [value]
    if not items:
        raise malformed(f"Policy has an empty {what} list")
    out = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, (str, int, float)):
            out.append(str(item))
        else:
            raise malformed(f"Policy has an invalid {what} value")
    return tuple(out)


def _principals(value: Any) -> tuple[str, ...]:
    """``"*"`` or ``{"AWS": ids}`` / ``{"CanonicalUser": ids}``: each id kept as written (``"*"`` stays)."""
    if value == "*":
        return ("*",)
    if not isinstance(value, dict) or not value:
        raise malformed("Invalid principal in policy")
    out: list[str] = []
    for kind, ids in value.items():
        if kind not in _PRINCIPAL_TYPES:
            raise malformed("Invalid principal in policy")
        for ident in _strings(ids, "principal"):
            if not ident:
                raise malformed("Invalid principal in policy")
            out.append(ident)
    return tuple(out)


def _validate_actions(actions: tuple[str, ...], known: frozenset[str]) -> None:
    for action in actions:
        if action == "*":
            continue
        service, sep, name = action.partition(":")
        if not sep or service.lower() != "s3" or not name:
            raise malformed("Policy has invalid action")
        if "*" in name or "?" in name:
            continue
        if action.lower() not in known:
            raise malformed("Policy has invalid action")


def _validate_resources(resources: tuple[str, ...], bucket: str) -> None:
    for resource in resources:
        if resource == "*":
            continue
        if not resource.startswith(ARN_PREFIX):
            raise malformed("Policy has invalid resource")
        bucket_part = resource[len(ARN_PREFIX):].split("/", 1)[0]
        if not fnmatchcase(bucket, _glob(bucket_part)):
            raise malformed("Policy has invalid resource")


def _glob(pattern: str) -> str:
    """An IAM wildcard pattern (``*``, ``?``) as an fnmatch pattern (``[`` taken literally)."""
    return pattern.replace("[", "[[]")


_OPERATOR = re.compile(r"^(?:(ForAllValues|ForAnyValue):)?([A-Za-z]+?)(IfExists)?$")
OPERATORS = {
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike",
    "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
    "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals", "DateNotEquals", "DateLessThan",
    "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals", "Bool", "BinaryEquals", "IpAddress",
    "NotIpAddress", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "Null",
}


def _conditions(block: Any) -> tuple[Condition, ...]:
    if not isinstance(block, dict):
        raise malformed("Policy has an invalid condition block")
    out = []
    for op_text, entries in block.items():
        match = _OPERATOR.match(op_text) if isinstance(op_text, str) else None
        if match is None or match.group(2) not in OPERATORS or (match.group(2) == "Null" and match.group(3)):
            raise malformed(f"Invalid Condition type : {op_text}")
        if not isinstance(entries, dict) or not entries:
            raise malformed(f"Policy has an invalid condition block for {op_text}")
        operator = match.group(2)
        for key, values in entries.items():
            if not isinstance(key, str) or ":" not in key:
                raise malformed(f"Policy has an invalid condition key: {key}")
            texts = _strings(values, "condition")
            if operator in ("IpAddress", "NotIpAddress"):
                for text in texts:
                    try:
                        ipaddress.ip_network(text, strict=False)
                    except ValueError:
                        raise malformed(f"Invalid IP address or CIDR range: {text}") from None
            if operator.startswith("Numeric"):
                for text in texts:
                    try:
                        float(text)
                    except ValueError:
                        raise malformed(f"Invalid numeric value in condition: {text}") from None
            out.append(Condition(operator, key.lower(), texts, bool(match.group(3)),
                                 (match.group(1) or "").lower()))
    return tuple(out)


def _statement(raw: Any, bucket: str, known: frozenset[str]) -> Statement:
    if not isinstance(raw, dict):
        raise malformed("Policy statement must be an object")
    for name in raw:
        if name not in _STATEMENT_FIELDS:
            raise malformed(f"Unknown field {name}")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise malformed("Invalid effect: " + str(effect) if effect is not None else "Missing required field Effect")
    if ("Principal" in raw) == ("NotPrincipal" in raw):
        raise malformed("Missing required field Principal" if "Principal" not in raw
                        else "Statement can not have both Principal and NotPrincipal")
    if "NotPrincipal" in raw and effect == "Allow":  # AWS: NotPrincipal is for Deny statements only
        raise malformed("NotPrincipal is not supported with Effect Allow")
    if ("Action" in raw) == ("NotAction" in raw):
        raise malformed("Missing required field Action" if "Action" not in raw
                        else "Statement can not have both Action and NotAction")
    if ("Resource" in raw) == ("NotResource" in raw):
        raise malformed("Missing required field Resource" if "Resource" not in raw
                        else "Statement can not have both Resource and NotResource")
    principals = _principals(raw["Principal"]) if "Principal" in raw else None
    not_principals = _principals(raw["NotPrincipal"]) if "NotPrincipal" in raw else None
    actions = _strings(raw["Action"], "action") if "Action" in raw else None
    not_actions = _strings(raw["NotAction"], "action") if "NotAction" in raw else None
    _validate_actions(actions or not_actions or (), known)
    resources = _strings(raw["Resource"], "resource") if "Resource" in raw else None
    not_resources = _strings(raw["NotResource"], "resource") if "NotResource" in raw else None
    _validate_resources(resources or not_resources or (), bucket)
    if actions is not None and resources is not None:
        _check_applies(actions, resources)
    sid = raw.get("Sid", "")
    if not isinstance(sid, str):
        raise malformed("Statement IDs (SID) must be strings")
    conditions = _conditions(raw["Condition"]) if "Condition" in raw else ()
    return Statement(effect, principals, not_principals, actions, not_actions, resources, not_resources,
                     conditions, sid)


def _check_applies(actions: tuple[str, ...], resources: tuple[str, ...]) -> None:
    """AWS refuses a statement none of whose actions applies to any of its resources."""
    from proxy.s3.policy.actions import applies_to  # the table imports handlers: import late

    if not any(applies_to(action, resource) for action in actions for resource in resources):
        raise malformed("Action does not apply to any resource(s) in statement")


def parse_policy(body: bytes, bucket: str, known_actions: frozenset[str]) -> Policy:
    """The validated policy of a PutBucketPolicy body for ``bucket``; MalformedPolicy otherwise."""
    if len(body) > MAX_POLICY_BYTES:
        raise malformed("Policies must be no more than 20 KB")
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise malformed("This policy contains invalid Json") from None
    if not isinstance(doc, dict):
        raise malformed("This policy contains invalid Json")
    for name in doc:
        if name not in _TOP_FIELDS:
            raise malformed(f"Unknown field {name}")
    version = doc.get("Version", "2008-10-17")
    if version not in VERSIONS:
        raise malformed("The policy must contain a valid version string")
    raw_statements = doc.get("Statement")
    if raw_statements is None:
        raise malformed("Missing required field Statement")
    if isinstance(raw_statements, dict):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list) or not raw_statements:
        raise malformed("Could not parse the policy: Statement is empty!")
    statements = tuple(_statement(raw, bucket, known_actions) for raw in raw_statements)
    sids = [s.sid for s in statements if s.sid]
    if len(sids) != len(set(sids)):
        raise malformed("Statement IDs (SID) in a single policy must be unique")
    return Policy(statements, version)
