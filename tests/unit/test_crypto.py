"""objclient/crypto primitives and the cluster key file: random access, key wrap, SSE-C key check, rotation."""

from __future__ import annotations

import asyncio
import base64 as b64
import json as js
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from objclient.crypto import cipher, envelope, kms
from objclient.crypto.keyring import KeyRing, KeyUnavailable
from stackstore.config import Config, load_config
from stackstore.secrets import add_encryption_key, ensure_encryption_keys, read_encryption_keys

KEY, IV = os.urandom(32), os.urandom(16)
PLAIN = os.urandom(5000)


async def _collect(chunks: list[bytes], offset: int = 0) -> bytes:
    async def source():
        for chunk in chunks:
            yield chunk

    return b"".join([c async for c in cipher.transform(source(), KEY, IV, offset)])


def _encrypt(data: bytes) -> bytes:
    return cipher.keystream_at(KEY, IV, 0).update(data)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, len(PLAIN) - 1), st.integers(0, len(PLAIN)), st.integers(1, 700))
def test_any_range_decrypts_alone(first: int, length: int, chunk: int):
    """CTR: bytes [first, first+length) of the ciphertext decrypt without anything before them."""
    ciphertext = _encrypt(PLAIN)
    piece = ciphertext[first:first + length]
    chunks = [piece[i:i + chunk] for i in range(0, len(piece), chunk)]
    assert asyncio.run(_collect(chunks, first)) == PLAIN[first:first + length]


def test_counter_wraps_at_128_bits():
    iv = b"\xff" * 16
    data = os.urandom(100)
    ciphertext = cipher.keystream_at(KEY, iv, 0).update(data)
    assert cipher.keystream_at(KEY, iv, 33).update(ciphertext[33:]) == data[33:]


def test_key_wrap_and_wrong_kek():
    data_key = cipher.new_key()
    wrapped = cipher.wrap_key(KEY, data_key)
    assert cipher.unwrap_key(KEY, wrapped) == data_key
    with pytest.raises(cipher.InvalidUnwrap):
        cipher.unwrap_key(os.urandom(32), wrapped)


def test_sse_c_key_check_is_salted_and_never_the_key():
    customer = os.urandom(32)
    one, two = cipher.key_check(customer), cipher.key_check(customer)
    assert one != two  # salted
    assert cipher.key_matches(customer, one) and cipher.key_matches(customer, two)
    assert not cipher.key_matches(os.urandom(32), one)
    assert cipher.b64(customer) not in one
    assert not cipher.key_matches(customer, "not.base64!")


def test_sealed_values_round_trip():
    sealed = cipher.seal_value(KEY, b"etag-or-metadata")
    assert b"etag" not in cipher.unb64(sealed)
    assert cipher.open_value(KEY, sealed) == b"etag-or-metadata"
    with pytest.raises(ValueError):
        cipher.open_value(KEY, "!!")


def test_envelope_body_key_parse():
    key = envelope.BodyKey("k1", IV, b"w" * 40)
    assert envelope.body_key({envelope.BODY: key.dump()}) == key
    assert envelope.body_key({}) is None
    with pytest.raises(ValueError):
        envelope.body_key({envelope.BODY: '{"kid": "k1"}'})


def _conf(tmp_path: Path) -> Config:
    conf = load_config(environ={})
    conf["cluster"]["data_dir"] = str(tmp_path)
    return conf


def test_key_file_created_private_and_rotated(tmp_path: Path):
    conf = _conf(tmp_path)
    path = ensure_encryption_keys(conf)
    assert path == tmp_path / "secrets" / "encryption_keys"
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    first = read_encryption_keys(path)
    assert len(first) == 1
    ensure_encryption_keys(conf)  # idempotent
    assert read_encryption_keys(path) == first
    new_id = add_encryption_key(conf)
    keys = read_encryption_keys(path)
    assert [k for k, _ in keys] == [first[0][0], new_id] and keys[0] == first[0]
    assert path.stat().st_mode & 0o777 == 0o600


def test_key_file_rejects_bad_lines(tmp_path: Path):
    path = tmp_path / "keys"
    path.write_text("k1 abcd\n")
    with pytest.raises(ValueError):
        read_encryption_keys(path)


def test_keyring_reads_active_and_old_keys(tmp_path: Path):
    conf = _conf(tmp_path)
    path = ensure_encryption_keys(conf)

    async def scenario() -> None:
        ring = KeyRing(path)
        old_id, old_key = await ring.active()
        new_id = add_encryption_key(conf)
        assert await ring.get(new_id)  # unknown id: the file is read again at once
        assert await ring.get(old_id) == old_key
        with pytest.raises(KeyUnavailable):
            await ring.get("nope")
        missing = KeyRing(tmp_path / "absent")
        with pytest.raises(KeyUnavailable):
            await missing.active()

    asyncio.run(scenario())


def test_builtin_kms_keys_and_derivation():
    keys = kms.KmsKeys(["testkey-1", "arn:aws:kms:us-east-1:1:key/testkey-2"])
    assert keys.resolve("testkey-1") == "testkey-1"
    assert keys.resolve("arn:aws:kms:eu-west-1:123456789012:key/testkey-2") == "testkey-2"
    assert keys.resolve(None) == "aws/s3" and keys.resolve("alias/aws/s3") == "aws/s3"
    with pytest.raises(kms.UnknownKmsKey):
        keys.resolve("testkey-3")
    with pytest.raises(kms.UnknownKmsKey):
        kms.KmsKeys(["a"], default_key="").resolve(None)  # no default key configured
    assert kms.KmsKeys.from_config({"kms_keys": ["x"], "kms_default_key": ""}).key_ids == {"x"}
    good = b64.b64encode(js.dumps({"a": "b"}).encode()).decode()
    assert kms.check_context(good) == good
    for bad in ("%%%", b64.b64encode(b"[]").decode(), b64.b64encode(b'{"a": 1}').decode()):
        with pytest.raises(kms.InvalidContext):
            kms.check_context(bad)
    root = bytes(range(32))
    one = kms.key_encryption_key(root, "testkey-1", None)
    assert len(one) == 32 and one == kms.key_encryption_key(root, "testkey-1", "")
    assert one != kms.key_encryption_key(root, "testkey-2", None)
    assert one != kms.key_encryption_key(root, "testkey-1", good)
    assert one != kms.key_encryption_key(bytes(32), "testkey-1", None)
