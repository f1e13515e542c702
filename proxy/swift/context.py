"""The Swift API's request: a parsed ``/v1/<account>[/<container>[/<object>]]`` call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from proxy.context import ObjectRequest

if TYPE_CHECKING:
    from proxy.swift.operations import Operation


@dataclass
class SwiftRequest(ObjectRequest):
    """A parsed ``/v1/<account>[/<container>[/<object>]]`` request."""

    authorized_by: str = ""  # "tempurl" when a temp URL signature granted this one request
    timestamp: str = ""  # X-Timestamp the proxy assigned to this request (writes)
    operation: Operation | None = None  # the router table's entry for this request (proxy/swift/operations.py)

    @property
    def is_owner(self) -> bool:
        """The identity owns the account (``.admin`` of it, or a reseller admin)."""
        ident = self.identity
        return bool(ident and (ident.is_reseller or (ident.is_admin and ident.account == self.account)))

    @property
    def path(self) -> str:
        """``/v1/<account>[/<container>[/<object>]]`` decoded (as tempurl signs it)."""
        parts = ["", "v1", self.account]
        if self.container is not None:
            parts.append(self.container)
            if self.obj is not None:
                parts.append(self.obj)
        return "/".join(parts)
