"""Exceptions raised by the ring package."""

from __future__ import annotations


class RingError(Exception):
    """Base class of every ring error."""


class RingBuilderError(RingError, ValueError):
    """An invalid builder operation (bad device, too few devices, unknown id, ...)."""


class RingValidationError(RingBuilderError):
    """The builder's assignment is inconsistent (unassigned replicas, two replicas on one device, ...)."""


class RingFileError(RingError):
    """A ring file is missing, truncated, corrupt or of an unsupported format."""
