"""The well-known development users keep a cloud on loopback."""

from __future__ import annotations

import subprocess
import sys

from stackstore.config import load_config
from stackstore.safe_defaults import development_users, is_loopback, refusal
from stackstore.tomlwrite import dumps


def test_loopback_addresses():
    for host in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"):
        assert is_loopback(host)
    for host in ("0.0.0.0", "::", "10.0.0.5", "192.168.1.1", "example.com", ""):
        assert not is_loopback(host)


def test_default_users_refuse_a_public_address_and_own_keys_do_not():
    conf = load_config(environ={})
    assert "test:tester" in development_users(conf)
    assert refusal(conf, "127.0.0.1", "proxy") is None
    message = refusal(conf, "0.0.0.0", "proxy")
    assert message and "test:tester" in message and "[tempauth]" in message
    conf["tempauth"]["users"] = {"ops:alice": {"key": "s3cr3t-of-my-own", "groups": [".admin"]},
                                 "test:tester": {"key": "not-testing-any-more", "groups": [".admin"]}}
    assert development_users(conf) == []
    assert refusal(conf, "0.0.0.0", "proxy") is None


def test_stackstore_up_and_the_proxy_refuse_to_start(tmp_path):
    conf = load_config(environ={})
    conf["cluster"]["data_dir"] = str(tmp_path / "data")
    conf["proxy"]["host"] = "0.0.0.0"
    config = tmp_path / "public.toml"
    config.write_text(dumps(conf))
    up = subprocess.run([sys.executable, "-m", "stackstore.cli", "up", "--config", str(config)],
                        capture_output=True, text=True, timeout=60)
    assert up.returncode == 2 and "refusing to listen on 0.0.0.0" in up.stderr
    assert not (tmp_path / "data" / "rings").exists()  # refused before anything was prepared
    proxy = subprocess.run([sys.executable, "-m", "proxy", "--config", str(config)],
                           capture_output=True, text=True, timeout=60)
    assert proxy.returncode != 0 and "test:tester" in proxy.stderr
    identity = subprocess.run([sys.executable, "-m", "identity", "--config", str(config), "--host", "0.0.0.0"],
                              capture_output=True, text=True, timeout=60)
    assert identity.returncode != 0 and "refusing to listen" in identity.stderr
