"""The Python work of one storage-node request, counted rather than timed: ``python -m bench.node_overhead``.

A storage node (``store.server.create_app`` behind uvicorn with the node's own protocol, on uvloop, as
``stackstore up`` runs it) serves one device from a temporary directory in this process; a raw socket client
in the same event loop sends signed 4 KiB object requests over one keep-alive connection, one at a time,
built and signed before counting starts. While they run, every Python opcode and C call of the event loop's
thread is counted (``bench.s3_overhead.Counter``): the node's HTTP cycle, signature check, routing and handler,
plus the client's few reads and writes. The disk work runs in the node's I/O threads and is not counted, nor
are container rows (the requests name no container replicas), unless ``--row http``: then every PUT names a
container replica on this same node by its address, so its listing row goes over HTTP to the node itself (the
node is not told its own address) and both ends of the row update are counted; ``--row local``: the node knows
its address, so it merges the row into its own DB (what ``objclient.fanout.paired_with_slots`` arranges for most
rows). ``--parallel K`` sends K requests at a time over K connections (counts are per request): rows then go in
batches as under load (``store.updates.RowUpdater``). Counts do not move with the machine's load, so
two commits compare exactly: ``PYTHONPATH=<other checkout> .venv/bin/python bench/node_overhead.py``.
docs/benchmarks.md, session 14.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import tempfile
import time
from pathlib import Path

import uvicorn
import uvloop

from bench.s3_overhead import Counter
from stackstore import node_signing
from stackstore.config import load_config
from stackstore.http_limits import uvicorn_options
from store.node_protocol import NodeHttpProtocol
from store.server import create_app

NODE_KEY = "bench-node-key-" + "k" * 32
BODY = b"z" * 4096
OPS = ("put", "get", "head", "delete")


def _request(method: str, target: str, **headers: str) -> bytes:
    """A signed request as the proxy sends it (its body follows for an object PUT)."""
    fields = {"Host": "node", "User-Agent": "bench", **headers}
    fields[node_signing.SIGNATURE_HEADER] = node_signing.sign(NODE_KEY.encode(), method, target, fields)
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
    return head.encode() + (BODY if method == "PUT" and target.startswith("/obj/") else b"")


def _stamp() -> str:
    return f"{time.time():016.5f}"


class Client:
    """One keep-alive connection; ``send`` writes a request and reads its whole answer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head_only: bool):
        self.reader, self.writer, self.head_only = reader, writer, head_only

    async def send(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        at = head.find(b"content-length: ")
        if at >= 0 and not self.head_only:
            await self.reader.readexactly(int(head[at + 16:head.index(b"\r\n", at)]))
        return int(head[9:12])


async def measure(op: str, count: int, lines: str | None, row: str | None = None, parallel: int = 1) -> Counter:
    tmp = Path(tempfile.mkdtemp(prefix="node-overhead-"))
    try:
        (tmp / "devices" / "d1").mkdir(parents=True)
        conf = load_config(environ={})
        conf["cluster"].update(data_dir=str(tmp / "data"), node_key=NODE_KEY, hash_path_suffix="bench")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if row == "local":
            conf["store"].update(node_ip="127.0.0.1", node_port=port)
        config = uvicorn.Config(create_app(conf, tmp / "devices"), host="127.0.0.1", port=port, lifespan="off",
                                access_log=False, server_header=False, date_header=False,
                                log_level="warning",
                                **uvicorn_options(conf, "store", NodeHttpProtocol))
        server = uvicorn.Server(config)
        serving = asyncio.ensure_future(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        client = Client(*await asyncio.open_connection("127.0.0.1", port), head_only=op == "head")
        path = "/obj/d1/7/AUTH_bench/c/"
        row_headers: dict[str, str] = {}
        if row:  # the container replica: on this node's device d1, partition 3
            assert await client.send(_request("PUT", "/cont/d1/3/AUTH_bench/c", **{"X-Timestamp": _stamp(),
                                                                                  "Content-Length": "0"})) == 201
            row_headers = {"X-Container-Host": f"127.0.0.1:{port}", "X-Container-Device": "d1",
                           "X-Container-Partition": "3"}
        total = count * parallel + 20
        names = [f"o{i}" for i in range(total)]
        if op != "put":  # the objects the requests read or delete
            for name in names if op == "delete" else names[:1]:
                await client.send(_request("PUT", path + name, **{"X-Timestamp": _stamp(),
                                  "Content-Type": "application/octet-stream", "Content-Length": str(len(BODY))}))
        if op == "put":
            requests = [_request("PUT", path + n, **{"X-Timestamp": _stamp(), "Content-Type": "text/plain",
                                                    "Content-Length": str(len(BODY)), **row_headers})
                        for n in names]
        elif op == "delete":
            requests = [_request("DELETE", path + n, **{"X-Timestamp": _stamp()}) for n in names]
        else:
            requests = [_request(op.upper(), path + names[0]) for _ in names]
        expected = {"put": 201, "get": 200, "head": 200, "delete": 204}[op]
        for request in requests[:20]:  # warm: imports done, caches filled, threads started
            assert await client.send(request) == expected
        counter = Counter(lines)

        clients = [client] + [Client(*await asyncio.open_connection("127.0.0.1", port), head_only=op == "head")
                              for _ in range(parallel - 1)]

        async def one(i: int) -> int:
            if parallel == 1:
                return await client.send(requests[20 + i])
            statuses = await asyncio.gather(*(c.send(requests[20 + i * parallel + k]) for k, c in enumerate(clients)))
            return expected if all(s == expected for s in statuses) else statuses[0] if statuses[0] != expected \
                else next(s for s in statuses if s != expected)

        await counter.run(one, count, (expected,))
        server.should_exit = True
        for each in clients:
            each.writer.close()
        await serving
        return counter
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--op", choices=OPS, default="put")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--by-file", type=int, default=0, help="list the N files with the most opcodes")
    parser.add_argument("--row", choices=("http", "local"),
                        help="PUTs send their listing row to this node over HTTP, or merge it in place")
    parser.add_argument("--parallel", type=int, default=1, help="requests at a time (over as many connections)")
    parser.add_argument("--lines", help="count the lines of files ending with this (.py: all); top 40 shown")
    args = parser.parse_args(argv)
    counter = uvloop.run(measure(args.op, args.count, args.lines, args.row, args.parallel))
    n = args.count * args.parallel
    what = f"{args.op.upper()}{f' with its row ({args.row})' if args.row else ''}"
    print(f"node {what}: {counter.opcodes / n:8.0f} opcodes {counter.c_calls / n:6.0f} C calls per request")
    for name, value in counter.by_file.most_common(args.by_file):
        print(f"{value / n:8.0f}  {name}")
    for (name, line), value in counter.by_line.most_common(40 if args.lines else 0):
        print(f"{value / n:8.0f}  {name.rsplit('/', 2)[-2]}/{name.rsplit('/', 1)[-1]}:{line}")


if __name__ == "__main__":
    main()
