"""The attach flow undoes every step when a later one fails (fake Cinder, failing iSCSI probe)."""

from __future__ import annotations

import asyncio

import pytest

from compute_shim.db import now, open_db
from compute_shim.errors import ApiError
from compute_shim.models import Server, VolumeAttachment
from compute_shim.volume.attach import Attacher
from compute_shim.volume.cinder import CinderError
from compute_shim.volume.iscsi import Probe, ProbeError


class FakeCinder:
    def __init__(self, fail_at: str | None = None):
        self.fail_at, self.calls, self.attachments = fail_at, [], set()

    def _step(self, name: str) -> None:
        self.calls.append(name)
        if name == self.fail_at:
            raise CinderError(500, f"{name} broke")

    async def get_volume(self, vid):
        self._step("get")
        return {"id": vid, "status": "available"}

    async def create_attachment(self, vid, sid):
        self._step("create")
        self.attachments.add("a1")
        return {"id": "a1"}

    async def update_attachment(self, aid, connector):
        self._step("update")
        return {"id": aid, "connection_info": {"driver_volume_type": "iscsi"}}

    async def complete_attachment(self, aid):
        self._step("complete")

    async def delete_attachment(self, aid):
        self.calls.append("delete")
        self.attachments.discard(aid)


async def _ok_probe(info, initiator, timeout):
    return Probe(1 << 30, 512, b"\0" * 512)


async def _bad_probe(info, initiator, timeout):
    raise ProbeError("CHAP login failed")


def _setup(tmp_path, cinder, prober):
    sessions = open_db(f"sqlite:///{tmp_path / 'c.sqlite'}")
    srv = Server(id="s1", name="vm", project_id="p", user_id="u", flavor_id="1", flavor={}, image_id="i",
                 metadata_={}, availability_zone="nova", host="h", vm_state="active", power_state=1,
                 deleted=False, created_at=now(), updated_at=now())
    with sessions() as db:
        db.add(srv)
        db.commit()
    attacher = Attacher(sessions, lambda project, token: cinder, {"initiator": "iqn.x"}, prober)
    return sessions, srv, attacher


@pytest.mark.parametrize("fail_at, prober", [("update", _ok_probe), ("complete", _ok_probe), (None, _bad_probe)])
def test_rollback(tmp_path, fail_at, prober):
    cinder = FakeCinder(fail_at)
    sessions, srv, attacher = _setup(tmp_path, cinder, prober)
    with pytest.raises(ApiError):
        asyncio.run(attacher.attach("p", "t", srv, "v1"))
    assert cinder.calls[-1] == "delete" and not cinder.attachments
    with sessions() as db:
        assert db.query(VolumeAttachment).count() == 0


def test_success_then_detach(tmp_path):
    cinder = FakeCinder()
    sessions, srv, attacher = _setup(tmp_path, cinder, _ok_probe)
    bdm = asyncio.run(attacher.attach("p", "t", srv, "v1"))
    assert (bdm.status, bdm.device, bdm.attachment_id, bdm.capacity) == ("attached", "/dev/vdb", "a1", 1 << 30)
    asyncio.run(attacher.detach("p", "t", srv, bdm))
    assert cinder.calls == ["get", "create", "update", "complete", "delete"]
    with sessions() as db:
        assert db.query(VolumeAttachment).count() == 0
