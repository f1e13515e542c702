"""Where a bucket's policy lives: the bucket container's sysmeta, compressed and split.

The policy text (up to 20 KiB, as AWS allows) is zlib-compressed, base64-encoded and split into
``X-Container-Sysmeta-S3-Policy-<n>`` values of ``CHUNK`` characters (the CORS
configuration likewise under ``…-S3-Cors-<n>``; sysmeta is written only by the
proxy and is not subject to the 256-byte limit of user metadata). Kept there, the policy arrives with the
container info the proxy already caches, so evaluating it costs no extra request. The compressed form
is capped at ``MAX_ENCODED`` characters so the container's headers stay well within HTTP header limits;
real policies compress 4-10x.
"""

from __future__ import annotations

import base64
import zlib
from functools import lru_cache

from proxy.s3.context import S3Request
from proxy.s3.errors import from_backend
from proxy.s3.policy.document import Policy, malformed, parse_policy

POLICY = "policy"  # the blob name: sysmeta keys ``X-Container-Sysmeta-S3-<name>-<n>``
CHUNK = 1024
MAX_ENCODED = 8 * CHUNK


def encode(text: bytes) -> list[str]:
    """The sysmeta chunks holding ``text``; MalformedPolicy when even compressed it is too large."""
    encoded = base64.b64encode(zlib.compress(text, 9)).decode("ascii")
    if len(encoded) > MAX_ENCODED:
        raise malformed("Policy is too large to store")
    return [encoded[i:i + CHUNK] for i in range(0, len(encoded), CHUNK)]


def _info_prefix(name: str) -> str:
    return f"s3-{name}-"  # how the info cache names the keys (lower-cased, sysmeta prefix stripped)


def stored_text(sysmeta: dict[str, str], name: str = POLICY) -> bytes | None:
    """The blob ``name`` kept in a container's sysmeta (None: not set)."""
    chunks = []
    index = 0
    prefix = _info_prefix(name)
    while sysmeta.get(f"{prefix}{index}"):
        chunks.append(sysmeta[f"{prefix}{index}"])
        index += 1
    if not chunks:
        return None
    return _decoded("".join(chunks))


@lru_cache(maxsize=256)
def _decoded(encoded: str) -> bytes:
    """A stored blob's text, decoded once per distinct stored value (every request of a bucket with a
    policy reads it)."""
    return zlib.decompress(base64.b64decode(encoded))


@lru_cache(maxsize=256)
def _parsed(bucket: str, text: bytes) -> Policy:
    from proxy.s3.policy.actions import known_actions

    return parse_policy(text, bucket, known_actions())


async def load_text(req: S3Request, account: str, bucket: str, name: str = POLICY) -> bytes | None:
    """The stored blob ``name`` (the policy text by default) of ``bucket`` (None: none, or no such bucket)."""
    info = await req.state.container_info(account, bucket)
    if not 200 <= info.get("status", 404) < 300:
        return None
    return stored_text(info.get("sysmeta", {}), name)


async def load_policy(req: S3Request, account: str, bucket: str) -> Policy | None:
    """The parsed policy of ``bucket`` (None: no policy)."""
    text = await load_text(req, account, bucket)
    return None if text is None else _parsed(bucket, text)


async def save(req: S3Request, account: str, bucket: str, text: bytes | None, name: str = POLICY) -> None:
    """Store ``text`` as the bucket's blob ``name`` (None removes it), clearing chunks of a longer one."""
    info = await req.state.container_info(account, bucket)
    info_prefix, sysmeta_prefix = _info_prefix(name), f"X-Container-Sysmeta-S3-{name.capitalize()}-"
    old = {k for k in info.get("sysmeta", {}) if k.startswith(info_prefix)}
    chunks = encode(text) if text is not None else []
    headers = {f"{sysmeta_prefix}{i}": chunk for i, chunk in enumerate(chunks)}
    for key in old:
        index = key[len(info_prefix):]
        if not index.isdigit() or int(index) >= len(chunks):
            headers[f"{sysmeta_prefix}{index}"] = ""
    if not headers:
        return
    resp = await req.client.post_container(account, bucket, headers)
    req.state.invalidate_info(account, bucket)
    if resp.status // 100 != 2:
        raise from_backend(resp.status, bucket)
