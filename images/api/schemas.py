"""``GET /v2/schemas/image(s)``: a compact JSON schema of the image document (clients read it as-is)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from images.attrs import CONTAINER_FORMATS, DISK_FORMATS, VISIBILITIES

_NULLABLE_STR = {"type": ["null", "string"]}
IMAGE = {
    "name": "image",
    "additionalProperties": {"type": "string"},
    "properties": {
        "id": {"type": "string", "pattern": "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}"
                                            "-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"},
        "name": {"type": ["null", "string"], "maxLength": 255},
        "status": {"type": "string", "readOnly": True,
                   "enum": ["queued", "saving", "active", "killed", "deleted", "pending_delete",
                            "deactivated", "uploading", "importing"]},
        "visibility": {"type": "string", "enum": list(VISIBILITIES)},
        "protected": {"type": "boolean"}, "os_hidden": {"type": "boolean"},
        "checksum": {**_NULLABLE_STR, "readOnly": True}, "os_hash_algo": {**_NULLABLE_STR, "readOnly": True},
        "os_hash_value": {**_NULLABLE_STR, "readOnly": True}, "owner": {**_NULLABLE_STR, "readOnly": True},
        "size": {"type": ["null", "integer"], "readOnly": True},
        "virtual_size": {"type": ["null", "integer"], "readOnly": True},
        "container_format": {"type": ["null", "string"], "enum": [None, *CONTAINER_FORMATS]},
        "disk_format": {"type": ["null", "string"], "enum": [None, *DISK_FORMATS]},
        "created_at": {"type": "string", "readOnly": True}, "updated_at": {"type": "string", "readOnly": True},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 255}},
        "min_ram": {"type": "integer"}, "min_disk": {"type": "integer"},
        "self": {"type": "string", "readOnly": True}, "file": {"type": "string", "readOnly": True},
        "schema": {"type": "string", "readOnly": True},
    },
    "links": [{"rel": "self", "href": "{self}"}, {"rel": "enclosure", "href": "{file}"},
              {"rel": "describedby", "href": "{schema}"}],
}


async def image(request: Request) -> JSONResponse:
    return JSONResponse(IMAGE)


async def images(request: Request) -> JSONResponse:
    return JSONResponse({"name": "images", "properties": {"images": {"type": "array", "items": IMAGE},
                                                          "schema": {"type": "string"},
                                                          "first": {"type": "string"},
                                                          "next": {"type": "string"}},
                         "links": [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"},
                                   {"rel": "describedby", "href": "{schema}"}]})
