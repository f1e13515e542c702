"""This host's connector properties, as os-brick's ``get_connector_properties`` reports them."""

from __future__ import annotations

import os
import platform
import secrets
import uuid
from pathlib import Path
from typing import Any

SYSTEM_INITIATOR = Path("/etc/iscsi/initiatorname.iscsi")


def _persisted(path: Path, make: Any) -> str:
    if path.exists():
        value = path.read_text().strip()
        if value:
            return value
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(value + "\n")
    os.replace(tmp, path)
    return value


def initiator_name(configured: str, state_dir: Path) -> str:
    """The configured IQN, else the system's (open-iscsi), else one generated once for this data dir."""
    if configured:
        return configured
    try:
        for line in SYSTEM_INITIATOR.read_text().splitlines():
            if line.startswith("InitiatorName="):
                return line.split("=", 1)[1].strip()
    except OSError:
        pass
    return _persisted(state_dir / "initiatorname", lambda: f"iqn.1993-08.org.debian:01:{secrets.token_hex(6)}")


def connector(initiator: str, ip: str, host: str, state_dir: Path) -> dict[str, Any]:
    return {"initiator": initiator, "ip": ip, "host": host, "platform": platform.machine() or "x86_64",
            "os_type": "linux", "multipath": False, "enforce_multipath": False, "do_local_attach": False,
            "uuid": _persisted(state_dir / "host_uuid", lambda: str(uuid.uuid4()))}
