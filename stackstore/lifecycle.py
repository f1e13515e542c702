"""S3 lifecycle rules as data: the model the proxy validates and the storage nodes execute.

The proxy (``proxy/s3/lifecycle/``) parses a ``LifecycleConfiguration`` document into :class:`Rule`
values, stores them in the bucket's container sysmeta (:func:`to_sysmeta`) and computes the
``x-amz-expiration`` header from them; the nodes' lifecycle task (``store/lifecycle/``) reads them back
(:func:`from_sysmeta`) and applies them. Both sides share the arithmetic here, so the date a response
announces is the date the task acts on.

Time: a lifecycle "day" lasts ``[lifecycle] day_seconds`` (86400; tests shorten it, as Ceph's
``rgw_lc_debug_interval``). As in AWS, an object created at ``t`` under a rule of ``Days: n`` expires at
the first day boundary (midnight UTC for real days) at or after ``t + n days``. ``Date`` rules are
absolute instants (midnight UTC), not scaled.

Stored form: compact JSON, zlib-compressed, base64, cut into ``SYSMETA_CHUNK``-sized pieces under
``X-Container-Sysmeta-S3-Lifecycle-<i>`` with the piece count in ``X-Container-Sysmeta-S3-Lifecycle``
(a header line of a node request is bounded; a configuration of 1,000 rules fits once compressed).
"""

from __future__ import annotations

import base64
import functools
import json
import math
import zlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from stackstore.headers import lookup

DAY_SECONDS = 86400.0
SYSMETA_COUNT = "X-Container-Sysmeta-S3-Lifecycle"
SYSMETA_PIECE = "X-Container-Sysmeta-S3-Lifecycle-{}"
SYSMETA_CHUNK = 6000  # characters per header value (a node refuses header lines over 8 KiB)
MAX_CHUNKS = 8  # so at most 48,000 characters of compressed configuration
OBJECT_TAGGING_SYSMETA = "X-Object-Sysmeta-S3-Tagging"  # as proxy/s3/headers.py stores object tags


class ConfigurationTooLarge(ValueError):
    """The compressed configuration does not fit ``MAX_CHUNKS`` sysmeta values."""


@dataclass(frozen=True)
class RuleFilter:
    """Which objects a rule applies to: every condition given must hold (an empty filter: all)."""

    prefix: str = ""
    tags: tuple[tuple[str, str], ...] = ()
    size_greater_than: int | None = None
    size_less_than: int | None = None

    @property
    def has_tags(self) -> bool:
        return bool(self.tags)

    def matches_untagged(self, key: str, size: int | None) -> bool:
        """``matches`` for every condition but the tags (which cost a HEAD to learn)."""
        return self.matches(key, size, None) if not self.tags else RuleFilter(
            self.prefix, (), self.size_greater_than, self.size_less_than).matches(key, size, None)

    def matches(self, key: str, size: int | None, tags: Mapping[str, str] | None) -> bool:
        """Whether an object (its key, size in bytes, tag set) is selected. ``tags`` None: not known
        (callers must supply them when ``has_tags``); ``size`` None skips the size conditions."""
        if not key.startswith(self.prefix):
            return False
        if size is not None:
            if self.size_greater_than is not None and not size > self.size_greater_than:
                return False
            if self.size_less_than is not None and not size < self.size_less_than:
                return False
        if self.tags:
            if tags is None:
                return False
            return all(tags.get(k) == v for k, v in self.tags)
        return True


@dataclass(frozen=True)
class Transition:
    """A storage class transition (only ``STANDARD`` is accepted: stored and returned, nothing moves)."""

    storage_class: str
    days: int | None = None
    date: int | None = None  # epoch seconds (midnight UTC)
    date_text: str | None = None  # as the client sent it, for GET


@dataclass(frozen=True)
class Rule:
    """One lifecycle rule, as validated by the proxy."""

    id: str
    enabled: bool
    filter: RuleFilter = field(default_factory=RuleFilter)
    filter_form: str = "Filter"  # as written: "Filter", "And" (<Filter><And>) or "Prefix" (rule-level, legacy)
    expiration_days: int | None = None
    expiration_date: int | None = None  # epoch seconds (midnight UTC)
    expiration_date_text: str | None = None
    expired_object_delete_marker: bool | None = None
    noncurrent_days: int | None = None
    newer_noncurrent_versions: int | None = None
    abort_days: int | None = None  # AbortIncompleteMultipartUpload DaysAfterInitiation
    transitions: tuple[Transition, ...] = ()
    noncurrent_transitions: tuple[Transition, ...] = ()

    @property
    def expires_current(self) -> bool:
        """The rule expires current versions (``Expiration`` Days or Date)."""
        return self.expiration_days is not None or self.expiration_date is not None

    def expiry(self, created: float, day_seconds: float = DAY_SECONDS) -> float | None:
        """When an object created at ``created`` (epoch seconds) expires under this rule; None when the
        rule does not expire current versions."""
        if self.expiration_date is not None:
            return float(self.expiration_date)
        if self.expiration_days is not None:
            return day_boundary_after(created, self.expiration_days, day_seconds)
        return None

    def abort_due(self, initiated: float, day_seconds: float = DAY_SECONDS) -> float | None:
        """When an upload initiated at ``initiated`` is aborted under this rule (None: never)."""
        if self.abort_days is None:
            return None
        return day_boundary_after(initiated, self.abort_days, day_seconds)


def day_boundary_after(start: float, days: int, day_seconds: float = DAY_SECONDS) -> float:
    """``start + days`` days, rounded up to the next day boundary (AWS: the next midnight UTC)."""
    day = day_seconds if day_seconds > 0 else DAY_SECONDS
    return math.ceil((start + days * day) / day) * day


def expiration_of(rules: list[Rule], key: str, size: int | None, tags: Mapping[str, str] | None,
                  created: float, day_seconds: float = DAY_SECONDS) -> tuple[float, str] | None:
    """``(expiry, rule id)`` of the enabled rule that expires this object first; None when none does."""
    best: tuple[float, str] | None = None
    for rule in rules:
        if not rule.enabled or not rule.expires_current or not rule.filter.matches(key, size, tags):
            continue
        when = rule.expiry(created, day_seconds)
        if when is not None and (best is None or when < best[0]):
            best = (when, rule.id)
    return best


def object_tags(headers: Mapping[str, str]) -> dict[str, str]:
    """An object's tag set from its stored headers (the one place lifecycle reads tags)."""
    return dict(parse_qsl(lookup(headers, OBJECT_TAGGING_SYSMETA) or "", keep_blank_values=True))


# -- stored form ----------------------------------------------------------------------------------

def _rule_doc(rule: Rule) -> dict[str, Any]:
    doc = asdict(rule)
    return {k: v for k, v in doc.items() if v is not None and not (isinstance(v, (str, list, tuple)) and not v)}


def _transition(doc: Mapping[str, Any]) -> Transition:
    return Transition(str(doc["storage_class"]), doc.get("days"), doc.get("date"), doc.get("date_text"))


def _rule_from(doc: Mapping[str, Any]) -> Rule:
    f = doc.get("filter") or {}
    rule_filter = RuleFilter(str(f.get("prefix", "")), tuple((str(k), str(v)) for k, v in f.get("tags", ())),
                             f.get("size_greater_than"), f.get("size_less_than"))
    return Rule(
        id=str(doc["id"]), enabled=bool(doc["enabled"]), filter=rule_filter,
        filter_form=str(doc.get("filter_form", "Filter")),
        expiration_days=doc.get("expiration_days"), expiration_date=doc.get("expiration_date"),
        expiration_date_text=doc.get("expiration_date_text"),
        expired_object_delete_marker=doc.get("expired_object_delete_marker"),
        noncurrent_days=doc.get("noncurrent_days"), newer_noncurrent_versions=doc.get("newer_noncurrent_versions"),
        abort_days=doc.get("abort_days"),
        transitions=tuple(_transition(t) for t in doc.get("transitions", ())),
        noncurrent_transitions=tuple(_transition(t) for t in doc.get("noncurrent_transitions", ())),
    )


def to_json(rules: list[Rule]) -> str:
    return json.dumps([_rule_doc(r) for r in rules], separators=(",", ":"), ensure_ascii=False)


def from_json(text: str) -> list[Rule]:
    return [_rule_from(doc) for doc in json.loads(text)]


def to_sysmeta(rules: list[Rule] | None) -> dict[str, str]:
    """Container sysmeta headers storing ``rules`` (None or empty: headers removing a configuration).
    ConfigurationTooLarge when it does not fit."""
    pieces: list[str] = []
    if rules:
        packed = base64.b64encode(zlib.compress(to_json(rules).encode("utf-8"), 9)).decode("ascii")
        pieces = [packed[i:i + SYSMETA_CHUNK] for i in range(0, len(packed), SYSMETA_CHUNK)]
        if len(pieces) > MAX_CHUNKS:
            raise ConfigurationTooLarge(len(packed))
    out = {SYSMETA_COUNT: str(len(pieces)) if pieces else ""}
    for i in range(MAX_CHUNKS):
        out[SYSMETA_PIECE.format(i)] = pieces[i] if i < len(pieces) else ""
    return out


def from_sysmeta(sysmeta: Mapping[str, str]) -> list[Rule] | None:
    """The rules stored in a container's metadata; None when there is no (readable) configuration.

    ``sysmeta`` keys may be full header names (``X-Container-Sysmeta-S3-Lifecycle``, any case) or the
    proxy info cache's short form (``s3-lifecycle``).
    """
    return from_info_sysmeta({k.lower().removeprefix("x-container-sysmeta-"): v for k, v in sysmeta.items()})


def from_info_sysmeta(sysmeta: Mapping[str, str]) -> list[Rule] | None:
    """``from_sysmeta`` of the proxy info cache's short, lower-case form (``s3-lifecycle``), without
    copying it: every S3 GET and HEAD asks."""
    count = sysmeta.get("s3-lifecycle", "")
    if not count.isdigit() or not 0 < int(count) <= MAX_CHUNKS:
        return None
    try:
        packed = "".join(sysmeta[f"s3-lifecycle-{i}"] for i in range(int(count)))
    except KeyError:
        return None
    rules = _unpack(packed)
    return list(rules) if rules is not None else None


@functools.lru_cache(maxsize=256)
def _unpack(packed: str) -> tuple[Rule, ...] | None:
    """Decoded once per distinct configuration (every GET/HEAD of a bucket with rules reads them)."""
    try:
        return tuple(from_json(zlib.decompress(base64.b64decode(packed)).decode("utf-8")))
    except (ValueError, TypeError, KeyError, AttributeError, zlib.error):
        return None
