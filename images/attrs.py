"""Which image attributes a client may set, and how a submitted value is checked."""

from __future__ import annotations

import uuid
from typing import Any

from images.errors import ApiError, forbidden

DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop")
CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed")
VISIBILITIES = ("public", "private", "shared", "community")
CORE = ("name", "visibility", "disk_format", "container_format", "min_disk", "min_ram", "protected",
        "os_hidden", "tags")
READ_ONLY = ("id", "status", "checksum", "size", "virtual_size", "owner", "created_at", "updated_at", "self",
             "file", "schema", "os_hash_algo", "os_hash_value", "locations", "direct_url", "stores")
# Attributes that may change only while no data has been uploaded (Glance's rule).
QUEUED_ONLY = ("disk_format", "container_format")


def check_core(key: str, value: Any, is_admin: bool) -> Any:
    """The value to store for a core attribute, or a 400/403."""
    if key == "name":
        if value is not None and (not isinstance(value, str) or len(value) > 255):
            raise ApiError(400, "Invalid value for name: must be a string of at most 255 characters")
        return value
    if key == "visibility":
        if value not in VISIBILITIES:
            raise ApiError(400, f"Invalid visibility value: {value}")
        if value == "public" and not is_admin:
            raise forbidden("You are not authorized to publicize images.")
        return value
    if key in ("disk_format", "container_format"):
        allowed = DISK_FORMATS if key == "disk_format" else CONTAINER_FORMATS
        if value is not None and value not in allowed:
            raise ApiError(400, f"Invalid value '{value}' for {key}: must be one of {', '.join(allowed)}")
        return value
    if key in ("min_disk", "min_ram"):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
            raise ApiError(400, f"Invalid value for {key}: must be a non-negative integer")
        return value
    if key in ("protected", "os_hidden"):
        if not isinstance(value, bool):
            raise ApiError(400, f"Invalid value for {key}: must be a boolean")
        return value
    if key == "tags":
        if not isinstance(value, list) or not all(isinstance(t, str) and 0 < len(t) <= 255 for t in value):
            raise ApiError(400, "Invalid value for tags: must be a list of strings")
        return list(dict.fromkeys(value))
    raise ApiError(400, f"Unknown attribute {key}")


def check_extra(key: str, value: Any) -> str:
    """A free-form property: string key and value, not in the reserved ``os_glance`` namespace."""
    if not key or len(key) > 255:
        raise ApiError(400, "Invalid property name")
    if key.startswith("os_glance"):
        raise forbidden(f"Attribute '{key}' is reserved.")
    if not isinstance(value, str) or len(value) > 65535:
        raise ApiError(400, f"Invalid value for property {key}: must be a string")
    return value


def check_id(value: Any) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise ApiError(400, f"Invalid image id {value!r}: must be a UUID") from None


def read_only(key: str) -> ApiError:
    return forbidden(f"Attribute '{key}' is read-only.")
