"""The token signing key set: Ed25519 keys in ``<data_dir>/identity-keys/``, newest signs, all verify.

Rotation adds a key when the newest is older than the rotation period and drops the oldest beyond
``max_keys``; tokens live far shorter than a key, so every unexpired token stays verifiable.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm

ALGORITHM = "EdDSA"


@dataclass
class SigningKey:
    kid: str
    private: Ed25519PrivateKey
    created: float

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    def jwk(self) -> dict:
        data = json.loads(OKPAlgorithm.to_jwk(self.public))
        return {**data, "kid": self.kid, "alg": ALGORITHM, "use": "sig"}


class KeySet:
    """Keys loaded from (and rotated in) one directory."""

    def __init__(self, directory: Path, rotation: float = 7 * 86400, max_keys: int = 3):
        self.dir = directory
        self.rotation = rotation
        self.max_keys = max_keys
        self.keys: list[SigningKey] = []

    def load(self) -> KeySet:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        keys = []
        for path in sorted(self.dir.glob("*.pem")):
            private = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if isinstance(private, Ed25519PrivateKey):
                keys.append(SigningKey(path.stem, private, path.stat().st_mtime))
        self.keys = sorted(keys, key=lambda k: k.created)
        return self

    def rotate_if_due(self, now: float | None = None) -> bool:
        """Add a key when there is none or the newest is too old; prune the oldest. True if rotated."""
        now = time.time() if now is None else now
        if self.keys and now - self.keys[-1].created < self.rotation:
            return False
        self.add_key(now)
        return True

    def add_key(self, now: float | None = None) -> SigningKey:
        now = time.time() if now is None else now
        kid = f"{int(now)}-{os.urandom(4).hex()}"
        private = Ed25519PrivateKey.generate()
        pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        tmp = self.dir / f".{kid}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        os.replace(tmp, self.dir / f"{kid}.pem")
        key = SigningKey(kid, private, now)
        self.keys.append(key)
        while len(self.keys) > self.max_keys:
            old = self.keys.pop(0)
            (self.dir / f"{old.kid}.pem").unlink(missing_ok=True)
        return key

    @property
    def current(self) -> SigningKey:
        return self.keys[-1]

    def by_kid(self, kid: str) -> SigningKey | None:
        return next((k for k in self.keys if k.kid == kid), None)

    def jwks(self) -> dict:
        return {"keys": [k.jwk() for k in self.keys]}
