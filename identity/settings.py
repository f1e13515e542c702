"""The identity service's view of the configuration (``[identity]`` plus the URLs of the other services)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


def service_url(conf: Any, section: str) -> str:
    """``http://host:port`` of a configured service (``public_url`` wins when set)."""
    sconf = conf.get(section, {})
    if sconf.get("public_url"):
        return str(sconf["public_url"]).rstrip("/")
    return f"http://{sconf.get('host', '127.0.0.1')}:{sconf.get('port')}"


@dataclass
class Settings:
    """Everything the identity service reads from the configuration."""

    host: str
    port: int
    data_dir: Path
    database_url: str
    token_expiration: int  # seconds
    key_rotation: int  # seconds between signing-key rotations
    max_keys: int  # key set size on disk (newest signs, all verify)
    admin_password: str
    public_url: str
    region: str
    conf: Any
    admin_project: str = "admin"  # Keystone's admin_project_name (in the default domain): is_admin_project
    auth_max_failures: int = 10  # failed POST /v3/auth/tokens per user and address before 429
    auth_failure_window: int = 300  # seconds a failure counts (and a throttled user waits at most)

    @classmethod
    def from_conf(cls, conf: Any) -> Settings:
        ident = conf.get("identity", {})
        data_dir = Path(conf["cluster"]["data_dir"]).resolve()
        url = ident.get("database_url") or f"sqlite:///{data_dir / 'identity.sqlite'}"
        return cls(host=str(ident.get("host", "127.0.0.1")), port=int(ident.get("port", 5000)),
                   data_dir=data_dir, database_url=url,
                   token_expiration=int(ident.get("token_expiration", 3600)),
                   key_rotation=int(ident.get("key_rotation", 7 * 86400)),
                   max_keys=max(2, int(ident.get("max_keys", 3))),
                   admin_password=str(ident.get("admin_password", "")),
                   public_url=service_url(conf, "identity"), region=str(ident.get("region", "RegionOne")),
                   conf=conf, admin_project=str(ident.get("admin_project", "admin")),
                   auth_max_failures=max(1, int(ident.get("auth_max_failures", 10))),
                   auth_failure_window=max(1, int(ident.get("auth_failure_window", 300))))

    @property
    def key_dir(self) -> Path:
        return self.data_dir / "identity-keys"
