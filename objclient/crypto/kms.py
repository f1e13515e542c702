"""The built-in KMS behind SSE-KMS (``aws:kms``): named keys whose KEKs are derived, never stored.

The key ids are configuration (``[s3] kms_keys``, plus ``[s3] kms_default_key``, the analogue of AWS's
``aws/s3`` managed key, used by ``aws:kms`` without a key id). A key's KEK is derived from the cluster's key
material, the same root SSE-S3 uses (``objclient.crypto.keyring``): HMAC-SHA256 of the cluster key that is
active when the object is written, over the KMS key id and the request's encryption context. The object's
envelope records the cluster key id, the KMS key id and the context, so a read derives the same KEK again;
cluster key rotation keeps working as for SSE-S3. Nothing of a KMS key is ever written down or logged.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping

from objclient.crypto import cipher

DEFAULT_KEY = "aws/s3"
_LABEL = b"stackstore kms key\x00"


class UnknownKmsKey(Exception):
    """The key id names no key of the built-in KMS."""


class InvalidContext(ValueError):
    """An ``x-amz-server-side-encryption-context`` that is not base64 of a JSON object of strings."""


def canonical_id(key_id: str) -> str:
    """The bare key id of ``key_id``: a key ARN (``arn:aws:kms:<region>:<account>:key/<id>``) or an
    alias (``alias/<id>``, ``arn:…:alias/<id>``) names the key ``<id>``."""
    name = key_id.strip()
    if name.startswith("arn:"):
        resource = name.split(":", 5)[-1]
        name = resource.partition("/")[2] if "/" in resource else resource
    elif name.startswith("alias/"):
        name = name[len("alias/"):]
    return name


class KmsKeys:
    """The key ids the built-in KMS knows (``[s3] kms_keys`` and the default key)."""

    def __init__(self, key_ids: Iterable[str] = (), default_key: str = DEFAULT_KEY):
        self.default_key = canonical_id(default_key) if default_key else ""
        self.key_ids = {canonical_id(k) for k in key_ids if str(k).strip()}
        if self.default_key:
            self.key_ids.add(self.default_key)

    @classmethod
    def from_config(cls, s3_conf: Mapping[str, object]) -> KmsKeys:
        """The keys of a ``[s3]`` configuration section."""
        raw = s3_conf.get("kms_keys", [])
        ids = [raw] if isinstance(raw, str) else [str(k) for k in raw] if isinstance(raw, (list, tuple)) else []
        default = s3_conf.get("kms_default_key", DEFAULT_KEY)
        return cls(ids, str(default) if default is not None else "")

    def resolve(self, key_id: str | None) -> str:
        """The key a request names (None or empty: the default key); ``UnknownKmsKey`` when unknown."""
        name = canonical_id(key_id) if key_id else self.default_key
        if not name or name not in self.key_ids:
            raise UnknownKmsKey(key_id or "")
        return name


def check_context(value: str) -> str:
    """The encryption context as given, once checked to be base64 of a JSON object of string values."""
    try:
        doc = json.loads(base64.b64decode(value.strip(), validate=True).decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidContext("not base64 of UTF-8 JSON") from exc
    if not isinstance(doc, dict) or not all(isinstance(v, str) for v in doc.values()):
        raise InvalidContext("not a JSON object of string values")
    return value.strip()


def key_encryption_key(cluster_kek: bytes, key_id: str, context: str | None) -> bytes:
    """The KEK of KMS key ``key_id`` under the cluster key ``cluster_kek``, bound to the encryption context."""
    return cipher.derive(cluster_kek, _LABEL + key_id.encode("utf-8") + b"\x00" + (context or "").encode("utf-8"))
