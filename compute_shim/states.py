"""The server state machine: vm_state/task_state/power_state and the API status they show as."""

from __future__ import annotations

from compute_shim.errors import conflict
from compute_shim.models import Server

BUILDING, ACTIVE, STOPPED, ERROR, DELETED = "building", "active", "stopped", "error", "deleted"
NOSTATE, RUNNING, SHUTDOWN = 0, 1, 4

# action -> vm_states it is allowed from
ALLOWED = {"stop": (ACTIVE, ERROR), "start": (STOPPED,), "reboot": (ACTIVE, STOPPED, ERROR),
           "delete": (BUILDING, ACTIVE, STOPPED, ERROR), "attach": (ACTIVE, STOPPED),
           "detach": (ACTIVE, STOPPED, ERROR)}


def status(server: Server) -> str:
    if server.deleted or server.vm_state == DELETED:
        return "DELETED"
    if server.vm_state == ACTIVE and server.task_state == "rebooting":
        return "REBOOT"
    if server.vm_state == ACTIVE and server.task_state == "rebooting_hard":
        return "HARD_REBOOT"
    return {BUILDING: "BUILD", ACTIVE: "ACTIVE", STOPPED: "SHUTOFF", ERROR: "ERROR"}.get(server.vm_state, "UNKNOWN")


def check(server: Server, action: str) -> None:
    """409 when ``action`` is not allowed in the server's current state (or a task is running)."""
    busy = server.task_state is not None and action != "delete"
    if server.vm_state not in ALLOWED[action] or busy:
        detail = f"task_state {server.task_state}" if busy else f"vm_state {server.vm_state}"
        raise conflict(f"Cannot '{action}' instance {server.id} while it is in {detail}")
