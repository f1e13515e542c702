"""Secrets: one per purpose, configured or generated into owner-only files."""

from __future__ import annotations

import stat

from stackstore.config import load_config
from stackstore.secrets import ensure_secret


def _conf(tmp_path):
    conf = load_config(environ={})
    conf["cluster"]["data_dir"] = str(tmp_path)
    return conf


def test_generated_once_owner_only_and_distinct_per_purpose(tmp_path):
    conf = _conf(tmp_path)
    node_key = ensure_secret(conf, "node_key")
    token_key = ensure_secret(conf, "tempauth_token_key")
    assert node_key and token_key and node_key != token_key
    path = tmp_path / "secrets" / "node_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert ensure_secret(_conf(tmp_path), "node_key") == node_key  # another process reads the same


def test_configured_value_wins(tmp_path):
    conf = _conf(tmp_path)
    conf["cluster"]["node_key"] = "operator-chosen"
    assert ensure_secret(conf, "node_key") == "operator-chosen"
    assert not (tmp_path / "secrets" / "node_key").exists()


def test_a_prepared_cloud_keeps_every_secret_owner_only(tmp_path):
    from stackstore.launcher import Cloud

    conf = _conf(tmp_path)
    conf["cluster"].update(nodes=1, zones=1, replicas=1, part_power=4)
    cloud = Cloud(conf)
    cloud.prepare()
    private = [cloud.config_path, tmp_path / "hash_path_suffix", *sorted((tmp_path / "secrets").iterdir())]
    assert len(private) == 6  # effective config, hash path suffix, node/token/service secrets, encryption keys
    for path in private:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    text = cloud.config_path.read_text()
    for name in ("node_key", "token_secret", "service_password"):
        assert f"{name} = \"\"" not in text  # resolved for the children
    # the key-encryption keys stay in their own file, never in the config handed to every process
    key_line = (tmp_path / "secrets" / "encryption_keys").read_text().splitlines()[-1]
    assert key_line.split()[1] not in text
