"""JSON-patch (``application/openstack-images-v2.1-json-patch``) applied to an image's attributes."""

from __future__ import annotations

from typing import Any

from images import attrs
from images.errors import ApiError
from images.models import Image

MEDIA_TYPE = "application/openstack-images-v2.1-json-patch"


def _key(path: Any) -> str:
    if not isinstance(path, str) or not path.startswith("/") or path.count("/") != 1 or len(path) < 2:
        raise ApiError(400, f"Invalid JSON pointer for this resource: {path!r}")
    return path[1:].replace("~1", "/").replace("~0", "~")


def apply(img: Image, ops: Any, is_admin: bool) -> None:
    """Apply every operation to ``img`` (checked first, then written); raises 400/403/409."""
    if not isinstance(ops, list):
        raise ApiError(400, "A JSON-patch document must be a list of operations.")
    props = dict(img.properties or {})
    core: dict[str, Any] = {}
    for op in ops:
        if not isinstance(op, dict) or op.get("op") not in ("add", "replace", "remove"):
            raise ApiError(400, "Unsupported patch operation (use add, replace or remove).")
        key = _key(op.get("path"))
        if key in attrs.READ_ONLY:
            raise attrs.read_only(key)
        if op["op"] != "remove" and "value" not in op:
            raise ApiError(400, "Patch operation is missing 'value'.")
        if key in attrs.CORE:
            if op["op"] == "remove":
                raise ApiError(403, f"Attribute '{key}' cannot be removed.")
            if key in attrs.QUEUED_ONLY and img.status != "queued" and op["value"] != getattr(img, key):
                raise ApiError(403, f"Attribute {key} can be only replaced for a queued image.")
            core[key] = attrs.check_core(key, op["value"], is_admin)
        elif op["op"] == "remove":
            if key not in props:
                raise ApiError(409, f"Property {key} does not exist.")
            del props[key]
        else:
            if op["op"] == "replace" and key not in props:
                raise ApiError(409, f"Property {key} does not exist.")
            props[key] = attrs.check_extra(key, op["value"])
    for key, value in core.items():
        setattr(img, key, value)
    img.properties = props
