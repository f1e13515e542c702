"""A volume's CHAP secret reaches tgtd without ever appearing on a command line."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.cluster import free_port_block
from tests.conftest import missing_prerequisite, require_tool
from tests.volumes.conftest import qemu_io
from volumes.targets import tgt as tgt_module
from volumes.targets.tgt import TgtAdm, new_chap
from volumes.targets.tgtd import TgtDaemon


@pytest.fixture
def tgtd(tmp_path):
    require_tool("tgtd")
    if os.geteuid() != 0:
        missing_prerequisite("tgtd needs root")
    base = free_port_block(2)
    daemon = TgtDaemon("127.0.0.1", base + 1, 20000 + base % 10000, tmp_path / "tgtd.log")
    daemon.start()
    yield daemon
    daemon.stop()


def test_chap_secret_never_on_a_command_line(tgtd, tmp_path, monkeypatch):
    argvs: list[list[str]] = []
    real_run = subprocess.run

    def recording_run(argv, *args, **kwargs):  # observes every tgtadm invocation, then runs it for real
        argvs.append(list(argv))
        return real_run(argv, *args, **kwargs)

    monkeypatch.setattr(tgt_module.subprocess, "run", recording_run)
    backing = tmp_path / "vol.img"
    with open(backing, "wb") as f:
        f.truncate(4 << 20)
    adm = TgtAdm("127.0.0.1", tgtd.port, tgtd.control_port, tmp_path / "targets")
    user, secret = new_chap()
    export = adm.create_export("vol-1", str(backing), user, secret)
    adm.create_export("vol-1", str(backing), user, secret)  # idempotent: the account exists already
    assert argvs and all(secret not in " ".join(argv) for argv in argvs)
    listed = real_run(["tgtadm", "-C", str(tgtd.control_port), "--lld", "iscsi", "--op", "show",
                       "--mode", "account"], capture_output=True, text=True).stdout
    assert user in listed
    url = f"iscsi://{user}%{secret}@{export.portal}/{export.iqn}/1"
    qemu_io(url, "write -P 0x5a 0 64k")
    qemu_io(url, "read -P 0x5a 0 64k")
    wrong = f"iscsi://{user}%{'x' * 16}@{export.portal}/{export.iqn}/1"
    assert qemu_io(wrong, "read 0 512", check=False).returncode != 0
    adm.remove_export("vol-1", user)
