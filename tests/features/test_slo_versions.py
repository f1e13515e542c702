"""An SLO in a versioned container answers for the version it is, as Swift's object_versioning does:
``X-Object-Version-Id`` on GET/HEAD of the current manifest, its ``?part-number`` reads, and their 416."""

from __future__ import annotations

import json
import uuid

import pytest
from swiftclient import client as swift_client

SEG = 1024 * 1024


def test_current_slo_version_names_its_version_id(swift_conn):
    container = f"slov-{uuid.uuid4().hex[:8]}"
    swift_conn.put_container(container, headers={"X-Versions-Enabled": "true"})
    segs = []
    for letter in "ab":
        etag = swift_conn.put_object(container, f"seg-{letter}", letter.encode() * SEG)
        segs.append({"path": f"/{container}/seg-{letter}", "etag": etag, "size_bytes": SEG})
    out: dict = {}
    swift_conn.put_object(container, "m", json.dumps(segs), query_string="multipart-manifest=put", response_dict=out)
    version_id = out["headers"]["x-object-version-id"]

    headers, body = swift_conn.get_object(container, "m")
    assert body == b"a" * SEG + b"b" * SEG
    assert headers["x-object-version-id"] == version_id
    assert swift_conn.head_object(container, "m")["x-object-version-id"] == version_id
    part = swift_conn.head_object(container, "m", query_string="part-number=2")
    assert part["x-object-version-id"] == version_id and part["x-parts-count"] == "2"
    with pytest.raises(swift_client.ClientException) as err:
        swift_conn.head_object(container, "m", query_string="part-number=3")
    assert err.value.http_status == 416
    assert err.value.http_response_headers["x-object-version-id"] == version_id
