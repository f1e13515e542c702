"""tgtd's management protocol, spoken directly for the one request that carries a secret.

``tgtadm`` passes a CHAP secret on its command line, where every local user can read it in the process
list. The volumes service sends that request itself over tgtd's control socket
(``/var/run/tgtd/socket.<control port>``) in the format ``tgtadm`` uses (tgt 1.0.x ``struct tgtadm_req``:
mode, op, the LLD name, the total length, tid, sid, lun, then six 32-bit fields; followed by the
``key=value,...`` parameters and a NUL). Everything without a secret still goes through ``tgtadm``.
"""

from __future__ import annotations

import socket
import struct

SOCKET_PATH = "/var/run/tgtd/socket.{port}"
MODE_ACCOUNT = 7
OP_NEW = 0
ERR_ACCOUNT_EXISTS = 14  # TGTADM_USER_ACCOUNT_EXISTS in tgt 1.0.x
_REQUEST = struct.Struct("<II64sIiQQIIIIII")  # 120 bytes, no padding (every field naturally aligned)
_RESPONSE = struct.Struct("<II")  # err, total length
_NO_LUN = (1 << 64) - 1


def _forbidden(value: str) -> bool:
    """tgtd splits the parameters on ',' and '='; a NUL ends them."""
    return any(c in value for c in ",=\0") or not value.isascii()


def new_account(control_port: int, user: str, password: str, timeout: float = 30.0) -> int:
    """Ask the tgtd on ``control_port`` to create the CHAP account; tgtd's error code (0: created)."""
    if _forbidden(user) or _forbidden(password):
        raise ValueError("CHAP user and secret must be ASCII without ',', '=' or NUL")
    params = f"user={user},password={password}".encode("ascii") + b"\0"
    head = _REQUEST.pack(MODE_ACCOUNT, OP_NEW, b"iscsi", _REQUEST.size + len(params), -1, 0, _NO_LUN,
                         0, 0, 0, 0, 0, 0)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(SOCKET_PATH.format(port=control_port))
        sock.sendall(head + params)
        answer = sock.recv(_RESPONSE.size, socket.MSG_WAITALL)
        if len(answer) != _RESPONSE.size:
            raise OSError("tgtd closed its control socket")
        err, length = _RESPONSE.unpack(answer)
        if length > _RESPONSE.size:
            sock.recv(min(length - _RESPONSE.size, 65536), socket.MSG_WAITALL)
    return err
