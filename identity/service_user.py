"""The service account other StackStore services use to call the identity API (EC2 lookups).

User ``stackstore-service`` in project ``service`` with role ``service``; its password is
``[identity] service_password`` or, when empty, derived from the cluster secret every node shares.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

SERVICE_USER = "stackstore-service"
SERVICE_PROJECT = "service"
SERVICE_ROLE = "service"


def service_password(conf: Any) -> str:
    configured = conf.get("identity", {}).get("service_password")
    if configured:
        return str(configured)
    secret = str(conf.get("cluster", {}).get("hash_path_suffix") or "")
    if not secret:
        raise RuntimeError("no [identity] service_password and no cluster hash_path_suffix")
    return hmac.new(secret.encode(), b"stackstore-identity-service-user", hashlib.sha256).hexdigest()
