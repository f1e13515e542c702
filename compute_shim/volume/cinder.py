"""The volume service (Cinder v3) as Nova drives it: volumes and the attachments API, with the user's token."""

from __future__ import annotations

from typing import Any

import httpx

VERSION = "volume 3.44"  # attachments with os-complete


class CinderError(Exception):
    """The volume service refused a request (``status`` is Cinder's, 503 when it could not be reached)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _message(resp: httpx.Response) -> str:
    try:
        body = resp.json()
        fault = next(iter(body.values())) if isinstance(body, dict) and len(body) == 1 else body
        return str(fault.get("message", resp.text))[:500]
    except (ValueError, AttributeError, StopIteration):
        return resp.text[:500]


class Cinder:
    """One user's view of the volume service (``/v3/<project_id>``)."""

    def __init__(self, base_url: str, project_id: str, token: str, timeout: float = 60.0):
        self.base = f"{base_url.rstrip('/')}/v3/{project_id}"
        self.headers = {"X-Auth-Token": token, "OpenStack-API-Version": VERSION, "Accept": "application/json"}
        self.timeout = timeout

    async def _call(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200,)) -> Any:
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                resp = await client.request(method, self.base + path, json=body, headers=self.headers)
        except httpx.HTTPError as exc:
            raise CinderError(503, f"volume service unavailable: {exc}") from None
        if resp.status_code not in ok:
            raise CinderError(resp.status_code, _message(resp))
        return resp.json() if resp.content and resp.status_code != 204 else None

    async def get_volume(self, volume_id: str) -> dict[str, Any]:
        return (await self._call("GET", f"/volumes/{volume_id}"))["volume"]

    async def delete_volume(self, volume_id: str) -> None:
        await self._call("DELETE", f"/volumes/{volume_id}", ok=(202, 204))

    async def create_attachment(self, volume_id: str, server_id: str) -> dict[str, Any]:
        """Reserve the volume for the server (no connector yet: attachment and volume ``reserved``)."""
        body = {"attachment": {"volume_uuid": volume_id, "instance_uuid": server_id, "connector": None}}
        return (await self._call("POST", "/attachments", body, ok=(200, 202)))["attachment"]

    async def update_attachment(self, attachment_id: str, connector: dict[str, Any]) -> dict[str, Any]:
        """Hand over the host connector; the answer carries ``connection_info`` (target, LUN, CHAP)."""
        body = {"attachment": {"connector": connector}}
        return (await self._call("PUT", f"/attachments/{attachment_id}", body))["attachment"]

    async def complete_attachment(self, attachment_id: str) -> None:
        await self._call("POST", f"/attachments/{attachment_id}/action", {"os-complete": None}, ok=(200, 202, 204))

    async def delete_attachment(self, attachment_id: str) -> None:
        await self._call("DELETE", f"/attachments/{attachment_id}", ok=(200, 202, 204))
