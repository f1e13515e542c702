"""Pure units: the migration matches the models, key rotation, token encode/decode and revocation matching."""

from __future__ import annotations

import time

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from identity.db import make_engine, migrate
from identity.keys import KeySet
from identity.models import Base
from identity.passwords import check_password, hash_password
from identity.tokens import TokenInfo, decode, encode, revoked


def test_single_migration_matches_models(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'm.sqlite'}")
    migrate(engine)
    migrate(engine)  # idempotent
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_key_rotation_keeps_old_tokens_verifiable(tmp_path):
    keys = KeySet(tmp_path / "k", rotation=100, max_keys=2).load()
    assert keys.rotate_if_due(now=1000.0) and not keys.rotate_if_due(now=1050.0)
    now = time.time()
    info = TokenInfo(user={"id": "u", "name": "n", "domain": {"id": "default", "name": "Default"}},
                     methods=["password"], issued_at=now, expires_at=now + 60, audit_id="a1")
    token = encode(info, keys)
    assert keys.rotate_if_due(now=1200.0)
    reloaded = KeySet(tmp_path / "k").load()
    assert len(reloaded.keys) == 2 and [k["kid"] for k in reloaded.jwks()["keys"]] == [k.kid for k in keys.keys]
    assert decode(token, {k.kid: k.public for k in reloaded.keys}).audit_id == "a1"
    keys.rotate_if_due(now=1400.0)  # third rotation drops the key that signed the token
    assert decode(token, {k.kid: k.public for k in keys.keys}) is None


def test_revocation_matching():
    info = TokenInfo(user={"id": "u1"}, methods=["password"], issued_at=100.0, expires_at=200.0, audit_id="A",
                     project={"id": "p1"}, audit_chain=["P"])
    assert revoked(info, [{"audit_id": "A", "issued_before": 0}])
    assert revoked(info, [{"audit_id": "P", "issued_before": 0}])
    assert revoked(info, [{"user_id": "u1", "issued_before": 150.0}])
    assert not revoked(info, [{"user_id": "u1", "issued_before": 50.0}])  # token issued after the event
    assert revoked(info, [{"user_id": "u1", "project_id": "p1", "issued_before": 150.0}])
    assert not revoked(info, [{"user_id": "u1", "project_id": "p2", "issued_before": 150.0}])
    assert not revoked(info, [{"app_cred_id": "x", "issued_before": 150.0}])


def test_password_hashing():
    stored = hash_password("s3cret")
    assert stored.startswith("scrypt$") and "s3cret" not in stored
    assert check_password("s3cret", stored) and not check_password("other", stored)
    assert not check_password("s3cret", None) and not check_password("s3cret", "garbage")
