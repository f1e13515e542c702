"""What an encrypted object stores besides its ciphertext: sysmeta, read and written here only.

- ``X-Object-Sysmeta-Crypto-Body``: ``{"v":1,"kid":<key id>,"iv":<b64>,"key":<b64>}`` — the body's IV and
  its data key wrapped (AES key wrap) by the cluster key ``kid``, or (``kid`` empty) by a subkey of the
  customer's SSE-C key.
- ``X-Object-Sysmeta-Crypto-Sse``: ``AES256`` (cluster keys) or ``SSE-C``, as S3 reports it.
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
OVERRIDE_ETAG = "X-Object-Sysmeta-Container-Update-Override-Etag"
SSE_S3, SSE_C = "AES256", "SSE-C"
USER_META_PREFIX = "x-object-meta-"
# every header of the envelope: what a copy must not carry from its source
ALL = (BODY, SSE, KEY_CHECK, ETAG, META)
# what only EncryptingClient.put_object writes (SSE and KEY_CHECK may also mark a plaintext S3 multipart
# manifest of an encrypted upload: its parts are the encrypted objects)
COMPUTED = (BODY, ETAG, META)
# any of them on a stored object: a read goes through the encryption layer
READ_MARKERS = (BODY, KEY_CHECK, META)


@dataclass(frozen=True)
class Encryption:
    """How one PUT is encrypted: the cluster's active key (SSE-S3), a customer's key (SSE-C) or not at all."""

    customer_key: bytes | None = None
    enabled: bool = True

    @property
    def sse(self) -> str | None:
        """``AES256``/``SSE-C``; None when not encrypted."""
        if not self.enabled:
            return None
        return SSE_C if self.customer_key is not None else SSE_S3


CLUSTER_KEY = Encryption()
PLAINTEXT = Encryption(enabled=False)


def customer(key: bytes) -> Encryption:
    """SSE-C with the customer's 256-bit key."""
    return Encryption(customer_key=key)


@dataclass(frozen=True)
class BodyKey:
    """The parsed ``Crypto-Body`` sysmeta."""

    kid: str  # "" for an SSE-C object
    iv: bytes
    wrapped: bytes

    def dump(self) -> str:
        return json.dumps({"v": 1, "kid": self.kid, "iv": cipher.b64(self.iv), "key": cipher.b64(self.wrapped)},
                          separators=(",", ":"))


def body_key(headers: Mapping[str, str]) -> BodyKey | None:
    """The body's key sysmeta (None: the body is stored in clear); ValueError when malformed."""
    value = lookup(headers, BODY)
    if not value:
        return None
    try:
        doc = json.loads(value)
        key = BodyKey(str(doc["kid"]), cipher.unb64(doc["iv"]), cipher.unb64(doc["key"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"bad {BODY}") from exc
    if len(key.iv) != cipher.BLOCK:
        raise ValueError(f"bad {BODY}")
    return key


def sse_of(headers: Mapping[str, str]) -> str | None:
    """``AES256``/``SSE-C`` for an encrypted object (or a multipart upload/manifest of one), else None."""
    value = lookup(headers, SSE)
    return value if value in (SSE_S3, SSE_C) else None


def meta_key(kek: bytes, account: str, container: str, obj: str) -> bytes:
    """The subkey sealing one object's user metadata, bound to its path (a POST needs no stored state). A
    version archived in its container's versions container keeps the path of its name, so its metadata
    opens there and again when it is made current (``stackstore.versioning_names``)."""
    container, obj = names.logical_path(container, obj)
    return cipher.derive(kek, b"user metadata\x00" + f"/{account}/{container}/{obj}".encode())


def is_user_meta(name: str) -> bool:
    return name.lower().startswith(USER_META_PREFIX)
