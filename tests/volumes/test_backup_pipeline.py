"""The backup pipeline's ordered thread map and chunk compression (pure functions, no service)."""

from __future__ import annotations

import hashlib
import os
import threading
import time

import pytest

from volumes.backup import chunks
from volumes.backup.pipeline import ordered_map


def test_ordered_map_keeps_order_and_overlaps_calls():
    running, peak, lock = [0], [0], threading.Lock()

    def slow_square(n: int) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.02 * (5 - n % 5))  # later items finish first
        with lock:
            running[0] -= 1
        return n * n

    assert list(ordered_map(slow_square, range(20), workers=4)) == [n * n for n in range(20)]
    assert peak[0] > 1


def test_ordered_map_reads_ahead_a_bounded_window():
    taken = []

    def items():
        for n in range(100):
            taken.append(n)
            yield n

    results = ordered_map(lambda n: n, items(), workers=2)
    assert next(results) == 0
    assert len(taken) <= 5  # 2 * workers in flight, plus the one being handed out
    results.close()


def test_ordered_map_raises_the_first_failure_in_order():
    def fail_on_three(n: int) -> int:
        if n == 3:
            raise ValueError("chunk 3")
        return n

    got = []
    with pytest.raises(ValueError, match="chunk 3"):
        for value in ordered_map(fail_on_three, range(10), workers=3):
            got.append(value)
    assert got == [0, 1, 2]


@pytest.mark.parametrize("data, expected", [(b"a" * 65536, "zlib"), (os.urandom(65536), "none")])
def test_chunks_are_stored_compressed_only_when_it_helps(data, expected):
    packed, compression = chunks.compress(data)
    md5 = hashlib.md5(packed).hexdigest()
    assert compression == expected and (len(packed) < len(data)) == (expected == "zlib")
    assert chunks.decompress(packed, md5, chunks.sha256(data), compression) == data
    with pytest.raises(ValueError, match="sha256"):
        chunks.decompress(packed, md5, chunks.sha256(data + b"x"), compression)


def test_holes_of_a_sparse_volume_are_not_read(tmp_path):
    path = tmp_path / "volume"
    chunk = 1024 * 1024
    with open(path, "wb") as fh:
        fh.truncate(8 * chunk)
        fh.seek(3 * chunk + 10)
        fh.write(b"data")
    with open(path, "rb") as fh:
        pieces = list(chunks.read_chunks(fh, 8 * chunk, chunk))
    assert [off for off, _ in pieces] == [n * chunk for n in range(8)]
    kinds = ["hole" if isinstance(d, int) else "read" for _, d in pieces]
    assert kinds[3] == "read" and kinds.count("hole") >= 6  # the filesystem may round data extents up
    assert all(d == chunk for _, d in pieces if isinstance(d, int))
    assert pieces[3][1][10:14] == b"data" and len(pieces[3][1]) == chunk
