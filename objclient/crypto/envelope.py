"""What an encrypted object stores besides its ciphertext: sysmeta, read and written here only.

- ``X-Object-Sysmeta-Crypto-Body``: ``{"v":1,"kid":<key id>,"iv":<b64>,"key":<b64>}`` — the body's IV and
  its data key wrapped (AES key wrap) by the cluster key ``kid`` (with ``"kms"``: by the KEK of that KMS key
  derived from the cluster key ``kid``), or (``kid`` empty) by a subkey of the
  customer's SSE-C key.
- ``X-Object-Sysmeta-Crypto-Sse``: ``AES256`` (cluster keys), ``aws:kms`` (a key of the built-in KMS) or
  ``SSE-C``, as S3 reports it.
- ``X-Object-Sysmeta-Crypto-Kms-Key-Id`` / ``-Kms-Context`` / ``-Bucket-Key`` (``aws:kms``): the KMS key id,
  the request's encryption context (both bound into the KEK, ``objclient.crypto.kms``) and whether the
  S3 Bucket Key was asked for (reported only).
- ``X-Object-Sysmeta-Crypto-Key-Check``: SSE-C only, ``<salt>.<HMAC-SHA256(customer key, salt)>``: proves
  a key right or wrong; the key itself is never stored.
- ``X-Object-Sysmeta-Crypto-Etag``: the plaintext's MD5 sealed under the data key (cluster keys only: an
  SSE-C object's ETag is its ciphertext's MD5, as AWS's is "not the MD5 of the object data").
- ``X-Object-Transient-Sysmeta-Crypto-Meta``: the id of the cluster key whose per-object subkey sealed the
  user metadata values (``[proxy] encryption``); replaced by every metadata POST, as user metadata is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from objclient.crypto import cipher
from stackstore import versioning_names as names
from stackstore.headers import lookup

BODY = "X-Object-Sysmeta-Crypto-Body"
SSE = "X-Object-Sysmeta-Crypto-Sse"
KEY_CHECK = "X-Object-Sysmeta-Crypto-Key-Check"
ETAG = "X-Object-Sysmeta-Crypto-Etag"
META = "X-Object-Transient-Sysmeta-Crypto-Meta"
KMS_KEY_ID = "X-Object-Sysmeta-Crypto-Kms-Key-Id"
KMS_CONTEXT = "X-Object-Sysmeta-Crypto-Kms-Context"
BUCKET_KEY = "X-Object-Sysmeta-Crypto-Bucket-Key"
OVERRIDE_ETAG = "X-Object-Sysmeta-Container-Update-Override-Etag"
SSE_S3, SSE_C, SSE_KMS = "AES256", "SSE-C", "aws:kms"
KINDS = (SSE_S3, SSE_C, SSE_KMS)
USER_META_PREFIX = "x-object-meta-"
# every header of the envelope: what a copy must not carry from its source
ALL = (BODY, SSE, KEY_CHECK, ETAG, META, KMS_KEY_ID, KMS_CONTEXT, BUCKET_KEY)
# what only EncryptingClient.put_object writes (SSE, KEY_CHECK and the KMS headers may also mark a plaintext
# S3 multipart manifest of an encrypted upload: its parts are the encrypted objects)
COMPUTED = (BODY, ETAG, META)
# any of them on a stored object: a read goes through the encryption layer
READ_MARKERS = (BODY, KEY_CHECK, META)


@dataclass(frozen=True)
class Encryption:
    """How one PUT is encrypted: the cluster's active key (SSE-S3), a key of the built-in KMS (SSE-KMS), a
    customer's key (SSE-C) or not at all."""

    customer_key: bytes | None = None
    enabled: bool = True
    kms_key_id: str | None = None  # SSE-KMS: the (resolved) key id
    kms_context: str | None = None  # SSE-KMS: the encryption context as the request gave it (base64 JSON)
    bucket_key: bool = False  # SSE-KMS: the S3 Bucket Key was asked for (reported back)

    @property
    def sse(self) -> str | None:
        """``AES256``/``aws:kms``/``SSE-C``; None when not encrypted."""
        if not self.enabled:
            return None
        if self.customer_key is not None:
            return SSE_C
        return SSE_KMS if self.kms_key_id else SSE_S3


CLUSTER_KEY = Encryption()
PLAINTEXT = Encryption(enabled=False)


def customer(key: bytes) -> Encryption:
    """SSE-C with the customer's 256-bit key."""
    return Encryption(customer_key=key)


def kms(key_id: str, context: str | None = None, bucket_key: bool = False) -> Encryption:
    """SSE-KMS with the built-in KMS's key ``key_id`` (resolved), an optional encryption context."""
    return Encryption(kms_key_id=key_id, kms_context=context or None, bucket_key=bucket_key)


def kms_headers(plan: Encryption) -> dict[str, str]:
    """The KMS part of the envelope of an object (or manifest) written with ``plan``."""
    if not plan.kms_key_id:
        return {}
    out = {KMS_KEY_ID: plan.kms_key_id}
    if plan.kms_context:
        out[KMS_CONTEXT] = plan.kms_context
    if plan.bucket_key:
        out[BUCKET_KEY] = "true"
    return out


@dataclass(frozen=True)
class BodyKey:
    """The parsed ``Crypto-Body`` sysmeta."""

    kid: str  # "" for an SSE-C object
    iv: bytes
    wrapped: bytes
    kms: str = ""  # SSE-KMS: the KMS key whose KEK (derived from the cluster key ``kid``) wrapped the data key

    def dump(self) -> str:
        doc = {"v": 1, "kid": self.kid, "iv": cipher.b64(self.iv), "key": cipher.b64(self.wrapped)}
        if self.kms:
            doc["kms"] = self.kms
        return json.dumps(doc, separators=(",", ":"))


def body_key(headers: Mapping[str, str]) -> BodyKey | None:
    """The body's key sysmeta (None: the body is stored in clear); ValueError when malformed."""
    value = lookup(headers, BODY)
    if not value:
        return None
    try:
        doc = json.loads(value)
        key = BodyKey(str(doc["kid"]), cipher.unb64(doc["iv"]), cipher.unb64(doc["key"]), str(doc.get("kms", "")))
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"bad {BODY}") from exc
    if len(key.iv) != cipher.BLOCK:
        raise ValueError(f"bad {BODY}")
    return key


def sse_of(headers: Mapping[str, str]) -> str | None:
    """``AES256``/``aws:kms``/``SSE-C`` for an encrypted object (or a multipart manifest of one), else None."""
    value = lookup(headers, SSE)
    return value if value in KINDS else None


def meta_key(kek: bytes, account: str, container: str, obj: str) -> bytes:
    """The subkey sealing one object's user metadata, bound to its path (a POST needs no stored state). A
    version archived in its container's versions container keeps the path of its name, so its metadata
    opens there and again when it is made current (``stackstore.versioning_names``)."""
    container, obj = names.logical_path(container, obj)
    return cipher.derive(kek, b"user metadata\x00" + f"/{account}/{container}/{obj}".encode())


def is_user_meta(name: str) -> bool:
    return name.lower().startswith(USER_META_PREFIX)
