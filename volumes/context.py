"""Who is calling and at which microversion; shared by every handler."""

from __future__ import annotations

from dataclasses import dataclass, field

from stackstore.policy import Credentials, is_cloud_admin
from volumes.microversions import Version


@dataclass
class Context:
    user_id: str
    project_id: str | None  # the token's project; for system-scoped tokens the project the URL names
    roles: list[str] = field(default_factory=list)
    version: Version = field(default_factory=lambda: Version(3, 0))
    system: bool = False  # system-scoped token
    is_admin_project: bool = False  # scoped to the cloud's admin project

    @property
    def credentials(self) -> Credentials:
        """What ``volumes.policy`` rules test (roles expanded by their implied roles)."""
        project = None if self.system else self.project_id  # the URL's project is a target, not a scope
        return Credentials.of(self.user_id, self.roles, project_id=project, system=self.system,
                              is_admin_project=self.is_admin_project)

    @property
    def is_admin(self) -> bool:
        """The cloud admin (system admin, or admin of the admin project): every project, admin-only views.
        An admin of any other project is not."""
        return is_cloud_admin(self.credentials)
