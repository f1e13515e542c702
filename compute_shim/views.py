"""Nova's JSON documents for flavors, servers and volume attachments, per microversion."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from compute_shim import states
from compute_shim.microversions import Version
from compute_shim.models import Flavor, Server, VolumeAttachment


def isotime(dt: datetime | None) -> str | None:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ") if dt else None


def _links(base: str, kind: str, ident: str) -> list[dict[str, str]]:
    return [{"rel": "self", "href": f"{base}/v2.1/{kind}/{ident}"},
            {"rel": "bookmark", "href": f"{base}/{kind}/{ident}"}]


def flavor_summary(f: Flavor, base: str, v: Version) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": f.id, "name": f.name, "links": _links(base, "flavors", f.id)}
    if v.at_least(55):
        doc["description"] = f.description
    return doc


def flavor(f: Flavor, base: str, v: Version) -> dict[str, Any]:
    doc = flavor_summary(f, base, v)
    doc.update({"ram": f.ram, "vcpus": f.vcpus, "disk": f.disk, "OS-FLV-EXT-DATA:ephemeral": f.ephemeral,
                "OS-FLV-DISABLED:disabled": False, "swap": f.swap if (f.swap or v.at_least(75)) else "",
                "rxtx_factor": f.rxtx_factor, "os-flavor-access:is_public": f.is_public})
    if v.at_least(61):
        doc["extra_specs"] = dict(f.extra_specs or {})
    return doc


def flavor_snapshot(f: Flavor) -> dict[str, Any]:
    """What a server keeps of its flavor (the 2.47 embedded form plus the id)."""
    return {"id": f.id, "original_name": f.name, "vcpus": f.vcpus, "ram": f.ram, "disk": f.disk,
            "ephemeral": f.ephemeral, "swap": f.swap, "extra_specs": dict(f.extra_specs or {})}


def server_summary(s: Server, base: str) -> dict[str, Any]:
    return {"id": s.id, "name": s.name, "links": _links(base, "servers", s.id)}


def server(s: Server, base: str, v: Version, attachments: list[VolumeAttachment], admin: bool) -> dict[str, Any]:
    snap = dict(s.flavor or {})
    if v.at_least(47):
        flav = {k: snap.get(k) for k in ("vcpus", "ram", "disk", "ephemeral", "swap", "original_name",
                                         "extra_specs")}
    else:
        flav = {"id": snap.get("id", s.flavor_id), "links": [
            {"rel": "bookmark", "href": f"{base}/flavors/{snap.get('id', s.flavor_id)}"}]}
    image: Any = ({"id": s.image_id, "links": [{"rel": "bookmark", "href": f"{base}/images/{s.image_id}"}]}
                  if s.image_id else "")
    host_id = hashlib.sha224((s.project_id + s.host).encode()).hexdigest() if s.host else ""
    vols = []
    for a in attachments:
        entry: dict[str, Any] = {"id": a.volume_id}
        if v.at_least(3):
            entry["delete_on_termination"] = a.delete_on_termination
        vols.append(entry)
    doc: dict[str, Any] = {
        "id": s.id, "name": s.name, "status": states.status(s), "tenant_id": s.project_id, "user_id": s.user_id,
        "metadata": dict(s.metadata_ or {}), "hostId": host_id, "image": image, "flavor": flav,
        "created": isotime(s.created_at), "updated": isotime(s.updated_at), "addresses": {},
        "accessIPv4": "", "accessIPv6": "", "links": _links(base, "servers", s.id),
        "OS-DCF:diskConfig": "MANUAL", "OS-EXT-AZ:availability_zone": s.availability_zone,
        "config_drive": "", "key_name": s.key_name, "OS-SRV-USG:launched_at": isotime(s.launched_at),
        "OS-SRV-USG:terminated_at": isotime(s.terminated_at), "OS-EXT-STS:task_state": s.task_state,
        "OS-EXT-STS:vm_state": s.vm_state, "OS-EXT-STS:power_state": s.power_state,
        "os-extended-volumes:volumes_attached": vols,
    }
    if states.status(s) in ("BUILD", "ACTIVE"):
        doc["progress"] = 0
    if s.fault and s.vm_state == states.ERROR:
        doc["fault"] = s.fault
    if admin:
        doc.update({"OS-EXT-SRV-ATTR:host": s.host, "OS-EXT-SRV-ATTR:hypervisor_hostname": s.host,
                    "OS-EXT-SRV-ATTR:instance_name": f"instance-{s.id[:8]}"})
        if v.at_least(3):
            doc.update({"OS-EXT-SRV-ATTR:reservation_id": f"r-{s.id[:8]}", "OS-EXT-SRV-ATTR:launch_index": 0,
                        "OS-EXT-SRV-ATTR:hostname": s.name, "OS-EXT-SRV-ATTR:kernel_id": "",
                        "OS-EXT-SRV-ATTR:ramdisk_id": "", "OS-EXT-SRV-ATTR:root_device_name": "/dev/vda",
                        "OS-EXT-SRV-ATTR:user_data": None})
        if v.at_least(16):
            doc["host_status"] = "UP"
    if v.at_least(9):
        doc["locked"] = False
    if v.at_least(19):
        doc["description"] = s.description
    if v.at_least(26):
        doc["tags"] = []
    if v.at_least(63):
        doc["trusted_image_certificates"] = None
    if v.at_least(71):
        doc["server_groups"] = []
    if v.at_least(73):
        doc["locked_reason"] = None
    return doc


def attachment(a: VolumeAttachment, v: Version) -> dict[str, Any]:
    doc: dict[str, Any] = {"device": a.device, "serverId": a.server_id, "volumeId": a.volume_id}
    if not v.at_least(89):
        doc["id"] = a.volume_id
    if v.at_least(70):
        doc["tag"] = a.tag
    if v.at_least(79):
        doc["delete_on_termination"] = a.delete_on_termination
    if v.at_least(89):
        doc["attachment_id"] = a.attachment_id
        doc["bdm_uuid"] = a.id
    return doc
