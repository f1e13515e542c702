"""Compute microversions: ``OpenStack-API-Version: compute 2.N`` or ``X-OpenStack-Nova-API-Version``."""

from __future__ import annotations

from dataclasses import dataclass

from compute_shim.errors import ApiError

MIN = (2, 1)
MAX = (2, 89)  # 2.89: attachment_id/bdm_uuid in os-volume_attachments (what OSC uses for add volume)
HEADERS = ("OpenStack-API-Version", "X-OpenStack-Nova-API-Version")


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int

    def at_least(self, minor: int) -> bool:
        return (self.major, self.minor) >= (2, minor)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


def _fmt(v: tuple[int, int]) -> str:
    return f"{v[0]}.{v[1]}"


def _requested(headers: dict[str, str] | object) -> str | None:
    value = headers.get("openstack-api-version")  # type: ignore[attr-defined]
    if value:
        for part in value.split(","):
            words = part.strip().split()
            if len(words) == 2 and words[0].lower() == "compute":
                return words[1]
    return headers.get("x-openstack-nova-api-version")  # type: ignore[attr-defined]


def negotiate(headers: object) -> Version:
    """None → 2.1, ``latest`` → max, malformed → 400, out of range → 406."""
    wanted = _requested(headers)
    if not wanted:
        return Version(*MIN)
    if wanted.strip().lower() == "latest":
        return Version(*MAX)
    try:
        major, minor = (int(x) for x in wanted.strip().split("."))
    except ValueError:
        raise ApiError(400, f"Invalid API version request string {wanted!r}.") from None
    if not MIN <= (major, minor) <= MAX:
        raise ApiError(406, f"Version {wanted} is not supported by the API. Minimum is {_fmt(MIN)} and "
                            f"maximum is {_fmt(MAX)}.")
    return Version(major, minor)


def response_headers(version: Version) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}", "X-OpenStack-Nova-API-Version": str(version),
            "Vary": "OpenStack-API-Version, X-OpenStack-Nova-API-Version"}
