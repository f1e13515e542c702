"""``stackstore ring push`` and ``stackstore ring versions``: publish rings to every node, see who has what.

``push`` sends each ring file of the ring directory (default: the config's ``<data_dir>/rings``; the
operator's builder directory works too) to every node the rings name plus any ``--to`` address; a node
installs a ring only when it is newer than its own (``store.ring_routes``). Proxies and nodes that were
not reached fetch it from their peers within ``[cluster] ring_check_interval`` seconds.
Exit status: 0 every node has the pushed versions (or newer), 1 some could not be reached, 2 usage error.
``versions`` exits 0 only once every node holds the local versions or newer: the gate before the next step of
a partition power increase, or before removing a node whose data the new ring moved away.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from objclient import ring_distribution as dist
from stackstore import internal_tls
from stackstore.config import load_config
from stackstore.secrets import ensure_secret


def _address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected IP:PORT, not {text!r}")
    return host.strip("[]"), int(port)


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--config", help="TOML config file (its node_key signs the requests)")
    parser.add_argument("--ring-dir", help="directory of the ring files (default: <data_dir>/rings)")
    parser.add_argument("--to", action="append", type=_address, default=[],
                        help="also this node (IP:PORT); may repeat")
    parser.add_argument("--timeout", type=float, default=10.0)
    return parser


def push_main(argv: list[str]) -> int:
    """``stackstore ring push [--config F] [--ring-dir D] [--to IP:PORT] [NAME ...]``"""
    parser = _parser("stackstore ring push")
    parser.add_argument("names", nargs="*", help="rings to push (default: every ring in the directory)")
    args = parser.parse_args(argv)
    conf = load_config(args.config)
    ring_dir = Path(args.ring_dir) if args.ring_dir else conf.ring_dir
    key = ensure_secret(conf, "node_key").encode()
    tls = internal_tls.client_context(conf)  # the nodes serve HTTPS ([cluster] internal_tls)
    versions = dist.local_versions(ring_dir)
    names = args.names or sorted(versions)
    missing = [n for n in names if n not in versions]
    if missing or not names:
        print(f"no ring file for {', '.join(missing) or 'any ring'} in {ring_dir}", file=sys.stderr)
        return 2
    targets = list(dict.fromkeys([*dist.ring_peers(ring_dir), *args.to]))
    failed = 0
    for name in names:
        blob = dist.ring_path(ring_dir, name).read_bytes()
        for ip, port in targets:
            try:
                status, answer = dist.push_ring(ip, port, key, name, blob, args.timeout, tls)
            except dist.PeerError as exc:
                print(f"{name} v{versions[name]} -> {ip}:{port}: unreachable ({exc}); it will fetch the ring "
                      f"from a peer")
                failed += 1
                continue
            print(f"{name} v{versions[name]} -> {ip}:{port}: {status} {answer}")
            failed += status not in (200, 201, 409)
    return 1 if failed else 0


def versions_main(argv: list[str]) -> int:
    """``stackstore ring versions [--config F] [--ring-dir D]``: the ring versions every node holds; exit 0
    only when every node the rings name holds the local versions (or newer)."""
    args = _parser("stackstore ring versions").parse_args(argv)
    conf = load_config(args.config)
    ring_dir = Path(args.ring_dir) if args.ring_dir else conf.ring_dir
    key = ensure_secret(conf, "node_key").encode()
    tls = internal_tls.client_context(conf)  # the nodes serve HTTPS ([cluster] internal_tls)
    local = dist.local_versions(ring_dir)
    print(f"local ({ring_dir}): {local}")
    behind = 0
    nodes = list(dict.fromkeys([*dist.ring_peers(ring_dir), *args.to]))
    for ip, port in nodes:
        try:
            theirs = dist.peer_versions(ip, port, key, args.timeout, tls)
        except dist.PeerError as exc:
            print(f"{ip}:{port}: unreachable ({exc})")
            behind += 1
            continue
        late = sorted(name for name, version in local.items() if theirs.get(name, -1) < version)
        behind += bool(late)
        print(f"{ip}:{port}: {theirs}" + (f"  (older: {', '.join(late)})" if late else ""))
    print(f"{len(nodes) - behind} of {len(nodes)} nodes hold these versions or newer")
    return 1 if behind else 0
