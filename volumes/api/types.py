"""``/types`` (volume types mapped to backends through ``volume_backend_name``) and extra specs."""

from __future__ import annotations

from sqlalchemy import select

from volumes.api.common import Req, endpoint, text_field
from volumes.api.lookups import get_type
from volumes.db import DEFAULT_TYPE
from volumes.errors import ApiError, bad_request
from volumes.models import Volume, VolumeType
from volumes.views import volume_type


def _admin(req: Req) -> None:
    if not req.ctx.is_admin:
        raise ApiError(403, "Policy doesn't allow volume_extension:types_manage to be performed.")


def _specs(value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise bad_request("Invalid input received: extra_specs must be a dict of strings.")
    return value


@endpoint
def index(req: Req) -> tuple[int, dict]:
    with req.svc.db.session() as s:
        rows = s.scalars(select(VolumeType).order_by(VolumeType.created_at))
        return 200, {"volume_types": [volume_type(t, req.ctx) for t in rows if t.is_public or req.ctx.is_admin]}


@endpoint
def show(req: Req) -> tuple[int, dict]:
    with req.svc.db.session() as s:
        key = req.params["type_id"]
        return 200, {"volume_type": volume_type(get_type(s, DEFAULT_TYPE if key == "default" else key), req.ctx)}


@endpoint
def create(req: Req) -> tuple[int, dict]:
    _admin(req)
    data = req.member("volume_type")
    name = text_field(data, "name")
    if not name:
        raise bad_request("Invalid input received: name is required.")
    with req.svc.db.session() as s:
        if s.scalar(select(VolumeType).where(VolumeType.name == name)):
            raise ApiError(409, f"Volume Type {name} already exists.")
        t = VolumeType(name=name, description=text_field(data, "description", 65535),
                       is_public=bool(data.get("os-volume-type-access:is_public", True)),
                       extra_specs=_specs(data.get("extra_specs")))
        s.add(t)
        s.flush()
        return 200, {"volume_type": volume_type(t, req.ctx)}


@endpoint
def update(req: Req) -> tuple[int, dict]:
    _admin(req)
    data = req.member("volume_type")
    with req.svc.db.session() as s:
        t = get_type(s, req.params["type_id"])
        if "name" in data:
            t.name = text_field(data, "name") or t.name
        if "description" in data:
            t.description = text_field(data, "description", 65535)
        if "is_public" in data:
            t.is_public = bool(data["is_public"])
        s.flush()
        return 200, {"volume_type": volume_type(t, req.ctx)}


@endpoint
def delete(req: Req) -> tuple[int, None]:
    _admin(req)
    with req.svc.db.session() as s:
        t = get_type(s, req.params["type_id"])
        if t.name == DEFAULT_TYPE:
            raise bad_request("Default volume type can not be deleted.")
        if s.scalar(select(Volume.id).where(Volume.volume_type_id == t.id)):
            raise bad_request(f"Target volume type is still in use. Volume Type {t.id} deletion is not allowed "
                              "with volumes present with the type.")
        s.delete(t)
    return 202, None


@endpoint
def specs_show(req: Req) -> tuple[int, dict]:
    with req.svc.db.session() as s:
        return 200, {"extra_specs": dict(get_type(s, req.params["type_id"]).extra_specs or {})}


@endpoint
def specs_update(req: Req) -> tuple[int, dict]:
    _admin(req)
    specs = _specs(req.member("extra_specs"))
    with req.svc.db.session() as s:
        t = get_type(s, req.params["type_id"])
        t.extra_specs = {**(t.extra_specs or {}), **specs}
        return 200, {"extra_specs": specs}


@endpoint
def specs_delete(req: Req) -> tuple[int, None]:
    _admin(req)
    with req.svc.db.session() as s:
        t = get_type(s, req.params["type_id"])
        key = req.params["key"]
        if key not in (t.extra_specs or {}):
            raise ApiError(404, f"Volume Type {t.id} has no extra specs with key {key}.")
        t.extra_specs = {k: v for k, v in t.extra_specs.items() if k != key}
    return 202, None
