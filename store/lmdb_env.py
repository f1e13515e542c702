"""One LMDB environment per device directory, written without sync and flushed by the node's timer."""

from __future__ import annotations

import os
from collections.abc import Iterable

import lmdb


class LmdbEnv:
    """An LMDB environment (named databases optional) with lazy-sync bookkeeping: writers set ``dirty``,
    ``sync()`` (about once a second, ``Node.sync_listings``) flushes."""

    def __init__(self, path: str, names: Iterable[bytes] = (), map_size: int = 1 << 36):
        try:
            os.mkdir(path)  # not makedirs: a device that is gone must not come back as an empty dir
        except FileExistsError:
            pass
        names = tuple(names)
        self.env = lmdb.open(path, map_size=map_size, max_dbs=max(8, len(names)), sync=False, metasync=False,
                             readahead=False, max_readers=256)
        self.dbs = {n: self.env.open_db(n) for n in names}
        self.dirty = False

    def sync(self) -> None:
        if self.dirty:
            self.dirty = False
            self.env.sync(True)

    def close(self) -> None:
        self.env.sync(True)
        self.env.close()
