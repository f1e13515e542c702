"""store.node_protocol.HeadWithBody: a response's head goes out with its body, in one write."""

from __future__ import annotations

import asyncio

from store.node_protocol import JOIN_MAX, HeadWithBody

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"


class RecordingTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def writelines(self, parts: tuple[bytes, ...]) -> None:
        self.writes.append(b"|".join(parts))  # one call, parts marked

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> str:
        return f"extra:{name}"


def test_a_small_answer_is_one_write() -> None:
    async def main() -> list[bytes]:
        transport = RecordingTransport()
        out = HeadWithBody(transport)  # type: ignore[arg-type]
        out.write(HEAD)
        assert transport.writes == []  # held
        out.write(b"hello")
        await asyncio.sleep(0)  # the end-of-pass flush finds nothing left
        out.write(b"more")
        return transport.writes

    assert asyncio.run(main()) == [HEAD + b"hello", b"more"]


def test_a_head_without_body_goes_at_the_end_of_the_loop_pass() -> None:
    async def main() -> list[bytes]:
        transport = RecordingTransport()
        out = HeadWithBody(transport)  # type: ignore[arg-type]
        out.write(HEAD)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return transport.writes

    assert asyncio.run(main()) == [HEAD]


def test_interim_answers_go_at_once_and_big_bodies_are_not_copied() -> None:
    async def main() -> list[bytes]:
        transport = RecordingTransport()
        out = HeadWithBody(transport)  # type: ignore[arg-type]
        out.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        assert transport.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
        out.write(HEAD)
        out.write(b"x" * (JOIN_MAX + 1))
        return transport.writes

    writes = asyncio.run(main())
    assert writes[1] == HEAD + b"|" + b"x" * (JOIN_MAX + 1)  # one writelines call


def test_close_sends_what_is_held_and_other_calls_pass_through() -> None:
    async def main() -> RecordingTransport:
        transport = RecordingTransport()
        out = HeadWithBody(transport)  # type: ignore[arg-type]
        assert out.get_extra_info("peername") == "extra:peername"
        out.write(HEAD)
        out.close()
        return transport

    transport = asyncio.run(main())
    assert transport.writes == [HEAD] and transport.closed
