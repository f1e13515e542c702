"""Authentication: identity JWTs validated locally (``identity.validator``), or Cinder's ``noauth``.

``keystone`` (default): ``X-Auth-Token`` must be a valid project- or system-scoped identity token; the
context gets its user, project, role names and scope (what ``volumes.policy`` decides on). ``noauth``
(tests, standalone use): the token is ``<user>:<project>``; the user ``admin`` is the cloud admin.
"""

from __future__ import annotations

from typing import Any

from volumes.context import Context
from volumes.errors import ApiError


class Authenticator:
    def __init__(self, strategy: str, identity_url: str):
        self.strategy = strategy
        self._validator: Any = None
        if strategy == "keystone":
            from identity.validator import TokenValidator

            self._validator = TokenValidator(identity_url)
        elif strategy != "noauth":
            raise ValueError(f"unknown auth_strategy {strategy!r}")

    async def authenticate(self, token: str | None) -> Context:
        """The caller's context, or 401 with Cinder's ``unauthorized`` body."""
        if not token:
            raise ApiError(401, "The request you have made requires authentication.")
        if self.strategy == "noauth":
            user, _, project = token.partition(":")
            if not user or not project:
                raise ApiError(401, "noauth tokens are <user>:<project>.")
            if user == "admin":
                return Context(user, project, ["admin", "member"], is_admin_project=True)
            return Context(user, project, ["member"])
        info = await self._validator.validate(token)
        if info is None:
            raise ApiError(401, "The request you have made requires authentication.")
        if not info.project_id and not info.system:
            raise ApiError(403, "A project-scoped token is required.")
        return Context(info.user_id, info.project_id, sorted(info.role_names), system=info.system,
                       is_admin_project=info.is_admin_project)


def identity_url(conf: Any) -> str:
    """Where the volumes service reaches identity: ``[identity] internal_url`` (another host), else host:port."""
    section = conf.get("identity", {})
    return str(section.get("internal_url")
               or f"http://{section.get('host', '127.0.0.1')}:{section.get('port', 5000)}")
