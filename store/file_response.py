"""An object's byte range answered from its file: each block verified, then sent with ``sendfile(2)``.

A node answering a large GET used to read each block into user space, check its xxh3 and write the same bytes to
the socket: a copy in, a copy out, and a block-sized allocation per block. Sending from the file keeps the
verification (the block is read into a reused scratch buffer and checked first) and drops the copy out and the
allocation: ``sendfile`` hands the page-cache pages to the socket. The node's protocol (store/node_protocol.py)
sends a :class:`FileRangeResponse` this way when the connection allows it (a plain socket, not TLS); anywhere
else it is the ordinary streamed response of the same verified blocks (``ObjectReader.iter_range``).

Object files are never rewritten in place (a new version is a new file renamed into the hash dir), so a block
verified and then sent from the file is the block that was verified.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.background import BackgroundTask
from starlette.responses import StreamingResponse

from stackstore import splice
from store.diskfile import ObjectReader

SENDFILE_MIN = 64 << 10  # ranges at least this long are sent from the file (shorter ones are read and written)


class FileRangeResponse(StreamingResponse):
    """Bytes ``start..end`` (inclusive) of the object ``reader``; its first block already verified."""

    def __init__(self, reader: ObjectReader, start: int, end: int, status_code: int, headers: Mapping[str, str]):
        super().__init__(reader.iter_range(start, end), status_code=status_code, headers=headers,
                         background=BackgroundTask(reader.close))
        self.reader = reader
        self.start = start
        self.end = end

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    async def send_from_file(self, destination: int) -> str | None:
        """Send the range to socket ``destination``: each block after the first verified, then ``sendfile``'d.
        None when every byte went, else why the sending stopped. A block that fails verification raises
        (``ObjectReader.check_block``: DiskFileQuarantined / DiskFileError) after the bytes before it went."""
        reader = self.reader
        bs = reader.block_size
        index, last = self.start // bs, self.end // bs
        while index <= last:
            if index != self.start // bs:
                await reader.check_block(index)
            lo, hi = max(self.start, index * bs), min(self.end + 1, (index + 1) * bs)
            sent = await splice.send_file(reader.fd, lo, hi - lo, destination)
            if sent.destination_error is not None or sent.source_error is not None:
                return sent.destination_error or sent.source_error
            index += 1
        return None
