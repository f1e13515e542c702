"""``OpenStack-API-Version: volume 3.N`` negotiation."""

from __future__ import annotations

from dataclasses import dataclass

from volumes.errors import ApiError

MIN_VERSION = (3, 0)
MAX_VERSION = (3, 71)
HEADER = "OpenStack-API-Version"


def fmt(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int

    def at_least(self, minor: int) -> bool:
        return (self.major, self.minor) >= (3, minor)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


def negotiate(header: str | None) -> Version:
    """The requested version; none means 3.0, ``latest`` the maximum, out of range → 406."""
    if not header:
        return Version(*MIN_VERSION)
    wanted = None
    for part in header.split(","):
        words = part.strip().split()
        if len(words) == 2 and words[0].lower() == "volume":
            wanted = words[1]
    if wanted is None:
        return Version(*MIN_VERSION)
    if wanted.lower() == "latest":
        return Version(*MAX_VERSION)
    try:
        major, minor = (int(x) for x in wanted.split("."))
    except ValueError:
        raise ApiError(400, f"Invalid API version string {wanted!r}.") from None
    if not MIN_VERSION <= (major, minor) <= MAX_VERSION:
        raise ApiError(406, f"Version {wanted} is not supported by the API. Minimum is "
                            f"{fmt(MIN_VERSION)} and maximum is {fmt(MAX_VERSION)}.")
    return Version(major, minor)
