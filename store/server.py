"""The storage node's HTTP server: ``create_app`` and the ``python -m store.server`` entry point."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from objclient.ring_distribution import stop_watcher, watcher_from_config
from stackstore import cpu_scheduling, internal_tls, local_sockets, node_signing
from stackstore.collector import settle_for_serving
from stackstore.config import Config, load_config
from stackstore.secrets import keep_files_private
from store import account_routes, container_routes, object_routes, recon_routes, replication_routes, ring_routes
from store.background import BackgroundTasks
from store.diskfile import DiskFileError
from store.node import Node
from store.node_protocol import STORAGE_METHODS, lean_route
from store.node_request import NodeHeaders, NodeRequest
from store.reqparse import HTTPError, parse_path, raw_path
from store.ring_guard import RingGuard

log = logging.getLogger("store.server")
HANDLERS = {"obj": object_routes.handle, "cont": container_routes.handle, "acct": account_routes.handle}
UNSIGNED_PATHS = frozenset(("/healthcheck",))  # GET/HEAD only: the launcher's and load balancers' probe
UNSIGNED_METHODS = frozenset(("GET", "HEAD"))
_UNAUTHORIZED_START = {"type": "http.response.start", "status": 401, "headers": [
    (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"12"), (b"connection", b"close")]}
_UNAUTHORIZED_BODY = {"type": "http.response.body", "body": b"unauthorized"}


class NodeApp(Starlette):
    """Starlette, except that object/container/account requests go straight to ``dispatch``: they
    are nearly all of a node's traffic, and Starlette's middleware and route matching cost about 35 us
    of CPU each (15% of a small request). Errors behave the same (handlers answer HTTPError
    themselves; anything else propagates to uvicorn, which logs it and answers 500).

    Before anything else every HTTP request but ``GET/HEAD /healthcheck`` must carry a valid, recent
    ``X-Backend-Signature`` made with ``node_key`` (``stackstore.node_signing``); others get 401."""

    dispatch: Callable[[Request], Awaitable[Response]] | None = None
    node_key: bytes | None = None  # set by create_app; without one every request is refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.dispatch is not None and lean_route(scope):
            response = await self.lean_response(scope, receive, send)
            if response is not None:
                await response(scope, receive, send)
            return
        if scope["type"] == "http" and not await self._authorized(scope, send):
            return
        await super().__call__(scope, receive, send)

    async def lean_response(self, scope: Scope, receive: Receive, send: Send) -> Response | None:
        """The response to an object/container/account request (store/node_protocol.py's lean path
        writes it); None when a refusal was already sent through ``send`` (401)."""
        request = NodeRequest(scope, receive, send)
        if not await self._authorized(scope, send, request.headers):
            return None
        scope["app"] = self
        return await self.dispatch(request)  # type: ignore[misc]  # set: see above

    async def _authorized(self, scope: Scope, send: Send, headers: NodeHeaders | None = None) -> bool:
        """True when the request may proceed; else answer 401 (and close the connection). ``headers``:
        the request's, when already indexed."""
        method = scope["method"]
        if method in UNSIGNED_METHODS and scope["path"] in UNSIGNED_PATHS:
            return True
        raw = scope.get("raw_path") or scope["path"].encode("utf-8")
        if self.node_key is None:
            problem: str | None = "no node key configured"
        else:
            target = node_signing.request_target(raw, scope["query_string"])
            pairs = (headers if headers is not None else NodeHeaders(scope)).items()
            problem = node_signing.verify(self.node_key, method, target, pairs)
        if problem is None:
            return True
        client = scope.get("client")
        log.warning("refused %s %s from %s: %s", method, scope["path"][:200],
                    f"{client[0]}:{client[1]}" if client else "?", problem)
        await send(_UNAUTHORIZED_START)
        await send(_UNAUTHORIZED_BODY)
        return False


def create_app(conf: Config | None, devices_root: str | Path) -> Starlette:
    """A Starlette app serving the devices under ``devices_root`` (conf defaults when None)."""
    conf = conf if conf is not None else load_config()
    node = Node(conf, devices_root)
    background = BackgroundTasks(node)

    # a request built with a ring of another partition power (or hash suffix) is refused: 503, rings checked
    guard = RingGuard(conf.ring_dir, node.hash_suffix, node.executor,
                      on_mismatch=lambda: watcher_from_config(conf).poke())

    async def dispatch(request: Request) -> Response:
        try:
            sp = parse_path(raw_path(request))
            problem = await guard.problem(sp, request.headers)
            if problem is not None:
                return PlainTextResponse(problem, status_code=503)
            return await HANDLERS[sp.kind](node, request, sp)
        except HTTPError as exc:
            return exc.response()

    async def healthcheck(request: Request) -> Response:
        return PlainTextResponse("OK")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        background.start()
        watcher_from_config(conf)  # fetches newer rings from peers ([cluster] ring_check_interval)
        try:
            yield
        finally:
            await asyncio.get_running_loop().run_in_executor(None, stop_watcher, conf)
            await background.stop()
            node.close()

    app = NodeApp(routes=[
        Route("/healthcheck", healthcheck, methods=["GET", "HEAD"]),
        *recon_routes.routes(node),
        *ring_routes.routes(node),
        *replication_routes.routes,
        Route("/{path:path}", dispatch, methods=list(STORAGE_METHODS)),
    ], lifespan=lifespan)
    app.dispatch = dispatch
    app.node_key = node.node_key
    app.state.node = node
    app.state.background = background
    return app


class _QuietQuarantine(logging.Filter):
    """A body aborted because a block failed verification is expected: log one line, no traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        while exc is not None and not isinstance(exc, DiskFileError):
            exc = exc.__cause__ or exc.__context__ or (
                exc.exceptions[0] if isinstance(exc, BaseExceptionGroup) and exc.exceptions else None)
        if exc is not None:
            record.msg, record.args, record.exc_info = "object read aborted mid-body: %r", (exc,), None
        return True


def main(argv: list[str] | None = None) -> None:
    """``python -m store.server --config FILE [--host H --port P --devices DIR --my-ip A]``: every
    option defaults to the config file's ``[store]`` (``host``, ``port``, ``devices``, ``my_ip``)."""
    parser = argparse.ArgumentParser(prog="store.server", description="StackStore storage node")
    parser.add_argument("--config", help="TOML config file (defaults when omitted)")
    parser.add_argument("--host", default=None)
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--devices", help="directory holding one directory per device (default: [store] devices)")
    parser.add_argument("--my-ip", help="the address the rings name for this node (default: [store] my_ip)")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    keep_files_private()
    conf = load_config(args.config)
    cpu_scheduling.apply(cpu_scheduling.policy_from_conf(conf))  # before any thread starts: they inherit it
    sconf = conf["store"]
    host = args.host or sconf["host"]
    port = args.port if args.port is not None else int(sconf.get("port") or 0) or int(sconf["base_port"]) + 1
    devices = args.devices or str(sconf.get("devices") or "")
    if not devices:
        parser.error("no devices directory: give --devices or [store] devices")
    if args.my_ip:
        sconf["my_ip"] = args.my_ip
    sconf["node_ip"], sconf["node_port"] = host, port  # replication finds its ring devices (store.node_address)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("uvicorn.error").addFilter(_QuietQuarantine())

    import uvicorn

    from stackstore.http_limits import uvicorn_options
    from store.node_protocol import NodeHttpProtocol

    app = create_app(conf, devices)
    tls = internal_tls.from_conf(conf)  # [cluster] internal_tls: serve HTTPS with this host's certificate
    # no Server/Date headers: the internal client drops them (objclient/reader.py), so they only cost bytes
    config = uvicorn.Config(app, host=host, port=port, loop="uvloop", access_log=False,
                            server_header=False, date_header=False,
                            log_level=args.log_level, lifespan="on", **uvicorn_options(conf, "store", NodeHttpProtocol),
                            **(tls.server_options() if tls is not None else {}))
    listeners = _listeners(config, conf, port)
    settle_for_serving()  # start-up objects frozen, a wide young generation (stackstore/collector.py)
    uvicorn.Server(config).run(sockets=listeners)


def _listeners(config: Any, conf: Config, port: int) -> list[socket.socket] | None:
    """The TCP port, and the node's Unix socket for processes of this host (stackstore/local_sockets.py);
    None (uvicorn binds the port itself) when the cloud uses no local sockets."""
    sockets = local_sockets.from_conf(conf)
    if sockets is None:
        return None
    tcp = config.bind_socket()  # first: holding the port makes this process the socket file's owner
    try:
        unix = local_sockets.bind_node_socket(sockets.directory, port)
    except OSError as exc:  # a data dir on a filesystem without sockets: TCP only, as the clients then find
        log.warning("no local socket for port %d (%s): serving TCP only", port, exc)
        unix = None
    return [tcp] if unix is None else [tcp, unix]


if __name__ == "__main__":
    main()
