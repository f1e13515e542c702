"""The segment reaper's pure pieces: which names are parts, which parts a stored manifest names."""

from __future__ import annotations

import json
import secrets

from proxy.s3.multipart import part_name
from store.lifecycle import s3_layout
from store.segment_reaper import PART_NAME, SegmentsContainer, manifest_part_names

UPLOAD = "A" * 30 + "-_"


def test_part_names_match_the_proxy_layout():
    match = PART_NAME.fullmatch(f"dir/key/{UPLOAD}/00007")
    assert match is not None and (match["key"], match["upload"], match["number"]) == ("dir/key", UPLOAD, "00007")
    made = part_name("a/b", secrets.token_urlsafe(24), 12)  # as UploadPart names a part (upload ids: 24 bytes)
    assert PART_NAME.fullmatch(made) is not None
    assert PART_NAME.fullmatch(f"key/{UPLOAD}") is None  # an upload marker
    assert PART_NAME.fullmatch(f"key/{UPLOAD}/7") is None
    assert PART_NAME.fullmatch("key/short/00001") is None
    assert PART_NAME.fullmatch(f"/{UPLOAD}/00001") is None  # no key


def test_manifest_part_names():
    seg = "b+segments"
    body = json.dumps([{"name": f"/{seg}/k/{UPLOAD}/00001", "bytes": 1},
                       {"name": f"/{seg}/k%20x/{UPLOAD}/00002", "bytes": 1},
                       {"name": f"/other/k/{UPLOAD}/00003", "bytes": 1},
                       {"data": "AAAA"}]).encode()
    assert manifest_part_names(body, seg) == {f"k/{UPLOAD}/00001", f"k%20x/{UPLOAD}/00002", f"k x/{UPLOAD}/00002"}
    assert manifest_part_names(b"not json", seg) is None
    assert manifest_part_names(b'{"name": "x"}', seg) is None
    assert manifest_part_names(b'["x"]', seg) is None


def test_segments_container_names_its_bucket():
    assert SegmentsContainer("AUTH_t", s3_layout.segments_container("photos")).bucket == "photos"
