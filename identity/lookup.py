"""Database lookups shared by the API modules: fetch-or-404, name resolution, effective roles."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from identity.errors import not_found
from identity.models import Assignment, Base, Domain, GroupMember, Project, Role, User
from stackstore.policy import expand_roles

SYSTEM_TARGET = ("system", "all")  # Assignment (target_type, target_id) of a role on the system

T = TypeVar("T", bound=Base)


def get_or_404(db: Session, model: type[T], ident: str, kind: str | None = None) -> T:
    obj = db.get(model, ident) if isinstance(ident, str) else None
    if obj is None:
        raise not_found(kind or model.__tablename__.rstrip("s"), str(ident))
    return obj


def find_domain(db: Session, ref: dict | None) -> Domain | None:
    """A domain from ``{"id"}`` or ``{"name"}``; ids match case-insensitively and may be names
    (Cyberduck sends what the user typed as the id)."""
    if not isinstance(ref, dict):
        return None
    if isinstance(ref.get("id"), str):
        dom = db.get(Domain, ref["id"]) or db.get(Domain, ref["id"].lower())
        return dom or db.scalar(select(Domain).where(Domain.name == ref["id"]))
    if isinstance(ref.get("name"), str):
        return db.scalar(select(Domain).where(Domain.name == ref["name"]))
    return None


def find_user(db: Session, ref: dict | None) -> User | None:
    if not isinstance(ref, dict):
        return None
    if isinstance(ref.get("id"), str):
        return db.get(User, ref["id"])
    if isinstance(ref.get("name"), str):
        domain = find_domain(db, ref.get("domain"))
        if domain is None:
            return None
        return db.scalar(select(User).where(User.name == ref["name"], User.domain_id == domain.id))
    return None


def find_project(db: Session, ref: dict | None) -> Project | None:
    if not isinstance(ref, dict):
        return None
    if isinstance(ref.get("id"), str):
        return db.get(Project, ref["id"])
    if isinstance(ref.get("name"), str):
        domain = find_domain(db, ref.get("domain"))
        if domain is None:
            return None
        return db.scalar(select(Project).where(Project.name == ref["name"], Project.domain_id == domain.id))
    return None


def user_group_ids(db: Session, user_id: str) -> list[str]:
    return list(db.scalars(select(GroupMember.group_id).where(GroupMember.user_id == user_id)))


def effective_roles(db: Session, user_id: str, target_type: str, target_id: str) -> list[Role]:
    """Roles the user holds on a project or domain, directly or through groups (sorted by name)."""
    groups = user_group_ids(db, user_id)
    actor = (Assignment.actor_type == "user") & (Assignment.actor_id == user_id)
    if groups:
        actor = or_(actor, (Assignment.actor_type == "group") & Assignment.actor_id.in_(groups))
    rows = db.scalars(select(Role).join(Assignment, Assignment.role_id == Role.id).where(
        actor, Assignment.target_type == target_type, Assignment.target_id == target_id)).unique().all()
    return sorted(set(rows), key=lambda r: r.name)


def with_implied(db: Session, roles: list[Role]) -> list[Role]:
    """``roles`` plus the roles they imply (admin ⊃ member ⊃ reader), as Keystone puts them in a token."""
    have = {r.name for r in roles}
    extra = sorted(expand_roles(have) - have)
    implied = list(db.scalars(select(Role).where(Role.name.in_(extra)))) if extra else []
    return sorted({*roles, *implied}, key=lambda r: r.name)


def system_roles(db: Session, user_id: str) -> list[Role]:
    """Roles the user holds on the system (directly or through groups), without implied ones."""
    return effective_roles(db, user_id, *SYSTEM_TARGET)


def user_project_ids(db: Session, user_id: str) -> list[str]:
    """Projects on which the user holds any role."""
    groups = user_group_ids(db, user_id)
    actor = (Assignment.actor_type == "user") & (Assignment.actor_id == user_id)
    if groups:
        actor = or_(actor, (Assignment.actor_type == "group") & Assignment.actor_id.in_(groups))
    return sorted(set(db.scalars(select(Assignment.target_id).where(actor, Assignment.target_type == "project"))))


def role_by_name_or_id(db: Session, ref: dict) -> Role | None:
    if isinstance(ref.get("id"), str):
        return db.get(Role, ref["id"])
    if isinstance(ref.get("name"), str):
        return db.scalar(select(Role).where(Role.name == ref["name"]))
    return None
