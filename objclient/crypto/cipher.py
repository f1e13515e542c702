"""AES-256 primitives of encryption at rest (the ``cryptography`` package's OpenSSL bindings).

Bodies: AES-256 in CTR mode with a random per-object data key and IV. CTR keeps byte ``i`` of the
plaintext at byte ``i`` of the ciphertext, so sizes and ranges are the same on both sides and a range
read starts the counter at ``iv + offset // 16`` (``keystream_at``): nothing before it is decrypted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import AsyncIterable, AsyncIterator

from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

BLOCK = 16
KEY_BYTES = 32
_SSE_C_CHECK = b"stackstore sse-c key check\x00"
_SSE_C_WRAP = b"stackstore sse-c key wrap\x00"

__all__ = ["BLOCK", "KEY_BYTES", "InvalidUnwrap", "new_key", "new_iv", "keystream_at", "transform",
           "wrap_key", "unwrap_key", "seal_value", "open_value", "key_check", "key_matches",
           "customer_wrapping_key", "derive", "b64", "unb64"]


def new_key() -> bytes:
    """A random 256-bit key."""
    return os.urandom(KEY_BYTES)


def new_iv() -> bytes:
    """A random 128-bit initial counter block."""
    return os.urandom(BLOCK)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    """Strict base64; ValueError when malformed."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError("bad base64") from exc


def keystream_at(key: bytes, iv: bytes, offset: int) -> CipherContext:
    """A CTR context positioned at byte ``offset`` of the stream (encrypting and decrypting are alike)."""
    counter = (int.from_bytes(iv, "big") + offset // BLOCK) % (1 << 128)
    ctx = Cipher(algorithms.AES(key), modes.CTR(counter.to_bytes(BLOCK, "big"))).encryptor()
    skip = offset % BLOCK
    if skip:
        ctx.update(bytes(skip))
    return ctx


async def transform(body: AsyncIterable[bytes], key: bytes, iv: bytes, offset: int = 0) -> AsyncIterator[bytes]:
    """``body`` en/decrypted chunk by chunk, its first byte being byte ``offset`` of the stream.

    The source is closed however iteration ends (``aclose`` when it has one)."""
    ctx = keystream_at(key, iv, offset)
    try:
        async for chunk in body:
            if chunk:
                yield ctx.update(chunk)
    finally:
        aclose = getattr(body, "aclose", None)
        if aclose is not None:
            await aclose()


def wrap_key(kek: bytes, data_key: bytes) -> bytes:
    """RFC 3394 AES key wrap of ``data_key`` under ``kek`` (integrity-protected)."""
    return aes_key_wrap(kek, data_key)


def unwrap_key(kek: bytes, wrapped: bytes) -> bytes:
    """The data key; ``InvalidUnwrap`` when ``kek`` is not the key that wrapped it."""
    return aes_key_unwrap(kek, wrapped)


def derive(key: bytes, label: bytes) -> bytes:
    """A 256-bit subkey of ``key`` for one purpose (HMAC-SHA256 as a PRF)."""
    return hmac.new(key, label, hashlib.sha256).digest()


def seal_value(key: bytes, value: bytes) -> str:
    """A small value (an ETag, a metadata value) encrypted under ``key``: base64 of IV + ciphertext."""
    iv = new_iv()
    return b64(iv + keystream_at(key, iv, 0).update(value))


def open_value(key: bytes, sealed: str) -> bytes:
    """The value ``seal_value`` sealed; ValueError when malformed."""
    raw = unb64(sealed)
    if len(raw) < BLOCK:
        raise ValueError("sealed value too short")
    return keystream_at(key, raw[:BLOCK], 0).update(raw[BLOCK:])


def key_check(customer_key: bytes) -> str:
    """``<salt>.<HMAC-SHA256(key, salt)>`` (base64): verifies an SSE-C key without storing it."""
    salt = os.urandom(16)
    return f"{b64(salt)}.{b64(hmac.new(customer_key, _SSE_C_CHECK + salt, hashlib.sha256).digest())}"


def key_matches(customer_key: bytes, check: str) -> bool:
    """Whether ``customer_key`` is the key ``check`` was made for (constant-time compare)."""
    salt_text, _, mac_text = check.partition(".")
    try:
        salt, mac = unb64(salt_text), unb64(mac_text)
    except ValueError:
        return False
    return hmac.compare_digest(hmac.new(customer_key, _SSE_C_CHECK + salt, hashlib.sha256).digest(), mac)


def customer_wrapping_key(customer_key: bytes) -> bytes:
    """The key that wraps an SSE-C object's data key (a subkey of the customer's key)."""
    return derive(customer_key, _SSE_C_WRAP)
