"""Headers shared by the account and container DB servers (metadata updates, HEAD/GET info)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from starlette.requests import Request

from stackstore.timestamp import Timestamp
from store.listings import live_meta
from store.reqparse import title_case


def metadata_updates(request: Request, prefixes: tuple[str, ...], names: Collection[str]) -> dict[str, str]:
    """Metadata headers of a PUT/POST: those starting with one of ``prefixes`` or named in ``names``."""
    return {k: v for k, v in request.headers.items() if k.startswith(prefixes) or k in names}


def info_headers(rec: dict[str, Any], counts: Mapping[str, str]) -> dict[str, str]:
    """HEAD/GET headers of a DB record: live metadata, ``counts`` (header name -> record key), timestamps."""
    headers = {title_case(k): v for k, v in live_meta(rec["meta"]).items()}
    headers.update({name: str(rec[key]) for name, key in counts.items()})
    headers.update({
        "X-Timestamp": rec["created"],
        "X-Put-Timestamp": rec["put"],
        "X-Backend-Timestamp": rec["created"],
        "X-Backend-Put-Timestamp": rec["put"],
        "X-Backend-Delete-Timestamp": rec["delete"],
        "X-Backend-Status-Changed-At": rec["status_changed"],
        "Last-Modified": Timestamp(rec["put"]).http_date,
    })
    return headers
