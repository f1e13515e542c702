"""Swift-style timestamps: float epoch seconds rendered with 5 decimals, fixed width so they sort as strings
(the format is part of the wire contract: ``stackstore/wire.py``)."""

from __future__ import annotations

import email.utils
import functools
import math
import time
from datetime import UTC, datetime

from stackstore.wire import TIMESTAMP_DIGITS, TIMESTAMP_FRACTION_DIGITS, TIMESTAMP_TICKS_PER_SECOND

_TICKS = TIMESTAMP_TICKS_PER_SECOND
_MICROSECONDS_PER_TICK = 1_000_000 // _TICKS


class Timestamp:
    """A point in time with 10 microsecond precision, as Swift's X-Timestamp.

    ``normal`` is the canonical 16-character form (``"1795313739.61775"``); compare
    Timestamps (or their ``normal`` strings) to resolve last-write-wins conflicts.
    """

    __slots__ = ("ticks",)
    ticks: int

    def __init__(self, value: float | str | Timestamp):
        if isinstance(value, Timestamp):
            self.ticks = value.ticks
            return
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"invalid timestamp: {value!r}") from None
        if not math.isfinite(seconds) or seconds < 0 or seconds >= 10**TIMESTAMP_DIGITS:
            raise ValueError(f"invalid timestamp: {value!r}")
        self.ticks = round(seconds * _TICKS)

    @classmethod
    def now(cls) -> Timestamp:
        return cls(time.time())

    def just_after(self) -> Timestamp:
        """The next timestamp after this one (one tick, 10 us): newer than this write, older than any
        write made after it."""
        after = Timestamp(self)
        after.ticks += 1
        return after

    @property
    def normal(self) -> str:
        seconds, fraction = divmod(self.ticks, _TICKS)
        return f"{seconds:0{TIMESTAMP_DIGITS}d}.{fraction:0{TIMESTAMP_FRACTION_DIGITS}d}"

    @property
    def seconds(self) -> float:
        return self.ticks / _TICKS

    @property
    def isoformat(self) -> str:
        """``2026-11-22T02:15:32.123450`` (no zone suffix), as Swift listings show it."""
        whole, fraction = divmod(self.ticks, _TICKS)
        seconds = datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{seconds}.{fraction * _MICROSECONDS_PER_TICK:06d}"

    @property
    def http_date(self) -> str:
        """RFC 1123 date of the timestamp rounded up to the next whole second (Swift's Last-Modified)."""
        return _http_date(math.ceil(self.seconds))

    def __str__(self) -> str:
        return self.normal

    def __repr__(self) -> str:
        return f"Timestamp({self.normal!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Timestamp):
            try:
                other = Timestamp(other)  # type: ignore[arg-type]
            except ValueError:
                return NotImplemented
        return self.ticks == other.ticks

    def __lt__(self, other: Timestamp) -> bool:
        return self.ticks < Timestamp(other).ticks

    def __le__(self, other: Timestamp) -> bool:
        return self.ticks <= Timestamp(other).ticks

    def __gt__(self, other: Timestamp) -> bool:
        return self.ticks > Timestamp(other).ticks

    def __ge__(self, other: Timestamp) -> bool:
        return self.ticks >= Timestamp(other).ticks

    def __hash__(self) -> int:
        return hash(self.ticks)


@functools.lru_cache(maxsize=4096)
def _http_date(seconds: int) -> str:
    # formatdate costs several microseconds; many answers name the same few seconds
    return email.utils.formatdate(seconds, usegmt=True)
