"""The service account other StackStore services use to call the identity API (EC2 lookups).

User ``stackstore-service`` in project ``service`` with role ``service``; its password is
``[identity] service_password`` or, when empty, a secret of its own generated once into
``<data_dir>/secrets/service_password`` (``stackstore.secrets``).
"""

from __future__ import annotations

from typing import Any

from stackstore.secrets import ensure_secret

SERVICE_USER = "stackstore-service"
SERVICE_PROJECT = "service"
SERVICE_ROLE = "service"


def service_password(conf: Any) -> str:
    """The service user's password: configured, else the cloud's generated ``service_password`` secret."""
    return ensure_secret(conf, "service_password")
