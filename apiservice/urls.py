"""Where the other services of the cloud answer, from the shared configuration."""

from __future__ import annotations

from typing import Any


def service_url(conf: Any, section: str, default_port: int) -> str:
    """``http://host:port`` of a configured service; ``public_url`` (or ``url``) wins when set."""
    sconf = conf.get(section, {}) or {}
    for key in ("public_url", "url"):
        if sconf.get(key):
            return str(sconf[key]).rstrip("/")
    return f"http://{sconf.get('host', '127.0.0.1')}:{sconf.get('port', default_port)}"
