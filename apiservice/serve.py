"""``python -m <service> --config FILE``: load the configuration and serve one app with uvicorn."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from typing import Any

from stackstore.config import load_config
from stackstore.secrets import keep_files_private


def main(section: str, build: Callable[[Any], Any], argv: list[str] | None = None) -> None:
    """Serve ``build(conf)`` on the ``[section]`` host and port (``--host``/``--port`` override them)."""
    parser = argparse.ArgumentParser(prog=f"python -m {section}")
    parser.add_argument("--config", help="stackstore TOML file")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    args = parser.parse_args(argv)
    keep_files_private()
    conf = load_config(args.config)
    sconf = conf.section(section)
    host = args.host or sconf.get("host", "127.0.0.1")
    port = args.port or int(sconf["port"])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    import uvicorn

    from stackstore.http_limits import uvicorn_options

    uvicorn.run(build(conf), host=host, port=port, log_level="warning", access_log=False, server_header=False,
                timeout_graceful_shutdown=10, **uvicorn_options(conf, section))
