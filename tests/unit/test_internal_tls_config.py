"""``[cluster] internal_tls`` settings: off by default, a CA required when on, a certificate on nodes."""

from __future__ import annotations

import pytest

from stackstore import internal_tls
from stackstore.config import load_config


def test_off_by_default_plain_http():
    conf = load_config(environ={})
    assert internal_tls.from_conf(conf) is None
    assert internal_tls.client_context(conf) is None
    assert internal_tls.node_scheme(conf) == "http"


def test_on_needs_a_ca_and_nodes_need_cert_and_key():
    conf = load_config(environ={})
    conf["cluster"]["internal_tls"] = True
    with pytest.raises(internal_tls.InternalTLSError):
        internal_tls.from_conf(conf)
    conf["cluster"]["internal_tls_ca_file"] = "/etc/stackstore/tls/ca.crt"
    tls = internal_tls.from_conf(conf)
    assert tls is not None and internal_tls.node_scheme(conf) == "https"
    with pytest.raises(internal_tls.InternalTLSError):  # a proxy needs only the CA; a node serving needs more
        tls.server_options()
    conf["cluster"].update(internal_tls_cert_file="/n.crt", internal_tls_key_file="/n.key")
    assert internal_tls.from_conf(conf).server_options() == {"ssl_certfile": "/n.crt", "ssl_keyfile": "/n.key"}


def test_environment_switches_it_on():
    conf = load_config(environ={"STACKSTORE_CLUSTER_INTERNAL_TLS": "true",
                                "STACKSTORE_CLUSTER_INTERNAL_TLS_CA_FILE": "/ca.crt"})
    tls = internal_tls.from_conf(conf)
    assert tls is not None and tls.ca_file == "/ca.crt"
