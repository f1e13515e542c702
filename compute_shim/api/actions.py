"""``POST /servers/{id}/action``: os-stop, os-start, reboot (SOFT/HARD) through the driver."""

from __future__ import annotations

import asyncio
import logging

from starlette.requests import Request
from starlette.responses import Response

from apiservice.db import in_db
from compute_shim import policy, states
from compute_shim.api.base import Ctx, State, context, get_server, json_body
from compute_shim.api.servers import background, fault, set_state
from compute_shim.errors import bad_request, conflict
from compute_shim.models import Server

log = logging.getLogger("stackstore.compute")


async def action(request: Request) -> Response:
    ctx = await context(request)
    body = await json_body(request)
    if not isinstance(body, dict) or len(body) != 1:
        raise bad_request("An action body names exactly one action.")
    (name, arg), = body.items()
    handler = ACTIONS.get(name)
    if handler is None:
        raise bad_request(f"There is no such action: {name}")
    policy.authorize(ctx.who, policy.ACTION_OPERATIONS[name])
    srv = await in_db(ctx.state.sessions, get_server, ctx, request.path_params["server_id"])
    await handler(ctx, srv, arg)
    return Response(status_code=202)


async def _stop(ctx: Ctx, srv: Server, arg: object) -> None:
    states.check(srv, "stop")
    await ctx.state.driver.power_off(srv)
    await set_state(ctx.state, srv.id, vm_state=states.STOPPED, power_state=states.SHUTDOWN, task_state=None)


async def _start(ctx: Ctx, srv: Server, arg: object) -> None:
    states.check(srv, "start")
    await ctx.state.driver.power_on(srv)
    await set_state(ctx.state, srv.id, vm_state=states.ACTIVE, power_state=states.RUNNING, task_state=None)


async def _reboot(ctx: Ctx, srv: Server, arg: object) -> None:
    kind = arg.get("type") if isinstance(arg, dict) else None
    if not isinstance(kind, str) or kind.upper() not in ("SOFT", "HARD"):
        raise bad_request("Invalid input for field/attribute type: must be SOFT or HARD.")
    hard = kind.upper() == "HARD"
    states.check(srv, "reboot")
    if not hard and srv.vm_state != states.ACTIVE:
        raise conflict(f"Cannot 'reboot' instance {srv.id} while it is in vm_state {srv.vm_state}")
    await set_state(ctx.state, srv.id, vm_state=states.ACTIVE, task_state="rebooting_hard" if hard else "rebooting")
    background(ctx.state, _rebooted(ctx.state, srv, hard))


async def _rebooted(st: State, srv: Server, hard: bool) -> None:
    try:
        await st.driver.reboot(srv, hard)
        await asyncio.sleep(st.settings.build_delay)
    except Exception as exc:
        log.warning("reboot of server %s failed: %s", srv.id, exc)
        await set_state(st, srv.id, vm_state=states.ERROR, task_state=None, fault=fault(str(exc)))
        return
    await set_state(st, srv.id, vm_state=states.ACTIVE, power_state=states.RUNNING, task_state=None)


ACTIONS = {"os-stop": _stop, "os-start": _start, "reboot": _reboot}
