"""The POST policy document: base64 JSON with ``expiration`` and ``conditions``, checked against the form.

Conditions: ``{"field": "value"}`` and ``["eq", "$field", "value"]`` (exact), ``["starts-with",
"$field", "prefix"]`` (``""`` allows anything), ``["content-length-range", min, max]``. Every form field
but the file, the policy and signature fields and ``x-ignore-*`` must be named by a condition.
Malformed documents are 400 ``InvalidPolicyDocument``; unmet conditions and expiry are 403 AccessDenied.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from dataclasses import dataclass, field
from datetime import datetime

from proxy.s3.errors import S3Error

# fields a policy never has to name
EXEMPT = {"file", "policy", "signature", "awsaccesskeyid", "x-amz-signature"}


def invalid(message: str) -> S3Error:
    return S3Error("InvalidPolicyDocument", f"Invalid Policy: {message}", status=400)


def denied(message: str) -> S3Error:
    return S3Error("AccessDenied", f"Invalid according to Policy: {message}")


@dataclass
class PostPolicy:
    """A parsed POST policy."""

    expiration: float
    exact: list[tuple[str, str]] = field(default_factory=list)  # (lower-cased field, value)
    prefixes: list[tuple[str, str]] = field(default_factory=list)
    length_range: tuple[int, int] | None = None


# ISO 8601 as AWS takes it: 2007-12-01T12:00:00.000Z (a date and a time joined by T, with a zone)
_ISO_8601 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


def _expiration(value: object) -> float:
    if not isinstance(value, str):
        raise invalid("Invalid 'expiration' value")
    if not _ISO_8601.fullmatch(value):
        raise invalid(f"Invalid 'expiration' value: '{value}'")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise invalid(f"Invalid 'expiration' value: '{value}'") from None


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise invalid("Invalid content-length-range")
    try:
        return int(value)
    except ValueError:
        raise invalid("Invalid content-length-range") from None


def parse(policy_b64: str) -> PostPolicy:
    """Decode and validate the form's ``policy`` field."""
    try:
        doc = json.loads(base64.b64decode(policy_b64, validate=False).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError, RecursionError):
        raise invalid("Could not parse the policy document") from None
    if not isinstance(doc, dict):
        raise invalid("Could not parse the policy document")
    if "expiration" not in doc:
        raise invalid("Policy missing expiration.")
    if "conditions" not in doc:
        raise invalid("Policy missing conditions.")
    policy = PostPolicy(_expiration(doc["expiration"]))
    conditions = doc["conditions"]
    if not isinstance(conditions, list):
        raise invalid("Invalid 'conditions' value")
    for cond in conditions:
        if isinstance(cond, dict):
            if len(cond) != 1:
                raise invalid("Invalid simple condition")
            (name, value), = cond.items()
            policy.exact.append((name.lower(), str(value)))
        elif isinstance(cond, list) and cond and isinstance(cond[0], str):
            op = cond[0].lower()
            if op == "content-length-range":
                if len(cond) != 3:
                    raise invalid("Invalid content-length-range")
                low, high = _int(cond[1]), _int(cond[2])
                if low < 0 or high < 0:
                    raise invalid("Invalid content-length-range")
                policy.length_range = (low, high)
            elif op in ("eq", "starts-with"):
                if len(cond) != 3 or not isinstance(cond[1], str) or not cond[1].startswith("$") \
                        or not isinstance(cond[2], str):
                    raise invalid(f"Invalid {op} condition")
                target = policy.exact if op == "eq" else policy.prefixes
                target.append((cond[1][1:].lower(), cond[2]))
            else:
                raise invalid(f"Invalid condition: {cond[0]}")
        else:
            raise invalid("Invalid condition")
    return policy


def check(policy: PostPolicy, fields: dict[str, str], bucket: str, now: float | None = None) -> None:
    """AccessDenied unless the policy is unexpired, every condition holds and names every field.

    ``bucket`` is what a ``bucket`` condition is matched against (the addressed bucket)."""
    if (time.time() if now is None else now) > policy.expiration:
        raise denied("Policy expired.")
    lowered = {k.lower(): v for k, v in fields.items()}
    lowered["bucket"] = bucket
    named = set()
    for name, value in policy.exact:
        named.add(name)
        if lowered.get(name) != value:
            raise denied(f'Policy Condition failed: ["eq", "${name}", "{value}"]')
    for name, prefix in policy.prefixes:
        named.add(name)
        present = lowered.get(name)
        if present is None:
            values: list[str] = []
        elif name == "content-type":  # several types, comma-separated, must each match
            values = [v.strip() for v in present.split(",")]
        else:
            values = [present]
        if prefix == "":  # ["starts-with", "$field", ""]: any value, or none at all
            continue
        if not values or not all(v.startswith(prefix) for v in values):
            raise denied(f'Policy Condition failed: ["starts-with", "${name}", "{prefix}"]')
    extra = [k for k in lowered if k not in named and k not in EXEMPT and k != "bucket"
             and not k.startswith(("x-ignore-", "x-amz-checksum-"))]  # a checksum is checked, not signed
    if extra:
        raise denied(f"Extra input fields: {extra[0]}")
