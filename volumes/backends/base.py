"""What the manager needs from a backend. Every method is idempotent (safe to resume after a crash)."""

from __future__ import annotations

from abc import ABC, abstractmethod

GiB = 1024**3


class Backend(ABC):
    name: str

    def check(self) -> None:
        """Raise :class:`volumes.errors.BackendUnavailable` when the backend cannot work here."""
        return None

    @abstractmethod
    def create(self, volume_id: str, size_gb: int) -> None: ...

    @abstractmethod
    def delete(self, volume_id: str) -> None: ...

    @abstractmethod
    def extend(self, volume_id: str, size_gb: int) -> None: ...

    @abstractmethod
    def create_snapshot(self, snapshot_id: str, volume_id: str, size_gb: int) -> None: ...

    @abstractmethod
    def delete_snapshot(self, snapshot_id: str, volume_id: str) -> None: ...

    @abstractmethod
    def create_from_snapshot(self, volume_id: str, snapshot_id: str, size_gb: int) -> None: ...

    @abstractmethod
    def clone(self, volume_id: str, source_id: str, size_gb: int) -> None: ...

    @abstractmethod
    def path(self, volume_id: str) -> str:
        """Block device or file the target exports and backups read."""

    def exists(self, volume_id: str) -> bool:
        import os

        return os.path.exists(self.path(volume_id))
