"""The proxy ASGI application and its command line entry point."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
from typing import Any

from starlette.types import Receive, Scope, Send

from proxy.auth.tempauth import TempAuth
from proxy.http.middleware import RequestIdMiddleware
from proxy.router import Router
from proxy.swift.context import ProxyState
from proxy.swift.router import SwiftRouter
from stackstore.config import ensure_hash_path_suffix, load_config

log = logging.getLogger("stackstore.proxy")


class ProxyApp:
    """Owns the process-wide state: built at lifespan startup, closed at shutdown."""

    def __init__(self, conf: Any, state: ProxyState | None = None):
        self.conf = conf
        self.state = state
        self.auth: TempAuth | None = None
        self.swift: SwiftRouter | None = None
        self.router = RequestIdMiddleware(Router(conf, lambda: self.state, lambda: self.auth, lambda: self.swift))
        if state is not None:
            self._wire()

    def _wire(self) -> None:
        from proxy.auth.keystone import KeystoneAuth, keystone_enabled
        from proxy.s3.credentials import IdentityCredentials

        self.auth = TempAuth(self.conf)
        backends = [self.auth]
        if keystone_enabled(self.conf):  # identity JWTs for Swift, identity EC2 credentials for S3
            backends.append(KeystoneAuth(self.conf))
            self.state.extras.setdefault("s3_credentials", IdentityCredentials(self.conf))
        self.swift = SwiftRouter(self.state, backends, self.conf)

    async def startup(self) -> None:
        if self.state is None:
            from proxy.backend.client import StorageClient
            from proxy.backend.rings import Rings

            rings = Rings.load(self.conf.ring_dir, ensure_hash_path_suffix(self.conf))
            self.state = ProxyState(conf=self.conf, client=StorageClient(self.conf, rings))
        self._wire()

    async def shutdown(self) -> None:
        if self.state is not None:
            with contextlib.suppress(Exception):
                await self.state.client.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if self.swift is None:
            await self.startup()
        await self.router(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    log.exception("proxy startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_app(conf: Any, state: ProxyState | None = None) -> ProxyApp:
    """The proxy ASGI app for ``conf`` (a ``stackstore.config.Config``)."""
    if not conf["cluster"].get("hash_path_suffix"):
        ensure_hash_path_suffix(conf)  # also the TempAuth token secret: same in every worker
    return ProxyApp(conf, state)


def app_from_env() -> ProxyApp:
    """uvicorn factory for multi-worker runs: configuration from ``STACKSTORE_CONFIG``."""
    return create_app(load_config())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m proxy", description="StackStore Swift/S3 proxy")
    parser.add_argument("--config", help="configuration file (TOML)")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--access-log", action="store_true")
    args = parser.parse_args(argv)

    import uvicorn

    if args.config:
        os.environ["STACKSTORE_CONFIG"] = str(args.config)
    conf = load_config(args.config)
    ensure_hash_path_suffix(conf)
    host = args.host or conf["proxy"]["host"]
    port = args.port or int(conf["proxy"]["port"])
    workers = args.workers or int(conf["proxy"].get("workers", 1))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    options = dict(host=host, port=port, loop="uvloop", http="httptools", access_log=args.access_log,
                   server_header=False, log_level="warning")
    if workers > 1:
        uvicorn.run("proxy.app:app_from_env", factory=True, workers=workers, **options)
    else:
        serve_listeners(conf, create_app(conf), host, port, options)


def serve_listeners(conf: Any, app: ProxyApp, host: str, port: int, options: dict[str, Any]) -> None:
    """Serve ``app`` over HTTP on ``port`` and, when ``[proxy] tls_port`` is set, over HTTPS too,
    from one event loop (one app state, one connection pool)."""
    import asyncio

    import uvicorn

    configs = [uvicorn.Config(app, **{**options, "host": host, "port": port})]
    tls_port = int(conf["proxy"].get("tls_port") or 0)
    if tls_port:
        from proxy.tls import ensure_self_signed_cert

        certfile, keyfile = conf["proxy"].get("tls_certfile"), conf["proxy"].get("tls_keyfile")
        if not (certfile and keyfile):
            certfile, keyfile = ensure_self_signed_cert(conf.data_dir)
        # The HTTP listener runs the lifespan; the second one shares the started app.
        configs.append(uvicorn.Config(app, **{**options, "host": host, "port": tls_port}, ssl_certfile=certfile,
                                      ssl_keyfile=keyfile, lifespan="off"))
    servers = [uvicorn.Server(c) for c in configs]

    async def run_all() -> None:
        tasks = [asyncio.ensure_future(s.serve()) for s in servers]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for s in servers:  # a signal stops only the server whose handler was installed last
            s.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)

    try:
        import uvloop

        uvloop.run(run_all())
    except ImportError:
        asyncio.run(run_all())
