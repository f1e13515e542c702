"""Who may call what: admin (``admin`` role in the token's scope), the user themself, project members."""

from __future__ import annotations

from identity.api.base import Ctx
from identity.errors import forbidden
from identity.lookup import user_project_ids
from identity.tokens import TokenInfo


def admin(ctx: Ctx) -> TokenInfo:
    caller = ctx.auth()
    if not caller.is_admin:
        raise forbidden()
    return caller


def admin_or_self(ctx: Ctx, user_id: str) -> TokenInfo:
    caller = ctx.auth()
    if caller.is_admin or caller.user_id == user_id:
        return caller
    raise forbidden()


def self_not_app_cred(ctx: Ctx, user_id: str) -> TokenInfo:
    """Credential management: the user themself (not via an application credential), or admin."""
    caller = admin_or_self(ctx, user_id)
    if caller.app_cred and not caller.is_admin:
        raise forbidden("Application credentials cannot manage credentials.")
    return caller


def member_of(ctx: Ctx, project_id: str) -> TokenInfo:
    """Admin, a token scoped to the project, or a user with a role on it."""
    caller = ctx.auth()
    if caller.is_admin or caller.project_id == project_id or project_id in user_project_ids(ctx.db, caller.user_id):
        return caller
    raise forbidden()


def authenticated(ctx: Ctx) -> TokenInfo:
    return ctx.auth()
