"""Temp URLs reach only what their signing key reaches, sub-requests included (Swift's tempurl scopes).

Played against a real cloud (the session's ``cluster``). ``test:tester`` owns AUTH_test and sets the keys:
the account key reaches the whole account, container ``home``'s key only ``home``. The attack: a temp
URL for a DLO, SLO or symlink in ``home`` whose segments or target live in ``away`` must not serve those
bytes; a URL signed with the account key may. A ``temp_url_prefix`` URL signs only objects under its
prefix, but (as Swift 2.38, whose ``TestTempurlPrefix::test_GET_DLO_*`` require it) what those objects
read on its behalf follows the signing key's scope, not the prefix.
"""

from __future__ import annotations

import json
import time
import uuid
from urllib.parse import quote

import httpx
import pytest

from proxy.swift.features.tempurl import signature

AWAY_BYTES = b"AWAY-SECRET-" + b"a" * 40
HOME_BYTES = b"home-part;"
PRIVATE_BYTES = b"outside-the-prefix;"


@pytest.fixture(scope="module")
def world(cluster):
    """``home`` (container key) holding the links and manifests, ``away`` holding what they point at."""
    url, token = cluster.auth("test:tester", "testing")
    owner = httpx.Client(base_url=url + "/", headers={"X-Auth-Token": token}, timeout=60)
    anon = httpx.Client(base_url=url + "/", timeout=60)
    sfx = uuid.uuid4().hex[:8]
    home, away = f"tu-home-{sfx}", f"tu-away-{sfx}"
    keys = {"account": f"acct-{sfx}", "container": f"cont-{sfx}"}
    assert owner.post("", headers={"X-Account-Meta-Temp-URL-Key-2": keys["account"]}).status_code == 204
    assert owner.put(home, headers={"X-Container-Meta-Temp-URL-Key": keys["container"]}).status_code in (201, 202)
    assert owner.put(away).status_code in (201, 202)
    puts = {
        f"{away}/seg-1": AWAY_BYTES[:20], f"{away}/seg-2": AWAY_BYTES[20:], f"{away}/target": AWAY_BYTES,
        f"{home}/seg-1": HOME_BYTES, f"{home}/seg-2": HOME_BYTES,
        f"{home}/priv/seg-1": PRIVATE_BYTES, f"{home}/priv/target": PRIVATE_BYTES,
        f"{home}/pub/target": HOME_BYTES,
    }
    for path, data in puts.items():
        assert owner.put(path, content=data).status_code == 201
    manifests = {
        "dlo-away": f"{away}/seg-", "dlo-home": f"{home}/seg-",
        "pub/dlo-priv": f"{home}/priv/seg-", "pub/dlo-away": f"{away}/seg-",
    }
    for name, value in manifests.items():
        assert owner.put(f"{home}/{name}", headers={"X-Object-Manifest": value}).status_code == 201
    slos = {"slo-away": [f"{away}/seg-1", f"{away}/seg-2"], "slo-home": [f"{home}/seg-1", f"{home}/seg-2"],
            "pub/slo-priv": [f"{home}/priv/seg-1"], "pub/slo-away": [f"{away}/seg-1", f"{away}/seg-2"]}
    for name, segs in slos.items():
        body = json.dumps([{"path": seg} for seg in segs])
        resp = owner.put(f"{home}/{name}", params={"multipart-manifest": "put"}, content=body)
        assert resp.status_code == 201, resp.text
    links = {"link-away": f"{away}/target", "link-home": f"{home}/seg-1",
             "pub/link-priv": f"{home}/priv/target", "pub/link-pub": f"{home}/pub/target",
             "pub/link-away": f"{away}/target"}
    for name, target in links.items():
        assert owner.put(f"{home}/{name}", headers={"X-Symlink-Target": target}).status_code == 201
    yield {"owner": owner, "anon": anon, "home": home, "away": away, "keys": keys}
    owner.post("", headers={"X-Remove-Account-Meta-Temp-URL-Key-2": "x"})
    owner.close()
    anon.close()


def _signed(world, method: str, obj: str, key: str, prefix: str | None = None) -> dict[str, str]:
    """The query of a temp URL for ``home/obj`` (or ``home/<prefix>`` prefix URL) signed with ``key``."""
    expires = int(time.time()) + 600
    if prefix is None:
        path = f"/v1/AUTH_test/{world['home']}/{obj}"
        return {"temp_url_sig": signature(key, method, expires, path), "temp_url_expires": str(expires)}
    path = f"prefix:/v1/AUTH_test/{world['home']}/{prefix}"
    return {"temp_url_sig": signature(key, method, expires, path), "temp_url_expires": str(expires),
            "temp_url_prefix": prefix}


def _fetch(world, method: str, obj: str, key_kind: str, prefix: str | None = None) -> httpx.Response:
    query = _signed(world, method, obj, world["keys"][key_kind], prefix)
    return world["anon"].request(method, f"{world['home']}/{quote(obj)}", params=query)


def _no_outside_bytes(resp: httpx.Response) -> None:
    assert b"AWAY-SECRET" not in resp.content and b"a" * 20 not in resp.content


# (an SLO's HEAD answers from the manifest alone, in scope: Swift reads no segment for it)
@pytest.mark.parametrize("obj, method", [("dlo-away", "GET"), ("slo-away", "GET"), ("link-away", "GET"),
                                         ("dlo-away", "HEAD"), ("link-away", "HEAD")])
def test_container_key_does_not_reach_another_container(world, obj, method):
    resp = _fetch(world, method, obj, "container")
    # an SLO's segment out of the key's scope is Swift's first-segment conflict; the rest are refused outright
    assert resp.status_code == (409 if "slo" in obj else 401), resp.text
    _no_outside_bytes(resp)


@pytest.mark.parametrize("obj", ["dlo-away", "slo-away", "link-away"])
def test_account_key_reaches_the_whole_account(world, obj):
    resp = _fetch(world, "GET", obj, "account")
    assert resp.status_code == 200, resp.text
    assert resp.content == AWAY_BYTES


@pytest.mark.parametrize("obj, expected", [("dlo-home", HOME_BYTES * 2), ("slo-home", HOME_BYTES * 2),
                                           ("link-home", HOME_BYTES)])
def test_container_key_reaches_its_own_container(world, obj, expected):
    resp = _fetch(world, "GET", obj, "container")
    assert resp.status_code == 200, resp.text
    assert resp.content == expected


@pytest.mark.parametrize("obj", ["pub/dlo-away", "pub/slo-away", "pub/link-away"])
def test_prefix_url_with_container_key_does_not_reach_another_container(world, obj):
    resp = _fetch(world, "GET", obj, "container", prefix="pub/")
    assert resp.status_code == (409 if "slo" in obj else 401), resp.text
    _no_outside_bytes(resp)


@pytest.mark.parametrize("obj", ["pub/dlo-away", "pub/slo-away", "pub/link-away"])
def test_prefix_url_with_account_key_reaches_the_account(world, obj):
    resp = _fetch(world, "GET", obj, "account", prefix="pub/")
    assert resp.status_code == 200, resp.text
    assert resp.content == AWAY_BYTES


@pytest.mark.parametrize("key_kind", ["container", "account"])
@pytest.mark.parametrize("obj, expected", [("pub/dlo-priv", PRIVATE_BYTES), ("pub/slo-priv", PRIVATE_BYTES),
                                           ("pub/link-priv", PRIVATE_BYTES), ("pub/link-pub", HOME_BYTES)])
def test_prefix_url_reads_follow_the_key_scope(world, obj, expected, key_kind):
    resp = _fetch(world, "GET", obj, key_kind, prefix="pub/")
    assert resp.status_code == 200, resp.text
    assert resp.content == expected


@pytest.mark.parametrize("key_kind", ["container", "account"])
def test_prefix_url_refuses_objects_outside_its_prefix(world, key_kind):
    query = _signed(world, "GET", "", world["keys"][key_kind], prefix="pub/")
    resp = world["anon"].get(f"{world['home']}/priv/target", params=query)
    assert resp.status_code == 401
    _no_outside_bytes(resp)


def test_whole_container_prefix_url_gets_the_staticweb_root_listing(world):
    owner, anon, home = world["owner"], world["anon"], world["home"]
    query = _signed(world, "GET", "", world["keys"]["container"], prefix="")
    # without staticweb listings the container path answers the temp URL's 401, never a JSON/plain listing
    resp = anon.get(f"{home}/", params=query)
    assert resp.status_code == 401
    assert b"seg-1" not in resp.content
    assert owner.post(home, headers={"X-Container-Meta-Web-Listings": "true"}).status_code == 204
    try:
        assert anon.get(home, params=query).status_code == 301  # staticweb's redirect to ``home/``
        resp = anon.get(f"{home}/", params=query)
        assert resp.status_code == 200, resp.text
        assert "Listing of /v1/" in resp.text
        assert '?temp_url_prefix=&amp;temp_url_expires=' in resp.text  # links carry the temp URL on
        assert resp.headers["content-disposition"] == "inline"
        assert anon.head(f"{home}/", params=query).status_code == 200
        # a prefix URL for a sub-directory may not list the container root, nor may a plain object URL
        sub = _signed(world, "GET", "", world["keys"]["container"], prefix="pub/")
        assert anon.get(f"{home}/", params=sub).status_code == 401
        plain = _signed(world, "GET", "", world["keys"]["container"])
        assert anon.get(f"{home}/", params=plain).status_code == 401
        # the whole-container URL may not write to the container path
        put = _signed(world, "PUT", "", world["keys"]["container"], prefix="")
        assert anon.put(f"{home}/", params=put).status_code == 401
    finally:
        owner.post(home, headers={"X-Remove-Container-Meta-Web-Listings": "x"})
