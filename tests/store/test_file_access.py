"""store.file_access: ``CACHE_ONLY`` answers from the kernel's caches and declines (WouldBlock) where the kernel
would have to read the disk; ``BLOCKING`` always answers. Real files, real page cache, real dentry cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from store.file_access import BLOCKING, CACHE_ONLY, WouldBlock
from tests.conftest import missing_prerequisite
from tests.store.conftest import evict_pages


def test_cached_files_are_listed_opened_and_read(tmp_path: Path) -> None:
    body = os.urandom(300_000)
    (tmp_path / "f.data").write_bytes(body)
    assert CACHE_ONLY.listdir(str(tmp_path)) == ["f.data"]
    fd = CACHE_ONLY.open(str(tmp_path / "f.data"))
    try:
        assert bytes(CACHE_ONLY.pread(fd, 100_000, 50_000)) == body[50_000:150_000]
        assert bytes(CACHE_ONLY.pread(fd, 0, 0)) == b""
    finally:
        os.close(fd)


def test_a_missing_page_is_declined_until_a_blocking_read_brings_it(tmp_path: Path) -> None:
    path = tmp_path / "f.data"
    body = os.urandom(200_000)
    path.write_bytes(body)
    evict_pages(path)
    fd = CACHE_ONLY.open(str(path))  # the dentry is cached: opening needs no disk
    try:
        with pytest.raises(WouldBlock):
            CACHE_ONLY.pread(fd, len(body), 0)
        assert BLOCKING.pread(fd, len(body), 0) == body
        assert bytes(CACHE_ONLY.pread(fd, len(body), 0)) == body
    finally:
        os.close(fd)


def test_a_read_past_the_end_is_declined_for_the_blocking_read_to_tell(tmp_path: Path) -> None:
    path = tmp_path / "short"
    path.write_bytes(b"abc")
    fd = CACHE_ONLY.open(str(path))
    try:
        with pytest.raises(WouldBlock):
            CACHE_ONLY.pread(fd, 10, 0)
        assert BLOCKING.pread(fd, 10, 0) == b"abc"
    finally:
        os.close(fd)


def test_a_known_missing_name_is_not_found_without_the_disk(tmp_path: Path) -> None:
    assert not (tmp_path / "gone").exists()  # the lookup leaves a negative dentry
    with pytest.raises(FileNotFoundError):
        CACHE_ONLY.open(str(tmp_path / "gone"))
    with pytest.raises(FileNotFoundError):
        CACHE_ONLY.listdir(str(tmp_path / "gone"))


def test_a_path_not_in_the_dentry_cache_is_declined(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        missing_prerequisite("dropping the dentry cache needs root")
    hash_dir = tmp_path / "objects" / "7" / "abc" / "0123abc"
    hash_dir.mkdir(parents=True)
    (hash_dir / "1.data").write_bytes(b"x")
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("2")  # unused dentries and inodes (not page cache)
    with pytest.raises(WouldBlock):
        CACHE_ONLY.listdir(str(hash_dir))
    assert BLOCKING.listdir(str(hash_dir)) == ["1.data"]
    assert CACHE_ONLY.listdir(str(hash_dir)) == ["1.data"]  # the blocking lookup cached the path
