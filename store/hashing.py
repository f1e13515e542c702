"""The path hash that names object directories (shared with ``ring/``)."""

from __future__ import annotations

try:
    from ring import hash_path  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - ring/ not exporting it at package level yet
    try:
        from ring.hashing import hash_path
    except ImportError:
        import xxhash

        def hash_path(suffix: str, account: str, container: str | None = None, obj: str | None = None) -> bytes:
            """xxh3_128 digest of ``"/account[/container[/obj]]"`` + suffix (mirror of ring.hashing)."""
            if obj is not None and container is None:
                raise ValueError("an object path needs a container")
            path = "/" + account
            if container is not None:
                path += "/" + container
                if obj is not None:
                    path += "/" + obj
            return xxhash.xxh3_128_digest((path + suffix).encode("utf-8"))

__all__ = ["hash_path"]
