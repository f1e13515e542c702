"""``connection_info`` exactly as Cinder's tgt/iSCSI driver hands it to os-brick and Nova."""

from __future__ import annotations

from typing import Any

from volumes.errors import ApiError
from volumes.models import Volume
from volumes.targets.tgt import LUN, Export


def validate_connector(connector: Any) -> dict[str, Any]:
    """The iSCSI target needs the initiator name (Cinder's InvalidConnectorException → 400)."""
    if not isinstance(connector, dict) or not connector.get("initiator"):
        raise ApiError(400, "Connector doesn't have required information: initiator")
    return connector


def chap(vol: Volume) -> tuple[str, str]:
    method, user, password = (vol.provider_auth or "CHAP  ").split(" ", 2)
    return user, password


def iscsi_data(vol: Volume, export: Export, mode: str = "rw") -> dict[str, Any]:
    """The driver's ``data`` dict (``_get_iscsi_properties`` plus the manager's additions)."""
    user, password = chap(vol)
    return {
        "target_discovered": False,
        "target_portal": export.portal,
        "target_iqn": export.iqn,
        "target_lun": LUN,
        "volume_id": vol.id,
        "auth_method": "CHAP",
        "auth_username": user,
        "auth_password": password,
        "encrypted": False,
        "qos_specs": None,
        "access_mode": "ro" if vol.readonly else mode,
        "cacheable": False,
    }


def provider_location(export: Export) -> str:
    return f"{export.portal},{export.tid} {export.iqn} {LUN}"


def nested(data: dict[str, Any]) -> dict[str, Any]:
    """Legacy ``os-initialize_connection`` form."""
    return {"driver_volume_type": "iscsi", "data": data, "enforce_multipath": False}


def flat(data: dict[str, Any], attachment_id: str) -> dict[str, Any]:
    """Attachment API form: data keys merged beside ``driver_volume_type``."""
    return {"driver_volume_type": "iscsi", **data, "attachment_id": attachment_id, "enforce_multipath": False}
