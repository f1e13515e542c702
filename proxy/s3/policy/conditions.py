"""The Condition block: operators over the request's condition keys (``aws:SourceIp``, ``s3:prefix``...).

Within a statement every condition must hold (AND); a key with several values matches when any value
does (OR), the negated operators when none does. A key absent from the request: positive operators do
not match, negated ones match, ``…IfExists`` forms match, ``Null`` tests exactly that.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from fnmatch import fnmatchcase

from proxy.s3.policy.document import Condition

Values = Sequence[str]


def _date(text: str) -> float | None:
    try:
        return float(text)  # epoch seconds are accepted as dates
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _compare(convert: Callable[[str], float | None], test: Callable[[float, float], bool]) \
        -> Callable[[str, str], bool]:
    def match(actual: str, wanted: str) -> bool:
        a, w = convert(actual), convert(wanted)
        return a is not None and w is not None and test(a, w)
    return match


def _ip_in(actual: str, wanted: str) -> bool:
    try:
        return ipaddress.ip_address(actual) in ipaddress.ip_network(wanted, strict=False)
    except ValueError:
        return False


def _binary(actual: str, wanted: str) -> bool:
    try:
        return base64.b64decode(wanted) == actual.encode()
    except ValueError:
        return False


def _like(actual: str, wanted: str) -> bool:
    return fnmatchcase(actual, wanted.replace("[", "[[]"))


_EQ, _LT, _LE = (lambda a, w: a == w), (lambda a, w: a < w), (lambda a, w: a <= w)
_GT, _GE = (lambda a, w: a > w), (lambda a, w: a >= w)

# operator → (match of one actual value against one policy value, negated)
MATCHERS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "StringEquals": (lambda a, w: a == w, False),
    "StringNotEquals": (lambda a, w: a == w, True),
    "StringEqualsIgnoreCase": (lambda a, w: a.lower() == w.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda a, w: a.lower() == w.lower(), True),
    "StringLike": (_like, False),
    "StringNotLike": (_like, True),
    "ArnEquals": (lambda a, w: a == w, False),
    "ArnNotEquals": (lambda a, w: a == w, True),
    "ArnLike": (_like, False),
    "ArnNotLike": (_like, True),
    "NumericEquals": (_compare(_number, _EQ), False),
    "NumericNotEquals": (_compare(_number, _EQ), True),
    "NumericLessThan": (_compare(_number, _LT), False),
    "NumericLessThanEquals": (_compare(_number, _LE), False),
    "NumericGreaterThan": (_compare(_number, _GT), False),
    "NumericGreaterThanEquals": (_compare(_number, _GE), False),
    "DateEquals": (_compare(_date, _EQ), False),
    "DateNotEquals": (_compare(_date, _EQ), True),
    "DateLessThan": (_compare(_date, _LT), False),
    "DateLessThanEquals": (_compare(_date, _LE), False),
    "DateGreaterThan": (_compare(_date, _GT), False),
    "DateGreaterThanEquals": (_compare(_date, _GE), False),
    "Bool": (lambda a, w: a.lower() == w.lower(), False),
    "BinaryEquals": (_binary, False),
    "IpAddress": (_ip_in, False),
    "NotIpAddress": (_ip_in, True),
}


def condition_holds(cond: Condition, context: Mapping[str, Values]) -> bool:
    """Whether one condition holds for the request whose condition keys are ``context`` (lower-cased)."""
    actual = context.get(cond.key)
    if cond.operator == "Null":
        wanted_absent = cond.values[0].lower() == "true"
        return (actual is None or not actual) == wanted_absent
    if actual is None or not actual:
        if cond.if_exists:
            return True
        if cond.qualifier == "forallvalues":
            return True  # vacuously: every (no) value matches
        return MATCHERS[cond.operator][1]  # negated operators match a missing key
    match, negated = MATCHERS[cond.operator]

    def one(value: str) -> bool:
        hit = any(match(value, wanted) for wanted in cond.values)
        return not hit if negated else hit

    if cond.qualifier == "forallvalues":
        return all(one(v) for v in actual)
    return any(one(v) for v in actual)


def all_hold(conditions: Sequence[Condition], context: Mapping[str, Values]) -> bool:
    """Every condition of a statement holds."""
    return all(condition_holds(c, context) for c in conditions)
