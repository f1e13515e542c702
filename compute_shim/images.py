"""The image service as the compute API sees it: resolve a server's ``imageRef`` with the user's token."""

from __future__ import annotations

from typing import Any

import httpx

from compute_shim.errors import ApiError, bad_request


class ImageClient:
    def __init__(self, base_url: str, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    async def get_active(self, image_id: str, token: str) -> dict[str, Any]:
        """The image document; 400 when it does not exist for this user or has no data yet."""
        if not image_id or len(image_id) > 36 or "/" in image_id:
            raise bad_request(f"Invalid imageRef provided: {image_id!r}.")
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                resp = await client.get(f"{self.base_url}/v2/images/{image_id}", headers={"X-Auth-Token": token})
        except httpx.HTTPError as exc:
            raise ApiError(503, f"Image service unavailable: {exc}") from None
        if resp.status_code == 404:
            raise bad_request(f"Image {image_id} could not be found.")
        if resp.status_code != 200:
            raise ApiError(503, f"Image service answered {resp.status_code} for image {image_id}.")
        image = resp.json()
        if image.get("status") != "active":
            raise bad_request(f"Image {image_id} is not active.")
        return image
