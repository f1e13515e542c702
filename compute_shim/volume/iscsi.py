"""Prove an iSCSI attachment: log in with the CHAP credentials of ``connection_info`` and read the volume.

Uses libiscsi's ``iscsi-readcapacity16`` (capacity; password in ``LIBISCSI_CHAP_PASSWORD``) and
``qemu-io`` (first block; password in a private secret file), so no secret reaches a command line.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote


class ProbeError(Exception):
    """The volume could not be reached or read over iSCSI."""


@dataclass
class Probe:
    capacity: int  # bytes
    block_size: int
    first_block: bytes


@dataclass
class Target:
    portal: str
    iqn: str
    lun: int
    user: str | None
    password: str | None

    @classmethod
    def from_connection(cls, info: dict[str, Any]) -> Target:
        """Accepts the flat (attachments API) and the nested (``data``) connection_info forms."""
        data = info.get("data", info) if isinstance(info.get("data"), dict) else info
        if info.get("driver_volume_type") != "iscsi":
            raise ProbeError(f"unsupported volume driver type {info.get('driver_volume_type')!r}")
        try:
            portal, iqn, lun = str(data["target_portal"]), str(data["target_iqn"]), int(data["target_lun"])
        except (KeyError, TypeError, ValueError):
            raise ProbeError("connection_info lacks target_portal/target_iqn/target_lun") from None
        chap = str(data.get("auth_method", "")).upper() == "CHAP"
        return cls(portal, iqn, lun, data.get("auth_username") if chap else None,
                   data.get("auth_password") if chap else None)

    def url(self) -> str:
        user = f"{quote(self.user, safe='')}@" if self.user else ""
        return f"iscsi://{user}{self.portal}/{self.iqn}/{self.lun}"


async def _run(argv: list[str], env: dict[str, str], timeout: float) -> str:
    if not shutil.which(argv[0]):
        raise ProbeError(f"{argv[0]} is not installed (libiscsi-bin / qemu-utils)")
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT, env=env)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise ProbeError(f"{argv[0]} timed out after {timeout}s") from None
    text = out.decode(errors="replace")
    if proc.returncode != 0:
        raise ProbeError(f"{argv[0]} failed ({proc.returncode}): {text.strip()[-300:]}")
    return text


async def read_capacity(t: Target, initiator: str, timeout: float) -> tuple[int, int]:
    env = dict(os.environ)
    if t.password:
        env["LIBISCSI_CHAP_PASSWORD"] = t.password
    out = await _run(["iscsi-readcapacity16", "-i", initiator, t.url()], env, timeout)
    size = re.search(r"Total size:\s*(\d+)", out)
    block = re.search(r"LOGICAL BLOCK LENGTH IN BYTES:\s*(\d+)", out)
    if not size or not block:
        raise ProbeError("iscsi-readcapacity16 gave no capacity")
    return int(size.group(1)), int(block.group(1))


def _parse_dump(out: str, length: int) -> bytes:
    data = bytearray()
    for line in out.splitlines():
        m = re.match(r"^[0-9a-f]{8}:\s+((?:[0-9a-f]{2} ?){1,16})", line)
        if m:
            data += bytes.fromhex(m.group(1).replace(" ", ""))
    if len(data) < length:
        raise ProbeError(f"read {len(data)} of {length} bytes of the first block")
    return bytes(data[:length])


async def read_first_block(t: Target, initiator: str, length: int, timeout: float) -> bytes:
    host, _, port = t.portal.rpartition(":")
    opts = (f"driver=raw,file.driver=iscsi,file.transport=tcp,file.portal={host}:{port},file.target={t.iqn},"
            f"file.lun={t.lun},file.initiator-name={initiator}")
    argv = ["qemu-io", "-r"]
    with tempfile.TemporaryDirectory(prefix="stackstore-iscsi-") as tmp:
        if t.user:
            secret = os.path.join(tmp, "chap")
            fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(t.password or "")
            argv += ["--object", f"secret,id=chap0,file={secret}"]
            opts += f",file.user={t.user},file.password-secret=chap0"
        argv += ["--image-opts", "-c", f"read -v 0 {length}", opts]
        out = await _run(argv, dict(os.environ), timeout)
    return _parse_dump(out, length)


async def probe(connection_info: dict[str, Any], initiator: str, timeout: float = 30.0) -> Probe:
    """Log in to the target, read its capacity and its first block."""
    target = Target.from_connection(connection_info)
    capacity, block = await read_capacity(target, initiator, timeout)
    if capacity <= 0:
        raise ProbeError("the LUN reports no capacity")
    first = await read_first_block(target, initiator, block, timeout)
    return Probe(capacity, block, first)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
