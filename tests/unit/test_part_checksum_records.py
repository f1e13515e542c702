"""Part checksums read from the parts' listing rows (``proxy.s3.part_checksums``): a HEAD only for parts whose
row carries none (parts stored before rows carried them)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from proxy.s3.part_checksums import part_record_sysmeta, row_checksums, row_content_type, stored_part_checksums


class _HeadCounter:
    """The storage client's ``head_object``, answering the old part's stored sysmeta and counting calls."""

    def __init__(self) -> None:
        self.heads: list[str] = []

    async def head_object(self, account: str, container: str, obj: str):
        self.heads.append(obj)
        return SimpleNamespace(status=200, headers={"X-Object-Sysmeta-S3-Checksum-Crc32": "old=="})


def test_row_round_trip():
    sysmeta = part_record_sysmeta({"crc32": "AAAAAA==", "sha256": "x/y+z="})
    (name, value), = sysmeta.items()
    assert name == "X-Object-Sysmeta-Container-Update-Override-Content-Type"
    row = {"content_type": value}
    assert row_checksums(row) == {"crc32": "AAAAAA==", "sha256": "x/y+z="}
    assert row_content_type(row) == "application/octet-stream"
    assert row_checksums({"content_type": "application/octet-stream"}) == {}
    assert part_record_sysmeta({}) == {}


def test_rows_first_head_only_for_old_parts():
    client = _HeadCounter()
    req = SimpleNamespace(client=client, account="AUTH_test")
    rows = {"k/u/00001": {"content_type": "application/octet-stream; s3_checksum_crc32=new=="},
            "k/u/00002": {"content_type": "application/octet-stream"}}
    found = asyncio.run(stored_part_checksums(req, "b+segments", list(rows), "crc32", rows))  # type: ignore[arg-type]
    assert found == {"k/u/00001": "new==", "k/u/00002": "old=="}
    assert client.heads == ["k/u/00002"]
