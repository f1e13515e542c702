"""The `stackstore` command: run the whole cloud or one service, and manage rings."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import TYPE_CHECKING

from stackstore.config import load_config
from stackstore.safe_defaults import refusal
from stackstore.secrets import keep_files_private

if TYPE_CHECKING:  # imported lazily at run time: `stackstore ring ...` does not need the launcher
    from stackstore.launcher import Cloud


def _cmd_up(args: argparse.Namespace) -> int:
    from stackstore.launcher import Cloud
    from stackstore.supervisor import Supervisor

    conf = load_config(args.config)
    if args.data_dir:
        conf["cluster"]["data_dir"] = args.data_dir
    for service in ("proxy", "identity"):  # before anything starts: say it once, clearly
        if service == "proxy" or conf["identity"].get("enabled", True):
            refused = refusal(conf, str(conf[service]["host"]), service)
            if refused:
                print(f"stackstore: {refused}", file=sys.stderr)
                return 2
    cloud = Cloud(conf)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        cloud.start()
    except RuntimeError as exc:
        print(f"stackstore: {exc}", file=sys.stderr)
        cloud.stop()
        return 1
    users = ", ".join(f"{u}/{v['key']}" for u, v in list(conf["tempauth"]["users"].items())[:2])
    tls = f" and https://{conf['proxy']['host']}:{conf['proxy']['tls_port']}" if conf["proxy"]["tls_port"] else ""
    print(f"stackstore up: proxy {cloud.proxy_url}{tls} (Swift /v1 and S3, TempAuth {cloud.proxy_url}/auth/v1.0, "
          f"users {users}, ...), {cloud.node_count} storage nodes, data in {conf.data_dir}"
          + _api_services_summary(cloud), flush=True)
    Supervisor(cloud).run(stop)  # restarts a service that dies; returns once stopped by a signal
    return 0


def _api_services_summary(cloud: Cloud) -> str:
    """`; identity :5000, volumes :8776, ...; clouds.yaml at ...` for the API services that run."""
    from stackstore.launcher import OPTIONAL_SERVICES

    parts = [f"{name} :{cloud.conf[section]['port']}" for name, (_, section) in OPTIONAL_SERVICES.items()
             if name in cloud.services]
    if not parts:
        return ""
    clouds = cloud.conf.data_dir / "clouds.yaml"
    return "; " + ", ".join(parts) + (f"; openstack CLI: OS_CLIENT_CONFIG_FILE={clouds}" if clouds.exists() else "")


def _cmd_encryption_key(args: argparse.Namespace) -> int:
    """``encryption-key add``: a new active key-encryption key; ``list``: the key ids (never the keys)."""
    from stackstore.secrets import add_encryption_key, encryption_key_path, read_encryption_keys

    conf = load_config(args.config)
    if args.data_dir:
        conf["cluster"]["data_dir"] = args.data_dir
    path = encryption_key_path(conf)
    if args.action == "add":
        key_id = add_encryption_key(conf)
        print(f"added key {key_id} to {path}; it wraps the data keys of new objects (proxies reload it "
              f"within seconds); copy the file to every proxy host and keep a backup of it")
        return 0
    try:
        keys = read_encryption_keys(path)
    except FileNotFoundError:
        print(f"no key file at {path}", file=sys.stderr)
        return 1
    for index, (key_id, _) in enumerate(keys):
        print(f"{key_id}{'  (active)' if index == len(keys) - 1 else ''}")
    return 0


def _passthrough(module: str, argv: list[str]) -> int:
    import importlib

    return int(importlib.import_module(module).main(argv) or 0)


def _run_package(package: str, prog: str, argv: list[str]) -> int:
    """Run ``python -m <package> <argv>`` in this process (the API services' entry points read sys.argv)."""
    import runpy

    sys.argv = [prog, *argv]
    runpy.run_module(package, run_name="__main__", alter_sys=True)
    return 0


# `stackstore <service> --config F`: one service alone, everything it needs from the config file
API_PACKAGES = {"identity": "identity", "volumes": "volumes", "compute": "compute_shim", "images": "images"}


def main(argv: list[str] | None = None) -> int:
    """``stackstore <command> ...``; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    keep_files_private()  # whatever a subcommand creates (data, rings, logs, secrets) is the owner's only
    # Subcommands with their own argument parsers take the rest of the line untouched.
    delegated = {"node": "store.server", "proxy": "proxy.app",
                 "dispersion": "store.replication.dispersion", "status": "store.cluster_status",
                 "relink": "store.relink_cli"}
    if argv and argv[0] == "ring" and len(argv) > 1 and argv[1] in ("push", "versions"):
        from objclient import ring_push

        return (ring_push.push_main if argv[1] == "push" else ring_push.versions_main)(argv[2:])
    if argv and argv[0] == "ring":
        return _passthrough("ring.cli", argv[1:])
    if argv and argv[0] in delegated:
        return _passthrough(delegated[argv[0]], argv[1:])
    if argv and argv[0] in API_PACKAGES:
        return _run_package(API_PACKAGES[argv[0]], f"stackstore {argv[0]}", argv[1:])

    parser = argparse.ArgumentParser(prog="stackstore", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="run the whole cloud in the foreground")
    up.add_argument("--config", help="TOML configuration file (default: built-in development settings)")
    up.add_argument("--data-dir", help="where data, rings and logs live (default ./data)")
    up.set_defaults(func=_cmd_up)
    keys = sub.add_parser("encryption-key", help="encryption at rest: add a new cluster key (rotation) or list them")
    keys.add_argument("action", choices=("add", "list"))
    keys.add_argument("--config", help="TOML configuration file (its [proxy] encryption_key_file or data_dir)")
    keys.add_argument("--data-dir", help="the cloud's data directory (default ./data)")
    keys.set_defaults(func=_cmd_encryption_key)
    sub.add_parser("ring", help="build and inspect rings: stackstore ring <builder> create|add|...; "
                   "publish them: stackstore ring push|versions --config F")
    sub.add_parser("node", help="run one storage node: stackstore node --config F [--port P --devices DIR]")
    sub.add_parser("proxy", help="run the proxy: stackstore proxy --config F")
    for name in API_PACKAGES:
        sub.add_parser(name, help=f"run the {name} API service alone: stackstore {name} --config F")
    sub.add_parser("dispersion", help="object replicas in place on their primaries: stackstore dispersion --config F")
    sub.add_parser("status", help="per storage node health and background task stats: stackstore status --config F")
    sub.add_parser("relink", help="partition power increase: have all nodes relinked (or cleaned up)? "
                   "stackstore relink [--cleanup] --config F")
    args = parser.parse_args(argv)
    status: int = args.func(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
