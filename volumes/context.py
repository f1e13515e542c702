"""Who is calling and at which microversion; shared by every handler."""

from __future__ import annotations

from dataclasses import dataclass, field

from volumes.microversions import Version


@dataclass
class Context:
    user_id: str
    project_id: str
    roles: list[str] = field(default_factory=list)
    version: Version = field(default_factory=lambda: Version(3, 0))

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles
