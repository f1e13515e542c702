"""``python -m identity --config F``: run the identity service (Keystone v3) on ``[identity] host:port``."""

from __future__ import annotations

import argparse
import logging

from stackstore.config import ensure_hash_path_suffix, load_config
from stackstore.safe_defaults import refusal
from stackstore.secrets import keep_files_private


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m identity", description="StackStore identity (Keystone v3)")
    parser.add_argument("--config", help="configuration file (TOML)")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    args = parser.parse_args(argv)
    keep_files_private()

    import uvicorn

    from identity.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    conf = load_config(args.config)
    host = args.host or conf["identity"]["host"]
    refused = refusal(conf, host, "identity")  # TempAuth users become identity users with the same keys
    if refused:
        raise SystemExit(refused)
    ensure_hash_path_suffix(conf)
    app = create_app(conf)
    from stackstore.http_limits import uvicorn_options

    uvicorn.run(app, host=host, port=args.port or int(conf["identity"]["port"]),
                log_level="warning", server_header=False, **uvicorn_options(conf, "identity"))


if __name__ == "__main__":
    main()
