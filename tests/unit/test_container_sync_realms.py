"""Container sync realms (stackstore/container_sync_realms.py): lookups, X-Container-Sync-To validation, the
request signature, generated realm keys as secrets, and the ``stackstore status`` cell."""

from __future__ import annotations

import hashlib
import hmac
import stat

from stackstore.config import load_config
from stackstore.container_sync_realms import (
    SyncRealms,
    SyncTarget,
    ensure_realm_keys,
    signature,
    signature_valid,
    validate_sync_to,
)
from store.cluster_status import _container_sync

CONF = {"cluster": {"data_dir": "/nonexistent"},
        "container_sync": {"realms": {"us": {"key": "k1", "key2": "k2",
                                             "clusters": {"east": "http://east:8080/v1/", "west": "http://w/v1"}}}}}


def test_lookups_are_case_insensitive_and_info_shows_names_only():
    realms = SyncRealms.from_conf(CONF)
    assert realms.names() == ["US"] and realms.clusters("us") == ["EAST", "WEST"]
    assert realms.key("Us") == "k1" and realms.key2("US") == "k2" and realms.key("eu") is None
    assert realms.endpoint("us", "East") == "http://east:8080/v1/"
    assert realms.info("//us/west") == {"US": {"clusters": {"EAST": {}, "WEST": {"current": True}}}}
    assert "k1" not in repr(realms._realms)


def test_validate_sync_to_as_swift():
    realms = SyncRealms.from_conf(CONF)
    assert validate_sync_to("", realms) is None
    assert validate_sync_to("//US/EAST/AUTH_a/c/", realms) == SyncTarget("http://east:8080/v1/AUTH_a/c", "US", "k1")
    assert validate_sync_to("//US/EAST/AUTH_a", realms) == "Invalid X-Container-Sync-To format '//US/EAST/AUTH_a'"
    assert validate_sync_to("//EU/EAST/a/c", realms) == "No realm key for 'EU'"
    assert validate_sync_to("//US/NORTH/a/c", realms) == "No cluster endpoint for 'US' 'NORTH'"
    assert validate_sync_to("http://127.0.0.1:8080/v1/a/c", realms) == SyncTarget("http://127.0.0.1:8080/v1/a/c")
    assert "Full URLs are not allowed" in validate_sync_to("http://127.0.0.1/v1/a/c", realms, allow_full_urls=False)
    assert validate_sync_to("http://10.0.0.1/v1/a/c", realms) == "Invalid host '10.0.0.1' in X-Container-Sync-To"
    assert validate_sync_to("http://127.0.0.1", realms) == "Path required in X-Container-Sync-To"
    assert "Params, queries" in validate_sync_to("http://127.0.0.1/v1/a/c?x", realms)
    assert "Invalid scheme 'ftp'" in validate_sync_to("ftp://127.0.0.1/v1/a/c", realms)


def test_signature_is_swifts_get_sig_and_either_realm_key_verifies():
    expected = hmac.new(b"k1", b"PUT\n/v1/a/c/o%20x\n1700000000.00000\nnonce\nuserkey", hashlib.sha1).hexdigest()
    assert signature("PUT", "/v1/a/c/o%20x", "1700000000.00000", "nonce", "k1", "userkey") == expected
    realms = SyncRealms.from_conf(CONF)
    for key in ("k1", "k2"):
        sig = signature("DELETE", "/v1/a/c/o", "1.00000", "n", key, "uk")
        assert signature_valid(sig, "DELETE", "/v1/a/c/o", "1.00000", "n", "us", realms, "uk")
    sig = signature("DELETE", "/v1/a/c/o", "1.00000", "n", "k1", "uk")
    assert not signature_valid(sig, "PUT", "/v1/a/c/o", "1.00000", "n", "us", realms, "uk")
    assert not signature_valid(sig, "DELETE", "/v1/a/c/o", "1.00000", "n", "us", realms, "other")
    assert not signature_valid(sig, "DELETE", "/v1/a/c/o", "1.00000", "n", "eu", realms, "uk")


def test_an_empty_realm_key_is_generated_once_into_a_private_file(tmp_path):
    conf = load_config(environ={})
    conf["cluster"]["data_dir"] = str(tmp_path)
    conf["container_sync"]["realms"] = {"Local": {"clusters": {"me": "http://127.0.0.1:8080/v1/"}}}
    ensure_realm_keys(conf)
    key = conf["container_sync"]["realms"]["Local"]["key"]
    path = tmp_path / "secrets" / "container_sync_realm_local"
    assert len(key) == 64 and path.read_text().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_config(environ={})
    again["cluster"]["data_dir"] = str(tmp_path)
    again["container_sync"]["realms"] = {"Local": {"clusters": {"me": "http://127.0.0.1:8080/v1/"}}}
    assert SyncRealms.from_conf(again).key("LOCAL") == key  # read back by a process that did not generate it


def test_status_cell():
    assert _container_sync(None, 100.0) == "never"
    assert _container_sync({"last_pass": 90.0, "puts": 5, "deletes": 2, "failures": 0}, 100.0) == "5 put/2 del 10s ago"
    assert _container_sync({"last_pass": 90.0, "puts": 5, "posts": 3, "deletes": 2}, 100.0) \
        == "5 put/3 post/2 del 10s ago"
    assert _container_sync({"last_pass": 40.0, "puts": 1, "deletes": 0, "failures": 3}, 100.0) \
        == "1 put/0 del, 3 failed 60s ago"
