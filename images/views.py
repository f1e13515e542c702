"""The v2 image document: core attributes, then the free-form properties at the top level."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from images.models import Image


def isotime(dt: datetime | None) -> str | None:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ") if dt else None


def image_view(img: Image) -> dict[str, Any]:
    doc: dict[str, Any] = dict(img.properties or {})
    doc.update({
        "id": img.id, "name": img.name, "status": img.status, "visibility": img.visibility,
        "protected": img.protected, "os_hidden": img.os_hidden, "checksum": img.checksum,
        "os_hash_algo": img.os_hash_algo, "os_hash_value": img.os_hash_value, "owner": img.owner,
        "size": img.size, "virtual_size": img.virtual_size, "min_ram": img.min_ram, "min_disk": img.min_disk,
        "disk_format": img.disk_format, "container_format": img.container_format,
        "created_at": isotime(img.created_at), "updated_at": isotime(img.updated_at),
        "tags": list(img.tags or []), "self": f"/v2/images/{img.id}", "file": f"/v2/images/{img.id}/file",
        "schema": "/v2/schemas/image", "stores": "default" if img.status == "active" else None,
    })
    if doc["stores"] is None:
        del doc["stores"]
    return doc
