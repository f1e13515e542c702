"""``python -m volumes --config FILE [--host H --port P]``."""

from __future__ import annotations

import argparse
import logging

from stackstore.config import load_config
from stackstore.secrets import keep_files_private


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m volumes", description="StackStore block volumes (Cinder v3)")
    parser.add_argument("--config", help="configuration file (TOML)")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    args = parser.parse_args(argv)
    keep_files_private()

    import uvicorn

    from volumes.api.app import create_app

    conf = load_config(args.config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    host = args.host or conf["volumes"]["host"]
    port = args.port or int(conf["volumes"]["port"])
    from stackstore.http_limits import uvicorn_options

    uvicorn.run(create_app(conf), host=host, port=port, log_level="warning", server_header=False,
                timeout_graceful_shutdown=10, **uvicorn_options(conf, "volumes"))


main()
