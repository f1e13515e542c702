"""SLO manifests: parsing a client's ``multipart-manifest=put`` body and reading a stored manifest."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from proxy.large_objects.segments import Segment
from stackstore.numbers import is_ascii_digits

MAX_MANIFEST_SEGMENTS = 1000
MAX_MANIFEST_SIZE = 8 * 1024 * 1024
MIN_SEGMENT_SIZE = 1
ALLOWED_KEYS = frozenset({"path", "etag", "size_bytes", "range"})

SYSMETA_ETAG = "X-Object-Sysmeta-Slo-Etag"
SYSMETA_SIZE = "X-Object-Sysmeta-Slo-Size"


class ManifestError(Exception):
    """The manifest body itself is unusable: ``status`` (400/413) with a plain-text ``detail``."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass
class SegmentSpec:
    """One validated entry of a client's manifest (the segment itself not yet checked)."""

    index: int
    path: str  # "/container/object"
    container: str
    obj: str
    etag: str | None
    size_bytes: int | None
    range: tuple[int | None, int | None] | None  # as written: (first, last), first None = suffix


def parse_put_body(body: bytes) -> list[SegmentSpec]:
    """Validate the JSON list of ``{"path", "etag", "size_bytes", "range"}``; raise ManifestError."""
    if len(body) > MAX_MANIFEST_SIZE:
        raise ManifestError(413, f"Manifest File > {MAX_MANIFEST_SIZE} bytes")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ManifestError(400, "Manifest must be valid JSON.\n") from None
    if not isinstance(data, list):
        raise ManifestError(400, "Manifest must be a list.\n")
    if not data:
        raise ManifestError(400, "Manifest must have at least one segment.\n")
    if len(data) > MAX_MANIFEST_SEGMENTS:
        raise ManifestError(413, f"Number of segments must be <= {MAX_MANIFEST_SEGMENTS}")
    specs, errors = [], []
    for index, item in enumerate(data):
        try:
            specs.append(_parse_entry(index, item))
        except ValueError as err:
            errors.append(f"Index {index}: {err}")
    if errors:
        raise ManifestError(400, "".join(e + "\n" for e in errors))
    return specs


def _parse_entry(index: int, item: object) -> SegmentSpec:
    if not isinstance(item, dict):
        raise ValueError("not a JSON object")
    if "path" not in item:
        raise ValueError("expected keys to include path")
    extra = sorted(set(item) - ALLOWED_KEYS)
    if extra:
        raise ValueError("extraneous keys " + ", ".join(f'"{k}"' for k in extra))
    path = item["path"]
    if not isinstance(path, str):
        raise ValueError('"path" must be a string')
    container, _, obj = path.lstrip("/").partition("/")
    if not container or not obj:
        raise ValueError("path does not refer to an object. Path must be of the form /container/object.")
    size = item.get("size_bytes")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int)):
        if isinstance(size, str) and is_ascii_digits(size):
            size = int(size)
        else:
            raise ValueError('"size_bytes" must be an integer or null')
    etag = item.get("etag")
    if etag is not None and not isinstance(etag, str):
        raise ValueError('"etag" must be a string or null (if provided)')
    rng = item.get("range")
    parsed_range = None
    if rng is not None:
        parsed_range = _parse_one_range(rng)
    return SegmentSpec(index, f"/{container}/{obj}", container, obj, etag.strip('"') if etag else None,
                       size, parsed_range)


def _parse_one_range(rng: object) -> tuple[int | None, int | None]:
    if not isinstance(rng, str):
        raise ValueError("invalid range")
    first, dash, last = rng.strip().partition("-")
    first, last = first.strip(), last.strip()
    if "," in rng:
        raise ValueError("multiple ranges (only one allowed)")
    if not dash or not (first or last) or (first and not is_ascii_digits(first)) or (
            last and not is_ascii_digits(last)):
        raise ValueError("invalid range")
    if not first:
        if int(last) == 0:
            raise ValueError("invalid range")
        return None, int(last)
    if last and int(last) < int(first):
        raise ValueError("invalid range")
    return int(first), (int(last) if last else None)


def resolve_range(rng: tuple[int | None, int | None] | None, size: int) -> tuple[int, int] | None:
    """``(offset, length)`` of a manifest range within a segment of ``size`` bytes; None if unsatisfiable."""
    if rng is None:
        return 0, size
    first, last = rng
    if first is None:
        assert last is not None
        length = min(last, size)
        return size - length, length
    if first >= size:
        return None
    end = size - 1 if last is None else min(last, size - 1)
    return first, end - first + 1


def slo_etag(entries: list[dict]) -> str:
    """md5 of the concatenated segment etags (``etag:range;`` for ranged segments), as Swift."""
    md5 = hashlib.md5()
    for entry in entries:
        if entry.get("range"):
            md5.update(f"{entry['hash']}:{entry['range']};".encode())
        else:
            md5.update(entry["hash"].encode())
    return md5.hexdigest()


def slo_size(entries: list[dict]) -> int:
    return sum(_entry_length(e) for e in entries)


def _entry_length(entry: dict) -> int:
    rng = entry.get("range")
    if rng:
        first, _, last = rng.partition("-")
        return int(last) - int(first) + 1
    return int(entry["bytes"])


def parse_stored(body: bytes) -> list[dict]:
    """The stored manifest JSON (``name``, ``hash``, ``bytes``, ...); ValueError if corrupt."""
    data = json.loads(body)
    if not isinstance(data, list) or not all(isinstance(e, dict) and "name" in e for e in data):
        raise ValueError("not an SLO manifest")
    return data


def to_segments(entries: list[dict]) -> list[Segment]:
    """Segments to stream for stored manifest entries."""
    segments = []
    for entry in entries:
        container, _, obj = entry["name"].lstrip("/").partition("/")
        offset = 0
        if entry.get("range"):
            offset = int(entry["range"].partition("-")[0])
        sub = bool(entry.get("sub_slo"))
        segments.append(Segment(container, obj, _entry_length(entry), offset,
                                None if sub else entry.get("hash"), sub))
    return segments


def to_raw(entries: list[dict]) -> list[dict]:
    """``multipart-manifest=get&format=raw``: the PUT-able form of a stored manifest."""
    raw = []
    for entry in entries:
        item = {"path": entry["name"], "etag": entry.get("hash"), "size_bytes": entry.get("bytes")}
        if entry.get("range"):
            item["range"] = entry["range"]
        raw.append(item)
    return raw
