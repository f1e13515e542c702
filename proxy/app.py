"""The proxy ASGI application and its command line entry point."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import socket
from typing import Any, TypeVar

from starlette.types import ASGIApp, Receive, Scope, Send

from objclient.crypto.client import encrypting_client
from objclient.ring_distribution import stop_watcher, watcher_from_config
from proxy.auth.base import AuthBackend
from proxy.auth.tempauth import TempAuth
from proxy.context import ProxyState
from proxy.http.middleware import KeepAliveEcho, RequestIdMiddleware
from proxy.http.protocol import SwiftHttpProtocol
from proxy.router import Router
from proxy.swift.router import SwiftRouter
from stackstore import cpu_scheduling
from stackstore.collector import settle_for_serving
from stackstore.config import Config, ensure_hash_path_suffix, load_config
from stackstore.safe_defaults import refusal
from stackstore.secrets import ensure_secret, keep_files_private

log = logging.getLogger("stackstore.proxy")
T = TypeVar("T")


def _started(part: T | None) -> T:
    """A part the lifespan startup builds before the first request is routed."""
    if part is None:
        raise RuntimeError("the proxy has not started")
    return part


class ProxyApp:
    """Owns the process-wide state: built at lifespan startup, closed at shutdown."""

    def __init__(self, conf: Config, state: ProxyState | None = None):
        self.conf = conf
        self.state = state
        self.auth: TempAuth | None = None
        self.swift: SwiftRouter | None = None
        self.s3: ASGIApp | None = None
        self.router = RequestIdMiddleware(KeepAliveEcho(Router(conf, lambda: _started(self.auth),
                                                                lambda: _started(self.swift),
                                                                lambda: _started(self.s3))))
        if state is not None:
            self._wire(state)

    def _wire(self, state: ProxyState) -> None:
        from proxy.auth.keystone import KeystoneAuth, keystone_enabled
        from proxy.s3.app import S3App
        from proxy.s3.credentials import IdentityCredentials

        self.auth = TempAuth(self.conf)
        # object calls go to the object ring of their container's storage policy
        state.client.policy_resolver = state.info_cache.container_policy
        backends: list[AuthBackend] = [self.auth]
        if keystone_enabled(self.conf):  # identity JWTs for Swift, identity EC2 credentials for S3
            backends.append(KeystoneAuth(self.conf))
            state.extras.setdefault("s3_credentials", IdentityCredentials(self.conf))
        self.swift = SwiftRouter(state, backends)
        self.s3 = S3App(state)

    async def startup(self) -> None:
        if self.state is None:
            self.state = ProxyState(conf=self.conf, client=encrypting_client(self.conf))
        self._wire(self.state)
        watcher_from_config(self.conf)  # newer rings from the storage nodes ([cluster] ring_check_interval)

    async def shutdown(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, stop_watcher, self.conf)
        if self.state is not None:
            from proxy.s3.access_log.delivery import flush_at_shutdown

            await flush_at_shutdown(self.state)  # S3 access log records still batched
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


def create_app(conf: Config, state: ProxyState | None = None) -> ProxyApp:
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
    keep_files_private()

    if args.config:
        os.environ["STACKSTORE_CONFIG"] = str(args.config)
    conf = load_config(args.config)
    cpu_scheduling.apply(cpu_scheduling.policy_from_conf(conf))  # before any thread or worker starts: they inherit it
    ensure_hash_path_suffix(conf)
    ensure_secret(conf, "tempauth_token_key")  # before the workers start: they must share it
    host = args.host or conf["proxy"]["host"]
    refused = refusal(conf, host, "proxy")
    if refused:
        raise SystemExit(refused)
    port = args.port or int(conf["proxy"]["port"])
    workers = args.workers or int(conf["proxy"].get("workers", 1))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    options = dict(host=host, port=port, loop="uvloop", access_log=args.access_log,
                   server_header=False, log_level="warning")
    if workers > 1:
        serve_workers(conf, args.config, host, port, options, workers)
    else:
        serve_listeners(conf, create_app(conf), host, port, options)


def _listen_socket(host: str, port: int, reuse_port: bool) -> socket.socket:
    """A bound TCP socket for ``host:port`` (uvicorn listens on it); with ``reuse_port`` every worker
    binds its own socket and the kernel spreads new connections evenly over them."""
    family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                      flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(addr)
    except BaseException:
        sock.close()
        raise
    return sock


def _worker_main(config_path: str | None, host: str, port: int, options: dict[str, Any]) -> None:
    """One proxy worker process (spawned by :func:`serve_workers`)."""
    from stackstore.launcher import die_with_parent

    die_with_parent()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    conf = load_config(config_path)
    serve_listeners(conf, create_app(conf), host, port, options, reuse_port=True)


def serve_workers(conf: Config, config_path: str | None, host: str, port: int, options: dict[str, Any],
                  workers: int) -> None:
    """Run ``workers`` proxy processes, each serving HTTP and (when ``[proxy] tls_port`` is set) HTTPS
    on ``SO_REUSEPORT`` sockets of its own: the kernel balances connections over the workers, which
    uvicorn's shared accept socket does not (keep-alive clients piled up on one worker). A worker that
    dies is restarted; SIGTERM/SIGINT stop them all."""
    import multiprocessing
    import multiprocessing.connection
    import signal
    import time
    from multiprocessing.process import BaseProcess

    tls_port = int(conf["proxy"].get("tls_port") or 0)
    if tls_port and not (conf["proxy"].get("tls_certfile") and conf["proxy"].get("tls_keyfile")):
        from proxy.tls import ensure_self_signed_cert

        ensure_self_signed_cert(conf.data_dir)  # once, before the workers race to create it
    for p in (port, tls_port) if tls_port else (port,):
        _listen_socket(host, p, reuse_port=True).close()  # fail fast when a port is taken
    ctx = multiprocessing.get_context("spawn")
    stopping = False

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)

    started_at: dict[BaseProcess, float] = {}

    def start() -> BaseProcess:
        proc = ctx.Process(target=_worker_main, args=(config_path, host, port, options), name="proxy-worker")
        proc.start()
        started_at[proc] = time.monotonic()
        return proc

    procs = [start() for _ in range(workers)]
    status = 0
    try:
        while not stopping:
            multiprocessing.connection.wait([p.sentinel for p in procs], timeout=0.5)
            for i, proc in enumerate(procs):
                if stopping or proc.is_alive():
                    continue
                if time.monotonic() - started_at.pop(proc) < 5.0:  # failed at startup: do not spin
                    log.error("proxy worker %d exited at startup (code %s)", proc.pid, proc.exitcode)
                    stopping, status = True, 1
                    break
                log.warning("proxy worker %d exited (code %s): restarting it", proc.pid, proc.exitcode)
                procs[i] = start()
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
        deadline = time.monotonic() + 10.0
        for proc in procs:
            proc.join(max(deadline - time.monotonic(), 0.1))
            if proc.is_alive():
                proc.kill()
                proc.join()
    if status:
        raise SystemExit(status)


def serve_listeners(conf: Config, app: ProxyApp, host: str, port: int, options: dict[str, Any],
                    reuse_port: bool = False) -> None:
    """Serve ``app`` over HTTP on ``port`` and, when ``[proxy] tls_port`` is set, over HTTPS too,
    from one event loop (one app state, one connection pool). ``reuse_port``: bind ``SO_REUSEPORT``
    sockets, one set per worker process."""
    import asyncio

    import uvicorn

    from stackstore.http_limits import uvicorn_options

    # built here (a worker's options are pickled): the bounded protocol with the proxy's Swift behaviours
    options = {**options, **uvicorn_options(conf, "proxy", SwiftHttpProtocol)}
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
    sockets = [[_listen_socket(c.host, c.port, reuse_port=True)] if reuse_port else None for c in configs]

    async def run_all() -> None:
        tasks = [asyncio.ensure_future(s.serve(sockets=socks)) for s, socks in zip(servers, sockets, strict=True)]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for s in servers:  # a signal stops only the server whose handler was installed last
            s.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)

    settle_for_serving()  # start-up objects frozen, a wide young generation (issue 11/18: CPU per request)
    try:
        import uvloop

        uvloop.run(run_all())
    except ImportError:
        asyncio.run(run_all())
