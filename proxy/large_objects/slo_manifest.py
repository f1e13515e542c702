"""SLO manifests: parsing a client's ``multipart-manifest=put`` body and reading a stored manifest."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import string
from dataclasses import dataclass

from proxy.large_objects.segments import Segment
from stackstore.numbers import is_ascii_digits

MAX_MANIFEST_SEGMENTS = 1000
MAX_MANIFEST_SIZE = 8 * 1024 * 1024
MIN_SEGMENT_SIZE = 1
YIELD_FREQUENCY = 10  # seconds between the spaces of a ``heartbeat=on`` manifest PUT
# the keys each kind of manifest entry may have: an object-backed segment or inline base64 ``data``
ALLOWED_KEYS = frozenset({"path", "etag", "size_bytes", "range"})
DATA_KEYS = frozenset({"data"})
B64_CHARS = frozenset(string.ascii_letters + string.digits + "+/")

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
    """One validated entry of a client's manifest (the segment itself not yet checked).

    An inline data segment has ``data`` (the decoded bytes) and an empty path."""

    index: int
    path: str  # "/container/object"
    container: str
    obj: str
    etag: str | None
    size_bytes: int | None
    range: tuple[int | None, int | None] | None  # as written: (first, last), first None = suffix
    data: bytes | None = None
    written: str = ""  # the path as the client wrote it (how Swift names it in a PUT's error list)

    def stored_data(self) -> dict:
        """The stored manifest entry of an inline data segment (padding normalised, as Swift)."""
        assert self.data is not None
        return {"data": base64.b64encode(self.data).decode("ascii")}


def parse_put_body(body: bytes) -> list[SegmentSpec]:
    """Validate the JSON list of ``{"path", "etag", "size_bytes", "range"}`` or ``{"data": <base64>}``
    entries; raise ManifestError. Only object-backed segments count against MAX_MANIFEST_SEGMENTS."""
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
    specs, errors = [], []
    for index, item in enumerate(data):
        try:
            specs.append(_parse_entry(index, item))
        except ValueError as err:
            errors.append(f"Index {index}: {err}")
    if not errors and all(spec.data is not None for spec in specs):
        errors.append("Inline data segments require at least one object-backed segment.")
    if errors:
        raise ManifestError(400, "".join(e + "\n" for e in errors))
    if sum(spec.data is None for spec in specs) > MAX_MANIFEST_SEGMENTS:
        raise ManifestError(413, f"Number of object-backed segments must be <= {MAX_MANIFEST_SEGMENTS}")
    return specs


def _parse_entry(index: int, item: object) -> SegmentSpec:
    if not isinstance(item, dict):
        raise ValueError("not a JSON object")
    if "path" not in item:
        if "data" in item:
            return _parse_data_entry(index, item)
        raise ValueError("expected keys to include one of 'path' or 'data'")
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
                       size, parsed_range, written=path)


def _parse_data_entry(index: int, item: dict) -> SegmentSpec:
    extra = sorted(set(item) - DATA_KEYS)
    if extra:
        raise ValueError("extraneous keys " + ", ".join(f'"{k}"' for k in extra))
    data = strict_b64decode(item["data"])
    if not data:
        raise ValueError("too small; each segment must be at least 1 byte.")
    return SegmentSpec(index, "", "", "", None, None, None, data)


def strict_b64decode(value: object) -> bytes:
    """Standard base64 with nothing but its alphabet and correct padding; ValueError otherwise."""
    if not isinstance(value, str) or any(c not in B64_CHARS for c in value.rstrip("=")):
        raise ValueError("data must be valid base64")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise ValueError("data must be valid base64") from None


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
        if "data" in entry:
            md5.update(hashlib.md5(entry_data(entry)).hexdigest().encode())
        elif entry.get("range"):
            md5.update(f"{entry['hash']}:{entry['range']};".encode())
        else:
            md5.update(entry["hash"].encode())
    return md5.hexdigest()


def slo_size(entries: list[dict]) -> int:
    return sum(_entry_length(e) for e in entries)


def entry_data(entry: dict) -> bytes:
    """The bytes of a stored inline data entry (``{"data": <base64>}``)."""
    return base64.b64decode(entry["data"])


def _entry_length(entry: dict) -> int:
    if "data" in entry:
        return len(entry_data(entry))
    rng = entry.get("range")
    if rng:
        first, _, last = rng.partition("-")
        return int(last) - int(first) + 1
    return int(entry["bytes"])


def parse_stored(body: bytes) -> list[dict]:
    """The stored manifest JSON (``name``, ``hash``, ``bytes``, ... or inline ``data``); ValueError if
    corrupt."""
    data = json.loads(body)
    if not isinstance(data, list) or not all(isinstance(e, dict) and ("name" in e or "data" in e)
                                             for e in data):
        raise ValueError("not an SLO manifest")
    return data


def to_segments(entries: list[dict]) -> list[Segment]:
    """Segments to stream for stored manifest entries."""
    segments = []
    for entry in entries:
        if "data" in entry:
            data = entry_data(entry)
            segments.append(Segment("", "", len(data), data=data))
            continue
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
        if "data" in entry:
            raw.append({"data": entry["data"]})
            continue
        item = {"path": entry["name"], "etag": entry.get("hash"), "size_bytes": entry.get("bytes")}
        if entry.get("range"):
            item["range"] = entry["range"]
        raw.append(item)
    return raw
