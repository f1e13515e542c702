"""A bucket's logging configuration (``BucketLoggingStatus``): parsed, validated, kept in the container's sysmeta.

Stored normalized (as GetBucketLogging answers it) under the sysmeta blob ``logging``
(``proxy.s3.policy.storage``), so it arrives with the container info the S3 layer already loads.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from xml.etree.ElementTree import Element

from proxy.s3 import xml
from proxy.s3.errors import S3Error

BLOB = "logging"  # sysmeta ``X-Container-Sysmeta-S3-Logging-<n>``; info key ``s3-logging-0``
INFO_KEY = f"s3-{BLOB}-0"
EVENT_TIME, DELIVERY_TIME = "EventTime", "DeliveryTime"
PERMISSIONS = ("FULL_CONTROL", "READ", "WRITE")
XSI = "http://www.w3.org/2001/XMLSchema-instance"


@dataclass(frozen=True)
class LoggingConfig:
    """Where a bucket's access log records go."""

    target_bucket: str
    target_prefix: str
    partitioned: bool = False  # TargetObjectKeyFormat/PartitionedPrefix (else SimplePrefix)
    date_source: str = EVENT_TIME  # PartitionDateSource of the partitioned form
    grants_xml: bytes = b""  # TargetGrants as put (kept and answered, see docs/bucket-logging.md)
    key_format_given: bool = False  # TargetObjectKeyFormat was put (answered only then)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _malformed(message: str | None = None) -> S3Error:
    return S3Error("MalformedXML", message)


def _single(parent: Element, tag: str) -> Element | None:
    found = xml.children(parent, tag)
    if len(found) > 1:
        raise _malformed()
    return found[0] if found else None


def parse_status(body: bytes) -> LoggingConfig | None:
    """The configuration a PutBucketLogging body sets (None: an empty status, logging disabled)."""
    doc = xml.parse(body, "BucketLoggingStatus")
    enabled = _single(doc, "LoggingEnabled")
    if enabled is None:
        return None
    target = xml.child_text(enabled, "TargetBucket")
    prefix = xml.child_text(enabled, "TargetPrefix")
    if target is None or prefix is None or len(xml.children(enabled, "TargetBucket")) > 1:
        raise _malformed()
    target = target.strip()
    if not target:
        raise S3Error("InvalidTargetBucketForLogging", "The target bucket for logging does not exist",
                      TargetBucket=target)
    grants = _single(enabled, "TargetGrants")
    grants_xml = b""
    if grants is not None:
        for grant in grants:
            permission = (xml.child_text(grant, "Permission") or "").strip()
            if _local(grant.tag) != "Grant" or permission not in PERMISSIONS or \
                    _single(grant, "Grantee") is None:
                raise _malformed()
        grants_xml = xml.to_bytes(grants)
    partitioned, date_source = False, EVENT_TIME
    key_format = _single(enabled, "TargetObjectKeyFormat")
    if key_format is not None:
        simple, parted = _single(key_format, "SimplePrefix"), _single(key_format, "PartitionedPrefix")
        if (simple is None) == (parted is None):
            raise _malformed()
        if parted is not None:
            partitioned = True
            source = xml.child_text(parted, "PartitionDateSource")
            date_source = (source or EVENT_TIME).strip()
            if date_source not in (EVENT_TIME, DELIVERY_TIME):
                raise _malformed()
    return LoggingConfig(target, prefix, partitioned, date_source, grants_xml, key_format is not None)


def to_xml(config: LoggingConfig | None) -> Element:
    """The ``BucketLoggingStatus`` document GetBucketLogging answers (and what is stored)."""
    doc = xml.root("BucketLoggingStatus")
    if config is None:
        return doc
    enabled = xml.add(doc, "LoggingEnabled")
    xml.add(enabled, "TargetBucket", config.target_bucket)
    xml.add(enabled, "TargetPrefix", config.target_prefix)
    if config.grants_xml:
        enabled.append(_renamespaced(xml.parse(config.grants_xml, "TargetGrants")))
    if not config.key_format_given:
        return doc
    key_format = xml.add(enabled, "TargetObjectKeyFormat")
    if config.partitioned:
        xml.add(xml.add(key_format, "PartitionedPrefix"), "PartitionDateSource", config.date_source)
    else:
        xml.add(key_format, "SimplePrefix")
    return doc


def _renamespaced(el: Element) -> Element:
    """``el`` with its tags in no namespace (the document's default one applies), ``xsi:type`` kept."""
    out = Element(_local(el.tag))
    for name, value in el.attrib.items():
        out.set("xsi:type" if name == f"{{{XSI}}}type" else name, value)
    if out.get("xsi:type") is not None:
        out.set("xmlns:xsi", XSI)
    out.text = el.text
    for child in el:
        out.append(_renamespaced(child))
    return out


@lru_cache(maxsize=512)
def _from_stored(text: bytes) -> LoggingConfig | None:
    return parse_status(text)


def stored_config(sysmeta: dict[str, str]) -> LoggingConfig | None:
    """The logging configuration in a container's sysmeta (None: logging off). One dict lookup when off."""
    if not sysmeta.get(INFO_KEY):
        return None
    from proxy.s3.policy.storage import stored_text

    text = stored_text(sysmeta, BLOB)
    return None if text is None else _from_stored(text)
